"""The public status page and the admins' incident banner form."""

from flask import (
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from sdc.services import ServiceError
from sdc.services import status as status_service
from sdc.web.access import admin_must_enrol, requires
from sdc.web.errors import wants_json
from sdc.web.htmx import is_partial
from sdc.web.status import bp


def _render(snapshot: dict, errors: dict | None = None, form: dict | None = None, code: int = 200):
    context = dict(
        snap=snapshot,
        severities=status_service.SEVERITIES,
        errors=errors or {},
        form=form or {},
        stale_after_s=status_service.STALE_AFTER_S,
        # The banner forms would send this admin to enrol: say so up front instead.
        needs_2fa=admin_must_enrol(),
    )
    template = "status/_checks.html" if is_partial() else "status/index.html"
    resp = make_response(render_template(template, **context), code)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/status")
def show():
    snapshot = status_service.snapshot()
    if wants_json():
        resp = jsonify(snapshot)
        resp.headers["Cache-Control"] = "no-store"
        return resp
    return _render(snapshot)


@bp.post("/status/incident")
@requires("admin")
def set_incident():
    message = request.form.get("message", "")
    severity = request.form.get("severity", "warning")
    try:
        status_service.set_incident(current_user, message, severity)
    except ServiceError as exc:
        errors = {exc.field or "message": exc.message}
        form = {"message": message[: status_service.INCIDENT_MAX + 100], "severity": severity}
        return _render(status_service.snapshot(), errors, form, 422)
    flash("The status banner is up.", "success")
    return redirect(url_for("status.show"), code=303)


@bp.post("/status/incident/clear")
@requires("admin")
def clear_incident():
    if status_service.clear_incident(current_user):
        flash("The status banner is cleared.", "success")
    return redirect(url_for("status.show"), code=303)
