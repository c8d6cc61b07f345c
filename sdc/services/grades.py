"""Grade reports as durable jobs: start (snapshot + enqueue), execute (grader + AI feedback),
look up, and turn a proposed fix into a new version.

The snapshot holds the design document and the scenario (traffic, SLOs, requirement checks) as
they were when grading was asked for, so a report never changes after the fact. Lifecycle,
idempotency and the reaper are shared with simulation runs (``sdc.services.jobs``).
"""

from __future__ import annotations

import copy
import logging
import uuid

from sdc.core.grading import RUBRIC_VERSION, FixError, apply_fix, grade
from sdc.core.simulation import InvalidDesign, validate_design
from sdc.extensions import db
from sdc.models import GradeReport, User, Version, utcnow
from sdc.models.run import category_scores, grade_summary_options
from sdc.services import NotFound, ServiceError, ai_feedback, jobs, policy
from sdc.services.projects import new_version_from
from sdc.services.versions import version_by_id_for

log = logging.getLogger(__name__)
GRADE_SEED = 0


class GradeRefused(ServiceError):
    status = 422

    def __init__(self, message: str, problems: list | None = None):
        super().__init__(message)
        self.problems = problems or []


def _send(grade_id: str) -> None:
    from tasks.grading import run_grade

    run_grade(grade_id)


def _scenario_snapshot(version: Version) -> dict:
    s = version.project.scenario
    return {
        "slug": s.slug,
        "title": s.title,
        "traffic": s.traffic,
        "slos": s.slos,
        "requirements": s.requirements,
    }


def start_grade(user: User, version_id: uuid.UUID) -> tuple[GradeReport, bool]:
    """Create a pending grade of the version as it is now and enqueue it.

    Returns ``(grade, created)``; an identical grade already pending or running is returned
    with ``created=False``. Raises GradeRefused (422) for an invalid design, RateLimited (429)
    past the per-user limits.
    """
    version = version_by_id_for(user, version_id)
    policy.require(user, "grade", version.project, "version")
    doc = version.document()
    validation = validate_design(doc)
    if not validation.ok:
        problems = [p.to_dict() for p in validation.problems]
        raise GradeRefused(
            f"Fix the design before grading it: {problems[0]['path']}: {problems[0]['message']}",
            problems,
        )
    snapshot = {"design": doc, "scenario": _scenario_snapshot(version)}
    input_hash = jobs.canonical_hash(
        {"snapshot": snapshot, "rubric": RUBRIC_VERSION, "seed": GRADE_SEED}
    )
    in_flight = jobs.admit(GradeReport, user, version.id, input_hash, "grades")
    if in_flight is not None:
        return in_flight, False
    grade_id = uuid.uuid4()
    report = jobs.insert_new(
        GradeReport,
        {
            **jobs.new_job_state(utcnow()),
            "id": grade_id,
            "version_id": version.id,
            "user_id": user.id,
            "rubric_version": RUBRIC_VERSION,
            "input_snapshot": snapshot,
            "input_hash": input_hash,
            "overall_score": None,
            "report": None,
            "ai_summary": None,
            "category_scores": None,
            "ai_provider": None,
            "ai_model": None,
        },
    )
    # As a run's start (``runs.start_run``): the answer describes the grade as inserted, and
    # reads it again only where its job state moved on within this request (queue down, or
    # the job ran inline).
    if not jobs.enqueue(GradeReport, grade_id, _send, stamped=True) or jobs.queue_runs_inline():
        db.session.expire(report)
    return report, True


def execute_grade(grade_id: uuid.UUID) -> str:
    """Grade a claimed report (the worker's side); idempotent like runs."""
    attempt = jobs.claim(GradeReport, grade_id)
    if attempt is None:
        return "skipped"
    row = db.session.get(GradeReport, grade_id)
    if not jobs.starter_may(GradeReport, grade_id, attempt, row, "grade"):
        return "failed"
    snapshot = row.input_snapshot
    db.session.commit()
    progress = jobs.progress_reporter(GradeReport, grade_id, attempt)
    try:
        progress(0.05)
        report = grade(snapshot["design"], snapshot["scenario"], seed=GRADE_SEED)
    except InvalidDesign as exc:
        reasons = "; ".join(f"{p.path}: {p.message}" for p in exc.problems[:10])
        jobs.finish(
            GradeReport,
            grade_id,
            attempt,
            status="failed",
            error=f"The design could not be graded: {reasons}"[: jobs.ERROR_MAX],
        )
        return "failed"
    except Exception as exc:
        log.exception("grade %s failed", grade_id)
        jobs.finish(
            GradeReport,
            grade_id,
            attempt,
            status="failed",
            error=f"The grader stopped with an error ({jobs.error_text(exc)}).",
        )
        return "failed"
    progress(0.9)
    cfg = ai_feedback.ProviderConfig.from_settings(jobs.settings())
    ai = ai_feedback.feedback(report, cfg)
    jobs.finish(
        GradeReport,
        grade_id,
        attempt,
        status="completed",
        report=report,
        category_scores=category_scores(report),
        overall_score=report.get("overall_score"),
        rubric_version=report.get("rubric_version", RUBRIC_VERSION),
        ai_summary=ai,
        ai_provider=ai["provider"],
        ai_model=ai["model"],
        progress=1.0,
        error=None,
    )
    return "completed"


def reap_stuck_grades() -> dict:
    return jobs.reap(GradeReport, _send)


def get_grade_for(user: User, grade_id: uuid.UUID) -> GradeReport:
    """The grade with its version, project and scenario, or NotFound for anyone who may not
    see it."""
    row = jobs.job_for(GradeReport, user, grade_id)
    if row is None:
        raise NotFound("No such grade.")
    return row


def get_grade_status_for(user: User, grade_id: uuid.UUID) -> GradeReport:
    """``get_grade_for`` for the status widget's poll (``jobs.job_status_for``): the grade as a
    summary (``grade_summary_options``). NotFound for anyone who may not see it."""
    row = jobs.job_status_for(GradeReport, user, grade_id, grade_summary_options())
    if row is None:
        raise NotFound("No such grade.")
    return row


def latest_grades(version_ids: list[uuid.UUID]) -> dict[uuid.UUID, GradeReport]:
    """The newest grade per version, in one query that loads only those rows (a version can
    have hundreds of grades), each as a summary (``grade_summary_options``: status and score,
    not the report)."""
    return jobs.newest_per_version(GradeReport, version_ids, options=grade_summary_options())


def create_fix_version(user: User, grade_id: uuid.UUID, action_id: str) -> Version:
    """A new version (child of the graded one) with the fix of action item ``action_id`` applied
    to the graded snapshot's design. The graded version itself is left untouched."""
    row = get_grade_for(user, grade_id)
    policy.require(user, "edit", row.version.project, "grade")
    if row.status != "completed" or not row.report:
        raise GradeRefused("This grade has not finished yet.")
    action = next((a for a in row.report.get("action_items", []) if a.get("id") == action_id), None)
    if action is None or not action.get("fix"):
        raise GradeRefused("That action item has no automatic fix.")
    doc = row.input_snapshot["design"]
    try:
        fixed = apply_fix(doc, action["fix"])
    except FixError as exc:
        raise GradeRefused(f"The fix could not be applied: {exc}") from exc
    version = new_version_from(user, row.version.project_id, row.version_id)
    design = {k: v for k, v in fixed.items() if k not in ("traffic", "notes")}
    version.design = copy.deepcopy(design)
    version.notes = fixed.get("notes", version.notes) or ""
    db.session.commit()
    return version


def describe(row: GradeReport) -> dict:
    return {
        "id": str(row.id),
        "version_id": str(row.version_id),
        "status": row.status,
        "progress": row.progress,
        "rubric_version": row.rubric_version,
        "overall_score": row.overall_score,
        "input_hash": row.input_hash,
        "attempts": row.attempts,
        "error": row.error,
        "queued": row.enqueued_at is not None,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "ai": row.ai_summary,
        "report": row.report,
    }
