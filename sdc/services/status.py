"""The public status of the service: live checks, worker heartbeats and the incident banner.

Every check answers on its own and never raises: with the database down the page still renders
and names the part that is down. Times are UTC; ages are seconds.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, delete, func, select, text, update

from sdc.extensions import db
from sdc.models import GradeReport, Incident, SimulationRun, User, WorkerHeartbeat, utcnow
from sdc.models.base import as_utc
from sdc.services import ServiceError

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_S = 15
STALE_AFTER_S = 60  # four missed beats: the worker is presumed gone
FORGET_AFTER = timedelta(days=1)  # rows of long-gone workers are pruned
SUCCESS_WINDOW_S = 3600
SUCCESS_RATE_OK = 0.9
SEVERITIES = ("info", "warning", "critical")
INCIDENT_MAX = 500
_STARTED = time.time()
JOB_MODELS = ((SimulationRun, "simulation"), (GradeReport, "grading"))


def _db_failure(exc: Exception) -> dict:
    db.session.rollback()
    return {"ok": False, "error": f"database unavailable ({type(exc).__name__})"}


# --- worker heartbeats -------------------------------------------------------------------------


def worker_name(host: str | None = None, pid: int | None = None) -> str:
    return f"{host or socket.gethostname()}:{pid or os.getpid()}"


def beat(name: str, host: str, pid: int, backend: str, workers: int, *, now=None) -> None:
    """Record that consumer ``name`` is alive (insert or refresh its row)."""
    now = now or utcnow()
    updated = db.session.execute(
        update(WorkerHeartbeat)
        .where(WorkerHeartbeat.name == name)
        .values(last_seen=now, stopped_at=None, workers=workers)
    ).rowcount
    if not updated:
        db.session.add(
            WorkerHeartbeat(
                name=name,
                host=host[:160],
                pid=pid,
                queue_backend=backend,
                workers=workers,
                started_at=now,
                last_seen=now,
            )
        )
    db.session.execute(
        delete(WorkerHeartbeat).where(WorkerHeartbeat.last_seen < now - FORGET_AFTER)
    )
    db.session.commit()


def mark_stopped(name: str, *, now=None) -> None:
    """A clean shutdown: the page then says "stopped" at once instead of waiting to go stale."""
    db.session.execute(
        update(WorkerHeartbeat)
        .where(WorkerHeartbeat.name == name)
        .values(stopped_at=now or utcnow())
    )
    db.session.commit()


def worker_state(row: WorkerHeartbeat, now: datetime) -> tuple[str, float]:
    """``("live" | "stale" | "stopped", seconds since the last beat)``."""
    age = (now - as_utc(row.last_seen)).total_seconds()
    if row.stopped_at is not None:
        return "stopped", age
    return ("live" if age <= STALE_AFTER_S else "stale"), age


# --- checks ------------------------------------------------------------------------------------


def check_web() -> dict:
    return {
        "ok": True,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "uptime_s": round(time.time() - _STARTED),
    }


def check_database() -> dict:
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
        db.session.commit()
    except Exception as exc:  # any driver error means "down"
        return _db_failure(exc)
    return {
        "ok": True,
        "backend": db.engine.dialect.name,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def oldest_pending_age_s(now: datetime) -> tuple[float | None, int]:
    """Age of the oldest job sent to the queue and not yet picked up, and how many jobs wait
    unsent for the reaper (the queue was down when they were created).

    Neither Huey backend timestamps its messages, so the job rows (which record when they were
    enqueued) stand in for the queue.
    """
    oldest = None
    unsent = 0
    for model, _kind in JOB_MODELS:
        row = db.session.execute(
            select(
                func.min(case((model.enqueued_at.is_not(None), model.enqueued_at))),
                func.count(case((model.enqueued_at.is_(None), 1))),
            ).where(model.status == "pending")
        ).one()
        first = as_utc(row[0]) if isinstance(row[0], datetime) else _parse(row[0])
        if first is not None and (oldest is None or first < oldest):
            oldest = first
        unsent += int(row[1] or 0)
    db.session.commit()
    age = None if oldest is None else max(0.0, (now - oldest).total_seconds())
    return age, unsent


def _parse(value) -> datetime | None:
    # SQLite returns MIN() over a CASE as text, not as a DateTime.
    if value is None:
        return None
    return as_utc(datetime.fromisoformat(str(value)))


def check_queue(now: datetime | None = None) -> dict:
    from tasks import huey

    now = now or utcnow()
    out: dict = {"backend": type(huey).__name__}
    try:
        out["depth"] = int(huey.pending_count())
        out["ok"] = True
    except Exception as exc:  # redis.ConnectionError, sqlite3.OperationalError, ...
        out.update(ok=False, depth=None, error=f"queue unavailable ({type(exc).__name__})")
    try:
        age, unsent = oldest_pending_age_s(now)
        out["oldest_pending_age_s"] = None if age is None else round(age, 1)
        out["waiting_to_send"] = unsent
    except Exception as exc:
        out["oldest_pending_age_s"] = None
        out["waiting_to_send"] = None
        out["age_error"] = _db_failure(exc)["error"]
    return out


def check_workers(now: datetime | None = None) -> dict:
    now = now or utcnow()
    settings = current_app.config["SDC_SETTINGS"]
    try:
        rows = list(
            db.session.scalars(
                select(WorkerHeartbeat)
                .where(WorkerHeartbeat.last_seen >= now - FORGET_AFTER)
                .order_by(WorkerHeartbeat.last_seen.desc())
                .limit(50)
            )
        )
        db.session.commit()
    except Exception as exc:
        return _db_failure(exc) | {"live": 0, "workers": []}
    workers = []
    for row in rows:
        state, age = worker_state(row, now)
        workers.append(
            {
                "name": row.name,
                "host": row.host,
                "pid": row.pid,
                "queue_backend": row.queue_backend,
                "threads": row.workers,
                "state": state,
                "last_seen": as_utc(row.last_seen).isoformat(),
                "seconds_since_seen": round(age, 1),
            }
        )
    live = sum(w["state"] == "live" for w in workers)
    out = {"ok": live > 0, "live": live, "stale_after_s": STALE_AFTER_S, "workers": workers}
    if settings.huey_immediate:
        # Jobs run inside the web process: no consumer is needed.
        out.update(ok=True, note="jobs run inside the web process (immediate mode)")
    elif not live:
        out["error"] = f"no job consumer has reported in the last {STALE_AFTER_S} s; jobs wait"
    return out


def check_jobs(now: datetime | None = None) -> dict:
    """Share of jobs finished in the last hour that completed (failed ones count against)."""
    now = now or utcnow()
    since = now - timedelta(seconds=SUCCESS_WINDOW_S)
    by_kind = {}
    try:
        for model, kind in JOB_MODELS:
            row = db.session.execute(
                select(
                    func.count(case((model.status == "completed", 1))),
                    func.count(case((model.status == "failed", 1))),
                ).where(model.finished_at >= since, model.status.in_(("completed", "failed")))
            ).one()
            by_kind[kind] = {"completed": int(row[0] or 0), "failed": int(row[1] or 0)}
        db.session.commit()
    except Exception as exc:
        return _db_failure(exc)
    completed = sum(k["completed"] for k in by_kind.values())
    failed = sum(k["failed"] for k in by_kind.values())
    total = completed + failed
    rate = None if total == 0 else completed / total
    return {
        "ok": rate is None or rate >= SUCCESS_RATE_OK,
        "window_s": SUCCESS_WINDOW_S,
        "completed": completed,
        "failed": failed,
        "success_rate": None if rate is None else round(rate, 4),
        "by_kind": by_kind,
    }


def overall(checks: dict) -> str:
    """``operational`` when every check passes, ``outage`` when the app cannot serve pages
    (web or database down), ``degraded`` otherwise (jobs slow, failing or not running)."""
    if not checks["web"]["ok"] or not checks["database"]["ok"]:
        return "outage"
    if all(c.get("ok") for c in checks.values()):
        return "operational"
    return "degraded"


def snapshot(now: datetime | None = None) -> dict:
    """Every check, the overall state and the active incident, as JSON-safe data."""
    now = now or utcnow()
    checks = {
        "web": check_web(),
        "database": check_database(),
        "queue": check_queue(now),
        "workers": check_workers(now),
        "jobs": check_jobs(now),
    }
    incident = None
    try:
        row = active_incident()
        if row is not None:
            incident = describe_incident(row)
    except Exception as exc:
        _db_failure(exc)
    return {
        "status": overall(checks),
        "checked_at": now.isoformat(),
        "incident": incident,
        "checks": checks,
    }


# --- the incident banner ----------------------------------------------------------------------


def active_incident() -> Incident | None:
    return db.session.scalar(
        select(Incident).where(Incident.active.is_(True)).order_by(Incident.id.desc()).limit(1)
    )


def describe_incident(row: Incident) -> dict:
    return {
        "message": row.message,
        "severity": row.severity,
        "since": as_utc(row.created_at).isoformat(),
        "updated_at": as_utc(row.updated_at).isoformat(),
    }


def set_incident(admin: User, message: str, severity: str) -> Incident:
    """Replace the banner with ``message`` (admins only; the view answers 404 to others)."""
    message = " ".join((message or "").split())
    if not message:
        raise ServiceError("Write the message visitors should see.", field="message")
    if len(message) > INCIDENT_MAX:
        raise ServiceError(
            f"Keep the message under {INCIDENT_MAX} characters (this one has {len(message)}).",
            field="message",
        )
    if severity not in SEVERITIES:
        raise ServiceError("Choose info, warning or critical.", field="severity")
    now = utcnow()
    db.session.execute(
        update(Incident).where(Incident.active.is_(True)).values(active=False, resolved_at=now)
    )
    row = Incident(message=message, severity=severity, active=True, created_by=admin.id)
    db.session.add(row)
    db.session.commit()
    _audit(admin, "status.incident_set", {"message": message, "severity": severity})
    return row


def clear_incident(admin: User) -> bool:
    """Resolve the active banner; False when there was none."""
    done = db.session.execute(
        update(Incident).where(Incident.active.is_(True)).values(active=False, resolved_at=utcnow())
    ).rowcount
    db.session.commit()
    if done:
        _audit(admin, "status.incident_cleared", {})
    return bool(done)


def _audit(actor: User, action: str, detail: dict) -> None:
    try:
        from sdc.services import audit
    except ImportError:  # the operations issue's audit service has not landed yet
        return
    audit.record(action, "incident", None, detail=detail, actor=actor)
