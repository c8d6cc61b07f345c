"""Job telemetry from Huey's signals: one ``job_telemetry`` row per lifecycle event.

The web records ``enqueued`` (``sdc.services.jobs.enqueue``) and the reaper ``reaped``; the
consumer records the rest here. Receivers never raise (Huey also guards them), so telemetry
cannot change what a job does.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from huey import signals as S

from tasks import flask_app, huey

log = logging.getLogger(__name__)

EVENTS = {
    S.SIGNAL_EXECUTING: "running",
    S.SIGNAL_COMPLETE: "completed",
    S.SIGNAL_ERROR: "failed",
    S.SIGNAL_RETRYING: "retrying",
    S.SIGNAL_EXPIRED: "expired",
    S.SIGNAL_INTERRUPTED: "interrupted",
    S.SIGNAL_CANCELED: "canceled",
    S.SIGNAL_REVOKED: "revoked",
    S.SIGNAL_TIMEOUT: "failed",
}

_started: dict[str, float] = {}
_skipped: set[str] = set()
_lock = threading.Lock()


def _job_model(job_type: str):
    from sdc.models import GradeReport, SimulationRun

    return {"simulation": SimulationRun, "grading": GradeReport}.get(job_type)


def _row_state(job_type: str, job_id: str):
    """(status, attempts, enqueued_at, error) of the job's row, or None."""
    from sdc.extensions import db

    model = _job_model(job_type)
    if model is None:
        return None
    try:
        row = db.session.get(model, uuid.UUID(job_id), populate_existing=True)
        state = (row.status, row.attempts, row.enqueued_at, row.error) if row else None
    finally:
        db.session.commit()  # end the read before the telemetry connection writes
    return state


@huey.signal()
def record_job_event(signal, task, *args, **_kwargs) -> None:
    event = EVENTS.get(signal)
    if event is None:
        return
    try:
        _record(signal, event, task, args)
    except Exception:
        log.warning("job telemetry for %s failed", getattr(task, "name", task), exc_info=True)


def _record(signal, event, task, args) -> None:
    from sdc.models.base import as_utc, utcnow
    from sdc.services import telemetry

    job_type = telemetry.TASK_JOB_TYPES.get(task.name)
    if job_type is None and signal not in (S.SIGNAL_ERROR, S.SIGNAL_TIMEOUT):
        return  # housekeeping (reaper, heartbeat, purge) is recorded only when it fails
    job_id = str(task.args[0]) if job_type and task.args else str(task.id)
    job_type = job_type or task.name
    now = time.monotonic()
    with flask_app().app_context():
        state = _row_state(job_type, job_id)
        status, attempts, enqueued_at, row_error = state or (None, None, None, None)
        duration_ms = wait_ms = error = None
        if signal == S.SIGNAL_EXECUTING:
            if status in ("completed", "failed"):
                with _lock:
                    _skipped.add(task.id)
                telemetry.record_job("skipped", job_type, job_id, attempt=attempts)
                return
            with _lock:
                _started[task.id] = now
            attempt = (attempts or 0) + 1 if state else None
            if enqueued_at is not None:
                wait_ms = max(0.0, (utcnow() - as_utc(enqueued_at)).total_seconds() * 1000.0)
            telemetry.record_job(event, job_type, job_id, attempt=attempt, wait_ms=wait_ms)
            return
        with _lock:
            started = _started.pop(task.id, None) if signal != S.SIGNAL_RETRYING else None
            skipped = task.id in _skipped
            if signal != S.SIGNAL_RETRYING:
                _skipped.discard(task.id)
        if skipped:
            return
        if started is not None:
            duration_ms = (now - started) * 1000.0
        if signal == S.SIGNAL_COMPLETE and state is not None:
            # The task catches the engine's errors and marks the row; the row says what happened.
            if status == "failed":
                event, error = "failed", row_error
            elif status != "completed":
                event = "skipped"  # another worker holds the claim
        elif args and isinstance(args[0], BaseException):
            error = f"{type(args[0]).__name__}: {args[0]}"
        telemetry.record_job(
            event, job_type, job_id, attempt=attempts, duration_ms=duration_ms, error=error
        )
