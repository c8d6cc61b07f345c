"""Operator use cases: request and job statistics over a window, stuck jobs, user management.

Percentiles are computed in Python from the window's rows, so the numbers are the same on
SQLite and PostgreSQL (windows are capped at ``MAX_WINDOW_ROWS`` newest rows). Every change
made here writes a semantic audit row.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter, defaultdict
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update

from sdc.extensions import db
from sdc.models import JobTelemetry, RequestTelemetry, User, utcnow
from sdc.models.base import as_utc
from sdc.services import NotFound, ServiceError, accounts, audit, jobs, telemetry

WINDOWS_MIN = {"15m": 15, "1h": 60, "6h": 360, "24h": 1440, "7d": 10080}
DEFAULT_WINDOW = "1h"
MAX_WINDOW_ROWS = 200_000
USERS_PAGE_MAX = 50
USER_ACTIONS = ("disable", "enable", "end_sessions", "grant_admin", "revoke_admin")


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    if lo == hi:
        return float(sorted_values[lo])
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def window_minutes(key: str) -> int:
    if key not in WINDOWS_MIN:
        raise ServiceError(f"Choose a window among {', '.join(WINDOWS_MIN)}.", field="window")
    return WINDOWS_MIN[key]


def _bucket_minutes(minutes: int) -> int:
    """Chart bucket size: about 60 points per window."""
    return max(1, minutes // 60)


def request_stats(window: str = DEFAULT_WINDOW, *, now=None) -> dict:
    """Requests per minute, per-route p50/p95/p99, error rates and slowest routes."""
    minutes = window_minutes(window)
    now = now or utcnow()
    since = now - timedelta(minutes=minutes)
    rows = db.session.execute(
        select(
            RequestTelemetry.time,
            RequestTelemetry.method,
            RequestTelemetry.route,
            RequestTelemetry.status,
            RequestTelemetry.duration_ms,
        )
        .where(RequestTelemetry.time >= since)
        .order_by(RequestTelemetry.time.desc())
        .limit(MAX_WINDOW_ROWS)
    ).all()
    bucket = _bucket_minutes(minutes)
    n_buckets = math.ceil(minutes / bucket)
    per_bucket = [0] * n_buckets
    errors_per_bucket = [0] * n_buckets
    routes: dict[tuple[str, str], list] = defaultdict(list)
    status_counts: Counter = Counter()
    for t, method, route, status, duration in rows:
        age_min = (now - as_utc(t)).total_seconds() / 60.0
        index = n_buckets - 1 - min(n_buckets - 1, max(0, int(age_min // bucket)))
        per_bucket[index] += 1
        if status >= 500:
            errors_per_bucket[index] += 1
        routes[(method, route)].append((duration, status))
        status_counts[f"{status // 100}xx"] += 1
    table = []
    for (method, route), samples in routes.items():
        durations = sorted(d for d, _ in samples)
        n = len(samples)
        table.append(
            {
                "method": method,
                "route": route,
                "count": n,
                "per_min": n / minutes,
                "p50_ms": percentile(durations, 0.50),
                "p95_ms": percentile(durations, 0.95),
                "p99_ms": percentile(durations, 0.99),
                "max_ms": durations[-1],
                "error_rate": sum(1 for _, s in samples if s >= 500) / n,
                "client_error_rate": sum(1 for _, s in samples if 400 <= s < 500) / n,
            }
        )
    table.sort(key=lambda r: r["count"], reverse=True)
    all_durations = sorted(r[4] for r in rows)
    total = len(rows)
    return {
        "window": window,
        "minutes": minutes,
        "bucket_minutes": bucket,
        "total": total,
        "truncated": total >= MAX_WINDOW_ROWS,
        "per_min": total / minutes,
        "p50_ms": percentile(all_durations, 0.50),
        "p95_ms": percentile(all_durations, 0.95),
        "p99_ms": percentile(all_durations, 0.99),
        "error_rate": (status_counts["5xx"] / total) if total else None,
        "status_counts": dict(status_counts),
        "series": [c / bucket for c in per_bucket],
        "error_series": [c / bucket for c in errors_per_bucket],
        "routes": table,
        "slowest": sorted(table, key=lambda r: r["p95_ms"] or 0, reverse=True)[:10],
    }


# ---- jobs ------------------------------------------------------------------------------------


def job_kinds() -> dict:
    """Job type -> (model, send function). Grading joins when its service exists."""
    from sdc.models import GradeReport, SimulationRun
    from sdc.services import runs

    kinds = {"simulation": (SimulationRun, runs._send)}
    try:
        from sdc.services import grades
    except ImportError:  # grading not installed yet
        grades = None
    send = getattr(grades, "_send", None) if grades else None
    if send is not None:
        kinds["grading"] = (GradeReport, send)
    return kinds


def _stuck_clause(model, cutoff):
    return or_(
        (model.status == "pending") & model.enqueued_at.is_(None),
        (model.status == "pending") & (model.enqueued_at < cutoff),
        (model.status == "running") & (model.updated_at < cutoff),
    )


def job_stats(window: str = DEFAULT_WINDOW, *, now=None) -> dict:
    """Job states, recent failures, queue wait and run durations, stuck jobs."""
    minutes = window_minutes(window)
    now = now or utcnow()
    since = now - timedelta(minutes=minutes)
    cfg = current_app.config["SDC_SETTINGS"]
    cutoff = now - timedelta(seconds=cfg.run_timeout_s)
    states, failures, stuck = {}, [], []
    for kind, (model, _send) in job_kinds().items():
        states[kind] = dict(
            db.session.execute(select(model.status, func.count()).group_by(model.status)).all()
        )
        for row in db.session.scalars(
            select(model)
            .where(model.status == "failed")
            .order_by(model.finished_at.desc().nulls_last(), model.created_at.desc())
            .limit(20)
        ):
            failures.append({"kind": kind, "row": row})
        for row in db.session.scalars(
            select(model).where(_stuck_clause(model, cutoff)).order_by(model.created_at).limit(100)
        ):
            stuck.append({"kind": kind, "row": row})
    events = db.session.execute(
        select(
            JobTelemetry.job_type,
            JobTelemetry.event,
            JobTelemetry.wait_ms,
            JobTelemetry.duration_ms,
        )
        .where(JobTelemetry.time >= since)
        .limit(MAX_WINDOW_ROWS)
    ).all()
    waits, durations = defaultdict(list), defaultdict(list)
    event_counts: Counter = Counter()
    for job_type, event, wait_ms, duration_ms in events:
        event_counts[(job_type, event)] += 1
        if event == "running" and wait_ms is not None:
            waits[job_type].append(wait_ms)
        if event in ("completed", "failed") and duration_ms is not None:
            durations[job_type].append(duration_ms)
    timing = []
    for job_type in sorted(set(waits) | set(durations)):
        w, d = sorted(waits[job_type]), sorted(durations[job_type])
        timing.append(
            {
                "job_type": job_type,
                "wait_p50_ms": percentile(w, 0.5),
                "wait_p95_ms": percentile(w, 0.95),
                "run_p50_ms": percentile(d, 0.5),
                "run_p95_ms": percentile(d, 0.95),
                "runs": len(d),
            }
        )
    return {
        "window": window,
        "states": states,
        "failures": failures,
        "stuck": stuck,
        "timing": timing,
        "events": sorted(
            ({"job_type": k[0], "event": k[1], "count": v} for k, v in event_counts.items()),
            key=lambda e: (e["job_type"], e["event"]),
        ),
        "timeout_s": cfg.run_timeout_s,
    }


def requeue_job(kind: str, job_id: uuid.UUID) -> str:
    """Put a pending or running job back in the queue, as the reaper would (admin action).

    Returns "requeued" or "queue_down"; NotFound when the job is missing or already finished.
    """
    kinds = job_kinds()
    if kind not in kinds:
        raise NotFound("No such job type.")
    model, send = kinds[kind]
    row = db.session.get(model, job_id)
    if row is None or row.status not in jobs.ACTIVE:
        db.session.rollback()
        raise NotFound("No such pending or running job.")
    status, attempts = row.status, row.attempts
    moved = db.session.execute(
        update(model)
        .where(model.id == job_id, model.status == status, model.attempts == attempts)
        .values(status="pending", enqueued_at=None, updated_at=utcnow())
    ).rowcount
    db.session.commit()
    if not moved:
        raise ServiceError("The job changed while you looked at it; reload and try again.")
    telemetry.record_job("requeued", kind, job_id, attempt=attempts, error=f"was {status}")
    outcome = "requeued" if jobs.enqueue(model, job_id, send) else "queue_down"
    audit.record(
        audit.JOB_REQUEUED,
        kind,
        job_id,
        detail={"was": status, "attempts": attempts, "outcome": outcome},
    )
    return outcome


# ---- users -----------------------------------------------------------------------------------


def find_users(query: str = "", page: int = 1) -> dict:
    stmt = select(User)
    count = select(func.count()).select_from(User)
    if query:
        stmt = stmt.where(func.lower(User.email).contains(query.strip().lower()))
        count = count.where(func.lower(User.email).contains(query.strip().lower()))
    total = db.session.scalar(count)
    page = max(1, page)
    users = db.session.scalars(
        stmt.order_by(User.email).limit(USERS_PAGE_MAX).offset((page - 1) * USERS_PAGE_MAX)
    ).all()
    return {
        "users": users,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // USERS_PAGE_MAX)),
    }


def _admin_count() -> int:
    return db.session.scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.disabled.is_(False))
    )


def change_user(actor: User, user_id: uuid.UUID, action: str) -> User:
    """Disable/enable an account, end its sessions, or grant/revoke admin (audited).

    An admin cannot disable or demote themselves, so the last admin can never lock everyone
    out; disabling also ends every session of the account.
    """
    if action not in USER_ACTIONS:
        raise ServiceError(f"Unknown action; use one of {', '.join(USER_ACTIONS)}.", field="action")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if user.id == actor.id and action in ("disable", "revoke_admin"):
        raise ServiceError("You cannot disable or demote your own account.", field="action")
    target = {"email": user.email}
    if action == "end_sessions":
        accounts.end_all_sessions(user)
        return user
    if action == "disable":
        user.disabled = True
        user.session_version += 1
        event = audit.USER_DISABLED
    elif action == "enable":
        user.disabled = False
        accounts.clear_login_throttle(user)  # also re-opens sign-in after a hard stop
        event = audit.USER_ENABLED
    elif action == "grant_admin":
        user.role = "admin"
        event = audit.ADMIN_GRANTED
    else:
        if user.role == "admin" and _admin_count() <= 1:
            raise ServiceError("This is the last active admin.", field="action")
        user.role = "user"
        event = audit.ADMIN_REVOKED
    audit.record(event, "user", user.id, detail=target, in_transaction=True)
    db.session.commit()
    return user
