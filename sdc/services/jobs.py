"""What simulation runs and grade reports share as durable jobs.

The database row is the source of truth; the Huey message carries only its id. A job is
enqueued after its row is committed; if the queue is unreachable the row simply stays
``pending`` with ``enqueued_at`` unset and the reaper enqueues it later. A worker claims a row
with a guarded UPDATE, so a duplicate message (re-enqueue, retry) does nothing once the job is
done, and a job whose worker died is re-enqueued by the reaper a bounded number of times.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.orm import contains_eager, make_transient_to_detached

from sdc.db_events import OWN_TRANSACTION
from sdc.extensions import commit_keeping_loaded, db
from sdc.models import Project, Scenario, Version, utcnow
from sdc.models.run import ACTIVE_SQL, ACTIVE_STATES, newest_job_id
from sdc.services import policy, telemetry

log = logging.getLogger(__name__)

ACTIVE = ACTIVE_STATES  # queued or running (the models' name: their partial index holds these)
DONE = ("completed", "failed")
ERROR_MAX = 2000


def canonical_hash(payload: object) -> str:
    """SHA-256 of canonical JSON: equal inputs give equal hashes on every machine."""
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def settings():
    return current_app.config["SDC_SETTINGS"]


# Which jobs ``newest_per_version`` picks from, by name (the statement is built once per name).
NEWEST = {
    "any": None,
    "completed": lambda job: job.status == "completed",
    "baseline": lambda run: run.baseline_run_id.is_(None),  # runs with no failure injected
    "completed baseline": lambda run: and_(
        run.baseline_run_id.is_(None), run.status == "completed"
    ),
}


def newest_per_version(model, version_ids, which: str = "any", options: tuple = ()) -> dict:
    """``{version_id: job}``: the newest ``model`` job of each version in ``version_ids`` among
    those ``NEWEST[which]`` admits, in one query: loaded whole, or as the loader ``options``
    (a tuple built once: the statement is cached per tuple) say.

    It reads about one row per version (a backward probe of ``(version_id, created_at)`` each)
    however many jobs a version has: loading all of them to keep the newest loaded hundreds
    of results or reports whole (1.2 s for a project page with 2,000 runs and 400 grades).
    """
    if not version_ids:
        return {}
    rows = db.session.scalars(
        _newest_per_version_stmt(model, which, options), {"version_ids": list(version_ids)}
    )
    return {job.version_id: job for job in rows}


@functools.cache
def _newest_per_version_stmt(model, which: str, options: tuple):
    newest = select(newest_job_id(model, Version.id, NEWEST[which])).where(
        Version.id.in_(bindparam("version_ids", expanding=True))
    )
    return select(model).where(model.id.in_(newest)).options(*options)


def job_for(model, user, job_id):
    """The ``model`` job ``job_id`` with its version, project and scenario as its page shows
    them (documents included), or None if ``user`` may not see it; one statement."""
    return db.session.scalar(
        _job_stmt(model), {"job_id": job_id, "user_id": policy.user_id_of(user)}
    )


@functools.cache
def _job_stmt(model):
    return (
        select(model)
        .join(Version, Version.id == model.version_id)
        .join(Project, Project.id == Version.project_id)
        .where(model.id == bindparam("job_id"), policy.visible_to_user_id(bindparam("user_id")))
        .options(
            contains_eager(model.version)
            .contains_eager(Version.project)
            .joinedload(Project.scenario)
        )
    )


def job_status_for(model, user, job_id, options: tuple, slos: bool = False):
    """The ``model`` job ``job_id`` as its status widget polls it (every second while the job
    is queued or running), or None if ``user`` may not see it: loaded with ``options`` (the
    model's summary: its documents left in the database), its version and project by their
    ids and, with ``slos``, its scenario's SLOs (a run's verdict reads them), in one statement.
    Loading the job as its page does parsed the design, the scenario's documents and the job's
    input, and once it finished its whole result or report, on every poll. Anything else it
    reads loads on first use (one more query)."""
    return db.session.scalar(
        _job_status_stmt(model, options, slos),
        {"job_id": job_id, "user_id": policy.user_id_of(user)},
    )


@functools.cache
def _job_status_stmt(model, options: tuple, slos: bool):
    version = contains_eager(model.version)
    project = version.contains_eager(Version.project)
    loads = [
        *options,
        version.load_only(Version.id, Version.project_id, Version.number),
        project.load_only(Project.id, Project.owner_id, Project.scenario_id, Project.title),
    ]
    if slos:
        loads.append(project.joinedload(Project.scenario).load_only(Scenario.id, Scenario.slos))
    return (
        select(model)
        .join(Version, Version.id == model.version_id)
        .join(Project, Project.id == Version.project_id)
        .where(model.id == bindparam("job_id"), policy.visible_to_user_id(bindparam("user_id")))
        .options(*loads)
    )


def admit(model, user, version_id, input_hash: str, noun: str):
    """Whether ``user`` may start a job of ``model`` for this version and input, in one query.

    Returns the job of the same version and input already pending or running (a double click
    starts one job; it is returned whatever the limits), else None once the per-user limits
    hold: ``RUNS_CONCURRENT`` jobs queued or running at once and ``RUNS_PER_MINUTE`` started
    per minute, counted over this model's jobs. Past a limit it raises RateLimited (429), with
    ``noun`` naming the jobs in the message.
    """
    from sdc.services import RateLimited

    cfg = settings()
    in_flight, active, recent = db.session.execute(
        _admission_stmt(model),
        {
            "version_id": version_id,
            "input_hash": input_hash,
            "user_id": user.id,
            "since": utcnow() - timedelta(minutes=1),
        },
    ).one()
    if in_flight is not None:
        return db.session.get(model, in_flight)
    if active >= cfg.runs_concurrent:
        raise RateLimited(
            f"You already have {active} {noun} queued or running (the limit is {cfg.runs_concurrent}). "
            "Wait for one to finish, then try again."
        )
    if recent >= cfg.runs_per_minute:
        raise RateLimited(
            f"You started {recent} {noun} in the last minute (the limit is {cfg.runs_per_minute}). "
            "Wait a minute, then try again."
        )
    return None


@functools.cache
def _admission_stmt(model):
    """One row for ``admit``: the id of a job of ``:version_id`` with ``:input_hash`` that is
    still active (or NULL), then ``:user_id``'s active jobs and those created after ``:since``.
    Built once per model (it is on the run-start path).

    Each part reads only what it counts, however many jobs the user has finished: the active
    count through the partial index ``ix_<table>_user_active`` (its filter is spelled as the
    index's predicate, ``ACTIVE_SQL``, so PostgreSQL can match the two even in a generic plan),
    the last minute's through ``ix_<table>_user_created``.
    """
    user = model.user_id == bindparam("user_id")
    active = text(ACTIVE_SQL)

    def scalar(stmt):
        return stmt.correlate(None).scalar_subquery()  # each its own FROM

    same_input = scalar(
        select(model.id)
        .where(
            model.version_id == bindparam("version_id"),
            model.input_hash == bindparam("input_hash"),
            active,
        )
        .limit(1)
    )
    in_flight = scalar(select(func.count()).select_from(model).where(user, active))
    recent = scalar(
        select(func.count()).select_from(model).where(user, model.created_at > bindparam("since"))
    )
    return select(same_input, in_flight, recent)


def enqueue(model, job_id, send: Callable[[str], object], *, stamped: bool = False) -> bool:
    """Send ``job_id`` to the queue and stamp ``enqueued_at``; False when the queue is down.

    ``stamped``: the caller inserted the row with ``enqueued_at`` already set (a new job), which
    saves a write on the hot path; if the send fails the stamp is cleared, so the row reads
    "never reached the queue" either way. (Should the process die between the insert and the
    send, the reaper still finds the job: pending in the queue for longer than RUN_TIMEOUT_S.)

    Call with no transaction open on the session (SQLite holds its write lock for the whole
    transaction, and in immediate mode the job runs inside ``send``).
    """
    try:
        send(str(job_id))
    except Exception as exc:  # redis.ConnectionError, sqlite3.OperationalError, ...
        log.warning(
            "queue unavailable, %s %s stays pending for the reaper: %s",
            model.__tablename__,
            job_id,
            exc,
        )
        db.session.rollback()
        if stamped:
            db.session.execute(
                update(model)
                .where(model.id == job_id, model.status == "pending")
                .values(enqueued_at=None)
            )
            db.session.commit()
        telemetry.record_job(
            "queue_down", telemetry.job_type_of(model), job_id, error=error_text(exc)
        )
        return False
    if not stamped:
        db.session.execute(
            update(model)
            .where(model.id == job_id, model.enqueued_at.is_(None))
            .values(enqueued_at=utcnow())
        )
        db.session.commit()
    telemetry.record_job("enqueued", telemetry.job_type_of(model), job_id)
    return True


def new_job_state(now) -> dict:
    """The job columns of a row just started, for ``insert_new``: pending, queued at ``now``
    (``enqueue`` clears ``enqueued_at`` if the queue turns out to be down), no attempt yet."""
    return {
        "status": "pending",
        "error": None,
        "progress": 0.0,
        "attempts": 0,
        "enqueued_at": now,
        "started_at": None,
        "finished_at": None,
        "created_at": now,
        "updated_at": now,
    }


def insert_new(model, values: dict):
    """Insert a new job row from ``values`` (every column, defaults included) and return it
    as an object of the request's session holding exactly those values: nothing is read back.

    On PostgreSQL the INSERT is its own transaction when the request has written nothing yet
    (``OWN_TRANSACTION``: the admission that precedes it only read), so no BEGIN or COMMIT
    goes out with it, and a Core insert costs less than the ORM's unit of work. On SQLite it
    commits with the request's transaction, whose BEGIN IMMEDIATE has held the write lock
    since the admission check, as before. Objects the session has loaded stay loaded.
    """
    table = model.__table__
    missing = table.columns.keys() - values.keys()
    if missing:  # the object would not hold the row: a default the ORM fills is not known here
        raise ValueError(f"insert_new({model.__name__}): no value for {sorted(missing)}")
    # A None is left out of the INSERT, so its column is SQL NULL as the ORM writes it (a JSON
    # column given None would store JSON null); a column with a default must not be None.
    row = {key: value for key, value in values.items() if value is not None}
    defaulted = [key for key in values.keys() - row.keys() if table.c[key].default is not None]
    if defaulted:
        raise ValueError(f"insert_new({model.__name__}): None for defaulted {sorted(defaulted)}")
    # The table, not the entity: an ORM-enabled insert goes through the bulk persistence
    # machinery, which this one row does not need.
    db.session.execute(insert(table).execution_options(**{OWN_TRANSACTION: True}), row)
    commit_keeping_loaded()  # sends nothing on PostgreSQL when the INSERT was its own
    job = model(**values)
    make_transient_to_detached(job)  # as if just loaded: persistent once added, no INSERT
    db.session.add(job)
    return job


def queue_runs_inline() -> bool:
    """Whether the queue runs a job inside ``send`` (Huey's immediate mode, which the tests
    use): the job's row has then moved on by the time ``enqueue`` returns."""
    from tasks import huey

    return bool(huey.immediate)


def claim(model, job_id) -> int | None:
    """Mark the job running for one more attempt; returns that attempt number, or None when the
    job is finished or missing (a duplicate message then does nothing)."""
    row = db.session.execute(select(model.status, model.attempts).where(model.id == job_id)).first()
    db.session.commit()
    if row is None or row.status in DONE:
        return None
    attempt = row.attempts + 1
    now = utcnow()
    claimed = db.session.execute(
        update(model)
        .where(model.id == job_id, model.status.in_(ACTIVE), model.attempts == row.attempts)
        .values(
            status="running",
            attempts=attempt,
            started_at=now,
            updated_at=now,
            progress=0.0,
            enqueued_at=model.enqueued_at if model.enqueued_at is not None else now,
        )
    ).rowcount
    db.session.commit()
    return attempt if claimed else None


def finish(model, job_id, attempt: int, **values) -> bool:
    """Store the outcome of ``attempt`` unless the job already finished or moved on."""
    values.setdefault("finished_at", utcnow())
    done = db.session.execute(
        update(model)
        .where(model.id == job_id, model.status == "running", model.attempts == attempt)
        .values(**values)
    ).rowcount
    db.session.commit()
    return bool(done)


def starter_may(model, job_id, attempt: int, row, action: str) -> bool:
    """The policy, asked again when the job's turn comes: may the user who queued ``row`` still
    do ``action`` (``run``, ``grade``) to its project? A member removed, or made a viewer,
    while the job waited gets nothing run in their name: the job is finished as failed with
    the reason, and False is returned. ``row`` needs ``user`` and ``version.project``."""
    if policy.can(row.user, action, row.version.project):
        return True
    verb = {"run": "start runs", "grade": "start grades"}.get(action, action)
    finish(
        model,
        job_id,
        attempt,
        status="failed",
        error=(
            f"Not started: {row.user.email} may no longer {verb} in this project "
            "(their access changed after the job was queued)."
        )[:ERROR_MAX],
    )
    return False


def progress_reporter(
    model, job_id, attempt: int, min_interval_s: float = 0.5
) -> Callable[[float], None]:
    """A callback storing progress at most every ``min_interval_s``; it also serves as the
    heartbeat the reaper reads (``updated_at``)."""
    last = [0.0]

    def report(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] < min_interval_s:
            return
        last[0] = now
        db.session.execute(
            update(model)
            .where(model.id == job_id, model.status == "running", model.attempts == attempt)
            .values(progress=max(0.0, min(1.0, float(fraction))), updated_at=utcnow())
        )
        db.session.commit()

    return report


def reap(model, send: Callable[[str], object], *, now=None) -> dict:
    """Re-enqueue jobs that never reached the queue or whose worker stopped responding.

    A job is stuck when it is pending and was never enqueued, pending in the queue for longer
    than ``RUN_TIMEOUT_S``, or running without a heartbeat for that long. After
    ``RUN_MAX_ATTEMPTS`` attempts it is marked failed with the reason instead.
    """
    cfg = settings()
    now = now or utcnow()
    cutoff = now - timedelta(seconds=cfg.run_timeout_s)
    stuck = db.session.scalars(
        select(model)
        .where(
            or_(
                (model.status == "pending") & model.enqueued_at.is_(None),
                (model.status == "pending") & (model.enqueued_at < cutoff),
                (model.status == "running") & (model.updated_at < cutoff),
            )
        )
        .limit(500)
    ).all()
    counts = {"requeued": 0, "failed": 0, "queue_down": 0}
    plan = [(row.id, row.status, row.attempts) for row in stuck]
    db.session.commit()
    for job_id, status, attempts in plan:
        if attempts >= cfg.run_max_attempts:
            done = db.session.execute(
                update(model)
                .where(model.id == job_id, model.status == status, model.attempts == attempts)
                .values(
                    status="failed",
                    finished_at=now,
                    error=f"Gave up after {attempts} attempts: the worker stopped responding each time "
                    f"(no progress for {cfg.run_timeout_s} s).",
                )
            ).rowcount
            db.session.commit()
            counts["failed"] += done
            if done:
                telemetry.record_job(
                    "failed",
                    telemetry.job_type_of(model),
                    job_id,
                    attempt=attempts,
                    error="reaper gave up after the last attempt",
                )
            continue
        # Back to pending and out of the queue's books, then send it again.
        db.session.execute(
            update(model)
            .where(model.id == job_id, model.status == status, model.attempts == attempts)
            .values(status="pending", enqueued_at=None, updated_at=now)
        )
        db.session.commit()
        telemetry.record_job(
            "reaped", telemetry.job_type_of(model), job_id, attempt=attempts, error=f"was {status}"
        )
        if enqueue(model, job_id, send):
            counts["requeued"] += 1
        else:
            counts["queue_down"] += 1
    return counts


def error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text[:ERROR_MAX]
