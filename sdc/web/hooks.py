"""Request processors in one place: request id, timing, token auth, CSRF, response headers,
request telemetry and the generic audit row of every state-changing request.

Telemetry and audit run in ``after_request`` (and ``teardown_request`` when an exception
escaped every handler), are wrapped so that a failure in them never changes the response, and
write through their own connections (``sdc.services.telemetry`` / ``sdc.services.audit``).
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, current_app, g, request, session
from flask_wtf.csrf import CSRFError

from sdc.extensions import csrf
from sdc.models.base import utcnow
from sdc.services import accounts, audit, telemetry
from sdc.web.htmx import add_vary, is_partial

log = logging.getLogger(__name__)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
UNMATCHED_ROUTE = "<unmatched>"
# View arguments naming the resource a request acts on, most specific first.
RESOURCE_ARGS = (
    ("grade_id", "grade"),
    ("run_id", "run"),
    ("version_id", "version"),
    ("project_id", "project"),
    ("token_id", "token"),
    ("user_id", "user"),
    ("slug", "scenario"),
    ("token", "share_link"),
)


def route_template() -> str:
    """The URL rule (bounded cardinality), never the raw path."""
    rule = request.url_rule
    return rule.rule[:200] if rule is not None else UNMATCHED_ROUTE


def resource_of(view_args: dict | None) -> tuple[str | None, str | None]:
    """(resource type, id) named by the view arguments, most specific first."""
    for arg, kind in RESOURCE_ARGS:
        if view_args and view_args.get(arg) is not None:
            value = str(view_args[arg])
            if kind == "share_link":
                value = value[:8]  # never store a live share token
            return kind, value
    return None, None


def _user_id() -> uuid.UUID | None:
    """The requesting account for a telemetry row, without a database query of its own.

    The user this request already loaded (Flask-Login's cache, or the token hook), else the
    account the signed session cookie names. A request that never needed its user (a health
    check, a static file) must not pay a user query only to be attributed; a session revoked
    since it was issued still names its account, which is what an operator tracing requests
    wants to see.
    """
    user = g.get("_login_user")
    if user is not None:
        return user.id if user.is_authenticated else None
    claim = session.get("_user_id")  # "<uuid>:<session version>" (accounts.load_session_user)
    if not isinstance(claim, str):
        return None
    try:
        return uuid.UUID(claim.partition(":")[0])
    except ValueError:
        return None


def record_telemetry(status: int, response_bytes: int | None) -> None:
    """Buffer this request's telemetry row (sampled); never raises."""
    if g.get("_telemetry_done"):
        return
    g._telemetry_done = True
    try:
        started = g.get("_started")
        duration_ms = (time.perf_counter() - started) * 1000.0 if started else 0.0
        rate = current_app.config["SDC_SETTINGS"].request_telemetry_sample_rate
        if not telemetry.keep(status, duration_ms, rate):
            return
        from sdc.web.principal import client_ip

        telemetry.record_request(
            {
                "time": utcnow(),
                "request_id": (g.get("request_id") or "")[:128],
                "method": request.method[:10],
                "route": route_template(),
                "status": status,
                "duration_ms": round(duration_ms, 3),
                "response_bytes": response_bytes,
                "user_id": _user_id(),
                "client_ip": client_ip()[:64],
                "user_agent": (request.headers.get("User-Agent") or "")[:300] or None,
                "htmx": is_partial(),
            }
        )
    except Exception:
        log.debug("request telemetry failed", exc_info=True)


def record_audit(status: int) -> None:
    """The generic row of a state-changing request plus any semantic rows; once per request."""
    if g.get("_audit_done"):
        return
    g._audit_done = True
    try:
        if request.method not in SAFE_METHODS:
            endpoint = request.endpoint or UNMATCHED_ROUTE
            rtype, rid = resource_of(request.view_args)
            detail = {"route": route_template()}
            for key, value in (request.view_args or {}).items():
                if key != "token":
                    detail[key] = str(value)[:64]
            audit.record(
                f"{request.method} {endpoint}", rtype, rid, status, detail, actor=g.get("_actor")
            )
        if status == 429:
            audit.record(audit.RATE_LIMITED, status=429, detail={"route": route_template()})
        audit.flush_request_rows(status)
    except Exception:
        log.exception("audit hook failed")


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, or None."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def undecodable_fields(body: bytes) -> list[str]:
    """Names of urlencoded fields whose value is not valid UTF-8 (empty list when all are)."""
    from urllib.parse import unquote_to_bytes

    bad = []
    for pair in body.split(b"&"):
        name, _, value = pair.partition(b"=")
        try:
            unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            bad.append(unquote_to_bytes(name).decode("utf-8", "replace")[:40])
    return bad


def lenient_form(body: bytes):
    """A urlencoded ``body`` parsed with undecodable bytes replaced by U+FFFD."""
    from urllib.parse import unquote_to_bytes

    from werkzeug.datastructures import ImmutableMultiDict

    pairs = []
    for pair in body.split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        pairs.append(
            tuple(
                unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8", "replace")
                for part in (name, value)
            )
        )
    return ImmutableMultiDict(pairs)


AUTH_AT = "_sdc_auth_at"
SEEN_AT = "_sdc_seen_at"
SEEN_RESOLUTION_S = 60  # rewrite the cookie at most once a minute just to record activity


def _stamp_login(_app, user=None, **_kw) -> None:
    from flask import session

    now = int(time.time())
    session[AUTH_AT] = now
    session[SEEN_AT] = now


def init_session_lifetime(app: Flask) -> None:
    """Idle and absolute timeouts, stored in the signed session and checked on every request."""
    from flask_login import user_logged_in

    user_logged_in.connect(_stamp_login, app)

    @app.before_request
    def expire_session():
        from flask import session

        if g.get("auth_via_token") or "_user_id" not in session:
            return None
        settings = current_app.config["SDC_SETTINGS"]
        now = int(time.time())
        auth_at, seen_at = session.get(AUTH_AT), session.get(SEEN_AT)
        if not isinstance(auth_at, int) or not isinstance(seen_at, int):
            # A session from before timeouts existed: its clocks start now.
            session[AUTH_AT] = session[SEEN_AT] = now
            return None
        idle = now - seen_at > settings.session_idle_minutes * 60
        too_old = now - auth_at > settings.session_absolute_hours * 3600
        if idle or too_old:
            from flask import flash
            from flask_login import logout_user

            user_id = str(session.get("_user_id", "")).partition(":")[0][:64]
            logout_user()
            session.clear()
            audit.record(
                audit.SESSIONS_ENDED,
                "user",
                user_id or None,
                detail={"reason": "idle timeout" if idle else "absolute timeout"},
            )
            flash("Your session expired. Sign in again to continue.", "info")
            return None  # the view now sees an anonymous user (login_required redirects)
        if now - seen_at >= SEEN_RESOLUTION_S:
            session[SEEN_AT] = now
        return None


def _assign_request_id() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def init_request_processors(app: Flask) -> None:
    telemetry.init_app(app)

    # after_request hooks run in reverse order of registration: this one runs last, so it sees
    # the final status and size.
    @app.after_request
    def record_request(resp):
        size = resp.calculate_content_length() if not resp.is_streamed else None
        record_telemetry(resp.status_code, size)
        record_audit(resp.status_code)
        return resp

    @app.teardown_request
    def record_failed_request(exc):
        """An exception that escaped every handler: still one telemetry row and the audit rows."""
        if g.get("_telemetry_done") and g.get("_audit_done"):
            return
        record_telemetry(500, None)
        record_audit(500)

    @app.before_request
    def assign_request_id():
        g._started = time.perf_counter()
        _assign_request_id()

    @app.before_request
    def authenticate_token():
        """A bearer token authenticates this request only; the session cookie is ignored."""
        token = bearer_token()
        g.auth_via_token = False
        if token is None:
            return None
        user = accounts.user_for_token(token)
        if user is None:
            from sdc.web.errors import error_response

            return error_response(
                401, "The API token is invalid, revoked, or its account is disabled."
            )
        g._login_user = user  # Flask-Login's per-request user cache
        g.auth_via_token = True
        return None

    init_session_lifetime(app)

    @app.before_request
    def require_admin_2fa():
        """An admin without two-factor is sent to enrol before any view declared
        ``@requires("admin")`` (the admin pages, the status banner form). Non-admins get those
        views' own 404."""
        from sdc.web.access import admin_must_enrol, is_admin_only

        view = current_app.view_functions.get(request.endpoint or "")
        if not is_admin_only(view) or not admin_must_enrol():
            return None
        from flask import flash, url_for

        from sdc.web.errors import error_response, wants_json
        from sdc.web.htmx import redirect_to

        if g.get("auth_via_token") or wants_json():
            return error_response(403, "Admin pages require two-factor authentication.")
        flash("Admin pages require two-factor authentication. Set it up to continue.", "warning")
        return redirect_to(url_for("settings.two_factor_form"))

    @app.before_request
    def remember_actor():
        """Who made a state-changing request, as they were before it (logout ends the session)."""
        if request.method in SAFE_METHODS:
            return
        from types import SimpleNamespace

        from flask_login import current_user

        if current_user.is_authenticated:
            g._actor = SimpleNamespace(id=current_user.id, email=current_user.email)

    @app.before_request
    def reject_undecodable_form():
        """Werkzeug drops a whole urlencoded form that is not UTF-8; say which field was at fault."""
        if (
            request.method in SAFE_METHODS
            or request.mimetype != "application/x-www-form-urlencoded"
        ):
            return None
        body = request.get_data(cache=True)
        bad = undecodable_fields(body)
        if not bad:
            return None
        view = current_app.view_functions.get(request.endpoint or "")
        if getattr(view, "lenient_utf8", False):
            # Forms that show errors beside their fields (sign-up, sign-in) get the form with
            # U+FFFD in the bad values, so the view names the field (``lenient_form``).
            request.form = lenient_form(body)
            request.__dict__.pop("values", None)
            return None
        from sdc.web.errors import error_response

        names = ", ".join(bad)
        return error_response(
            400,
            f"These form fields are not valid UTF-8 text: {names}. Re-type them and try again.",
        )

    @app.before_request
    def reject_nul_in_query():
        """PostgreSQL cannot store or compare text with NUL characters; refuse them up front."""
        if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
            from sdc.web.errors import error_response

            return error_response(400, "Query parameters cannot contain NUL characters.")
        return None

    @app.before_request
    def enforce_csrf():
        # Token-authenticated requests carry no ambient credential, so CSRF cannot apply.
        # Unroutable requests (404/405) are answered as such, not as CSRF failures.
        if request.method in SAFE_METHODS or g.get("auth_via_token") or request.routing_exception:
            return
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()

    @app.after_request
    def finish_response(resp):
        if not g.get("request_id"):  # answered before our before_request ran (e.g. a 429)
            _assign_request_id()
        resp.headers["X-Request-ID"] = g.request_id
        resp.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        resp.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if (
            request.method == "OPTIONS"
            and request.headers.get("Access-Control-Request-Method")
            and resp.status_code == 200
        ):
            resp.status_code = 204  # a CORS preflight has nothing to say beyond its headers
            resp.set_data(b"")
        if g.get("auth_via_token"):
            # Never hand a cookie session to a script.
            from flask import session

            session.modified = False
            session.accessed = False
        from sdc import API_PATHS

        # CORS headers on the API paths depend on the request's Origin (sent for allowed
        # origins only), so caches must key on it even when one origin is allowed (Flask-CORS
        # adds Vary: Origin only when several could match).
        if current_app.config["SDC_SETTINGS"].cors_allowed_origins and re.match(
            API_PATHS, request.path
        ):
            return add_vary(resp, "Origin")
        return add_vary(resp)

    @app.errorhandler(CSRFError)
    def csrf_failed(exc):
        from sdc.web.errors import error_response

        audit.record(
            audit.CSRF_FAILED,
            detail={"reason": str(exc.description)[:200], "route": route_template()},
        )
        return error_response(
            400,
            "This form's security token is missing or does not match your session. "
            "Reload the page and try again.",
        )
