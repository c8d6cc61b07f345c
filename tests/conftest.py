"""Fixtures in flaskr's shape: ``app``, ``client``, ``runner``, ``auth`` and an htmx client.

The backend follows the environment: with ``DATABASE_URL`` set (PostgreSQL) each xdist worker
gets its own fresh database; otherwise a SQLite file per worker. Migrations run once per
session (proving them on both backends); each test starts from empty tables.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import event, text

from sdc import create_app
from sdc.extensions import db
from sdc.settings import load_settings, normalise_database_url
from tests import factories

TEST_SECRET = "test-secret-key-not-for-production"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


POSTGRES_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")


def _postgres_database(worker: str) -> str:
    """Create a fresh database for this worker on the server named by DATABASE_URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(normalise_database_url(POSTGRES_URL))
    name = f"sdc_test_{worker}_{os.getpid()}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
        # A scratch database: commits need not wait for the WAL flush (the suite commits on
        # every request; the app's transactions and isolation are unchanged).
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(db_url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, worker_id):
    if POSTGRES_URL:
        url = _postgres_database(worker_id)
        yield url
        _drop_postgres_database(url)
    else:
        path = tmp_path_factory.mktemp("db") / "test.db"
        yield f"sqlite:///{path}"


def make_settings(database_url: str, instance_dir: Path, **overrides):
    env = {
        "SDC_ENV": "test",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "SDC_INSTANCE_DIR": str(instance_dir),
        "REDIS_URL": REDIS_URL,
        "RATELIMIT_ENABLED": "false",
    }
    return load_settings(env, **overrides)


@pytest.fixture(scope="session")
def migrated(database_url, tmp_path_factory):
    """Apply the real migrations once per session (never create_all)."""
    from flask_migrate import upgrade

    app = create_app(settings=make_settings(database_url, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


def _empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    else:
        for name in tables:
            db.session.execute(text(f'DELETE FROM "{name}"'))
    db.session.commit()


@pytest.fixture
def app(migrated, tmp_path):
    import tasks

    application = create_app(settings=make_settings(migrated, tmp_path / "instance"))
    application.config["TESTING"] = True
    tasks.huey.immediate = True
    tasks.set_flask_app(application)
    with application.app_context():
        _empty_tables()
        factories.seed_catalog()
    yield application
    from sdc.services import telemetry

    telemetry.close(application)  # stop the flusher before the next test empties the tables
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    tasks.set_flask_app(None)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# Transaction and connection chatter, not the application's queries.
_NOT_QUERIES = ("PRAGMA", "BEGIN", "SAVEPOINT", "RELEASE")


@contextlib.contextmanager
def captured_sql(engine):
    """Every ``(statement, parameters)`` this thread sends through ``engine`` inside the block,
    without transaction chatter (BEGIN, PRAGMA, savepoints). Other threads (the telemetry
    flusher) are left out, so counts do not depend on when it wakes."""
    statements: list[tuple[str, object]] = []
    thread = threading.get_ident()

    def before(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() != thread or statement.lstrip().upper().startswith(_NOT_QUERIES):
            return
        if executemany and parameters:
            parameters = parameters[0]
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


_TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')


def csrf_token(client, path: str = "/auth/login") -> str:
    """The CSRF token the page at ``path`` carries on <body> for this client's session."""
    body = client.get(path).get_data(as_text=True)
    match = _TOKEN.search(body)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class AuthActions:
    def __init__(self, client):
        self._client = client

    def signup(self, email="user@example.com", password=factories.PASSWORD):
        token = csrf_token(self._client, "/auth/signup")
        return self._client.post(
            "/auth/signup", data={"email": email, "password": password, "csrf_token": token}
        )

    def login(self, email="user@example.com", password=factories.PASSWORD):
        token = csrf_token(self._client)
        return self._client.post(
            "/auth/login", data={"email": email, "password": password, "csrf_token": token}
        )

    def login_2fa(self, email: str, secret: str, password=factories.PASSWORD):
        """Password, then the current TOTP code (accounts with two-factor on)."""
        import pyotp

        resp = self.login(email, password)
        assert resp.status_code == 303 and "/auth/two-factor" in resp.headers["Location"]
        token = csrf_token(self._client, "/auth/two-factor")
        return self._client.post(
            "/auth/two-factor", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token}
        )

    def logout(self):
        token = csrf_token(self._client, "/")
        return self._client.post("/auth/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return AuthActions(client)


class HtmxClient:
    """Sends what htmx sends: ``HX-Request`` and the CSRF header set once on <body>."""

    def __init__(self, client, token_path: str = "/"):
        self.client = client
        self.token = csrf_token(client, token_path)

    def _headers(self, extra):
        headers = {"HX-Request": "true", "X-CSRFToken": self.token}
        headers.update(extra or {})
        return headers

    def get(self, url, headers=None, **kw):
        return self.client.get(url, headers=self._headers(headers), **kw)

    def post(self, url, headers=None, **kw):
        return self.client.post(url, headers=self._headers(headers), **kw)

    def patch(self, url, headers=None, **kw):
        return self.client.patch(url, headers=self._headers(headers), **kw)

    def delete(self, url, headers=None, **kw):
        return self.client.delete(url, headers=self._headers(headers), **kw)


@pytest.fixture
def user(app):
    with app.app_context():
        return factories.make_user()


@pytest.fixture
def logged_in(client, user, auth):
    """A client signed in as ``user`` (user@example.com)."""
    resp = auth.login()
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    return client


@pytest.fixture
def hx(logged_in):
    return HtmxClient(logged_in)


def new_id() -> str:
    return str(uuid.uuid4())


requires_postgres = pytest.mark.skipif(
    not POSTGRES_URL.startswith("postgres"), reason="DATABASE_URL does not point at PostgreSQL"
)
requires_redis = pytest.mark.skipif(
    not REDIS_URL or not _reachable("127.0.0.1", 6379),
    reason="REDIS_URL unset or Redis unreachable",
)
