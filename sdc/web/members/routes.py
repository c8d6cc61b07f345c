"""Members page (owner: invite, change roles, remove; members: leave) and invite links."""

from __future__ import annotations

import uuid

from flask import flash, jsonify, make_response, render_template, request, url_for
from flask_login import current_user, login_required

from sdc.services import ServiceError, policy
from sdc.services import members as member_service
from sdc.services.projects import get_project_for
from sdc.web.editing import json_client
from sdc.web.htmx import is_partial, redirect_to
from sdc.web.members import bp


def _page(project, status: int = 200, errors: dict | None = None, **extra):
    role = policy.role_of(current_user, project)
    can_manage = policy.allows(role, "manage_members")
    ctx = dict(
        project=project,
        role=role,
        can_manage_members=can_manage,
        can_leave=policy.allows(role, "leave"),
        members=member_service.members_of(project),
        invites=member_service.invites_of(project) if can_manage else [],
        roles=policy.MEMBER_ROLES,
        role_labels=policy.ROLE_LABELS,
        errors=errors or {},
        form=request.form if request.method == "POST" else {},
        new_invite_url=None,
    )
    ctx.update(extra)
    template = "members/_members.html" if is_partial() else "members/index.html"
    return make_response(render_template(template, **ctx), status)


def members_url(project_id) -> str:
    return url_for("members.index", project_id=project_id)


@bp.get("/projects/<uuid:project_id>/members")
@login_required
def index(project_id: uuid.UUID):
    project = get_project_for(current_user, project_id)
    if json_client():
        return jsonify(
            owner=project.owner.email,
            members=[
                {"user_id": str(m.user_id), "email": m.user.email, "role": m.role}
                for m in member_service.members_of(project)
            ],
        )
    return _page(project)


@bp.post("/projects/<uuid:project_id>/members/invites")
@login_required
def create_invite(project_id: uuid.UUID):
    try:
        invite, token = member_service.create_invite(
            current_user, project_id, request.form.get("email", ""), request.form.get("role", "")
        )
    except ServiceError as exc:
        if exc.status != 400:
            raise
        project = get_project_for(current_user, project_id)
        return _page(project, 422, {exc.field or "email": exc.message})
    link = url_for("members.show_invite", token=token, _external=True)
    if json_client():
        return jsonify(id=str(invite.id), email=invite.email, role=invite.role, url=link), 201
    # The link is shown once, here: only its hash is stored.
    return _page(invite.project, 201, new_invite_url=link, new_invite=invite)


@bp.delete("/projects/<uuid:project_id>/members/invites/<uuid:invite_id>")
@login_required
def revoke_invite(project_id: uuid.UUID, invite_id: uuid.UUID):
    member_service.revoke_invite(current_user, project_id, invite_id)
    if json_client():
        return "", 204
    if not is_partial():
        flash("Invite revoked: its link no longer works.", "info")
    return _after_change(project_id)


def _after_change(project_id):
    if is_partial():
        return _page(get_project_for(current_user, project_id))
    return redirect_to(members_url(project_id))


@bp.patch("/projects/<uuid:project_id>/members/<uuid:user_id>")
@login_required
def update_role(project_id: uuid.UUID, user_id: uuid.UUID):
    member = member_service.change_role(
        current_user, project_id, user_id, request.values.get("role", "")
    )
    if json_client():
        return jsonify(user_id=str(member.user_id), role=member.role)
    if not is_partial():
        flash(f"{member.user.email} is now a {member.role}.", "success")
    return _after_change(project_id)


@bp.delete("/projects/<uuid:project_id>/members/<uuid:user_id>")
@login_required
def remove(project_id: uuid.UUID, user_id: uuid.UUID):
    member_service.remove_member(current_user, project_id, user_id)
    if json_client():
        return "", 204
    if not is_partial():
        flash("Member removed: their access has ended.", "info")
    return _after_change(project_id)


@bp.post("/projects/<uuid:project_id>/members/leave")
@login_required
def leave(project_id: uuid.UUID):
    member_service.leave(current_user, project_id)
    if json_client():
        return "", 204
    flash("You left the project.", "info")
    return redirect_to(url_for("main.dashboard"))


@bp.get("/invites/<token>")
def show_invite(token: str):
    invite = member_service.invite_for_token(token)
    user = current_user if current_user.is_authenticated else None
    reason = member_service.refusal(invite, user)
    status = 200
    if reason:
        status = 403 if invite.state == "pending" else 410
    resp = make_response(
        render_template(
            "members/invite.html",
            invite=invite,
            token=token,
            reason=reason,
            signed_in=user is not None,
            role_labels=policy.ROLE_LABELS,
        ),
        status,
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/invites/<token>")
@login_required
def accept_invite(token: str):
    member = member_service.accept_invite(current_user, token)
    project = member.project
    if json_client():
        return jsonify(project_id=str(project.id), role=member.role), 201
    flash(f"You joined {project.title} as {member.role}.", "success")
    return redirect_to(url_for("projects.show", project_id=project.id))


@bp.get("/shared")
@login_required
def shared():
    """Projects shared with me and invites waiting for me (the dashboard loads this region)."""
    projects = member_service.shared_with(current_user)
    invites = member_service.pending_invites_for(current_user)
    if json_client():
        return jsonify(
            projects=[
                {
                    "id": str(s["project"].id),
                    "title": s["project"].title,
                    "role": s["role"],
                    "owner": s["owner_email"],
                    "last_activity": s["last_activity"].isoformat(),
                }
                for s in projects
            ],
            invites=[{"project": i.project.title, "role": i.role} for i in invites],
        )
    ctx = dict(shared=projects, pending_invites=invites, role_labels=policy.ROLE_LABELS)
    if is_partial():
        return render_template("members/_shared.html", **ctx)
    return render_template("members/shared.html", **ctx)
