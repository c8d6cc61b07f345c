"""The public status page: live checks, heartbeats, queue depth and age, the incident banner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from huey import SqliteHuey

import tasks
from sdc import create_app
from sdc.extensions import db
from sdc.models import Incident, SimulationRun, WorkerHeartbeat, utcnow
from sdc.services import status
from tests import factories
from tests.conftest import TEST_SECRET, csrf_token, make_settings

JSON = {"Accept": "application/json"}


def _run(user, state: str, **values):
    """A job row as the run service leaves it (no simulation needed for the status page)."""
    project, version = factories.make_project(user)
    row = SimulationRun(
        version_id=version.id,
        user_id=user.id,
        status=state,
        engine="analytic",
        engine_version="test",
        seed=1,
        input_snapshot={},
        input_hash="x" * 64,
        **values,
    )
    db.session.add(row)
    db.session.commit()
    return row


def test_status_page_is_public_html_and_json(client):
    page = client.get("/status")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for part in ("Web", "Database", "Job queue", "Workers", "Recent jobs"):
        assert part in body
    assert page.headers["Cache-Control"] == "no-store"
    data = client.get("/status", headers=JSON).get_json()
    assert set(data["checks"]) == {"web", "database", "queue", "workers", "jobs"}
    assert data["checks"]["database"]["ok"] is True
    assert data["incident"] is None


def test_no_worker_means_degraded_and_says_so(client):
    data = client.get("/status", headers=JSON).get_json()
    assert data["checks"]["workers"]["ok"] is False and data["checks"]["workers"]["live"] == 0
    assert data["status"] == "degraded"
    assert "no job consumer has reported" in client.get("/status").get_data(as_text=True)


def test_heartbeat_is_live_then_stale_after_60_s(app, client):
    with app.app_context():
        status.beat("host-a:101", "host-a", 101, "SqliteHuey", 2)
        data = status.check_workers()
        assert data["ok"] and data["live"] == 1 and data["workers"][0]["state"] == "live"
        later = utcnow() + timedelta(seconds=status.STALE_AFTER_S + 1)
        data = status.check_workers(later)
        assert not data["ok"] and data["workers"][0]["state"] == "stale"
        # Another beat refreshes the same row rather than adding one.
        status.beat("host-a:101", "host-a", 101, "SqliteHuey", 2, now=later)
        assert db.session.query(WorkerHeartbeat).count() == 1
        assert status.check_workers(later)["live"] == 1
    page = client.get("/status").get_data(as_text=True)
    assert "host-a:101" in page


def test_stopped_worker_is_reported_at_once(app, client):
    with app.app_context():
        status.beat("host-b:7", "host-b", 7, "SqliteHuey", 1)
        status.mark_stopped("host-b:7")
    data = client.get("/status", headers=JSON).get_json()
    assert data["checks"]["workers"]["ok"] is False
    assert data["checks"]["workers"]["workers"][0]["state"] == "stopped"
    assert "stopped" in client.get("/status").get_data(as_text=True)


def test_old_heartbeats_are_pruned(app):
    with app.app_context():
        long_ago = utcnow() - timedelta(days=2)
        status.beat("old:1", "old", 1, "SqliteHuey", 1, now=long_ago)
        status.beat("new:2", "new", 2, "SqliteHuey", 1)
        assert [w.name for w in db.session.query(WorkerHeartbeat)] == ["new:2"]


def test_queue_depth_grows_when_a_job_is_enqueued(app, client, tmp_path, monkeypatch):
    queue = SqliteHuey("status-test", filename=str(tmp_path / "q.db"))

    @queue.task()
    def noop():
        return None

    monkeypatch.setattr(tasks, "huey", queue)
    before = client.get("/status", headers=JSON).get_json()["checks"]["queue"]
    assert before["ok"] and before["depth"] == 0 and before["backend"] == "SqliteHuey"
    noop()
    noop()
    after = client.get("/status", headers=JSON).get_json()["checks"]["queue"]
    assert after["depth"] == 2
    assert "2 jobs waiting" in client.get("/status").get_data(as_text=True)


def test_oldest_pending_job_age_comes_from_the_job_rows(app, client, user):
    with app.app_context():
        user = db.session.merge(user)
        _run(user, "pending", enqueued_at=utcnow() - timedelta(seconds=300))
        _run(user, "pending", enqueued_at=utcnow() - timedelta(seconds=30))
        _run(user, "pending")  # never reached the queue
        _run(user, "completed", enqueued_at=utcnow() - timedelta(hours=3))
    queue = client.get("/status", headers=JSON).get_json()["checks"]["queue"]
    assert 295 <= queue["oldest_pending_age_s"] <= 330
    assert queue["waiting_to_send"] == 1


def test_success_rate_over_the_last_hour(app, client, user):
    with app.app_context():
        user = db.session.merge(user)
        now = utcnow()
        for _ in range(3):
            _run(user, "completed", finished_at=now - timedelta(minutes=5))
        _run(user, "failed", finished_at=now - timedelta(minutes=10))
        _run(user, "failed", finished_at=now - timedelta(hours=2))  # outside the window
    jobs = client.get("/status", headers=JSON).get_json()["checks"]["jobs"]
    assert (jobs["completed"], jobs["failed"]) == (3, 1)
    assert jobs["success_rate"] == 0.75 and jobs["ok"] is False
    assert "75.0% of 4 jobs" in client.get("/status").get_data(as_text=True)


def test_queue_down_is_named_and_the_page_still_renders(client, monkeypatch):
    class DeadQueue:
        def pending_count(self):
            raise ConnectionError("refused")

    monkeypatch.setattr(tasks, "huey", DeadQueue())
    resp = client.get("/status")
    assert resp.status_code == 200
    assert "queue unavailable (ConnectionError)" in resp.get_data(as_text=True)
    data = client.get("/status", headers=JSON).get_json()
    assert data["checks"]["queue"]["ok"] is False and data["status"] == "degraded"


def test_database_down_page_still_renders_and_says_so(tmp_path):
    dead = f"sqlite:///{tmp_path}/missing-dir/nothing.db"
    app = create_app(settings=make_settings(dead, tmp_path / "instance"))
    app.config["TESTING"] = True
    client = app.test_client()
    resp = client.get("/status")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "Outage" in body and "database unavailable" in body
    data = client.get("/status", headers=JSON).get_json()
    assert data["status"] == "outage"
    assert data["checks"]["web"]["ok"] is True
    assert data["checks"]["database"]["ok"] is False
    assert data["checks"]["workers"]["ok"] is False and data["checks"]["jobs"]["ok"] is False


def _admin_with_2fa(app) -> str:
    with app.app_context():
        return factories.enrol_2fa(factories.make_user("admin@example.com", role="admin"))


def test_admin_sets_and_clears_the_banner(app, client, auth):
    secret = _admin_with_2fa(app)
    auth.login_2fa("admin@example.com", secret)
    token = csrf_token(client, "/status")
    assert b"Status banner (admins)" in client.get("/status").data
    resp = client.post(
        "/status/incident",
        data={"message": "Grading is slow  today", "severity": "warning", "csrf_token": token},
    )
    assert resp.status_code == 303
    data = client.get("/status", headers=JSON).get_json()
    assert data["incident"]["message"] == "Grading is slow today"
    # A new message replaces the old one: one active banner.
    client.post(
        "/status/incident",
        data={"message": "Database maintenance", "severity": "critical", "csrf_token": token},
    )
    with app.app_context():
        assert db.session.query(Incident).filter_by(active=True).count() == 1
    anonymous = app.test_client().get("/status").get_data(as_text=True)
    assert "Database maintenance" in anonymous and "Status banner (admins)" not in anonymous
    client.post("/status/incident/clear", data={"csrf_token": token})
    assert client.get("/status", headers=JSON).get_json()["incident"] is None


def test_banner_form_rejects_bad_input(app, client, auth):
    auth.login_2fa("admin@example.com", _admin_with_2fa(app))
    token = csrf_token(client, "/status")
    resp = client.post(
        "/status/incident", data={"message": "  ", "severity": "warning", "csrf_token": token}
    )
    assert resp.status_code == 422 and b"Write the message" in resp.data
    resp = client.post(
        "/status/incident", data={"message": "x" * 600, "severity": "warning", "csrf_token": token}
    )
    assert resp.status_code == 422 and b"under 500 characters" in resp.data
    resp = client.post(
        "/status/incident", data={"message": "hi", "severity": "apocalypse", "csrf_token": token}
    )
    assert resp.status_code == 422 and b"Choose info, warning or critical" in resp.data


@pytest.mark.parametrize("who", ["anonymous", "user"])
def test_banner_form_is_404_for_non_admins(client, auth, user, who):
    if who == "user":
        auth.login()
    token = csrf_token(client, "/status")
    for path in ("/status/incident", "/status/incident/clear"):
        resp = client.post(path, data={"message": "pwned", "severity": "info", "csrf_token": token})
        assert resp.status_code == 404
    assert client.get("/status", headers=JSON).get_json()["incident"] is None
    assert b"Status banner (admins)" not in client.get("/status").data


def test_status_partial_for_polling(client):
    resp = client.get("/status", headers={"HX-Request": "true"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<section id="status-checks"')


@pytest.mark.slow
def test_real_worker_heartbeat_then_clean_stop(app, client, migrated, tmp_path):
    """`sdc worker` beats at start-up; a clean stop shows as stopped on the page."""
    env = dict(
        os.environ,
        SDC_ENV="test",
        SECRET_KEY=TEST_SECRET,
        DATABASE_URL=migrated,
        SDC_INSTANCE_DIR=str(tmp_path / "instance"),
        HUEY_SQLITE_PATH=str(tmp_path / "huey.db"),
        REDIS_URL="",
        RATELIMIT_ENABLED="false",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "sdc.cli", "worker", "-w", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        workers = {}
        while time.monotonic() < deadline:
            workers = client.get("/status", headers=JSON).get_json()["checks"]["workers"]
            if workers["live"]:
                break
            time.sleep(0.3)
        assert workers["live"] == 1, workers
        assert workers["workers"][0]["name"].endswith(f":{proc.pid}")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    workers = client.get("/status", headers=JSON).get_json()["checks"]["workers"]
    assert workers["live"] == 0 and workers["workers"][0]["state"] == "stopped"


def test_first_beat_waits_for_the_consumer_threads_instead_of_skipping(app, monkeypatch):
    """At start-up the heartbeat thread runs before the consumer's worker threads: it must
    beat as soon as they are up, not skip and leave the status page empty for an interval."""
    import threading

    from tasks import heartbeat as heartbeat_module
    from tasks.heartbeat import Heartbeat

    warned = []
    monkeypatch.setattr(heartbeat_module.log, "warning", lambda *a, **kw: warned.append(a))
    beaten = threading.Event()
    monkeypatch.setattr(status, "beat", lambda *args, **kw: beaten.set())
    checks = []

    def healthy() -> bool:  # the consumer's threads come up on the third look
        checks.append(1)
        return len(checks) >= 3

    heartbeat = Heartbeat(app, backend="SqliteHuey", workers=1, interval_s=3600, healthy=healthy)
    heartbeat.start()
    try:
        # With a one-hour interval, a skipped first beat would mean no beat for an hour.
        assert beaten.wait(timeout=30)
    finally:
        heartbeat._stop_event.set()
        heartbeat.join(timeout=5)
    assert len(checks) >= 3
    assert warned == []  # no "heartbeat skipped" at start-up
