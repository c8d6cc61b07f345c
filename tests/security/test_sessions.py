"""Sessions end when they should: logout, password change, account disable, sign out
everywhere, idle and absolute timeouts; no session fixation; TOTP two-factor (required for
admins)."""

from __future__ import annotations

import time

import pyotp
from sqlalchemy import select

from sdc.extensions import db
from sdc.models import AuditLog, User
from sdc.services import audit
from sdc.web.hooks import AUTH_AT, SEEN_AT
from tests import factories
from tests.conftest import AuthActions, csrf_token

SESSION = "session"


def _signed_in(client) -> bool:
    return client.get("/dashboard").status_code == 200


def _second_browser(app, email="user@example.com"):
    other = app.test_client()
    assert AuthActions(other).login(email).status_code == 303
    return other


def test_logout_ends_the_session(app, logged_in, auth):
    assert _signed_in(logged_in)
    auth.logout()
    assert not _signed_in(logged_in)


def test_password_change_ends_every_other_session(app, logged_in):
    other = _second_browser(app)
    token = csrf_token(logged_in, "/settings")
    resp = logged_in.post(
        "/settings/password",
        data={
            "current_password": factories.PASSWORD,
            "new_password": "a brand new passphrase",
            "csrf_token": token,
        },
    )
    assert resp.status_code == 303
    assert _signed_in(logged_in) and not _signed_in(other)


def test_account_disable_ends_every_session(app, logged_in, user):
    other = _second_browser(app)
    with app.app_context():
        from sdc.services import admin as admin_service

        root = factories.make_user("root@example.com", role="admin")
        admin_service.change_user(root, user.id, "disable")
    assert not _signed_in(logged_in) and not _signed_in(other)


def test_sign_out_everywhere(app, logged_in):
    other = _second_browser(app)
    page = logged_in.get("/settings").get_data(as_text=True)
    assert 'id="sign-out-everywhere"' in page
    resp = logged_in.post(
        "/settings/sessions/end", data={"csrf_token": csrf_token(logged_in, "/settings")}
    )
    assert resp.status_code == 303 and resp.headers["Location"] == "/auth/login"
    assert not _signed_in(logged_in) and not _signed_in(other)
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == audit.SESSIONS_ENDED))


def test_no_session_fixation(app, client, user):
    client.get("/auth/login")
    before = client.get_cookie(SESSION).value
    token = csrf_token(client)
    resp = client.post(
        "/auth/login",
        data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token},
    )
    assert resp.status_code == 303
    after = client.get_cookie(SESSION).value
    assert after != before
    assert csrf_token(client, "/settings") != token  # a fresh session: a fresh CSRF secret
    # The pre-login cookie (e.g. planted by an attacker) is still anonymous.
    planted = app.test_client()
    planted.set_cookie(SESSION, before)
    assert not _signed_in(planted)


def _age(client, **seconds_ago):
    with client.session_transaction() as sess:
        now = int(time.time())
        for key, ago in seconds_ago.items():
            sess[key] = now - ago


def test_idle_timeout(app, logged_in):
    minutes = app.config["SDC_SETTINGS"].session_idle_minutes
    _age(logged_in, **{SEEN_AT: minutes * 60 - 120})
    assert _signed_in(logged_in)  # activity inside the window keeps it alive ...
    with logged_in.session_transaction() as sess:
        assert time.time() - sess[SEEN_AT] < 5  # ... and moves the idle clock
    _age(logged_in, **{SEEN_AT: minutes * 60 + 1})
    resp = logged_in.get("/dashboard")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    with app.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == audit.SESSIONS_ENDED))
        assert row.detail["reason"] == "idle timeout"


def test_absolute_timeout_even_when_active(app, logged_in):
    hours = app.config["SDC_SETTINGS"].session_absolute_hours
    _age(logged_in, **{AUTH_AT: hours * 3600 + 1, SEEN_AT: 0})
    assert not _signed_in(logged_in)
    with app.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == audit.SESSIONS_ENDED))
        assert row.detail["reason"] == "absolute timeout"


def test_enrol_two_factor_then_sign_in_with_a_code(app, logged_in, auth):
    page = logged_in.get("/settings/two-factor")
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    body = page.get_data(as_text=True)
    assert "otpauth://totp/" in body and 'src="data:image/svg+xml' in body
    with logged_in.session_transaction() as sess:
        secret = sess["_sdc_totp_new"]
    assert secret in body
    token = csrf_token(logged_in, "/settings")
    assert (
        logged_in.post(
            "/settings/two-factor", data={"code": "000000", "csrf_token": token}
        ).status_code
        == 422
    )
    code = pyotp.TOTP(secret).now()
    assert (
        logged_in.post("/settings/two-factor", data={"code": code, "csrf_token": token}).status_code
        == 303
    )
    auth.logout()
    # Password alone signs nothing in.
    resp = auth.login()
    assert resp.status_code == 303 and resp.headers["Location"] == "/auth/two-factor"
    assert not _signed_in(logged_in)
    token = csrf_token(logged_in, "/auth/two-factor")
    bad = logged_in.post("/auth/two-factor", data={"code": "123456", "csrf_token": token})
    assert bad.status_code == 401
    # The code used at enrolment cannot be replayed; wait for the next step instead.
    with app.app_context():
        row = db.session.scalar(select(User).where(User.email == "user@example.com"))
        row.totp_last_step -= 2  # pretend enrolment happened a minute ago
        db.session.commit()
    ok = logged_in.post(
        "/auth/two-factor", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token}
    )
    assert ok.status_code == 303 and _signed_in(logged_in)
    with app.app_context():
        actions = set(db.session.scalars(select(AuditLog.action)))
        assert {"auth.2fa_enabled", "auth.2fa_failed"} <= actions


def test_code_replay_is_refused(app, client, user):
    with app.app_context():
        secret = factories.enrol_2fa(db.session.get(User, user.id))
    auth = AuthActions(client)
    assert auth.login_2fa(user.email, secret).status_code == 303
    auth.logout()
    code = pyotp.TOTP(secret).now()
    auth.login()
    token = csrf_token(client, "/auth/two-factor")
    assert (
        client.post("/auth/two-factor", data={"code": code, "csrf_token": token}).status_code == 401
    )


def test_too_many_wrong_codes_restart_sign_in(app, client, user):
    with app.app_context():
        factories.enrol_2fa(db.session.get(User, user.id))
    AuthActions(client).login()
    token = csrf_token(client, "/auth/two-factor")
    statuses = [
        client.post("/auth/two-factor", data={"code": "999999", "csrf_token": token}).status_code
        for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 303]
    assert client.get("/auth/two-factor").status_code == 303  # the pending sign-in is gone


def test_admin_without_two_factor_is_sent_to_enrol(app, client):
    with app.app_context():
        factories.make_user("root@example.com", role="admin")
    AuthActions(client).login("root@example.com")
    resp = client.get("/admin/audit")
    assert resp.status_code == 303 and resp.headers["Location"] == "/settings/two-factor"
    resp = client.get("/admin/users", headers={"HX-Request": "true"})
    assert resp.headers["HX-Redirect"] == "/settings/two-factor"
    with app.app_context():
        root = db.session.scalar(select(User).where(User.email == "root@example.com"))
        token = factories.make_token(root)
    api = client.get(
        "/admin/audit", headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    assert api.status_code == 403
    # Admin-only views outside /admin (the status banner form) need two-factor too.
    page = client.get("/status").get_data(as_text=True)
    assert 'id="incident-needs-2fa"' in page and 'id="incident-message"' not in page
    token = csrf_token(client, "/status")
    resp = client.post("/status/incident", data={"message": "Degraded runs", "csrf_token": token})
    assert resp.status_code == 303 and resp.headers["Location"] == "/settings/two-factor"
    assert "Degraded runs" not in client.get("/status").get_data(as_text=True)
    # Non-admins still get the admin pages' 404, never a hint.
    other = app.test_client()
    with app.app_context():
        factories.make_user()
    AuthActions(other).login()
    assert other.get("/admin/audit").status_code == 404


def test_operator_resets_two_factor_for_a_lost_authenticator(app, client, auth, runner):
    with app.app_context():
        secret = factories.enrol_2fa(factories.make_user("lost@example.com"))
    auth.login_2fa("lost@example.com", secret)
    assert client.get("/settings").status_code == 200

    assert runner.invoke(args=["reset-2fa", "lost@example.com"]).exit_code == 2  # no --reason
    assert runner.invoke(args=["reset-2fa", "x@example.com", "--reason", "t"]).exit_code == 2
    done = runner.invoke(args=["reset-2fa", "lost@example.com", "--reason", "ticket 42"])
    assert done.exit_code == 0 and "Two-factor is off" in done.output, done.output
    again = runner.invoke(args=["reset-2fa", "lost@example.com", "--reason", "ticket 42"])
    assert again.exit_code == 0 and "nothing changed" in again.output

    # The old session is over; a password alone now signs in.
    assert client.get("/settings").status_code in (302, 303)
    resp = auth.login("lost@example.com")
    assert resp.status_code == 303 and "/auth/two-factor" not in resp.headers["Location"]
    with app.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "auth.2fa_reset"))
        assert row.detail == {"reason": "ticket 42"} and row.actor_email == "operator (CLI)"
