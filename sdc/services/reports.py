"""The project report: what one page (and its PDF) says about a project's progress.

``report_for`` gathers, for one chosen version: the scenario and its requirements, the design
and traffic, the latest completed baseline run judged against the SLOs, the failure-lab runs
made against it, the latest completed grade, the score history across versions and the run
manifest (engine version, seed, input hash) that reproduces the numbers. The same data feeds
the signed-in page, the PDF and the read-only shared page.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid

from sqlalchemy import select

from sdc.extensions import db
from sdc.models import Project, ReportExport, SimulationRun, User, Version
from sdc.services import NotFound
from sdc.services import runs as run_service
from sdc.services.compare import latest_completed_grades, latest_completed_runs
from sdc.services.projects import get_project_for

TOP_ACTIONS = 5
PRIORITY_ORDER = {"P0": 0, "P1": 1, "P2": 2}


def pick_version(project: Project, version_id: uuid.UUID | None) -> Version:
    """The version the report is about: ``version_id`` or the newest one."""
    if version_id is not None:
        for v in project.versions:
            if v.id == version_id:
                return v
        raise NotFound("No such version in this project.")
    if not project.versions:
        raise NotFound("This project has no versions.")
    return max(project.versions, key=lambda v: v.number)


def get_report_for(
    user: User,
    project_id: uuid.UUID,
    version_id: uuid.UUID | None = None,
    action: str = "read",
) -> dict:
    """The report of ``project_id`` at ``version_id`` (default newest); NotFound otherwise.
    ``action="report"`` (the PDF export) refuses members without it (Forbidden) up front."""
    project = get_project_for(user, project_id, action)
    return report_for(project, pick_version(project, version_id))


def report_for(project: Project, version: Version) -> dict:
    """Everything the report shows (plain data and model rows; nothing is rendered here)."""
    scenario = project.scenario
    slos = dict(scenario.slos or {})
    ids = [v.id for v in project.versions]
    runs = latest_completed_runs(ids)
    grades = latest_completed_grades(ids)
    run = runs.get(version.id)
    grade = grades.get(version.id)
    failure_runs = []
    if run is not None:
        for fr in run_service.failure_runs_of(run):
            if fr.status == "completed" and fr.result:
                failure_runs.append(_failure_outcome(run, fr, slos))
    report = (grade.report if grade else None) or {}
    actions = sorted(
        report.get("action_items") or [],
        key=lambda a: PRIORITY_ORDER.get(str(a.get("priority")), 9),
    )[:TOP_ACTIONS]
    history = []
    for v in sorted(project.versions, key=lambda v: v.number):
        g, r = grades.get(v.id), runs.get(v.id)
        history.append(
            {
                "version": v,
                "score": g.overall_score if g else None,
                "verdict": run_service.verdict(r.result, slos)["overall"] if r else None,
                "p95_ms": ((r.result or {}).get("metrics") or {}).get("p95_ms") if r else None,
            }
        )
    return {
        "project": project,
        "scenario": scenario,
        "version": version,
        "slos": slos,
        "requirements": list(scenario.requirements or []),
        "design": version.design,
        "traffic": version.traffic,
        "notes": version.notes,
        "run": run,
        "verdict": run_service.verdict(run.result if run else None, slos),
        "failures": failure_runs,
        "grade": grade,
        "categories": report.get("categories") or [],
        "actions": actions,
        "history": history,
    }


def _failure_outcome(baseline: SimulationRun, fr: SimulationRun, slos: dict) -> dict:
    b = (baseline.result or {}).get("metrics") or {}
    a = (fr.result or {}).get("metrics") or {}
    return {
        "run": fr,
        "failures": fr.failures or [],
        "verdict": run_service.verdict(fr.result, slos)["overall"],
        "p95_before": b.get("p95_ms"),
        "p95_after": a.get("p95_ms"),
        "error_before": b.get("error_rate"),
        "error_after": a.get("error_rate"),
        "blast_radius": (fr.result or {}).get("blast_radius"),
    }


def safe_filename(title: str, version_number: int) -> str:
    """An ASCII file name safe in any Content-Disposition: letters, digits and dashes."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_title).strip("-").lower()[:60] or "project"
    return f"sdc-report-{slug}-v{int(version_number)}.pdf"


def record_export(user: User, version: Version, file_name: str, pdf: bytes) -> ReportExport:
    """Store the export record (name, size, SHA-256) of a PDF handed to ``user``; exporting is
    the ``report`` action (editors and the owner; viewers get Forbidden)."""
    from sdc.services import policy

    policy.require(user, "report", version.project)
    project_id, version_id, user_id = version.project_id, version.id, user.id
    # The PDF is served by a GET, whose transaction began deferred and has read: end it, so the
    # insert starts a transaction that can wait for SQLite's write lock instead of failing.
    db.session.commit()
    row = ReportExport(
        project_id=project_id,
        version_id=version_id,
        user_id=user_id,
        file_name=file_name,
        size_bytes=len(pdf),
        sha256=hashlib.sha256(pdf).hexdigest(),
    )
    db.session.add(row)
    db.session.commit()
    return row


def exports_of(project_id: uuid.UUID, limit: int = 10) -> list[ReportExport]:
    return list(
        db.session.scalars(
            select(ReportExport)
            .where(ReportExport.project_id == project_id)
            .order_by(ReportExport.created_at.desc())
            .limit(limit)
        )
    )
