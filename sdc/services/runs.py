"""Simulation runs: start (snapshot + enqueue), execute (in the worker), look up, judge vs SLOs.

A run keeps a snapshot of the design and traffic it simulated, the seed and the engine version,
so editing the version later never changes an old result. Runs of one version share a seed by
default: the simulator uses common random numbers, so two runs differ only by what changed.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select

from sdc.core.simulation import (
    DEFAULT_SLO_MS,
    ENGINE_VERSION,
    InvalidDesign,
    simulate,
    validate_design,
    validate_failure,
)
from sdc.extensions import db
from sdc.models import SimulationRun, User, Version, utcnow
from sdc.models.run import run_metrics, run_summary_options
from sdc.services import NotFound, ServiceError, jobs, policy
from sdc.services.version_memo import memo
from sdc.services.versions import version_by_id_for

log = logging.getLogger(__name__)

ENGINES = ("des", "analytic")
DEFAULT_ENGINE = "des"
DEFAULT_SEED = 1
MAX_FAILURES = 5


# The scenario's p95 target (ms) at start time, which the DES timeline and blast radius judge
# against. Absent from runs started before it was recorded: those used the simulator default.
SNAPSHOT_SLO_KEY = "slo_p95_ms"


def slo_target(slos: dict | None) -> float | None:
    """The scenario's p95 target in ms, or None when it sets none (or an unusable one)."""
    value = (slos or {}).get("p95_ms")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if 0 < value <= 3_600_000 else None


def slo_threshold(run: SimulationRun) -> dict:
    """Which p95 threshold the run's timeline and blast radius use, for the manifest.

    ``{"ms", "source", "note"}``: source ``scenario`` (the scenario's p95 target at start
    time), ``no-target`` (the scenario set none) or ``legacy`` (started before the target was
    recorded); both of the latter use the simulator's default ``DEFAULT_SLO_MS``.
    """
    snapshot = run.input_snapshot or {}
    target = snapshot.get(SNAPSHOT_SLO_KEY)
    if target is not None:
        return {"ms": target, "source": "scenario", "note": "the scenario's p95 target"}
    if SNAPSHOT_SLO_KEY in snapshot:
        note = "the simulator's default: the scenario sets no p95 target"
        return {"ms": DEFAULT_SLO_MS, "source": "no-target", "note": note}
    note = (
        "the simulator's default: this run started before runs recorded the scenario's "
        "target; run it again to judge against the target"
    )
    return {"ms": DEFAULT_SLO_MS, "source": "legacy", "note": note}


def baseline_snapshot(version: Version) -> dict:
    """What a baseline run of ``version`` simulates: the design with its traffic, the scenario
    slug and the scenario's p95 target now (editing either later never changes the run)."""
    scenario = version.project.scenario
    return {
        "design": version.document(),
        "scenario_slug": scenario.slug,
        SNAPSHOT_SLO_KEY: slo_target(scenario.slos),
    }


class RunRefused(ServiceError):
    """The run cannot start; ``problems`` lists ``{path, message}`` from the simulator."""

    status = 422

    def __init__(self, message: str, problems: list | None = None, field: str | None = None):
        super().__init__(message, field)
        self.problems = problems or []


def _send(run_id: str) -> None:
    from tasks.simulation import run_simulation

    run_simulation(run_id)


def run_input_hash(snapshot: dict, engine: str, seed: int, failures: list) -> str:
    """What identifies a run's input (same hash, same result): de-duplication and look-ups."""
    return jobs.canonical_hash(
        {
            "snapshot": snapshot,
            "engine": engine,
            "seed": seed,
            "failures": failures,
            "engine_version": ENGINE_VERSION,
        }
    )


def start_run(
    user: User,
    version_id: uuid.UUID,
    *,
    engine: str = DEFAULT_ENGINE,
    seed: int | None = None,
    failures: list[dict] | None = None,
    baseline_run_id: uuid.UUID | None = None,
    snapshot: dict | None = None,
    version: Version | None = None,
) -> tuple[SimulationRun, bool]:
    """Create a pending run of the version as it is now (or of ``snapshot``, a
    ``baseline_snapshot``-shaped dict such as a grade's design) and enqueue it.

    Returns ``(run, created)``; when an identical run (same version and inputs) is already
    pending or running, that run is returned with ``created=False`` (a double click starts one
    run). Failure runs reuse the baseline run's snapshot and seed, so the difference between the
    two is the failure alone. Raises RunRefused (422) for an invalid design or failure and
    RateLimited (429) past the per-user limits. ``version``: the caller's
    ``version_by_id_for(user, version_id)`` of this request, to save loading it again.
    """
    if engine not in ENGINES:
        raise RunRefused(f"Unknown engine {engine!r}: choose des or analytic.", field="engine")
    baseline = None
    # A run of the version's own document (not a baseline's or a grade's snapshot): the same
    # document for every run of this stored state, so its validation is memoised with it.
    own_document = baseline_run_id is None and snapshot is None
    if baseline_run_id is not None:
        baseline = get_run_for(user, baseline_run_id)
        version = baseline.version
        snapshot = baseline.input_snapshot
        seed = baseline.seed
        engine = "des"
    else:
        if version is None or version.id != version_id:
            version = version_by_id_for(user, version_id)
        snapshot = snapshot or baseline_snapshot(version)
    policy.require(user, "run", version.project, "version")
    seed = DEFAULT_SEED if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise RunRefused("The seed must be a whole number between 0 and 2147483647.", field="seed")
    failures = list(failures or [])
    if len(failures) > MAX_FAILURES:
        raise RunRefused(
            f"At most {MAX_FAILURES} failures can be injected in one run.", field="failures"
        )
    if failures and engine != "des":
        raise RunRefused("Failure injection needs the des engine.", field="engine")

    if own_document:
        validation = memo(
            "run-validation", version, None, lambda: validate_design(snapshot["design"])
        )
    else:
        validation = validate_design(snapshot["design"])
    if not validation.ok:
        problems = [p.to_dict() for p in validation.problems]
        raise RunRefused(
            "Fix the design before running it: "
            + problems[0]["path"]
            + ": "
            + problems[0]["message"],
            problems,
        )
    failure_problems = [
        p.to_dict()
        for i, f in enumerate(failures)
        for p in validate_failure(f, validation.design, f"failures[{i}]")
    ]
    if failure_problems:
        first = failure_problems[0]
        raise RunRefused(f"{first['path']}: {first['message']}", failure_problems, field="failures")

    input_hash = run_input_hash(snapshot, engine, seed, failures)
    in_flight = jobs.admit(SimulationRun, user, version.id, input_hash, "simulations")
    if in_flight is not None:
        return in_flight, False

    run_id = uuid.uuid4()
    run = jobs.insert_new(
        SimulationRun,
        {
            **jobs.new_job_state(utcnow()),
            "id": run_id,
            "version_id": version.id,
            "user_id": user.id,
            "baseline_run_id": baseline.id if baseline else None,
            "engine": engine,
            "engine_version": ENGINE_VERSION,
            "seed": seed,
            "input_snapshot": snapshot,
            "input_hash": input_hash,
            "failures": failures,
            "result": None,
            "metrics": None,
        },
    )
    # The signed-in user stays loaded (the audit row names them), and so does the run: the
    # answer describes it as inserted, pending and queued, without reading it back. Its job
    # state reloads on its next read only where that state has moved on within this request:
    # the queue was down (``enqueue`` cleared ``enqueued_at``) or ran the job inline (Huey's
    # immediate mode, the tests). A consumer that claims it a moment later shows on the next
    # poll, as it would a moment after any answer.
    if not jobs.enqueue(SimulationRun, run_id, _send, stamped=True) or jobs.queue_runs_inline():
        db.session.expire(run, SimulationRun.JOB_STATE)
    return run, True


def execute_run(run_id: uuid.UUID) -> str:
    """Run the simulation for a claimed run (the worker's side). Idempotent: a run that is
    already completed or failed is left alone. Returns the final status or "skipped"."""
    attempt = jobs.claim(SimulationRun, run_id)
    if attempt is None:
        return "skipped"
    run = db.session.get(SimulationRun, run_id)
    if not jobs.starter_may(SimulationRun, run_id, attempt, run, "run"):
        return "failed"
    snapshot, engine, seed, failures = (
        run.input_snapshot,
        run.engine,
        run.seed,
        list(run.failures or []),
    )
    db.session.commit()  # release the read transaction before a long computation
    report = jobs.progress_reporter(SimulationRun, run_id, attempt)
    try:
        result = simulate(
            snapshot["design"],
            engine=engine,
            seed=seed,
            failures=failures or None,
            progress=report,
            slo_ms=snapshot.get(SNAPSHOT_SLO_KEY),  # None (older runs): the default
        )
    except InvalidDesign as exc:
        reasons = "; ".join(f"{p.path}: {p.message}" for p in exc.problems[:10])
        jobs.finish(
            SimulationRun,
            run_id,
            attempt,
            status="failed",
            error=f"The design could not be simulated: {reasons}"[: jobs.ERROR_MAX],
        )
        return "failed"
    except Exception as exc:  # the engine failing must give a failed run, never a stuck one
        log.exception("simulation %s failed", run_id)
        jobs.finish(
            SimulationRun,
            run_id,
            attempt,
            status="failed",
            error=f"The simulator stopped with an error ({jobs.error_text(exc)}).",
        )
        return "failed"
    jobs.finish(
        SimulationRun,
        run_id,
        attempt,
        status="completed",
        result=result,
        metrics=run_metrics(result),
        progress=1.0,
        error=None,
    )
    return "completed"


def reap_stuck_runs() -> dict:
    return jobs.reap(SimulationRun, _send)


def get_run_for(user: User, run_id: uuid.UUID) -> SimulationRun:
    """The run with its version, project and scenario, or NotFound for anyone who may not see it."""
    run = jobs.job_for(SimulationRun, user, run_id)
    if run is None:
        raise NotFound("No such run.")
    return run


def get_run_status_for(user: User, run_id: uuid.UUID) -> SimulationRun:
    """``get_run_for`` for the status poll (``jobs.job_status_for``): the run as a summary
    (``run_summary_options``) with its scenario's SLOs for the verdict. NotFound for anyone who
    may not see the run."""
    run = jobs.job_status_for(SimulationRun, user, run_id, run_summary_options(), slos=True)
    if run is None:
        raise NotFound("No such run.")
    return run


def failure_runs_of(baseline: SimulationRun) -> list[SimulationRun]:
    return list(
        db.session.scalars(
            select(SimulationRun)
            .where(SimulationRun.baseline_run_id == baseline.id)
            .order_by(SimulationRun.created_at.desc())
        )
    )


def latest_runs(version_ids: list[uuid.UUID]) -> dict[uuid.UUID, SimulationRun]:
    """The newest baseline (no failure) run per version, in one query that loads only those
    rows (a version can have hundreds of runs), each as a summary (``run_summary_options``:
    status, times and the result's metrics, not its documents)."""
    return jobs.newest_per_version(
        SimulationRun, version_ids, "baseline", options=run_summary_options()
    )


def verdict(result: dict | None, slos: dict) -> dict:
    """Judge a result against the scenario's SLOs.

    Each check is ``met``, ``missed`` (with how much) or ``too-close`` when the SLO lies inside
    the result's 95% confidence interval. ``overall`` is ``met`` only when all are met.
    """
    if not result:
        return {"overall": "unknown", "checks": []}
    metrics = result.get("metrics", {})
    checks = []
    for key, label in (("p95_ms", "p95 latency"), ("p99_ms", "p99 latency")):
        target = slos.get(key)
        value = metrics.get(key)
        if target is None:
            continue
        if value is None:
            checks.append(
                {
                    "key": key,
                    "label": label,
                    "target": target,
                    "value": None,
                    "status": "missed" if metrics.get("saturated") else "unknown",
                    "detail": metrics.get("withheld", {}).get(key)
                    if isinstance(metrics.get("withheld"), dict)
                    else "not enough completed requests to estimate it",
                }
            )
            continue
        ci = metrics.get(f"{key}_ci")
        if ci and ci[0] is not None and ci[1] is not None and ci[0] <= target <= ci[1]:
            status, detail = (
                "too-close",
                f"{value:.0f} ms; the 95% interval {ci[0]:.0f}-{ci[1]:.0f} ms contains the {target} ms target",
            )
        elif value <= target:
            status, detail = "met", f"{value:.0f} ms against a {target} ms target"
        else:
            status, detail = (
                "missed",
                f"{value:.0f} ms is {value - target:.0f} ms ({(value / target - 1) * 100:.0f}%) over the {target} ms target",
            )
        checks.append(
            {
                "key": key,
                "label": label,
                "target": target,
                "value": value,
                "status": status,
                "detail": detail,
            }
        )
    max_err = slos.get("max_error_rate")
    err = metrics.get("error_rate")
    if max_err is not None and err is not None:
        status = "met" if err <= max_err else "missed"
        detail = f"{err * 100:.2f}% of requests failed (budget {max_err * 100:.2f}%)"
        checks.append(
            {
                "key": "error_rate",
                "label": "error rate",
                "target": max_err,
                "value": err,
                "status": status,
                "detail": detail,
            }
        )
    statuses = {c["status"] for c in checks}
    overall = (
        "missed"
        if "missed" in statuses
        else "too-close"
        if statuses & {"too-close", "unknown"}
        else "met"
    )
    return {"overall": overall, "checks": checks}


def describe(run: SimulationRun, with_result: bool = True) -> dict:
    """The run as JSON: metadata plus the ``sdc-result/1`` document (``with_result=False``:
    without it, and without reading it: the status poll loads runs without their result)."""
    data = {
        "id": str(run.id),
        "version_id": str(run.version_id),
        "baseline_run_id": str(run.baseline_run_id) if run.baseline_run_id else None,
        "status": run.status,
        "progress": run.progress,
        "engine": run.engine,
        "engine_version": run.engine_version,
        "seed": run.seed,
        "input_hash": run.input_hash,
        "failures": run.failures,
        "attempts": run.attempts,
        "error": run.error,
        "queued": run.enqueued_at is not None,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
    if with_result:
        data["result"] = run.result
    return data
