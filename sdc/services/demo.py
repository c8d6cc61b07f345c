"""The public demo: a seeded url-shortener project owned by the demo account, with a completed
run and (when the grader is installed) a completed grade, shown read-only at ``/demo``.

``seed_demo`` is idempotent and computes the run and grade inline (no queue or worker needed),
with the same snapshots the run and grade services record.
"""

from __future__ import annotations

import copy
import json
import logging
from importlib import resources

from flask import current_app
from sqlalchemy import select

from sdc.extensions import db
from sdc.models import GradeReport, Project, SimulationRun, User, Version, utcnow
from sdc.services import jobs
from sdc.services.projects import start_project
from sdc.services.runs import SNAPSHOT_SLO_KEY, baseline_snapshot, verdict

log = logging.getLogger(__name__)

DEMO_SLUG = "url-shortener"
DEMO_TITLE = "Demo: URL shortener"
DEMO_SEED = 1


def demo_design() -> dict:
    text = resources.files("sdc.services").joinpath("data/demo_url_shortener.json").read_text()
    return json.loads(text)


def _demo_project(owner_id) -> Project | None:
    return db.session.scalar(
        select(Project).where(Project.owner_id == owner_id, Project.title == DEMO_TITLE).limit(1)
    )


def seed_demo(owner: User) -> dict:
    """Create (once) the demo project, its run and its grade. Returns what was created."""
    created = {"project": False, "run": False, "grade": False}
    project = _demo_project(owner.id)
    if project is None:
        project, version = start_project(owner, DEMO_SLUG)
        doc = demo_design()
        project.title = DEMO_TITLE
        version.notes = doc.pop("notes", "")
        doc.pop("traffic", None)
        version.design = doc
        db.session.commit()
        created["project"] = True
    version = max(project.versions, key=lambda v: v.number)
    has_run = db.session.scalar(
        select(SimulationRun.id).where(
            SimulationRun.version_id == version.id, SimulationRun.status == "completed"
        )
    )
    if not has_run:
        _seed_run(owner, version)
        created["run"] = True
    has_grade = db.session.scalar(
        select(GradeReport.id).where(
            GradeReport.version_id == version.id, GradeReport.status == "completed"
        )
    )
    if not has_grade:
        created["grade"] = _seed_grade(owner, version)
    return created


def _seed_run(owner: User, version: Version) -> None:
    from sdc.core.simulation import ENGINE_VERSION, simulate

    snapshot = baseline_snapshot(version)
    input_hash = jobs.canonical_hash(
        {
            "snapshot": snapshot,
            "engine": "des",
            "seed": DEMO_SEED,
            "failures": [],
            "engine_version": ENGINE_VERSION,
        }
    )
    started = utcnow()
    result = simulate(
        snapshot["design"], engine="des", seed=DEMO_SEED, slo_ms=snapshot[SNAPSHOT_SLO_KEY]
    )
    db.session.add(
        SimulationRun(
            version_id=version.id,
            user_id=owner.id,
            status="completed",
            engine="des",
            engine_version=ENGINE_VERSION,
            seed=DEMO_SEED,
            input_snapshot=snapshot,
            input_hash=input_hash,
            failures=[],
            result=result,
            progress=1.0,
            attempts=1,
            enqueued_at=started,
            started_at=started,
            finished_at=utcnow(),
        )
    )
    db.session.commit()


def _seed_grade(owner: User, version: Version) -> bool:
    try:
        from sdc.core.grading import RUBRIC_VERSION, grade
    except ImportError:  # the grader is optional: the demo then shows the run only
        return False
    scenario = version.project.scenario
    scenario_snapshot = {
        "slug": scenario.slug,
        "title": scenario.title,
        "traffic": scenario.traffic,
        "slos": scenario.slos,
        "requirements": scenario.requirements,
    }
    snapshot = {"design": version.document(), "scenario": scenario_snapshot}
    started = utcnow()
    report = grade(snapshot["design"], scenario_snapshot, seed=0)
    ai = _ai_summary(report)
    db.session.add(
        GradeReport(
            version_id=version.id,
            user_id=owner.id,
            status="completed",
            rubric_version=report.get("rubric_version", RUBRIC_VERSION),
            input_snapshot=snapshot,
            input_hash=jobs.canonical_hash(
                {"snapshot": snapshot, "rubric": RUBRIC_VERSION, "seed": 0}
            ),
            overall_score=report.get("overall_score"),
            report=report,
            ai_summary=ai,
            ai_provider=(ai or {}).get("provider"),
            ai_model=(ai or {}).get("model"),
            progress=1.0,
            attempts=1,
            enqueued_at=started,
            started_at=started,
            finished_at=utcnow(),
        )
    )
    db.session.commit()
    return True


def _ai_summary(report: dict) -> dict | None:
    try:
        from sdc.services import ai_feedback

        cfg = ai_feedback.ProviderConfig.from_settings(current_app.config["SDC_SETTINGS"])
        return ai_feedback.feedback(report, cfg)
    except Exception:  # the summary is optional; the grade stands without it
        log.warning("demo grade: no AI summary", exc_info=True)
        return None


def _demo_owner_id():
    email = current_app.config["SDC_SETTINGS"].demo_email
    return db.session.scalar(select(User.id).where(User.email == email))


def demo_available() -> bool:
    owner_id = _demo_owner_id()
    return owner_id is not None and _demo_project(owner_id) is not None


def demo_view() -> dict | None:
    """What ``/demo`` shows: the newest version's design, latest run and grade; None when the
    demo has not been seeded."""
    owner_id = _demo_owner_id()
    project = _demo_project(owner_id) if owner_id else None
    if project is None:
        return None
    version = max(project.versions, key=lambda v: v.number)
    run = db.session.scalar(
        select(SimulationRun)
        .where(
            SimulationRun.version_id == version.id,
            SimulationRun.status == "completed",
            SimulationRun.baseline_run_id.is_(None),
        )
        .order_by(SimulationRun.created_at.desc())
        .limit(1)
    )
    grade_row = db.session.scalar(
        select(GradeReport)
        .where(GradeReport.version_id == version.id, GradeReport.status == "completed")
        .order_by(GradeReport.created_at.desc())
        .limit(1)
    )
    result = run.result if run else None
    overlay = {
        c["id"]: {"utilization": c.get("utilization"), "error_rate": c.get("error_rate")}
        for c in (result or {}).get("components", [])
    }
    report = grade_row.report if grade_row else None
    return {
        "project": project,
        "scenario": project.scenario,
        "version": version,
        "design": copy.deepcopy(version.design),
        "notes": version.notes,
        "run": run,
        "metrics": (result or {}).get("metrics", {}),
        "bottlenecks": (result or {}).get("bottlenecks", []),
        "verdict": verdict(result, project.scenario.slos),
        "overlay": overlay,
        "grade": grade_row,
        "report": report,
    }
