"""Landing page, the public demo, the dashboard and health endpoints."""

from flask import jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required

from sdc.extensions import limiter, talisman
from sdc.services import health, onboarding, progress
from sdc.web.main import bp
from sdc.web.main.trend import trend_svg


@bp.get("/")
def index():
    from sdc.services import demo

    return render_template("main/index.html", demo_ready=demo.demo_available())


@bp.get("/dashboard")
@login_required
def dashboard():
    data = progress.dashboard(current_user)
    recommendations = []
    if not data["projects"]:
        recommendations = onboarding.recommend(current_user.profile or {}, data["scenarios"])
    return render_template(
        "main/dashboard.html",
        **data,
        trend_chart=trend_svg(data["trend"]["points"]),
        needs_onboarding=onboarding.needs_onboarding(current_user),
        recommendations=recommendations,
    )


@bp.get("/demo")
def demo():
    """The seeded example project, read-only and public (no sign-in, nothing editable)."""
    from sdc.services import demo as demo_service
    from sdc.web.diagram import render_diagram

    data = demo_service.demo_view()
    if data is None:
        return render_template("main/demo_missing.html"), 404
    return render_template(
        "main/demo.html", **data, diagram=render_diagram(data["design"], data["overlay"])
    )


@bp.get("/healthz")
@limiter.exempt
@talisman(force_https=False)
def healthz():
    """The process is up and serving requests."""
    return jsonify(status="ok")


@bp.get("/readyz")
@limiter.exempt
@talisman(force_https=False)
def readyz():
    """Ready when the database and the queue answer; 503 naming what is down otherwise."""
    checks = health.readiness()
    ok = all(c["ok"] for c in checks.values())
    return jsonify(status="ok" if ok else "unavailable", checks=checks), 200 if ok else 503


@bp.get("/favicon.ico")
@limiter.exempt
def favicon():
    # Browsers ask for /favicon.ico by themselves; base.html links the SVG icon.
    return redirect(url_for("static", filename="img/favicon.svg"), code=301)
