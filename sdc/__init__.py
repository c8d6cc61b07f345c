"""System Design Coach: the application factory.

``create_app`` reads like a table of contents: settings, extensions, hooks, blueprints, CLI.
It has no side effects beyond building the app object (no migrations, network or sleeps).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from sdc.settings import ROOT_DIR, Settings, load_settings

MIGRATIONS_DIR = ROOT_DIR / "migrations"


def create_app(overrides: dict | None = None, settings: Settings | None = None) -> Flask:
    """Build the app. ``overrides`` are applied to ``app.config`` last (tests use this)."""
    settings = settings or load_settings()
    app = Flask(__name__, instance_path=str(Path(settings.instance_dir).resolve()))
    from sdc.web.template_helpers import Environment

    app.jinja_environment = Environment  # before anything creates app.jinja_env
    app.config.from_mapping(settings.flask_config())
    if overrides:
        app.config.update(overrides)

    init_database(app)
    init_security(app, settings)
    init_auth(app)
    init_templates(app)

    from sdc.web.errors import init_error_handlers
    from sdc.web.hooks import init_request_processors

    init_request_processors(app)
    init_error_handlers(app)
    register_blueprints(app)

    from sdc.cli import register_commands

    register_commands(app)
    return app


def init_database(app: Flask) -> None:
    from sdc import db_events  # noqa: F401  (SQLite pragmas, PostgreSQL round trips)
    from sdc.extensions import db, migrate

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True, compare_type=True
    )


def init_security(app: Flask, settings: Settings) -> None:
    from werkzeug.middleware.proxy_fix import ProxyFix

    from sdc.extensions import cors, csrf, limiter, talisman
    from sdc.web import limits  # noqa: F401  (registers the sdc+redis:// limit storage)
    from sdc.web.method_override import MethodOverrideMiddleware

    app.wsgi_app = MethodOverrideMiddleware(app.wsgi_app, max_body=settings.max_content_length)
    if settings.proxy_fix_hops:
        hops = settings.proxy_fix_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    csrf.init_app(app)
    limiter.init_app(app)
    talisman.init_app(
        app,
        # Production redirects plain HTTP to HTTPS (behind a TLS-terminating proxy, set
        # PROXY_FIX_HOPS so X-Forwarded-Proto is trusted); health probes are exempt.
        force_https=settings.production,
        strict_transport_security=settings.production,
        strict_transport_security_max_age=31536000,
        strict_transport_security_include_subdomains=True,
        session_cookie_secure=settings.session_cookie_secure,
        session_cookie_http_only=True,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        permissions_policy={"camera": "()", "microphone": "()", "geolocation": "()"},
        content_security_policy={
            "default-src": "'self'",
            "script-src": "'self'",
            "style-src": "'self'",
            "img-src": "'self' data:",
            "object-src": "'none'",
            "base-uri": "'none'",
            "form-action": "'self'",
            "frame-ancestors": "'none'",
        },
    )
    # CORS only on the JSON resources (the pages that answer Accept: application/json to
    # bearer-token clients) and never with credentials: cookies are not sent cross-origin.
    cors.init_app(
        app,
        resources={API_PATHS: {"origins": list(settings.cors_allowed_origins)}}
        if settings.cors_allowed_origins
        else {},
        methods=["GET", "POST", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
        supports_credentials=False,
        max_age=86400,
    )


# The JSON/API routes (docs/security.md, "CORS").
API_PATHS = r"^/(projects|versions|runs|grades|scenarios)(/.*)?$"


def init_auth(app: Flask) -> None:
    from sdc.extensions import login_manager
    from sdc.services.accounts import load_session_user

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_session_user)

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import request, url_for

        from sdc.web.errors import error_response, wants_json
        from sdc.web.htmx import is_partial, redirect_to

        if wants_json() or request.headers.get("Authorization"):
            return error_response(401)
        target = url_for(
            "auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None
        )
        if is_partial():
            return redirect_to(target)
        from flask import flash, redirect

        flash("Sign in to continue.", "info")
        return redirect(target)


def init_templates(app: Flask) -> None:
    from sdc.web import template_helpers

    template_helpers.init_app(app)


def register_blueprints(app: Flask) -> None:
    from sdc.web.admin import bp as admin_bp
    from sdc.web.auth import bp as auth_bp
    from sdc.web.compare import bp as compare_bp
    from sdc.web.grades import bp as grades_bp
    from sdc.web.main import bp as main_bp
    from sdc.web.onboarding import bp as onboarding_bp
    from sdc.web.projects import bp as projects_bp
    from sdc.web.reports import bp as reports_bp
    from sdc.web.runs import bp as runs_bp
    from sdc.web.scenarios import bp as scenarios_bp
    from sdc.web.settings import bp as settings_bp
    from sdc.web.status import bp as status_bp
    from sdc.web.traffic import bp as traffic_bp
    from sdc.web.workspace import bp as workspace_bp

    for bp in (
        main_bp,
        auth_bp,
        scenarios_bp,
        projects_bp,
        workspace_bp,
        traffic_bp,
        runs_bp,
        grades_bp,
    ):
        app.register_blueprint(bp)
    for bp in (status_bp, onboarding_bp, settings_bp):
        app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    for bp in (compare_bp, reports_bp):
        app.register_blueprint(bp)
    register_collaboration(app)


def register_collaboration(app: Flask) -> None:
    """Members and invites, comments, notifications, presence (issue 10)."""
    from sdc.web.comments import bp as comments_bp
    from sdc.web.members import bp as members_bp
    from sdc.web.notifications import bp as notifications_bp
    from sdc.web.presence import bp as presence_bp

    for bp in (members_bp, comments_bp, notifications_bp, presence_bp):
        app.register_blueprint(bp)
