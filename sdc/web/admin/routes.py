"""Admin views: parse, call one service, render."""

from __future__ import annotations

import uuid

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from sdc.services import admin as admin_service
from sdc.services import audit, telemetry
from sdc.services.admin import DEFAULT_WINDOW, WINDOWS_MIN
from sdc.web.access import requires
from sdc.web.admin import bp, forms
from sdc.web.admin.charts import line_chart


@bp.get("/")
@requires("admin")
def index():
    return redirect(url_for("admin.requests"))


@bp.get("/audit")
@requires("admin")
def audit_log():
    f, page, per_page = forms.audit_filter(request.args)
    result = audit.search(f, page, per_page)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("admin/audit.html", result=result, f=f, args=args)


@bp.get("/audit.csv")
@requires("admin")
def audit_export():
    f, _page, _per_page = forms.audit_filter(request.args)
    body = audit.export_csv(f)
    audit.record(
        audit.ADMIN_EXPORT,
        "audit_logs",
        None,
        detail={"query": request.query_string.decode("utf-8", "replace")[:300]},
    )
    stamp = telemetry.utcnow().strftime("%Y%m%d-%H%M%S")
    return Response(
        body,
        mimetype="text/csv",
        headers={
            # A fixed ASCII name: nothing from the request reaches the header.
            "Content-Disposition": f'attachment; filename="audit-{stamp}.csv"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


def _window() -> str:
    window = request.args.get("window") or DEFAULT_WINDOW
    admin_service.window_minutes(window)  # 400 on anything else
    return window


@bp.get("/requests")
@requires("admin")
def requests():
    stats = admin_service.request_stats(_window())
    charts = {
        "rate": line_chart(stats["series"], label="requests/min"),
        "errors": line_chart(stats["error_series"], label="5xx/min"),
    }
    buffer = telemetry.buffer_for()
    return render_template(
        "admin/requests.html", stats=stats, charts=charts, windows=WINDOWS_MIN, buffer=buffer
    )


@bp.get("/jobs")
@requires("admin")
def jobs():
    stats = admin_service.job_stats(_window())
    return render_template("admin/jobs.html", stats=stats, windows=WINDOWS_MIN)


@bp.post("/jobs/<kind>/<uuid:job_id>/requeue")
@requires("admin")
def requeue(kind: str, job_id: uuid.UUID):
    outcome = admin_service.requeue_job(kind, job_id)
    if outcome == "requeued":
        flash(f"Job {job_id} is back in the queue.", "success")
    else:
        flash(
            f"Job {job_id} is pending, but the queue is unreachable; the reaper will retry.",
            "warning",
        )
    return redirect(url_for("admin.jobs"), code=303)


@bp.get("/users")
@requires("admin")
def users():
    query = (request.args.get("q") or "").strip()[: forms.TEXT_MAX]
    page = forms.positive_int(request.args, "page", 1)
    return render_template(
        "admin/users.html", result=admin_service.find_users(query, page), q=query
    )


@bp.post("/users/<uuid:user_id>")
@requires("admin")
def change_user(user_id: uuid.UUID):
    action = (request.form.get("action") or "").strip()
    user = admin_service.change_user(current_user, user_id, action)
    flash(f"{user.email}: {action.replace('_', ' ')} done.", "success")
    return redirect(url_for("admin.users", q=request.form.get("q") or None), code=303)
