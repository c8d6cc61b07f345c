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


def _rows_owned_by(user_id) -> dict[str, set]:
    """Every row reachable from the user's row through ON DELETE CASCADE foreign keys (what the
    account owns, however deep: projects, their versions, runs, comments, links, ...), as
    ``{table: {primary key, ...}}``, found by walking the schema rather than a list of models."""
    tables = db.metadata.tables
    owned: dict[str, set] = {"users": {user_id}}
    changed = True
    while changed:
        changed = False
        for table in tables.values():
            pk = list(table.primary_key.columns)
            for fk in table.foreign_keys:
                parent = fk.column.table.name
                if fk.ondelete != "CASCADE" or not owned.get(parent):
                    continue
                parent_ids = owned[parent]
                rows = db.session.execute(
                    select(*pk, fk.parent).where(fk.parent.in_(list(parent_ids)))
                ).all()
                keys = {tuple(r[: len(pk)]) if len(pk) > 1 else r[0] for r in rows}
                before = len(owned.setdefault(table.name, set()))
                owned[table.name] |= keys
                changed |= len(owned[table.name]) != before
    return owned


def _still_there(table_name: str, keys: set) -> int:
    table = db.metadata.tables[table_name]
    pk = list(table.primary_key.columns)
    found = 0
    for key in keys:
        values = key if isinstance(key, tuple) else (key,)
        clause = [col == value for col, value in zip(pk, values, strict=True)]
        found += db.session.scalar(select(func.count()).select_from(table).where(*clause))
    return found


def test_delete_account_removes_every_row_it_owns_and_nothing_else(app, logged_in, user):
    """A busy account: a project with runs, grades, a share link, an export record, comments,
    an editor and a pending invite; membership and a comment in someone else's project; tokens
    and notifications. After deletion none of what it owned is left; the other owner's project
    is whole, and the comment it left there remains without an author."""
    from sdc.services import comments, members, notifications, reports, share_links

    with app.app_context():
        me = db.session.get(User, user.id)
        other = factories.make_user("other@example.com")
        version = factories.make_runnable_version(me)
        factories.make_run(me, version, engine="analytic")
        factories.make_token(me)
        share_links.create_link(me, version.project_id)
        reports.record_export(me, version, "report.pdf", b"%PDF-1.4 test")
        comments.add_comment(me, version.project_id, version.id, "Cache in front of the db?")
        _inv, token = members.create_invite(me, version.project_id, "other@example.com", "editor")
        members.accept_invite(other, token)
        members.create_invite(me, version.project_id, "third@example.com", "viewer")
        theirs = factories.make_runnable_version(other)
        _inv, token = members.create_invite(other, theirs.project_id, "user@example.com", "editor")
        members.accept_invite(me, token)
        their_comment = comments.add_comment(me, theirs.project_id, theirs.id, "Looks good")
        notifications.notify(me.id, "test", {"text": "hello"})
        owned = _rows_owned_by(me.id)
        counts = {name: len(keys) for name, keys in owned.items() if keys}
        their_project, their_comment_id = theirs.project_id, their_comment.id
        db.session.remove()
    # The world really is busy (so the check below is not vacuous).
    for table in ("projects", "versions", "simulation_runs", "api_tokens", "share_links"):
        assert counts.get(table, 0) >= 1, (table, counts)
    assert counts.get("comments", 0) >= 1 and counts.get("project_members", 0) >= 2, counts

    resp = _post(logged_in, "/settings/delete", {"confirm_email": "user@example.com"})
    assert resp.status_code == 303

    with app.app_context():
        left = {name: _still_there(name, keys) for name, keys in owned.items()}
        assert not any(left.values()), {k: v for k, v in left.items() if v}
        assert db.session.get(Project, their_project) is not None
        from sdc.models import Comment

        kept = db.session.get(Comment, their_comment_id)
        assert kept is not None and kept.author_id is None
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "account.deleted"))
        assert row is not None and row.detail["email"] == "user@example.com"
