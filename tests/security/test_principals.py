"""Route x principal matrix, generated from ``app.url_map``.

Every rule and every method but HEAD/OPTIONS is a row; the columns are seven principals:

- ``anonymous``: a browser with no session;
- ``outsider``: signed in, not a member of the project (404 on the project's routes: no
  existence leak);
- ``viewer`` / ``editor`` / ``owner``: project members (``sdc.services.policy``: 403 for a
  member lacking the action);
- ``admin``: an enrolled (two-factor) admin who is not a member of the project;
- ``link``: an anonymous browser that opened a live ``/shared/<token>`` link of the project.

Requests are what a browser sends (HTML, session cookie) with a valid CSRF token in the form and
in ``X-CSRFToken``, so the matrix tests authorisation, never CSRF. ``EXPECT`` is keyed by
endpoint name: a route without a row fails ``test_every_route_has_a_row``, forcing a decision.
Each mutating cell runs against a fresh world; read-only rows share one world per route.
"""

from __future__ import annotations

import copy
import time

import pytest

from sdc.extensions import db
from sdc.models import Notification
from sdc.services import policy, share_links
from sdc.web.hooks import AUTH_AT, SEEN_AT
from tests import factories
from tests.conftest import _empty_tables, csrf_token
from tests.security._routes import all_rules, url_for_rule
from tests.web.test_policy_matrix import ROUTES as POLICY_ROUTES
from tests.web.test_policy_matrix import World

PRINCIPALS = ("anonymous", "outsider", "viewer", "editor", "owner", "admin", "link")
MEMBERS = ("viewer", "editor", "owner")
LOGIN = 302  # flask-login's redirect of an anonymous browser to /auth/login


def _row(**cells: int) -> dict[str, int]:
    assert set(cells) == set(PRINCIPALS), sorted(set(PRINCIPALS) ^ set(cells))
    return cells


def same(status: int) -> dict[str, int]:
    """Everyone gets ``status`` (public pages)."""
    return _row(**dict.fromkeys(PRINCIPALS, status))


def signed_in(ok: int, anon: int = LOGIN) -> dict[str, int]:
    """Any signed-in account; anonymous browsers (link holders too) are sent to sign in."""
    return _row(anonymous=anon, link=anon, **dict.fromkeys(PRINCIPALS[1:6], ok))


def admin_only(ok: int) -> dict[str, int]:
    """Admin pages: 404 for everyone else, anonymous included (no redirect to sign-in)."""
    return _row(**dict.fromkeys(PRINCIPALS, 404) | {"admin": ok})


def project(endpoint: str, method: str, anon: int = LOGIN, ok: int | None = None) -> dict:
    """A project route: its policy action decides for members; outsiders and admins who are
    not members get 404, like a missing id."""
    action, ok_status, _data = POLICY_ROUTES[(endpoint, method)]
    ok = ok_status if ok is None else ok
    cells = {role: ok if policy.allows(role, action) else 403 for role in MEMBERS}
    return _row(anonymous=anon, link=anon, outsider=404, admin=404, **cells)


P = project
# HTML successes differ from the JSON ones of the policy matrix: forms redirect with 303.
EXPECT: dict[tuple[str, str], dict[str, int]] = {
    # --- public -------------------------------------------------------------------------
    ("main.index", "GET"): same(200),
    ("main.demo", "GET"): same(404),  # the demo is off unless DEMO is configured
    ("main.favicon", "GET"): same(301),  # to the content-hashed static file
    ("main.healthz", "GET"): same(200),
    ("main.readyz", "GET"): same(200),
    ("status.show", "GET"): same(200),
    ("scenarios.index", "GET"): signed_in(200),
    # signed in already: the sign-in form sends you on; the sign-up form is just a form
    ("auth.login_form", "GET"): _row(
        anonymous=200, link=200, **dict.fromkeys(PRINCIPALS[1:6], 302)
    ),
    ("auth.signup_form", "GET"): same(200),
    ("auth.login", "POST"): same(401),  # wrong password for everyone: one answer
    ("auth.signup", "POST"): _row(anonymous=303, link=303, **dict.fromkeys(PRINCIPALS[1:6], 303)),
    ("auth.two_factor_form", "GET"): same(303),  # nothing pending: back to sign-in
    ("auth.two_factor", "POST"): same(303),
    ("auth.logout", "POST"): signed_in(303),
    # --- account ------------------------------------------------------------------------
    ("main.dashboard", "GET"): signed_in(200),
    ("members.shared", "GET"): signed_in(200),
    ("notifications.index", "GET"): signed_in(200),
    ("notifications.mark_all_read", "POST"): signed_in(303),
    # marking is scoped to the caller's own rows: someone else's id is a silent no-op, the
    # same answer as a missing id (no existence leak, nothing changed)
    ("notifications.mark_read", "POST"): signed_in(303),
    ("onboarding.show", "GET"): signed_in(200),
    ("onboarding.save", "POST"): signed_in(422),  # past the checks; this data is refused
    ("onboarding.skip", "POST"): signed_in(303),
    ("settings.show", "GET"): signed_in(200),
    ("settings.update_profile", "POST"): signed_in(303),
    ("settings.change_password", "POST"): signed_in(422),  # the current password is wrong
    ("settings.create_token", "POST"): signed_in(201),
    # the token belongs to the owner
    ("settings.revoke_token", "POST"): _row(
        anonymous=LOGIN, link=LOGIN, outsider=404, viewer=404, editor=404, owner=303, admin=404
    ),
    ("settings.delete_account", "POST"): signed_in(422),  # wrong password confirmation
    ("settings.end_sessions", "POST"): signed_in(303),
    ("settings.two_factor_form", "GET"): signed_in(200),
    # wrong code (the admin is enrolled already: sent back to the settings page)
    ("settings.enable_two_factor", "POST"): signed_in(422) | {"admin": 303},
    ("settings.disable_two_factor", "POST"): signed_in(422),
    ("projects.start", "POST"): signed_in(303),
    # the invite is bound to later@example.com: anyone else who holds its link is refused
    # (anonymous browsers see the invite page, to sign in or sign up as the invited address)
    ("members.show_invite", "GET"): signed_in(403, anon=200),
    ("members.accept_invite", "POST"): signed_in(403),
    # the owner cannot leave their own project: the policy refuses it with a 403 that says why
    ("members.leave", "POST"): _row(
        anonymous=LOGIN, link=LOGIN, outsider=404, viewer=303, editor=303, owner=403, admin=404
    ),
    # --- status (admins declare incidents) ----------------------------------------------
    ("status.set_incident", "POST"): admin_only(303),
    ("status.clear_incident", "POST"): admin_only(303),
    # --- admin --------------------------------------------------------------------------
    ("admin.index", "GET"): admin_only(302),  # to the audit log
    ("admin.audit_log", "GET"): admin_only(200),
    ("admin.audit_export", "GET"): admin_only(200),
    ("admin.requests", "GET"): admin_only(200),
    ("admin.jobs", "GET"): admin_only(200),
    ("admin.users", "GET"): admin_only(200),
    ("admin.change_user", "POST"): admin_only(303),
    ("admin.requeue", "POST"): admin_only(303),
    # --- share links: the holder reads, and forks once signed in --------------------------
    ("reports.shared", "GET"): same(200),
    ("reports.fork", "POST"): signed_in(303),
    # --- comments an author edits (the owner wrote the seeded one) -------------------------
    ("comments.update", "PATCH"): _row(
        anonymous=LOGIN, link=LOGIN, outsider=404, viewer=403, editor=403, owner=303, admin=404
    ),
    ("comments.delete", "DELETE"): _row(
        anonymous=LOGIN, link=LOGIN, outsider=404, viewer=403, editor=403, owner=303, admin=404
    ),
    # --- project routes: the policy module decides ---------------------------------------
    ("projects.show", "GET"): P("projects.show", "GET"),
    ("projects.new_version", "POST"): P("projects.new_version", "POST", ok=303),
    ("workspace.show", "GET"): P("workspace.show", "GET"),
    ("workspace.inspector", "GET"): P("workspace.inspector", "GET"),
    # a fragment: a plain browser request is sent to the workspace page
    ("workspace.diagram", "GET"): P("workspace.diagram", "GET", ok=303),
    ("workspace.export_design", "GET"): P("workspace.export_design", "GET"),
    ("workspace.add_component", "POST"): P("workspace.add_component", "POST", ok=303),
    ("workspace.update_component", "PATCH"): P("workspace.update_component", "PATCH", ok=303),
    ("workspace.move_component", "PATCH"): P("workspace.move_component", "PATCH", ok=303),
    ("workspace.remove_component", "DELETE"): P("workspace.remove_component", "DELETE", ok=303),
    ("workspace.add_edge", "POST"): P("workspace.add_edge", "POST", ok=303),
    ("workspace.remove_edge", "DELETE"): P("workspace.remove_edge", "DELETE", ok=303),
    ("workspace.undo", "POST"): P("workspace.undo", "POST"),
    ("workspace.redo", "POST"): P("workspace.redo", "POST"),
    ("workspace.update_notes", "PATCH"): P("workspace.update_notes", "PATCH", ok=303),
    ("workspace.import_design", "POST"): P("workspace.import_design", "POST"),
    ("traffic.show", "GET"): P("traffic.show", "GET"),
    ("traffic.update", "PATCH"): P("traffic.update", "PATCH"),
    ("traffic.apply_preset", "POST"): P("traffic.apply_preset", "POST"),
    ("runs.create", "POST"): P("runs.create", "POST", ok=303),
    ("runs.show", "GET"): P("runs.show", "GET"),
    # the run finished: a plain browser request is sent to the run page
    ("runs.status", "GET"): P("runs.status", "GET", ok=303),
    ("runs.rerun", "POST"): P("runs.rerun", "POST", ok=303),
    ("runs.failures", "GET"): P("runs.failures", "GET"),
    ("runs.inject", "POST"): P("runs.inject", "POST"),
    ("grades.create", "POST"): P("grades.create", "POST", ok=303),
    ("grades.show", "GET"): P("grades.show", "GET"),
    ("grades.status", "GET"): P("grades.status", "GET"),
    ("grades.regrade", "POST"): P("grades.regrade", "POST"),
    ("grades.create_fix_version", "POST"): P("grades.create_fix_version", "POST", ok=303),
    ("grades.open_evidence_run", "POST"): P("grades.open_evidence_run", "POST", ok=303),
    ("compare.show", "GET"): P("compare.show", "GET"),
    ("compare.curve", "GET"): P("compare.curve", "GET"),
    ("compare.run_both", "POST"): P("compare.run_both", "POST", ok=303),
    ("reports.show", "GET"): P("reports.show", "GET"),
    ("reports.pdf", "GET"): P("reports.pdf", "GET"),
    ("reports.links", "GET"): P("reports.links", "GET"),
    ("reports.create_link", "POST"): P("reports.create_link", "POST", ok=201),
    ("reports.revoke_link", "DELETE"): P("reports.revoke_link", "DELETE", ok=303),
    ("members.index", "GET"): P("members.index", "GET"),
    ("members.create_invite", "POST"): P("members.create_invite", "POST", ok=201),
    ("members.revoke_invite", "DELETE"): P("members.revoke_invite", "DELETE", ok=303),
    ("members.update_role", "PATCH"): P("members.update_role", "PATCH", ok=303),
    ("members.remove", "DELETE"): P("members.remove", "DELETE", ok=303),
    ("comments.index", "GET"): P("comments.index", "GET"),
    ("comments.create", "POST"): P("comments.create", "POST", ok=303),
    ("comments.resolve", "POST"): P("comments.resolve", "POST", ok=303),
    ("comments.reopen", "POST"): P("comments.reopen", "POST", ok=303),
    ("presence.show", "GET"): P("presence.show", "GET"),
}

# Form data for a cell: the policy matrix's (minimal) data for project routes, else these.
DATA: dict[str, dict] = {
    "auth.login": {"email": "owner@example.com", "password": "wrong password, long enough"},
    "auth.signup": {"email": "fresh@example.com", "password": factories.PASSWORD},
    "auth.two_factor": {"code": "000000"},
    "settings.update_profile": {"display_name": "Someone"},
    "settings.change_password": {"current_password": "wrong", "new_password": "x" * 20},
    "settings.create_token": {"name": "ci"},
    "settings.delete_account": {"password": "wrong"},
    "settings.enable_two_factor": {"code": "000000"},
    "settings.disable_two_factor": {"code": "000000"},
    "onboarding.save": {"company": "Acme", "role": "engineer"},
    "status.set_incident": {"message": "Degraded"},
    "admin.change_user": {"action": "disable"},
    "comments.update": {"body": "edited"},
}

RULES = sorted(
    (endpoint, method, rule)
    for endpoint, methods, rule in all_rules()
    for method in methods - {"HEAD", "OPTIONS"}
)


def test_every_route_has_a_row():
    found = {(e, m) for e, m, _ in RULES}
    missing = found - set(EXPECT)
    assert not missing, f"routes without a principal row (decide who may call them): {missing}"
    assert not set(EXPECT) - found, "rows for routes that no longer exist"


def test_matrix_size():
    # The note quotes this count.
    assert len(RULES) * len(PRINCIPALS) == len(EXPECT) * len(PRINCIPALS) >= 98 * 7


class PrincipalWorld(World):
    """The policy matrix's world plus an enrolled admin, a live share link, a notification
    and an API token row of the owner's."""

    def __init__(self):
        super().__init__()
        owner = self.users["owner"]
        self.users["admin"] = factories.make_user("root@example.com", role="admin")
        factories.enrol_2fa(self.users["admin"])
        self.share_link, self.share_token = share_links.create_link(owner, self.project.id)
        # A completed grade whose report the grader really wrote (the HTML page renders all of
        # it); grading is slow, so one real report per process is copied into every world.
        for field, value in _real_grade(owner, self.version).items():
            setattr(self.grade, field, copy.deepcopy(value))
        self.queued_run = factories.make_run(owner, self.version, engine="analytic")  # queued
        self.note = Notification(user_id=owner.id, kind="mention", payload={})
        db.session.add(self.note)
        db.session.commit()
        from sdc.models import ApiToken

        self.token_row = db.session.query(ApiToken).filter_by(user_id=owner.id).first()
        from sdc.services import members

        _i, self.invite_token = members.create_invite(
            owner, self.project.id, "later2@example.com", "viewer"
        )

    def args(self) -> dict:
        return super().args() | {
            "token": self.share_token,
            "notification_id": self.note.id,
            "token_id": self.token_row.id,
            "job_id": self.queued_run.id,
            "kind": "simulation",
            "slug": "url-shortener",
        }


_GRADE: dict = {}


def _real_grade(owner, version) -> dict:
    if not _GRADE:
        import tasks
        from sdc.services import grades

        tasks.huey.immediate = True
        row, _created = grades.start_grade(owner, version.id)
        tasks.huey.immediate = False
        db.session.refresh(row)
        assert row.status == "completed", row.error
        _GRADE.update(
            {f: getattr(row, f) for f in ("report", "overall_score", "rubric_version", "status")}
        )
        db.session.delete(row)
        db.session.commit()
    return _GRADE


def _sign_in(app, client, user_key: str) -> None:
    """What a password (and second factor) sign-in leaves in the session, without the KDF."""
    from flask_login.utils import _create_identifier

    with app.test_request_context(headers={"User-Agent": client.environ_base["HTTP_USER_AGENT"]}):
        ident = _create_identifier()
    with client.session_transaction() as session:
        session["_id"] = ident
        session["_user_id"] = user_key
        session["_fresh"] = True
        session[AUTH_AT] = session[SEEN_AT] = int(time.time())


def _fresh_world() -> dict:
    """A new world; returns what the requests need (no app context is held during requests:
    flask-login caches the user on ``g``, which an outer app context would share)."""
    db.session.remove()
    _empty_tables()
    factories.seed_catalog()
    world = PrincipalWorld()
    info = {
        "args": world.args(),
        "users": {k: u.get_id() for k, u in world.users.items()},
        "share_token": world.share_token,
        "invite_token": world.invite_token,
        "revision": str(world.version.revision),
    }
    db.session.remove()
    return info


def _cell(app, world, endpoint, method, rule, principal) -> int:
    client = app.test_client()
    if principal == "link":
        assert client.get(f"/shared/{world['share_token']}").status_code == 200
    elif principal != "anonymous":
        _sign_in(app, client, world["users"][principal])
    token = csrf_token(client, "/status")
    args = dict(world["args"])
    if endpoint in ("members.show_invite", "members.accept_invite"):
        args["token"] = world["invite_token"]
    url = url_for_rule(rule, args)
    if (endpoint, method) in POLICY_ROUTES:
        data = copy.deepcopy(POLICY_ROUTES[(endpoint, method)][2])
    else:
        data = copy.deepcopy(DATA.get(endpoint, {}))
    if data.pop("rev", None):
        data["revision"] = world["revision"]
    if method != "GET":
        data["csrf_token"] = token
    resp = client.open(
        url, method=method, data=data if method != "GET" else None, headers={"X-CSRFToken": token}
    )
    return resp.status_code


def _world(app) -> dict:
    with app.app_context():
        return _fresh_world()


@pytest.mark.parametrize(
    ("endpoint", "method", "rule"), RULES, ids=[f"{m} {e}" for e, m, _ in RULES]
)
def test_route_by_principal(app, endpoint, method, rule):
    want = EXPECT[(endpoint, method)]
    got = {}
    world = _world(app) if method == "GET" else None
    for principal in PRINCIPALS:
        if method != "GET":
            world = _world(app)
        got[principal] = _cell(app, world, endpoint, method, rule, principal)
    diff = {p: (got[p], want[p]) for p in PRINCIPALS if got[p] != want[p]}
    assert not diff, f"{method} {endpoint}: (got, want) {diff}"
