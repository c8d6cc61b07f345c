"""Request telemetry: hooks, sampling, the buffer's flushes, failure isolation; job events."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from sdc.extensions import db
from sdc.models import JobTelemetry, RequestTelemetry
from sdc.services import telemetry


def _rows(app):
    telemetry.flush(app)
    with app.app_context():
        return db.session.scalars(select(RequestTelemetry).order_by(RequestTelemetry.id)).all()


def test_request_rows_use_the_route_template_and_request_id(app, logged_in):
    resp = logged_in.get(
        "/scenarios/", headers={"X-Request-ID": "trace-abc-123", "HX-Request": "true"}
    )
    assert resp.headers["X-Request-ID"] == "trace-abc-123"
    logged_in.get("/projects/00000000-0000-0000-0000-000000000000")
    logged_in.post("/no/such/path")
    rows = _rows(app)
    by_route = {r.route: r for r in rows}
    scen = by_route["/scenarios/"]
    assert scen.request_id == "trace-abc-123" and scen.method == "GET" and scen.status == 200
    assert scen.htmx is True and scen.user_id is not None and scen.duration_ms > 0
    assert scen.response_bytes and scen.response_bytes > 0 and scen.client_ip
    # the template, not the raw path: cardinality stays bounded
    assert "/projects/<uuid:project_id>" in by_route
    assert by_route["/projects/<uuid:project_id>"].status == 404
    assert by_route["<unmatched>"].status in (400, 404)


def test_a_request_that_never_needs_its_user_is_attributed_without_loading_it(app, logged_in, user):
    """/healthz has no use for the account: its telemetry row names the session's account and
    the request sends no query at all (the user query would be the only one)."""
    from tests.conftest import captured_sql

    with app.app_context():
        engine = db.engine
    with captured_sql(engine) as statements:
        assert logged_in.get("/healthz").status_code == 200
    assert statements == []
    healthz = [r for r in _rows(app) if r.route == "/healthz"]
    assert healthz and healthz[-1].user_id == user.id


def test_malformed_request_id_is_replaced(client):
    resp = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"})
    assert resp.headers["X-Request-ID"] != "bad id <script>"
    assert len(resp.headers["X-Request-ID"]) == 32


def test_sampling_keeps_errors_and_slow_requests():
    assert telemetry.keep(500, 1.0, 0.0) and telemetry.keep(404, 1.0, 0.0)
    assert telemetry.keep(200, telemetry.SLOW_REQUEST_MS, 0.0)
    assert not telemetry.keep(200, 5.0, 0.0)
    assert telemetry.keep(200, 5.0, 1.0)
    kept = sum(telemetry.keep(200, 5.0, 0.25) for _ in range(4000))
    assert 800 < kept < 1200


def test_sample_rate_zero_records_only_errors(app, client):
    import dataclasses

    app.config["SDC_SETTINGS"] = dataclasses.replace(
        app.config["SDC_SETTINGS"], request_telemetry_sample_rate=0.0
    )
    client.get("/healthz")
    client.get("/projects/not-a-uuid")
    assert [r.status for r in _rows(app)] == [404]


def test_buffer_flushes_by_count_in_the_background(app):
    buffer = telemetry.buffer_for(app)
    buffer.flush_count = 5
    client = app.test_client()
    for _ in range(5):
        client.get("/healthz")
    deadline = time.monotonic() + 5
    while buffer.written < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert buffer.written == 5 and buffer.pending() == 0
    flusher = [t for t in threading.enumerate() if t.name == "sdc-telemetry-flusher"]
    assert flusher and all(t.daemon for t in flusher)


def test_buffer_flushes_by_time(app):
    buffer = telemetry.buffer_for(app)
    buffer.interval_s = 0.1
    app.test_client().get("/healthz")
    deadline = time.monotonic() + 5
    while buffer.written < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert buffer.written == 1


def test_close_writes_what_is_left(app):
    app.test_client().get("/healthz")
    buffer = telemetry.buffer_for(app)
    assert buffer.pending() == 1
    buffer.close()
    assert buffer.pending() == 0
    with app.app_context():
        assert db.session.scalar(select(RequestTelemetry.route)) == "/healthz"


def test_a_failing_database_write_never_breaks_a_response(app, client, monkeypatch):
    buffer = telemetry.buffer_for(app)

    def broken(rows):
        raise RuntimeError("telemetry database is down")

    monkeypatch.setattr(buffer, "_write", broken)
    assert client.get("/healthz").status_code == 200
    assert client.get("/scenarios/").status_code in (200, 302)
    assert telemetry.flush(app) == 0  # swallowed, counted
    assert buffer.failures == 1 and buffer.dropped == 2
    monkeypatch.undo()
    assert client.get("/healthz").status_code == 200
    assert telemetry.flush(app) == 1


def test_a_slow_database_write_never_slows_a_response(app, client, monkeypatch):
    buffer = telemetry.buffer_for(app)
    buffer.flush_count = 1  # every request wakes the flusher
    real = buffer._write

    def slow(rows):
        time.sleep(0.5)
        real(rows)

    monkeypatch.setattr(buffer, "_write", slow)
    client.get("/healthz")  # warm up (starts the flusher)
    started = time.perf_counter()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert time.perf_counter() - started < 0.4


def test_a_broken_hook_input_never_breaks_a_response(app, client, monkeypatch):
    def explode(row):
        raise RuntimeError("boom")

    monkeypatch.setattr(telemetry.TelemetryBuffer, "add", explode)
    assert client.get("/healthz").status_code == 200


def test_buffer_is_bounded(app):
    buffer = telemetry.TelemetryBuffer(app, flush_count=10_000, max_rows=3)
    for i in range(5):
        buffer.add({"n": i})
    assert buffer.pending() == 3 and buffer.dropped == 2
    buffer._rows.clear()
    buffer.close()


def test_job_events_from_enqueue_signals_and_reaper(app, user):
    """A run through Huey (immediate mode): enqueued, running, completed, with wait and duration."""
    from sdc.services import runs
    from tests.services.test_runs import SMALL_DESIGN, TRAFFIC, make_version

    with app.app_context():
        owner = db.session.merge(user)
        version = make_version(owner, SMALL_DESIGN, TRAFFIC)
        run, _ = runs.start_run(owner, version.id, engine="analytic")
        events = db.session.scalars(
            select(JobTelemetry).where(JobTelemetry.job_id == str(run.id)).order_by(JobTelemetry.id)
        ).all()
    names = [e.event for e in events]
    assert names[:1] == ["running"] or "running" in names
    assert set(names) >= {"running", "completed"}
    running = next(e for e in events if e.event == "running")
    completed = next(e for e in events if e.event == "completed")
    assert running.job_type == "simulation" and running.attempt == 1
    assert completed.duration_ms is not None and completed.duration_ms >= 0
    assert completed.queue in ("sqlite", "redis")


def test_reaper_and_enqueue_record_events(app, user):
    from datetime import timedelta

    from sdc.models import SimulationRun, utcnow
    from sdc.services import jobs, runs
    from tests.services.test_runs import SMALL_DESIGN, TRAFFIC, make_version

    sent = []
    with app.app_context():
        owner = db.session.merge(user)
        version = make_version(owner, SMALL_DESIGN, TRAFFIC)

        def down(run_id):
            raise ConnectionError("queue down")

        original = runs._send
        runs._send = down
        try:
            run, _ = runs.start_run(owner, version.id, engine="analytic")
        finally:
            runs._send = original
        run_id = run.id
        jobs.reap(SimulationRun, sent.append, now=utcnow() + timedelta(seconds=1))
        events = [
            (e.event, e.job_type)
            for e in db.session.scalars(
                select(JobTelemetry)
                .where(JobTelemetry.job_id == str(run_id))
                .order_by(JobTelemetry.id)
            )
        ]
    assert events == [
        ("queue_down", "simulation"),
        ("reaped", "simulation"),
        ("enqueued", "simulation"),
    ]
    assert sent == [str(run_id)]


def test_job_events_while_serving_a_request_join_the_buffer(app):
    """A run or grade started by a request records its "enqueued" event in the buffer, written
    with the request rows by the next flush, not on a connection of its own at once; outside a
    request (workers, reaper) events are still written at once (the tests above)."""
    buffer = telemetry.buffer_for(app)
    with app.test_request_context("/projects/x/versions/y/runs", method="POST"):
        telemetry.record_job("enqueued", "simulation", "job-in-request", queue="redis")
        assert buffer.pending() == 1
        assert db.session.scalar(select(JobTelemetry.id)) is None
    telemetry.flush(app)  # the job row, and the request row the context's teardown records
    with app.app_context():
        row = db.session.scalars(select(JobTelemetry)).one()
    assert (row.event, row.job_type, row.job_id, row.queue) == (
        "enqueued",
        "simulation",
        "job-in-request",
        "redis",
    )
    with app.app_context():
        telemetry.record_job("running", "simulation", "job-in-request", attempt=1)
        assert buffer.pending() == 0
        assert db.session.scalar(select(func.count()).select_from(JobTelemetry)) == 2
