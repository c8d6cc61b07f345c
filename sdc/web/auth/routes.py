"""Sign up, sign in (password, then a TOTP code when two-factor is on), sign out."""

import time
import uuid
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from sdc.extensions import db, limiter
from sdc.models import User
from sdc.services import ServiceError, accounts, audit
from sdc.services import two_factor as two_factor_service
from sdc.web.auth import bp
from sdc.web.auth.forms import parse_credentials


def _safe_next(default: str) -> str:
    """Only same-site relative paths are followed after sign-in (no open redirect)."""
    target = request.values.get("next", "")
    parts = urlsplit(target)
    if (
        target.startswith("/")
        and not target.startswith("//")
        and not parts.netloc
        and not parts.scheme
    ):
        return target
    return default


@bp.get("/signup")
def signup_form():
    return render_template("auth/signup.html", form=None, next=_safe_next(""))


@bp.post("/signup")
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
def signup():
    form = parse_credentials()
    if not form.errors:
        try:
            user = accounts.sign_up(form.email, form.password)
        except ServiceError as exc:
            form.errors[exc.field or "email"] = exc.message
        else:
            session.clear()  # no session fixation: a fresh session for the new identity
            login_user(user)
            flash("Welcome! A few quick questions and we will suggest where to start.", "success")
            # An invitee signing up from their invite link goes back to it (``next``).
            return redirect(_safe_next(url_for("onboarding.show")), code=303)
    return render_template("auth/signup.html", form=form, next=_safe_next("")), 422


signup.lenient_utf8 = True  # non-UTF-8 values get a message beside the field (hooks.py)


@bp.get("/login")
def login_form():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    return render_template("auth/login.html", form=None, next=_safe_next(""))


@bp.post("/login")
@limiter.limit("20 per minute; 200 per hour", methods=["POST"])
def login():
    form = parse_credentials()
    if not form.errors:
        outcome = accounts.authenticate(
            form.email, form.password, request.cookies.get(KNOWN_DEVICE_COOKIE)
        )
        if outcome.user is not None:
            if outcome.user.has_2fa:
                return _ask_for_code(outcome.user)
            return _complete_login(outcome.user)
        form.errors["form"] = outcome.error
        status = 401  # one answer for every refusal: unknown, wrong, throttled (no hints)
    else:
        status = 422
    return render_template("auth/login.html", form=form, next=_safe_next("")), status


login.lenient_utf8 = True


KNOWN_DEVICE_COOKIE = "sdc_device"
PENDING_2FA = "_sdc_2fa"
PENDING_2FA_S = 300
PENDING_2FA_TRIES = 5


def _complete_login(user, next_url: str | None = None):
    session.clear()  # no session fixation: a fresh session for the new identity
    login_user(user)
    resp = redirect(next_url or _safe_next(url_for("main.dashboard")), code=303)
    resp.set_cookie(
        KNOWN_DEVICE_COOKIE,
        accounts.known_device_token(user),
        max_age=accounts.KNOWN_DEVICE_DAYS * 86400,
        path=url_for("auth.login"),
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return resp


def _ask_for_code(user):
    """Password accepted, second factor pending: nothing is signed in until the code is."""
    session.clear()
    session[PENDING_2FA] = {
        "uid": str(user.id),
        "at": time.time(),
        "tries": 0,
        "next": _safe_next(""),
    }
    return redirect(url_for("auth.two_factor_form"), code=303)


def _pending_user():
    pending = session.get(PENDING_2FA)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_2FA_S:
        session.pop(PENDING_2FA, None)
        return None, None
    try:
        user = db.session.get(User, uuid.UUID(str(pending.get("uid"))))
    except ValueError:
        user = None
    if user is None or user.disabled or not user.has_2fa:
        session.pop(PENDING_2FA, None)
        return None, None
    return user, pending


@bp.get("/two-factor")
def two_factor_form():
    user, _pending = _pending_user()
    if user is None:
        flash("Sign in again to continue.", "info")
        return redirect(url_for("auth.login_form"), code=303)
    return render_template("auth/two_factor.html", error=None)


@bp.post("/two-factor")
@limiter.limit("10 per minute; 60 per hour", methods=["POST"])
def two_factor():
    user, pending = _pending_user()
    if user is None:
        flash("That sign-in took too long or was not started here. Sign in again.", "info")
        return redirect(url_for("auth.login_form"), code=303)
    if two_factor_service.verify(user, request.form.get("code", "")):
        return _complete_login(user, pending.get("next") or None)
    pending["tries"] = pending.get("tries", 0) + 1
    if pending["tries"] >= PENDING_2FA_TRIES:
        session.pop(PENDING_2FA, None)
        flash("Too many wrong codes. Sign in again.", "warning")
        return redirect(url_for("auth.login_form"), code=303)
    session[PENDING_2FA] = pending
    error = "That code does not match. Enter the 6 digits your app shows now."
    return render_template("auth/two_factor.html", error=error), 401


@bp.post("/logout")
@login_required
def logout():
    """Sign out: this session and every copy or sibling of it end (the issue's rule for
    logout), because the session version moves on and every other cookie no longer matches."""
    audit.record(audit.LOGOUT, "user", current_user.id)
    accounts.end_all_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("main.index"), code=303)
