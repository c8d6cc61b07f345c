"""Request and job telemetry: an in-process buffer flushed in bulk, and job lifecycle events.

Request rows go into a per-app, thread-safe buffer. A daemon flusher thread, started on the
first row (never by ``create_app``), writes them in one transaction (an INSERT per table) when
``FLUSH_COUNT`` rows are waiting or every ``FLUSH_INTERVAL_S`` seconds, and once more at
interpreter exit. Writes use a connection of their own, and every failure is logged and
swallowed: telemetry never breaks or slows a response. The buffer holds at most
``MAX_BUFFERED`` rows; beyond that new rows are dropped (and counted) rather than growing memory
while the database is away.

Job events (enqueued, running, completed, failed, retrying, expired, interrupted, reaped, ...)
recorded while serving a request join the same buffer: starting a run or a grade is a hot path
(hundreds a second in the load test), where writing its "enqueued" row at once cost a
connection and a commit per start. Outside requests (the workers, the reaper, the CLI) they are
written at once, on their own connection. Either way recording never raises. A row's ``time``
is when the event happened, so a buffered row written a few seconds later still sorts by it.
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import threading
import time
from datetime import timedelta

from flask import Flask, current_app, has_request_context
from sqlalchemy import insert

from sdc.db_events import single_statement
from sdc.extensions import db, ops_rows_engine
from sdc.models import JobTelemetry, RequestTelemetry, utcnow

log = logging.getLogger(__name__)

FLUSH_COUNT = 200
FLUSH_INTERVAL_S = 5.0
MAX_BUFFERED = 20_000
SLOW_REQUEST_MS = 1000.0
EXTENSION_KEY = "sdc_telemetry"

# Job types by Huey task name and by job table; grading adds its own entries here.
TASK_JOB_TYPES = {"run_simulation": "simulation", "run_grade": "grading"}
TABLE_JOB_TYPES = {"simulation_runs": "simulation", "grade_reports": "grading"}
JOB_EVENTS = (
    "enqueued",
    "queue_down",
    "running",
    "completed",
    "failed",
    "retrying",
    "expired",
    "interrupted",
    "canceled",
    "revoked",
    "skipped",
    "reaped",
    "requeued",
)


class TelemetryBuffer:
    """Rows waiting to be written; ``add`` never blocks on the database."""

    def __init__(
        self,
        app: Flask,
        flush_count: int = FLUSH_COUNT,
        interval_s: float = FLUSH_INTERVAL_S,
        max_rows: int = MAX_BUFFERED,
    ):
        self.app = app
        self.flush_count = flush_count
        self.interval_s = interval_s
        self.max_rows = max_rows
        self.written = 0
        self.dropped = 0
        self.failures = 0
        self._rows: list[dict] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    # -- producer side (request threads) --

    def add(self, row: dict, model=RequestTelemetry) -> None:
        """Queue ``row`` for ``model``'s table (request rows unless told)."""
        if self._pid != os.getpid():  # forked (gunicorn --preload): start afresh in the child
            self._after_fork()
        with self._lock:
            if len(self._rows) >= self.max_rows:
                self.dropped += 1
                return
            self._rows.append((model, row))
            full = len(self._rows) >= self.flush_count
        self._ensure_thread()
        if full:
            self._wake.set()

    def pending(self) -> int:
        with self._lock:
            return len(self._rows)

    # -- consumer side --

    def flush(self) -> int:
        """Write every waiting row now; returns how many were written (0 on failure)."""
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        with self._write_lock:
            try:
                self._write(rows)
            except Exception:
                self.failures += 1
                self.dropped += len(rows)
                log.warning("telemetry: dropped %d rows", len(rows), exc_info=True)
                return 0
        self.written += len(rows)
        return len(rows)

    def _write(self, rows: list[tuple]) -> None:
        """``rows``: (model, row) pairs, written an INSERT per table in one transaction."""
        by_model: dict = {}
        for model, row in rows:
            by_model.setdefault(model, []).append(row)
        with self.app.app_context():
            with ops_rows_engine().begin() as conn:
                for model, group in by_model.items():
                    conn.execute(insert(model), group)

    def _ensure_thread(self) -> None:
        if self._thread is not None or self._stop.is_set():
            return
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name="sdc-telemetry-flusher", daemon=True
            )
            self._thread.start()
        atexit.register(self.close)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # never let the flusher die
                log.exception("telemetry flusher")

    def close(self, timeout: float = 5.0) -> None:
        """Stop the flusher and write what is left (atexit, tests, shutdown)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self.flush()
        try:
            atexit.unregister(self.close)
        except Exception:
            pass

    def _after_fork(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._rows = []
        self._thread = None
        self._wake = threading.Event()


def init_app(app: Flask) -> TelemetryBuffer:
    """Attach a buffer to ``app`` (no thread, no connection: those start on first use)."""
    buffer = TelemetryBuffer(app)
    app.extensions[EXTENSION_KEY] = buffer
    return buffer


def buffer_for(app: Flask | None = None) -> TelemetryBuffer | None:
    app = app or current_app
    return app.extensions.get(EXTENSION_KEY)


def flush(app: Flask | None = None) -> int:
    """Write the buffered rows now (tests, shutdown)."""
    buffer = buffer_for(app)
    return buffer.flush() if buffer else 0


def close(app: Flask) -> None:
    buffer = buffer_for(app)
    if buffer is not None:
        buffer.close()


def keep(status: int, duration_ms: float, sample_rate: float) -> bool:
    """Sampling: errors and slow requests are always kept, the rest at ``sample_rate``."""
    if status >= 400 or duration_ms >= SLOW_REQUEST_MS or sample_rate >= 1.0:
        return True
    if sample_rate <= 0.0:
        return False
    return random.random() < sample_rate  # statistical sampling, not security


def record_request(row: dict) -> None:
    """Queue one request row (already sampled) for the next flush; never raises."""
    try:
        buffer = buffer_for()
        if buffer is not None:
            buffer.add(row)
    except Exception:
        log.debug("request telemetry: row not recorded", exc_info=True)


# ---- job telemetry ---------------------------------------------------------------------------


def record_job(
    event: str,
    job_type: str,
    job_id,
    *,
    queue: str | None = None,
    attempt: int | None = None,
    duration_ms: float | None = None,
    wait_ms: float | None = None,
    error: str | None = None,
) -> None:
    """Record one job lifecycle event; never raises.

    Call with an app context. While serving a request the row joins the telemetry buffer (see
    the module docstring); otherwise it is written at once on its own connection, and on SQLite,
    while the session holds the write lock, as soon as that transaction ends.
    """
    try:
        row = {
            "time": utcnow(),
            "queue": (queue or current_app.config["SDC_SETTINGS"].queue_backend)[:40],
            "job_type": str(job_type)[:60],
            "job_id": str(job_id)[:64],
            "event": event[:20],
            "attempt": attempt,
            "duration_ms": duration_ms,
            "wait_ms": wait_ms,
            "error": error[:2000] if error else None,
        }
        buffer = buffer_for() if has_request_context() else None
        if buffer is not None:
            buffer.add(row, JobTelemetry)
            return
        session = db.session()
        if db.engine.dialect.name == "sqlite" and session.in_transaction():
            from sdc.services.audit import defer_until_transaction_end

            defer_until_transaction_end(session, JobTelemetry, [row])
            return
        with single_statement(ops_rows_engine()) as conn:
            conn.execute(insert(JobTelemetry), [row])
    except Exception:
        log.warning("job telemetry: %s %s not recorded", event, job_id, exc_info=True)


def job_type_of(model) -> str:
    return TABLE_JOB_TYPES.get(model.__tablename__, model.__tablename__)


# ---- retention -------------------------------------------------------------------------------


def purge_older_than(days: int, batch: int = 5000) -> dict:
    """Delete request and job telemetry older than ``days``, in batches."""
    from sdc.services.audit import purge_table

    cutoff = utcnow() - timedelta(days=days)
    return {
        "request_telemetry": purge_table(RequestTelemetry, cutoff, batch),
        "job_telemetry": purge_table(JobTelemetry, cutoff, batch),
    }


def monotonic_ms() -> float:
    return time.perf_counter() * 1000.0
