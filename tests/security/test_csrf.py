"""CSRF on every state-changing route, found by walking ``app.url_map``: a cookie-authenticated
request with a missing, wrong or foreign-session token is refused with 400, changes nothing,
and leaves a ``security.csrf_failed`` audit row."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from sdc.extensions import db
from sdc.models import AuditLog
from sdc.services import audit
from tests.conftest import AuthActions, csrf_token
from tests.security._routes import SKIP_TABLES, mutating_rules, url_for_rule

RULES = mutating_rules()


def test_the_walk_found_the_mutating_routes():
    endpoints = {e for e, _m, _r in RULES}
    assert {
        "auth.login",
        "auth.logout",
        "settings.end_sessions",
        "workspace.add_component",
        "runs.create",
        "admin.change_user",
    } <= endpoints
    assert len(RULES) >= 40


def _snapshot() -> dict[str, int]:
    counts = {}
    for table in db.metadata.sorted_tables:
        if table.name not in SKIP_TABLES:
            counts[table.name] = db.session.scalar(select(func.count()).select_from(table))
    return counts


def _csrf_rows() -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == audit.CSRF_FAILED)
    )


@pytest.fixture
def two_sessions(app, logged_in):
    other = app.test_client()
    with app.app_context():
        from tests import factories

        factories.make_user("other@example.com")
    AuthActions(other).login("other@example.com")
    return logged_in, csrf_token(other, "/settings"), csrf_token(logged_in, "/settings")


def test_every_mutating_route_refuses_bad_tokens(app, two_sessions):
    client, foreign, own = two_sessions
    ids = {"any": uuid.uuid4()}
    with app.app_context():
        before, audited = _snapshot(), _csrf_rows()
        db.session.remove()
    checked = 0
    for _endpoint, method, rule in RULES:
        url = url_for_rule(rule, ids)
        for label, token in (("missing", None), ("wrong", "not-a-token"), ("foreign", foreign)):
            form = {"name": "x", "label": "x"}
            headers = {}
            if token is not None:
                form["csrf_token"] = token
            resp = client.open(url, method=method, data=form, headers=headers)
            assert resp.status_code == 400, (label, method, rule, resp.status_code)
            assert "security token" in resp.get_data(as_text=True), (label, method, rule)
            checked += 1
        # the htmx header form too
        resp = client.open(
            url, method=method, headers={"X-CSRFToken": foreign, "HX-Request": "true"}
        )
        assert resp.status_code == 400, (method, rule)
        checked += 1
    with app.app_context():
        assert _snapshot() == before, "a refused request changed the database"
        assert _csrf_rows() - audited == checked
    assert own != foreign
    # The report quotes this count.
    print(f"CSRF: {len(RULES)} routes x 4 bad tokens = {checked} refused requests")


def test_get_and_head_never_change_state(app):
    from tests.security._routes import all_rules

    offenders = [
        (endpoint, sorted(methods))
        for endpoint, methods, rule in all_rules()
        if {"GET", "HEAD"} & methods and methods - {"GET", "HEAD", "OPTIONS"}
    ]
    assert not offenders, f"one view serves GET and a mutating method: {offenders}"
