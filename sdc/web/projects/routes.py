"""Projects: start from a scenario, the version lineage, and "new version from here"."""

from __future__ import annotations

import uuid

from flask import jsonify, render_template, url_for
from flask_login import current_user, login_required

from sdc.services import grades as grade_service
from sdc.services import projects as project_service
from sdc.services import runs as run_service
from sdc.web.editing import json_client
from sdc.web.htmx import is_partial, redirect_to
from sdc.web.main.trend import trend_svg
from sdc.web.projects import bp


def score_points(versions, latest_grades) -> list[dict]:
    """The latest completed grade of each version, in version order, for the trend chart."""
    points = []
    for v in sorted(versions, key=lambda v: v.number):
        grade = latest_grades.get(v.id)
        if grade is not None and grade.status == "completed" and grade.overall_score is not None:
            points.append({"label": f"v{v.number}", "score": grade.overall_score})
    return points


def workspace_url(version) -> str:
    return url_for("workspace.show", project_id=version.project_id, version_id=version.id)


@bp.post("/start/<slug>")
@login_required
def start(slug: str):
    project, version = project_service.start_project(current_user, slug)
    if json_client():
        return jsonify(
            project_id=str(project.id), version_id=str(version.id), url=workspace_url(version)
        ), 201
    return redirect_to(workspace_url(version))


def project_json(project) -> dict:
    return {
        "id": str(project.id),
        "title": project.title,
        "scenario": project.scenario.slug,
        "created_at": project.created_at.isoformat(),
        "updated_at": project.updated_at.isoformat(),
        "versions": [
            {
                "id": str(v.id),
                "number": v.number,
                "parent_id": str(v.parent_id) if v.parent_id else None,
                "revision": v.revision,
                "components": len(v.design.get("components", [])),
                "edges": len(v.design.get("edges", [])),
                "created_at": v.created_at.isoformat(),
                "updated_at": v.updated_at.isoformat(),
                "url": workspace_url(v),
            }
            for v in project.versions
        ],
    }


@bp.get("/<uuid:project_id>")
@login_required
def show(project_id: uuid.UUID):
    project = project_service.get_project_for(current_user, project_id)
    if json_client():
        return jsonify(project_json(project))
    version_ids = [v.id for v in project.versions]
    latest_grades = grade_service.latest_grades(version_ids)
    context = dict(
        project=project,
        lineage=project_service.lineage(project),
        # one query each for every version's latest run and grade (no N+1)
        latest_runs=run_service.latest_runs(version_ids),
        latest_grades=latest_grades,
        score_trend=trend_svg(
            score_points(project.versions, latest_grades), svg_id="project-score-trend"
        ),
    )
    if is_partial():
        return render_template("projects/_lineage.html", **context)
    return render_template("projects/show.html", **context)


@bp.post("/<uuid:project_id>/versions/<uuid:version_id>/copy")
@login_required
def new_version(project_id: uuid.UUID, version_id: uuid.UUID):
    version = project_service.new_version_from(current_user, project_id, version_id)
    if json_client():
        return jsonify(id=str(version.id), number=version.number, url=workspace_url(version)), 201
    return redirect_to(workspace_url(version))
