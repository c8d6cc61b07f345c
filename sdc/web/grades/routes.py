"""Grading: ask for a grade, follow its progress, read the report, turn a fix into a version."""

from __future__ import annotations

import re
import uuid

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from sdc.core.grading import CATEGORIES
from sdc.core.simulation import ENGINE_VERSION
from sdc.extensions import limiter
from sdc.services import RateLimited, evidence_runs, grades, policy
from sdc.services.runs import RunRefused
from sdc.web.errors import error_response, wants_json
from sdc.web.grades import bp
from sdc.web.htmx import is_partial, redirect_to
from sdc.web.limits import grade_limit, run_limit

ACTION_ID_MAX = 120
SLOT = re.compile(r"[a-z0-9-]{1,24}")


def _slot() -> str:
    """Which status widget of the page asked (see grades/_grade_button.html); '' if none."""
    slot = request.values.get("slot", "")
    return slot if SLOT.fullmatch(slot) else ""


def _status_response(row, status: int = 200):
    if wants_json():
        return jsonify(grades.describe(row)), status
    return render_template("grades/_grade_status.html", grade=row, slot=_slot()), status


def _refused(exc, back: str):
    """422/429 from a service: a fragment for htmx, JSON for scripts, a flash for plain posts."""
    if wants_json() or is_partial():
        return error_response(exc.status, exc.message)
    flash(exc.message, "error")
    return redirect(back, code=303)


@bp.post("/projects/<uuid:project_id>/versions/<uuid:version_id>/grades")
@login_required
@limiter.limit(grade_limit)
def create(project_id: uuid.UUID, version_id: uuid.UUID):
    back = url_for("workspace.show", project_id=project_id, version_id=version_id)
    try:
        row, created = grades.start_grade(current_user, version_id)
    except (grades.GradeRefused, RateLimited) as exc:
        return _refused(exc, back)
    if row.version.project_id != project_id:
        return error_response(404)
    if is_partial() or wants_json():
        return _status_response(row, 202 if created else 200)
    return redirect(url_for("grades.show", grade_id=row.id), code=303)


@bp.get("/grades/<uuid:grade_id>")
@login_required
def show(grade_id: uuid.UUID):
    row = grades.get_grade_for(current_user, grade_id)
    if wants_json():
        return jsonify(grades.describe(row))
    if is_partial():
        return render_template("grades/_grade_status.html", grade=row, slot=_slot())
    return render_template(
        "grades/show.html",
        grade=row,
        categories=CATEGORIES,
        evidence_runs=evidence_runs.evidence_runs(row),
        may_run=policy.can(current_user, "run", row.version.project),
        engine_changed=evidence_runs.engine_changed(row),
        current_engine_version=ENGINE_VERSION,
    )


@bp.get("/grades/<uuid:grade_id>/status")
@login_required
def status(grade_id: uuid.UUID):
    # The htmx widget polls this every second while grading and shows the state only; a JSON
    # client gets the whole grade (the report once done), as it always has.
    load = grades.get_grade_for if wants_json() else grades.get_grade_status_for
    return _status_response(load(current_user, grade_id))


@bp.post("/grades/<uuid:grade_id>/regrade")
@login_required
@limiter.limit(grade_limit)
def regrade(grade_id: uuid.UUID):
    old = grades.get_grade_for(current_user, grade_id)
    try:
        row, _created = grades.start_grade(current_user, old.version_id)
    except (grades.GradeRefused, RateLimited) as exc:
        return _refused(exc, url_for("grades.show", grade_id=grade_id))
    return redirect_to(url_for("grades.show", grade_id=row.id))


@bp.post("/grades/<uuid:grade_id>/fix-version")
@login_required
def create_fix_version(grade_id: uuid.UUID):
    action_id = request.form.get("action_id", "").strip()[:ACTION_ID_MAX]
    back = url_for("grades.show", grade_id=grade_id)
    if not action_id:
        return _refused(grades.GradeRefused("Choose an action item to apply."), back)
    try:
        version = grades.create_fix_version(current_user, grade_id, action_id)
    except grades.GradeRefused as exc:
        return _refused(exc, back)
    flash(
        f"Version {version.number} created with the fix applied. Run and grade it to compare.",
        "success",
    )
    return redirect_to(
        url_for("workspace.show", project_id=version.project_id, version_id=version.id)
    )


@bp.post("/grades/<uuid:grade_id>/evidence-run")
@login_required
@limiter.limit(run_limit)
def open_evidence_run(grade_id: uuid.UUID):
    """ "Open as a run": the run reproducing one simulation evidence item (new or existing)."""
    evidence_id = request.form.get("evidence_id", "").strip()[: evidence_runs.EVIDENCE_ID_MAX]
    back = url_for("grades.show", grade_id=grade_id)
    if not evidence_id:
        return _refused(evidence_runs.EvidenceNotRunnable("Choose an evidence item."), back)
    try:
        run, created = evidence_runs.start_run_for_evidence(current_user, grade_id, evidence_id)
    except (evidence_runs.EvidenceNotRunnable, RunRefused, RateLimited) as exc:
        return _refused(exc, back)
    if wants_json():
        from sdc.services import runs

        return jsonify(runs.describe(run)), 201 if created else 200
    return redirect_to(url_for("runs.show", run_id=run.id))
