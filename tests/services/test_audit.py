"""Audit completeness: a generic row for every state-changing request, semantic rows for the
security events, rows that survive a failed request, and no update/delete path in the app."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from sdc.extensions import db
from sdc.models import AuditLog, utcnow
from sdc.services import audit
from tests import factories
from tests.conftest import csrf_token, make_settings
from tests.web._versions import add, start

ROOT = Path(__file__).resolve().parents[2]


def _rows(app, action=None):
    with app.app_context():
        query = select(AuditLog).order_by(AuditLog.id)
        if action:
            query = query.where(AuditLog.action == action)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def test_generic_row_for_every_mutating_request(app, client, user):
    token = csrf_token(client)
    client.post(
        "/auth/login",
        data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token},
        headers={"User-Agent": "pytest-agent", "X-Request-ID": "req-0001-abcd"},
    )
    (row,) = _rows(app, "POST auth.login")
    assert row.status == 303 and row.user_agent == "pytest-agent"
    assert row.request_id == "req-0001-abcd" and row.client_ip == "127.0.0.1"
    assert row.detail["route"] == "/auth/login"
    # the semantic row shares the request id
    (ok,) = _rows(app, audit.LOGIN_OK)
    assert ok.actor_email == user.email and ok.request_id == "req-0001-abcd" and ok.status == 303
    # reads are not audited
    client.get("/scenarios/")
    assert not [r for r in _rows(app) if r.action.startswith("GET ")]


def test_failed_and_unmatched_mutations_are_audited(app, logged_in):
    token = csrf_token(logged_in, "/scenarios/")
    missing = "00000000-0000-0000-0000-000000000000"
    resp = logged_in.post(
        f"/projects/{missing}/versions/{missing}/copy", data={"csrf_token": token}
    )
    assert resp.status_code == 404
    (row,) = _rows(app, "POST projects.new_version")
    assert row.status == 404 and row.resource_type == "version" and row.resource_id == missing
    assert row.actor_email == "user@example.com"
    logged_in.delete("/nowhere", headers={"X-CSRFToken": token})
    assert _rows(app, "DELETE <unmatched>")[0].status in (404, 405)


def test_login_failures_lockout_and_logout(app, client, user, auth):
    settings = app.config["SDC_SETTINGS"]
    for _ in range(settings.login_max_failures):
        auth.login(password="wrong password, definitely")
    auth.login(email="ghost@example.com", password="whatever it is here")
    failed = _rows(app, audit.LOGIN_FAILED)
    assert [r.detail["reason"] for r in failed] == [
        "wrong password"
    ] * settings.login_max_failures + ["unknown account"]
    assert failed[0].actor_email == user.email and failed[0].status == 401
    assert failed[-1].actor_email == "ghost@example.com" and failed[-1].actor_id is None
    (lock,) = _rows(app, audit.LOCKOUT)
    assert lock.resource_id == str(user.id) and lock.status == 401
    auth.login()  # throttled now
    assert _rows(app, audit.LOGIN_FAILED)[-1].detail["reason"] == "throttled"
    with app.app_context():
        from sdc.models import User

        db.session.get(User, user.id).locked_until = None
        db.session.commit()
    assert auth.login().status_code == 303
    auth.logout()
    (out,) = _rows(app, audit.LOGOUT)
    assert out.actor_email == user.email
    generic = _rows(app, "POST auth.logout")
    assert generic[0].actor_email == user.email  # the actor as they were before logging out


def test_tokens_sessions_and_signup(app, client, auth):
    auth.signup(email="new@example.com")
    (signup,) = _rows(app, audit.SIGNUP)
    assert signup.actor_email == "new@example.com"
    with app.app_context():
        from sdc.services import accounts

        user = accounts.find_user("new@example.com")
        row, _plain = accounts.create_api_token(user, "ci")
        accounts.revoke_api_token(user, row.id)
        accounts.end_all_sessions(user)
        token_id, user_id = row.id, user.id
    created, revoked = _rows(app, audit.TOKEN_CREATED), _rows(app, audit.TOKEN_REVOKED)
    assert created[0].resource_id == str(token_id) and created[0].detail["name"] == "ci"
    assert revoked[0].resource_id == str(token_id)
    assert _rows(app, audit.SESSIONS_ENDED)[0].resource_id == str(user_id)


def test_csrf_failure_is_audited_and_changes_nothing(app, logged_in):
    resp = logged_in.post("/projects/start/url-shortener", data={"csrf_token": "forged"})
    assert resp.status_code == 400
    (row,) = _rows(app, audit.CSRF_FAILED)
    assert row.actor_email == "user@example.com" and row.status == 400
    assert _rows(app, "POST projects.start")[0].status == 400


def test_rate_limited_requests_are_audited(app, migrated, tmp_path):
    from sdc import create_app
    from sdc.services import telemetry

    limited = create_app(settings=make_settings(migrated, tmp_path / "rl", ratelimit_enabled=True))
    limited.config["TESTING"] = True
    client = limited.test_client()
    token = csrf_token(client, "/auth/signup")
    statuses = [
        client.post(
            "/auth/signup", data={"email": "x", "password": "", "csrf_token": token}
        ).status_code
        for _ in range(11)
    ]
    telemetry.close(limited)
    with limited.app_context():
        db.engine.dispose()
    assert statuses[-1] == 429
    rows = _rows(app, audit.RATE_LIMITED)
    assert rows and rows[0].status == 429 and rows[0].detail["route"] == "/auth/signup"
    assert _rows(app, "POST auth.signup")[-1].status == 429


def test_component_removed_is_recorded_with_the_change(app, hx, logged_in):
    url = start(logged_in)
    rev = add(hx, url, 1, "service", "Orders API")
    resp = hx.delete(url + f"/components/service-1?revision={rev}")
    assert resp.status_code == 200
    (row,) = _rows(app, audit.COMPONENT_REMOVED)
    assert row.detail["component"] == "service-1" and row.detail["label"] == "Orders API"
    assert row.resource_type == "version" and row.actor_email == "user@example.com"
    # a refused removal (stale revision) records no semantic row, only the generic one
    hx.delete(url + "/components/users?revision=1")
    assert len(_rows(app, audit.COMPONENT_REMOVED)) == 1
    assert _rows(app, "DELETE workspace.remove_component")[-1].status == 409


def test_semantic_rows_survive_a_rolled_back_request(app):
    with app.test_request_context("/x", method="POST"):
        audit.record(audit.SHARE_LINK_REVOKED, "share_link", "abc")
        db.session.rollback()
        audit.flush_request_rows(500)
    (row,) = _rows(app, audit.SHARE_LINK_REVOKED)
    assert row.status == 500


def test_outside_a_request_rows_are_written_at_once(app):
    with app.app_context():
        audit.record(audit.MEMBER_ROLE_CHANGED, "project", "p1", detail={"x": "=1+1"})
    (row,) = _rows(app, audit.MEMBER_ROLE_CHANGED)
    assert row.client_ip is None and row.detail == {"x": "=1+1"}


def test_purge_deletes_only_old_rows_in_batches(app):
    with app.app_context():
        old = utcnow() - timedelta(days=400)
        for _ in range(7):
            db.session.add(AuditLog(action="old", time=old, detail={}))
        db.session.add(AuditLog(action="new", detail={}))
        db.session.commit()
        assert audit.purge_older_than(365, batch=3) == 7
    assert [r.action for r in _rows(app)] == ["new"]


def test_csv_cells_cannot_become_formulas():
    assert audit.csv_cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    for prefix in "+-@\t\r":
        assert audit.csv_cell(prefix + "1").startswith("'")
    assert audit.csv_cell("plain") == "plain" and audit.csv_cell(None) == ""


def test_no_update_or_delete_path_for_audit_rows():
    """Append-only: the only delete is the retention purge (``purge_table``)."""
    pattern = re.compile(
        r"(update|delete)\(\s*AuditLog|AuditLog\)\.(update|delete)|audit_logs.*(UPDATE|DELETE)"
    )
    offenders = []
    for path in list((ROOT / "sdc").rglob("*.py")) + list((ROOT / "tasks").rglob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []
    assert (
        "AuditLog" not in (ROOT / "sdc/services/audit.py").read_text().split("def purge_table")[1]
    )


def test_every_security_action_is_distinct():
    assert len(set(audit.SECURITY_ACTIONS)) == len(audit.SECURITY_ACTIONS)
    assert all(len(a) <= 80 for a in audit.SECURITY_ACTIONS)
