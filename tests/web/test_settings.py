"""Settings: profile, password change ending other sessions, API tokens, account deletion."""

from __future__ import annotations

import importlib.util
import re

from sqlalchemy import func, select

from sdc.extensions import db
from sdc.models import ApiToken, AuditLog, GradeReport, Project, SimulationRun, User, Version
from sdc.services import accounts
from tests import factories
from tests.conftest import AuthActions, csrf_token

NEW_PASSWORD = "another long passphrase here"
# The audit service belongs to the operations issue; these checks apply once it is installed.
AUDITED = importlib.util.find_spec("sdc.services.audit") is not None
JSON = {"Accept": "application/json"}


def _post(client, path, data):
    data = dict(data, csrf_token=csrf_token(client, "/settings"))
    return client.post(path, data=data)


def test_settings_requires_sign_in(client):
    assert client.get("/settings").status_code == 302


def test_settings_page_has_every_section(logged_in):
    resp = logged_in.get("/settings")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    for heading in ("Profile", "Password", "API tokens", "Delete account"):
        assert f">{heading}</h2>" in body


def test_profile_edits_the_onboarding_answers(app, logged_in, user):
    resp = _post(
        logged_in,
        "/settings/profile",
        {"display_name": "  Ada   Lovelace ", "level": "advanced", "role": "data engineer"},
    )
    assert resp.status_code == 303
    with app.app_context():
        profile = db.session.get(User, user.id).profile
    assert profile["display_name"] == "Ada Lovelace" and profile["level"] == "advanced"
    assert "Signed in as Ada Lovelace" in logged_in.get("/dashboard").get_data(as_text=True)
    bad = _post(logged_in, "/settings/profile", {"level": "expert"})
    assert bad.status_code == 422 and b"Choose beginner, intermediate or advanced" in bad.data


def test_password_change_checks_current_and_policy(logged_in):
    resp = _post(
        logged_in,
        "/settings/password",
        {"current_password": "wrong password here", "new_password": NEW_PASSWORD},
    )
    assert resp.status_code == 422 and b"not your current password" in resp.data
    resp = _post(
        logged_in,
        "/settings/password",
        {"current_password": factories.PASSWORD, "new_password": "short"},
    )
    assert resp.status_code == 422 and b"Use at least 12 characters" in resp.data
    resp = _post(
        logged_in,
        "/settings/password",
        {"current_password": factories.PASSWORD, "new_password": factories.PASSWORD},
    )
    assert resp.status_code == 422 and b"different from the current one" in resp.data


def test_password_change_ends_other_sessions_but_keeps_this_one(app, user):
    this, other = app.test_client(), app.test_client()
    AuthActions(this).login()
    AuthActions(other).login()
    assert other.get("/dashboard").status_code == 200
    resp = _post(
        this,
        "/settings/password",
        {"current_password": factories.PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert resp.status_code == 303
    assert this.get("/dashboard").status_code == 200  # re-signed in with the new version
    assert other.get("/dashboard").status_code == 302  # signed out
    fresh = app.test_client()
    assert AuthActions(fresh).login(password=factories.PASSWORD).status_code == 401
    assert AuthActions(fresh).login(password=NEW_PASSWORD).status_code == 303
    if AUDITED:
        with app.app_context():
            actions = set(db.session.scalars(select(AuditLog.action)))
        assert "auth.password_changed" in actions


def test_token_is_shown_once_then_revoked_gives_401(app, logged_in, user):
    resp = _post(logged_in, "/settings/tokens", {"name": "load test"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 201 and resp.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="new-token-value" type="text" readonly value="(sdc_[^"]+)"', body).group(
        1
    )
    auth = {"Authorization": f"Bearer {token}", **JSON}
    assert logged_in.get("/scenarios/", headers=auth).status_code == 200
    page = logged_in.get("/settings").get_data(as_text=True)
    assert token not in page and "load test" in page and token[:10] in page
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    resp = _post(logged_in, f"/settings/tokens/{token_id}/revoke", {})
    assert resp.status_code == 303
    assert app.test_client().get("/scenarios/", headers=auth).status_code == 401
    assert "revoked" in logged_in.get("/settings").get_data(as_text=True)


def test_cannot_revoke_someone_elses_token(app, logged_in):
    with app.app_context():
        other = factories.make_user("other@example.com")
        factories.make_token(other)
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == other.id))
    assert _post(logged_in, f"/settings/tokens/{token_id}/revoke", {}).status_code == 404
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is None


def test_delete_account_needs_the_exact_email(app, logged_in, user):
    resp = _post(logged_in, "/settings/delete", {"confirm_email": "someone@example.com"})
    assert resp.status_code == 422 and b"Type your email address exactly" in resp.data
    with app.app_context():
        assert db.session.get(User, user.id) is not None


def test_delete_account_removes_everything_owned(app, logged_in, user):
    with app.app_context():
        me = db.session.get(User, user.id)
        version = factories.make_runnable_version(me)
        factories.make_run(me, version, engine="analytic")
        factories.make_token(me)
        db.session.add(
            GradeReport(
                version_id=version.id,
                user_id=me.id,
                status="completed",
                input_snapshot={},
                input_hash="h" * 64,
                overall_score=50.0,
            )
        )
        db.session.commit()
        other = factories.make_user("other@example.com")
        factories.make_project(other)
    resp = _post(logged_in, "/settings/delete", {"confirm_email": "USER@example.com "})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/")
    with app.app_context():
        assert db.session.get(User, user.id) is None
        for model in (Project, Version, SimulationRun, GradeReport, ApiToken):
            owned = db.session.query(model)
            if model is Project:
                owned = owned.filter(Project.owner_id == user.id)
            elif model is Version:
                owned = owned.join(Project).filter(Project.owner_id == user.id)
            else:
                owned = owned.filter(model.user_id == user.id)
            assert owned.count() == 0, model.__name__
        # Other people's data is untouched.
        assert db.session.query(Project).count() == 1
        if AUDITED:
            row = db.session.scalar(select(AuditLog).where(AuditLog.action == "account.deleted"))
            assert row is not None and row.detail["email"] == "user@example.com"
    # Signed out, and the account cannot sign in again.
    assert logged_in.get("/dashboard").status_code == 302
    assert AuthActions(app.test_client()).login().status_code == 401


def test_settings_forms_need_csrf(logged_in):
    for path in ("/settings/profile", "/settings/password", "/settings/tokens", "/settings/delete"):
        assert logged_in.post(path, data={}).status_code == 400


def test_active_tokens_are_capped_and_revoking_frees_a_slot(app, logged_in, user, monkeypatch):
    monkeypatch.setattr(accounts, "MAX_ACTIVE_TOKENS", 3)
    for i in range(3):
        assert _post(logged_in, "/settings/tokens", {"name": f"t{i}"}).status_code == 201
    resp = _post(logged_in, "/settings/tokens", {"name": "one too many"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "already have 3 active tokens" in body
    assert 'id="token_name-error"' in body
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 3
        token_id = db.session.scalar(select(ApiToken.id).limit(1))
    assert _post(logged_in, f"/settings/tokens/{token_id}/revoke", {}).status_code == 303
    assert _post(logged_in, "/settings/tokens", {"name": "now fine"}).status_code == 201
