"""A grade's simulation evidence as normal runs: "Open as a run" and "View the run".

The grader runs its own simulations and stores only their numbers. The evidence items listed in
``REPRODUCIBLE`` are plain simulations of the graded design (no failure), so the run model can
redo them exactly: the grade's design snapshot (not the version as it is now), with its traffic
replaced by the scenario traffic the grader used (``measure.scaled``: baseline rps times the
evidence's load multiplier, so the peak scales with it), the grade's seed, the evidence's engine
and, for DES, the grader's duration (``measure.des_duration``) as the traffic's ``duration_s``.
Same input, same engine version: the run's p95 and error rate equal the evidence's (the report
rounds them to 4 significant digits).

Not offered: the single-failure sweep (``fail-*``) is the analytic engine on a degraded copy of
the design in steady state after detection, which no run of the graded design computes (a
failure drill is a DES with the failure injected at a time, transient included); ``des-az-down``
and the knee are not single runs of the graded design at one load either.
"""

from __future__ import annotations

import copy
import uuid

from sqlalchemy import select

from sdc.core.grading import rubric
from sdc.core.grading.measure import des_duration, scaled
from sdc.core.simulation import ENGINE_VERSION
from sdc.extensions import db
from sdc.models import GradeReport, SimulationRun, User
from sdc.services import ServiceError, policy, runs
from sdc.services.grades import get_grade_for

# evidence id -> (engine, load as a multiple of the scenario's peak)
REPRODUCIBLE: dict[str, tuple[str, float]] = {
    "sim-floor": ("analytic", rubric.FLOOR_FRACTION),
    "sim-peak": ("analytic", 1.0),
    "sim-surge": ("analytic", rubric.SURGE_MULTIPLIER),
    "des-peak": ("des", 1.0),
    "des-surge": ("des", rubric.SURGE_MULTIPLIER),
}
EVIDENCE_ID_MAX = 120


class EvidenceNotRunnable(ServiceError):
    """The evidence id names no item of this grade, or one no run can reproduce (422)."""

    status = 422

    def __init__(self, message: str):
        super().__init__(message, field="evidence_id")


def _item(grade: GradeReport, evidence_id: str) -> dict | None:
    for e in (grade.report or {}).get("evidence") or []:
        if isinstance(e, dict) and e.get("id") == evidence_id:
            return e
    return None


def run_spec(grade: GradeReport, evidence_id: str) -> dict:
    """What a run reproducing ``evidence_id`` simulates: ``{engine, seed, snapshot, multiplier,
    duration_s}`` (``duration_s`` None for analytic). Raises EvidenceNotRunnable."""
    shown = evidence_id[:EVIDENCE_ID_MAX]
    if grade.status != "completed" or not grade.report:
        raise EvidenceNotRunnable("This grade has not finished yet: it has no evidence to run.")
    item = _item(grade, evidence_id)
    if item is None:
        raise EvidenceNotRunnable(f"This grade has no evidence item {shown!r}.")
    if evidence_id not in REPRODUCIBLE:
        raise EvidenceNotRunnable(
            f"Evidence {shown!r} cannot be opened as a run: only the grader's simulations of "
            "the design itself (" + ", ".join(REPRODUCIBLE) + ") are runs of it."
        )
    engine, mult = REPRODUCIBLE[evidence_id]
    snap = grade.input_snapshot or {}
    scenario = snap.get("scenario") or {}
    if item.get("engine") != engine or "design" not in snap or "traffic" not in scenario:
        raise EvidenceNotRunnable(
            f"Evidence {shown!r} of this grade does not record the simulation it came from."
        )
    traffic = scaled(scenario["traffic"], mult)
    duration = None
    if engine == "des":
        peak = float(scenario["traffic"]["baseline_rps"]) * float(
            scenario["traffic"]["peak_multiplier"]
        )
        duration = des_duration(peak * mult)  # as measure.measure() computes it
        traffic["duration_s"] = duration
    design = copy.deepcopy(snap["design"])
    design["traffic"] = traffic
    snapshot = {
        "design": design,
        "scenario_slug": scenario.get("slug"),
        runs.SNAPSHOT_SLO_KEY: runs.slo_target(scenario.get("slos")),
    }
    seed = int((grade.report or {}).get("seed", 0))
    return {
        "engine": engine,
        "seed": seed,
        "snapshot": snapshot,
        "multiplier": mult,
        "duration_s": duration,
    }


def _existing(version_id: uuid.UUID, hashes: list[str]) -> dict[str, SimulationRun]:
    """The newest run per input hash of the version that is done or on its way (not failed)."""
    found: dict[str, SimulationRun] = {}
    if not hashes:
        return found
    rows = db.session.scalars(
        select(SimulationRun)
        .where(
            SimulationRun.version_id == version_id,
            SimulationRun.input_hash.in_(hashes),
            SimulationRun.status != "failed",
        )
        .order_by(SimulationRun.created_at.desc())
    )
    for run in rows:
        found.setdefault(run.input_hash, run)
    return found


def _hash(spec: dict) -> str:
    return runs.run_input_hash(spec["snapshot"], spec["engine"], spec["seed"], [])


def evidence_runs(grade: GradeReport) -> dict[str, SimulationRun | None]:
    """For each reproducible evidence item of a completed grade: the run that already has its
    input (newest, not failed), or None when a new run would be needed. One query."""
    if grade.status != "completed" or not grade.report:
        return {}
    specs = {}
    for eid in REPRODUCIBLE:
        try:
            specs[eid] = _hash(run_spec(grade, eid))
        except EvidenceNotRunnable:
            continue
    found = _existing(grade.version_id, list(specs.values()))
    return {eid: found.get(h) for eid, h in specs.items()}


def engine_changed(grade: GradeReport) -> bool:
    """Whether the simulator changed since the grade: a run today may not match its numbers."""
    return (grade.report or {}).get("engine_version") not in (None, ENGINE_VERSION)


def start_run_for_evidence(
    user: User, grade_id: uuid.UUID, evidence_id: str
) -> tuple[SimulationRun, bool]:
    """The run reproducing evidence ``evidence_id`` of grade ``grade_id``: an existing one with
    the same input (``created=False``), else a new run started like any other (policy action
    ``run``, per-user limits, in-flight de-duplication). NotFound for outsiders, Forbidden for
    viewers, EvidenceNotRunnable (422) for a bad evidence id, RunRefused/RateLimited from
    ``runs.start_run``."""
    grade = get_grade_for(user, grade_id)
    policy.require(user, "run", grade.version.project, "grade")
    spec = run_spec(grade, evidence_id)
    existing = _existing(grade.version_id, [_hash(spec)])
    if existing:
        return next(iter(existing.values())), False
    return runs.start_run(
        user,
        grade.version_id,
        engine=spec["engine"],
        seed=spec["seed"],
        snapshot=spec["snapshot"],
    )
