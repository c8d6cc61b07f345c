"""The report page, its PDF, share-link management and the public shared report.

One template (``reports/show.html`` including ``reports/_report.html``) renders the page, the
PDF (``print=True``) and the shared view. Share links are managed by the project owner only;
``/shared/<token>`` is public, read-only, never cached and sends no referrer.
"""

from __future__ import annotations

import uuid

from flask import abort, g, jsonify, make_response, render_template, request, url_for
from flask_login import current_user, login_required

from sdc.services import NotFound, policy
from sdc.services import reports as report_service
from sdc.services import share_links as link_service
from sdc.web.access import requires
from sdc.web.editing import json_client
from sdc.web.errors import error_response
from sdc.web.htmx import is_partial, redirect_to
from sdc.web.pdf import render_pdf
from sdc.web.reports import bp, present

EXPIRY_CHOICES = (("", "Never"), ("1", "1 day"), ("7", "7 days"), ("30", "30 days"))


def _version_arg() -> uuid.UUID | None:
    value = (request.values.get("version") or "").strip()
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        abort(404)


def _links_context(project, *, new_token: str | None = None, error: str | None = None) -> dict:
    can_manage = policy.can(current_user, "manage_share_links", project)
    links = link_service.links_of(current_user, project.id) if can_manage else []
    return {
        "can_export": policy.can(current_user, "report", project),
        "can_manage_links": can_manage,
        "links": links,
        "new_link_url": url_for("reports.shared", token=new_token, _external=True)
        if new_token
        else None,
        "link_error": error,
        "expiry_choices": EXPIRY_CHOICES,
    }


def _report_json(data: dict) -> dict:
    run, grade = data["run"], data["grade"]
    return {
        "project_id": str(data["project"].id),
        "version_id": str(data["version"].id),
        "version": data["version"].number,
        "scenario": data["scenario"].slug,
        "verdict": data["verdict"],
        "run": None
        if run is None
        else {
            "id": str(run.id),
            "engine": run.engine,
            "engine_version": run.engine_version,
            "seed": run.seed,
            "input_hash": run.input_hash,
            "metrics": (run.result or {}).get("metrics"),
        },
        "grade": None
        if grade is None
        else {
            "id": str(grade.id),
            "overall_score": grade.overall_score,
            "categories": data["categories"],
            "actions": data["actions"],
        },
        "history": [
            {"version": h["version"].number, "score": h["score"], "verdict": h["verdict"]}
            for h in data["history"]
        ],
    }


@bp.get("/projects/<uuid:project_id>/report")
@login_required
def show(project_id: uuid.UUID):
    data = report_service.get_report_for(current_user, project_id, _version_arg())
    if json_client():
        return jsonify(_report_json(data))
    return render_template(
        "reports/show.html",
        **present.context(data),
        **_links_context(data["project"]),
        exports=report_service.exports_of(project_id),
    )


@bp.get("/projects/<uuid:project_id>/report.pdf")
@login_required
def pdf(project_id: uuid.UUID):
    # Refuse before rendering: making a PDF is the expensive part.
    data = report_service.get_report_for(current_user, project_id, _version_arg(), "report")
    html = render_template("reports/show.html", **present.context(data, print_mode=True))
    body = render_pdf(html)
    name = report_service.safe_filename(data["project"].title, data["version"].number)
    report_service.record_export(current_user, data["version"], name, body)
    resp = make_response(body)
    resp.headers["Content-Type"] = "application/pdf"
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


# --- share links (owner only) -------------------------------------------------------------------


def _links_response(project_id: uuid.UUID, status: int = 200, **kw):
    data = report_service.get_report_for(current_user, project_id, _version_arg())
    ctx = _links_context(data["project"], **kw)
    if not ctx["can_manage_links"]:
        policy.require(current_user, "manage_share_links", data["project"])
    if is_partial():
        return make_response(
            render_template(
                "reports/_share_links.html",
                project=data["project"],
                version=data["version"],
                **ctx,
            ),
            status,
        )
    return make_response(
        render_template(
            "reports/show.html",
            **present.context(data),
            **ctx,
            exports=report_service.exports_of(project_id),
        ),
        status,
    )


def _link_json(link, token: str | None = None) -> dict:
    out = {
        "id": str(link.id),
        "version_id": str(link.version_id),
        "state": link.state,
        "created_at": link.created_at.isoformat() if link.created_at else None,
        "expires_at": link.expires_at.isoformat() if link.expires_at else None,
        "revoked_at": link.revoked_at.isoformat() if link.revoked_at else None,
        "view_count": link.view_count,
    }
    if token:
        out["token"] = token
        out["url"] = url_for("reports.shared", token=token, _external=True)
    return out


@bp.get("/projects/<uuid:project_id>/share-links")
@login_required
def links(project_id: uuid.UUID):
    found = link_service.links_of(current_user, project_id)
    if json_client():
        return jsonify(links=[_link_json(link) for link in found])
    return _links_response(project_id)


@bp.post("/projects/<uuid:project_id>/share-links")
@login_required
def create_link(project_id: uuid.UUID):
    raw = (request.form.get("expires_in_days") or "").strip()
    if request.is_json:
        body = request.get_json(silent=True) or {}
        if not isinstance(body, dict):
            return error_response(400, 'Send a JSON object, for example {"expires_in_days": 7}.')
        raw = str(body.get("expires_in_days") or "")
    try:
        days = int(raw) if raw else None
    except ValueError:
        days = 0  # refused below with the service's message
    try:
        link, token = link_service.create_link(current_user, project_id, _version_arg(), days)
    except link_service.ShareRefused as exc:
        if json_client():
            return error_response(exc.status, exc.message)
        return _links_response(project_id, exc.status, error=exc.message)
    if json_client():
        return jsonify(_link_json(link, token)), 201
    # The token is shown once, in this response: it is never stored, so no redirect.
    return _links_response(project_id, 201, new_token=token)


@bp.delete("/projects/<uuid:project_id>/share-links/<uuid:link_id>")
@login_required
def revoke_link(project_id: uuid.UUID, link_id: uuid.UUID):
    link = link_service.revoke_link(current_user, project_id, link_id)
    if json_client():
        return jsonify(_link_json(link))
    if is_partial():
        return _links_response(project_id)
    return redirect_to(url_for("reports.show", project_id=project_id) + "#share-links")


# --- the public shared report -------------------------------------------------------------------


def _no_leak(resp):
    g.referrer_policy = "no-referrer"  # applied after Talisman's (see reports/__init__.py)
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Robots-Tag"] = "noindex, nofollow"
    return resp


@bp.get("/shared/<token>")
@requires("anonymous")
def shared(token: str):
    try:
        link = link_service.resolve(token)
    except NotFound:
        return _no_leak(error_response(404))
    from sdc.services.reports import report_for

    data = report_for(link.project, link.version)
    if json_client():
        return _no_leak(jsonify(_report_json(data)))
    html = render_template(
        "reports/shared.html", **present.context(data, shared=True), token=token, link=link
    )
    return _no_leak(make_response(html))


@bp.post("/shared/<token>/fork")
@requires("signed-in")
def fork(token: str):
    try:
        project, version = link_service.fork(current_user, token)
    except NotFound:
        return _no_leak(error_response(404))
    target = url_for("workspace.show", project_id=project.id, version_id=version.id)
    if json_client():
        return jsonify(project_id=str(project.id), version_id=str(version.id), url=target), 201
    return _no_leak(redirect_to(target))
