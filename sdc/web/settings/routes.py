"""Settings: profile (the onboarding answers), password, two-factor, sessions, API tokens,
account deletion."""

import uuid

from flask import flash, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from sdc.core.catalog import DIFFICULTIES
from sdc.extensions import limiter
from sdc.services import ServiceError, account_settings, accounts, onboarding, two_factor
from sdc.web.settings import bp


def _page(code: int = 200, *, errors=None, profile=None, new_token=None, section=None):
    context = dict(
        profile=profile if profile is not None else (current_user.profile or {}),
        errors=errors or {},
        section=section,
        roles=onboarding.ROLES,
        levels=DIFFICULTIES,
        domains=onboarding.domains(),
        tokens=account_settings.tokens_of(current_user),
        new_token=new_token,
        password_min=accounts.PASSWORD_MIN,
    )
    resp = make_response(render_template("settings/show.html", **context), code)
    # The page can hold a freshly created token: never cache it.
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("")
@login_required
def show():
    return _page()


@bp.post("/profile")
@login_required
def update_profile():
    answers = onboarding.parse_answers(request.form, onboarding.domains())
    if answers.errors:
        return _page(422, errors=answers.errors, profile=answers.to_profile(), section="profile")
    onboarding.save_answers(current_user, answers)
    flash("Profile saved.", "success")
    return redirect(url_for("settings.show", _anchor="profile"), code=303)


@bp.post("/password")
@login_required
def change_password():
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    try:
        account_settings.change_password(current_user, current, new)
    except ServiceError as exc:
        return _page(422, errors={exc.field or "new_password": exc.message}, section="password")
    # Every session (including this one) was invalidated; start a fresh one here only.
    user = current_user._get_current_object()
    session.clear()
    login_user(user)
    flash("Password changed. Every other session has been signed out.", "success")
    return redirect(url_for("settings.show", _anchor="password"), code=303)


@bp.post("/tokens")
@login_required
@limiter.limit("10 per minute; 50 per day", methods=["POST"])
def create_token():
    name = request.form.get("name", "").strip()
    if len(name) > 80:
        return _page(
            422, errors={"token_name": "Keep the name under 80 characters."}, section="tokens"
        )
    try:
        _row, plaintext = accounts.create_api_token(current_user, name or "default")
    except ServiceError as exc:
        return _page(422, errors={exc.field or "token_name": exc.message}, section="tokens")
    # Shown once, in this response only (never flashed: the session cookie is not secret storage).
    return _page(201, new_token=plaintext, section="tokens")


@bp.post("/tokens/<uuid:token_id>/revoke")
@login_required
def revoke_token(token_id: uuid.UUID):
    accounts.revoke_api_token(current_user, token_id)  # NotFound (404) for others' tokens
    flash("Token revoked: scripts using it now get 401.", "success")
    return redirect(url_for("settings.show", _anchor="tokens"), code=303)


@bp.post("/delete")
@login_required
def delete_account():
    try:
        account_settings.delete_account(current_user, request.form.get("confirm_email", ""))
    except ServiceError as exc:
        return _page(422, errors={exc.field or "confirm_email": exc.message}, section="delete")
    logout_user()
    session.clear()
    flash("Your account and everything it owned have been deleted.", "info")
    return redirect(url_for("main.index"), code=303)


@bp.post("/sessions/end")
@login_required
def end_sessions():
    """Sign out everywhere: every session of the account, this one included."""
    accounts.end_all_sessions(current_user)
    logout_user()
    session.clear()
    flash("Every session of your account has been signed out. Sign in again here.", "info")
    return redirect(url_for("auth.login_form"), code=303)


NEW_TOTP = "_sdc_totp_new"


def _two_factor_page(code: int = 200, error: str | None = None):
    context = {"error": error, "enabled": current_user.has_2fa}
    if not current_user.has_2fa:
        # The candidate secret lives in the (signed) session until a code confirms it.
        secret = session.get(NEW_TOTP) or two_factor.new_secret()
        session[NEW_TOTP] = secret
        uri = two_factor.otpauth_uri(secret, current_user.email)
        context.update(secret=secret, uri=uri, qr=two_factor.qr_svg_data_uri(uri))
    resp = make_response(render_template("settings/two_factor.html", **context), code)
    resp.headers["Cache-Control"] = "no-store"  # the page shows a secret
    return resp


@bp.get("/two-factor")
@login_required
def two_factor_form():
    return _two_factor_page()


@bp.post("/two-factor")
@login_required
@limiter.limit("10 per minute", methods=["POST"])
def enable_two_factor():
    secret = session.get(NEW_TOTP)
    if current_user.has_2fa:
        return redirect(url_for("settings.two_factor_form"), code=303)
    if not secret:
        return _two_factor_page(422, "The setup expired. Scan the new code below.")
    try:
        two_factor.confirm(current_user, secret, request.form.get("code", ""))
    except ServiceError as exc:
        return _two_factor_page(422, exc.message)
    session.pop(NEW_TOTP, None)
    flash("Two-factor authentication is on. Sign-ins now ask for a code.", "success")
    return redirect(url_for("settings.show", _anchor="two-factor"), code=303)


@bp.post("/two-factor/disable")
@login_required
@limiter.limit("10 per minute", methods=["POST"])
def disable_two_factor():
    try:
        two_factor.disable(current_user, request.form.get("code", ""))
    except ServiceError as exc:
        return _two_factor_page(422, exc.message)
    flash("Two-factor authentication is off.", "info")
    return redirect(url_for("settings.show", _anchor="two-factor"), code=303)
