"""Comments in the workspace side panel (htmx swaps ``#comments``), plus a plain-HTML page."""

from __future__ import annotations

import uuid

from flask import jsonify, make_response, render_template, request, url_for
from flask_login import current_user, login_required

from sdc.services import comments as comment_service
from sdc.services import policy
from sdc.services.comments import InvalidComment
from sdc.services.versions import get_version_for
from sdc.web.comments import bp
from sdc.web.editing import json_client
from sdc.web.htmx import is_partial, redirect_to


def _filter() -> str | None:
    return (request.values.get("component") or "").strip() or None


def comment_json(c) -> dict:
    return {
        "id": str(c.id),
        "component": c.component_id,
        "parent_id": str(c.parent_id) if c.parent_id else None,
        "author": c.author.email if c.author else None,
        "body": None if c.deleted_at else c.body,
        "created_at": c.created_at.isoformat(),
        "edited": c.edited_at is not None,
        "resolved": c.resolved_at is not None,
        "deleted": c.deleted_at is not None,
    }


def _panel(project_id, version_id, status: int = 200, errors: dict | None = None):
    version = get_version_for(current_user, project_id, version_id)
    threads = comment_service.threads_of(version)
    if json_client():
        return jsonify(
            threads=[
                {**comment_json(t.comment), "replies": [comment_json(r) for r in t.replies]}
                for t in threads
            ],
            open_counts={k or "": v for k, v in comment_service.open_counts(version.id).items()},
        ), status
    labels = {c["id"]: c.get("label") or c["id"] for c in version.design.get("components", [])}
    ctx = dict(
        version=version,
        project=version.project,
        threads=threads,
        open_counts=comment_service.open_counts(version.id),
        labels=labels,
        component=_filter(),
        can_comment=policy.can(current_user, "comment", version.project),
        errors=errors or {},
        max_body=comment_service.MAX_BODY,
        form=request.form,
    )
    template = "comments/_panel.html" if is_partial() else "comments/index.html"
    return make_response(render_template(template, **ctx), status)


def _page_url(project_id, version_id) -> str:
    return url_for("comments.index", project_id=project_id, version_id=version_id)


def _done(project_id, version_id, status: int = 200):
    if is_partial() or json_client():
        return _panel(project_id, version_id, status)
    return redirect_to(_page_url(project_id, version_id))


@bp.get("/comments")
@login_required
def index(project_id: uuid.UUID, version_id: uuid.UUID):
    return _panel(project_id, version_id)


@bp.post("/comments")
@login_required
def create(project_id: uuid.UUID, version_id: uuid.UUID):
    parent = request.values.get("parent_id") or None
    try:
        parent_id = uuid.UUID(parent) if parent else None
    except ValueError:
        parent_id = uuid.uuid4()  # no such comment: refused below like any unknown id
    try:
        comment_service.add_comment(
            current_user,
            project_id,
            version_id,
            request.values.get("body", ""),
            component_id=_filter(),
            parent_id=parent_id,
        )
    except InvalidComment as exc:
        return _panel(project_id, version_id, 422, {exc.field or "body": exc.message})
    return _done(project_id, version_id, 201)


@bp.patch("/comments/<uuid:comment_id>")
@login_required
def update(project_id: uuid.UUID, version_id: uuid.UUID, comment_id: uuid.UUID):
    try:
        comment_service.edit_comment(
            current_user, project_id, version_id, comment_id, request.values.get("body", "")
        )
    except InvalidComment as exc:
        return _panel(project_id, version_id, 422, {f"edit-{comment_id}": exc.message})
    return _done(project_id, version_id)


@bp.delete("/comments/<uuid:comment_id>")
@login_required
def delete(project_id: uuid.UUID, version_id: uuid.UUID, comment_id: uuid.UUID):
    comment_service.delete_comment(current_user, project_id, version_id, comment_id)
    return _done(project_id, version_id)


@bp.post("/comments/<uuid:comment_id>/resolve")
@login_required
def resolve(project_id: uuid.UUID, version_id: uuid.UUID, comment_id: uuid.UUID):
    comment_service.set_resolved(current_user, project_id, version_id, comment_id, True)
    return _done(project_id, version_id)


@bp.post("/comments/<uuid:comment_id>/reopen")
@login_required
def reopen(project_id: uuid.UUID, version_id: uuid.UUID, comment_id: uuid.UUID):
    comment_service.set_resolved(current_user, project_id, version_id, comment_id, False)
    return _done(project_id, version_id)
