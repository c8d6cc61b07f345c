"""Compare two versions: architecture delta, KPI and rubric deltas, load curves; "run both".

The load curves come from the analytic knee search (about 2 s per version uncached), so the
page renders without them and htmx loads them into place; without JavaScript a link reloads
the page with them included (``?curve=1``), and JSON clients always get them.
"""

from __future__ import annotations

import uuid

from flask import abort, flash, jsonify, render_template, request, url_for
from flask_login import current_user, login_required

from sdc.services import RateLimited, policy
from sdc.services import compare as compare_service
from sdc.services.runs import RunRefused
from sdc.web.compare import bp
from sdc.web.compare.present import curve_chart, delta_diagram
from sdc.web.editing import json_client
from sdc.web.errors import error_response
from sdc.web.htmx import is_partial, redirect_to


def _version_arg(name: str) -> uuid.UUID | None:
    value = (request.values.get(name) or "").strip()
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        abort(404)


def _compare_url(project_id, data=None, **extra) -> str:
    args = {}
    if data is not None:
        args = {"baseline": data["baseline"].id, "candidate": data["candidate"].id}
    args.update(extra)
    return url_for("compare.show", project_id=project_id, **args)


@bp.get("/<uuid:project_id>/compare")
@login_required
def show(project_id: uuid.UUID):
    with_curves = json_client() or request.args.get("curve") == "1"
    data = compare_service.compare(
        current_user,
        project_id,
        _version_arg("baseline"),
        _version_arg("candidate"),
        with_curves=with_curves,
    )
    if json_client():
        return jsonify(compare_service.describe(data))
    return render_template("compare/show.html", **_context(data))


@bp.get("/<uuid:project_id>/compare/curve")
@login_required
def curve(project_id: uuid.UUID):
    """The load-curve section (htmx), or the whole page with it for a plain request."""
    data = compare_service.compare(
        current_user,
        project_id,
        _version_arg("baseline"),
        _version_arg("candidate"),
        with_curves=True,
    )
    if is_partial():
        return render_template("compare/_curve.html", **_context(data))
    return render_template("compare/show.html", **_context(data))


@bp.post("/<uuid:project_id>/compare/runs")
@login_required
def run_both(project_id: uuid.UUID):
    """Start a run of both versions with the same engine, seed and (their) traffic."""
    baseline, candidate = _version_arg("baseline"), _version_arg("candidate")
    back = url_for("compare.show", project_id=project_id, baseline=baseline, candidate=candidate)
    try:
        started = compare_service.run_both(current_user, project_id, baseline, candidate)
    except (RunRefused, RateLimited) as exc:
        if json_client() or is_partial():
            return error_response(exc.status, exc.message)
        flash(exc.message, "error")
        return redirect_to(back)
    if json_client():
        return jsonify(
            runs=[
                {
                    "id": str(run.id),
                    "version_id": str(run.version_id),
                    "status": run.status,
                    "created": created,
                }
                for run, created in started
            ]
        ), 201
    if any(run.status != "completed" for run, _ in started):
        flash("Both versions are being simulated; refresh this page when they finish.", "info")
    return redirect_to(back)


def _context(data: dict) -> dict:
    project = data["project"]
    return {
        **data,
        "can_run_both": policy.can(current_user, "compare", project),
        "diagram": delta_diagram(data),
        "curve_chart": curve_chart(data) if data["curves"] else None,
        "curve_url": url_for(
            "compare.curve",
            project_id=project.id,
            baseline=data["baseline"].id,
            candidate=data["candidate"].id,
        ),
        "curve_page_url": _compare_url(project.id, data, curve=1),
    }
