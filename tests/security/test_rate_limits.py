"""Flask-Limiter: stricter limits on the sensitive views, X-RateLimit-* and Retry-After headers,
a friendly 429 page and fragment, audit rows, and Redis storage that falls back to memory when
Redis goes away (a real redis-server on a private port, killed mid-test): never a 500 and never
unlimited."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
from sqlalchemy import select

from sdc import create_app
from sdc.extensions import db, limiter
from sdc.models import AuditLog
from sdc.services import audit
from tests.conftest import make_settings

STRICT = {
    "auth.login": "20 per 1 minute",
    "auth.signup": "10 per 1 minute",
    "auth.two_factor": "10 per 1 minute",
    "settings.create_token": "10 per 1 minute",
    "runs.create": "30 per 1 minute",
    "runs.rerun": "30 per 1 minute",
    "runs.inject": "30 per 1 minute",
    "grades.create": "20 per 1 minute",
    "grades.regrade": "20 per 1 minute",
}


def test_run_and_grade_limits_come_from_settings(migrated, tmp_path):
    from sdc import create_app
    from tests.conftest import make_settings

    app = create_app(
        settings=make_settings(
            migrated, tmp_path, ratelimit_runs="5 per second", ratelimit_grades="7 per hour"
        )
    )
    manager = limiter.limit_manager
    with app.app_context():
        found = {
            str(lim.limit)
            for k in manager._decorated_limits
            if k.startswith(("sdc.web.runs.", "sdc.web.grades."))
            for lim in manager.decorated_limits(k)
        }
    assert {"5 per 1 second", "7 per 1 hour"} <= found, found


def test_sensitive_views_have_stricter_limits(app):
    manager = limiter.limit_manager
    for endpoint, expected in STRICT.items():
        view = app.view_functions[endpoint]
        while hasattr(view, "__wrapped__"):
            view = view.__wrapped__
        prefix = f"{view.__module__}.{view.__name__}"
        keys = [k for k in manager._decorated_limits if k == prefix or k.startswith(prefix + ".")]
        with app.app_context():  # run and grade limits are read from settings
            limits = [lim for k in keys for lim in manager.decorated_limits(k)]
        assert limits, f"{endpoint} has no @limiter.limit"
        assert expected in {str(lim.limit) for lim in limits}, (endpoint, limits)


LIMIT = 20  # POST /auth/login: "20 per minute; 200 per hour"


def _hit(client, headers=None):
    """An empty sign-in form (422, no KDF) with a valid CSRF token: decorator limits are
    checked when the view is called, after the CSRF hook."""
    if not hasattr(client, "_token"):
        from tests.conftest import csrf_token

        client._token = csrf_token(client)
    return client.post("/auth/login", data={"csrf_token": client._token}, headers=headers or {})


def _limited_app(migrated, tmp_path, storage="memory://"):
    # Flask-Limiter keeps the first app's RATELIMIT_DEFAULT for the process, so these tests
    # use the login route's own decorator limit.
    application = create_app(
        overrides={
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": storage,
            "TESTING": True,
        },
        settings=make_settings(migrated, tmp_path / "limited"),
    )
    # The limiter is one object per process: a Redis an earlier test killed left it on its
    # memory fallback, which init_app does not undo.
    limiter._storage_dead = False
    return application


@pytest.fixture
def limited(app, migrated, tmp_path):
    application = _limited_app(migrated, tmp_path)
    yield application
    _close(application)


def _close(application):
    from sdc.services import telemetry

    telemetry.close(application)
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_headers_page_fragment_and_audit(limited):
    client = limited.test_client()
    first = _hit(client)
    assert first.status_code == 422
    assert first.headers["X-RateLimit-Limit"] == str(LIMIT)
    assert first.headers["X-RateLimit-Remaining"] == str(LIMIT - 1)
    assert int(first.headers["X-RateLimit-Reset"]) > time.time() - 1
    for _ in range(LIMIT - 1):
        _hit(client)
    page = _hit(client)
    assert page.status_code == 429
    assert 0 < int(page.headers["Retry-After"]) <= 60
    body = page.get_data(as_text=True)
    assert "<html" in body.lower() and "Wait a moment" in body and "Traceback" not in body
    fragment = _hit(client, {"HX-Request": "true"})
    assert fragment.status_code == 429 and "<html" not in fragment.get_data(as_text=True).lower()
    assert fragment.headers["HX-Reswap"] == "innerHTML"
    api = _hit(client, {"Accept": "application/json"})
    assert api.get_json()["error"]["status"] == 429
    with limited.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == audit.RATE_LIMITED))
        assert len(list(rows)) == 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_port():
    """A private redis-server (no persistence) for one test; killed afterwards."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server binary not installed")
    import redis

    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    conn = redis.Redis(port=port)
    for _ in range(100):
        try:
            conn.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield port, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


# The stock Flask-Limiter Redis storage and ours (sdc.web.limits.HitCachingRedisStorage, the one
# production uses) must behave the same.
@pytest.mark.parametrize("scheme", ["redis", "sdc+redis"])
def test_redis_storage_then_memory_fallback_when_redis_dies(
    app, migrated, tmp_path, redis_port, scheme
):
    import redis

    port, proc = redis_port
    conn = redis.Redis(port=port)
    application = _limited_app(migrated, tmp_path, f"{scheme}://127.0.0.1:{port}/0")
    client = application.test_client()
    assert [_hit(client).status_code for _ in range(3)] == [422] * 3
    assert any(b"LIMITS" in key for key in conn.keys("*")), "counters are not in Redis"
    resp = _hit(client)
    assert resp.headers["X-RateLimit-Remaining"] == str(LIMIT - 4)
    assert 55 <= int(resp.headers["X-RateLimit-Reset"]) - time.time() <= 61
    proc.kill()  # Redis goes away mid-test
    proc.wait(timeout=10)
    statuses = [_hit(client).status_code for _ in range(LIMIT + 5)]
    assert 500 not in statuses and set(statuses) <= {422, 429}
    assert statuses[-1] == 429, statuses  # the memory fallback still limits
    resp = _hit(client, {"HX-Request": "true"})
    assert resp.status_code == 429 and "Retry-After" in resp.headers
    _close(application)


def test_our_redis_storage_answers_the_headers_without_asking_again(
    app, migrated, tmp_path, redis_port, monkeypatch
):
    """The login form has two limits (the default and its own). The stock storage sends a
    command per limit to count, then GET and TTL for the limit the headers show; ours sends
    only the counting commands and writes the same headers."""
    import redis

    port, _proc = redis_port
    sent = []
    execute = redis.Redis.execute_command

    def counting(self, *args, **options):
        sent.append(args[0])
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    commands = {}
    for scheme in ("redis", "sdc+redis"):
        redis.Redis(port=port).flushall()
        application = _limited_app(migrated, tmp_path, f"{scheme}://127.0.0.1:{port}/0")
        client = application.test_client()
        _hit(client)  # the first request also loads the scripts
        sent.clear()
        resp = _hit(client)
        commands[scheme] = sorted(sent)
        assert resp.headers["X-RateLimit-Remaining"] == str(LIMIT - 2)
        assert 55 <= int(resp.headers["X-RateLimit-Reset"]) - time.time() <= 61
        _close(application)
    assert commands == {
        "redis": ["EVALSHA", "EVALSHA", "GET", "TTL"],
        "sdc+redis": ["EVALSHA", "EVALSHA"],
    }


@pytest.mark.parametrize("scheme", ["redis", "sdc+redis"])
def test_unreachable_redis_from_the_start_falls_back(app, migrated, tmp_path, scheme):
    application = _limited_app(migrated, tmp_path, f"{scheme}://127.0.0.1:{_free_port()}/0")
    client = application.test_client()
    statuses = [_hit(client).status_code for _ in range(LIMIT + 3)]
    assert 500 not in statuses and statuses[-1] == 429, statuses
    _close(application)
