"""The role x action x object table, generated from ``app.url_map``.

Every route under /projects, /runs and /grades (plus the collaboration routes that name a
project, version or comment) must appear in ``ROUTES`` with the policy action it performs;
a new route that is not listed fails ``test_every_project_route_is_in_the_table``. Each
(route, caller) pair then runs against a fresh project and asserts the exact status:

- anonymous: 401 for GET (API clients; browsers are redirected to sign in), 400 for every
  state-changing method (the CSRF check refuses a cookie-less, token-less request first);
- outsider (signed in, not a member): 404 everywhere, exactly as for a missing id;
- owner / editor / viewer: the route's success status when ``policy.allows(role, action)``,
  otherwise 403.

Requests are sent as API clients (bearer token, JSON answers) so statuses are not redirects.
Job routes run with Huey queueing (not immediate) so nothing slow runs inside the table.
"""

from __future__ import annotations

import copy
import tempfile
import uuid

import pytest

from sdc import create_app
from sdc.extensions import db
from sdc.models import Comment, GradeReport, User
from sdc.services import members, policy
from sdc.settings import load_settings
from tests import factories

ROLES = ("owner", "editor", "viewer", "outsider", "anonymous")
PREFIXES = ("/projects/", "/runs/", "/grades/")

# (endpoint, method) -> (action, success status for a role that may, form data)
# Success statuses are for the data given: 422 marks a route whose authorised answer to this
# (deliberately minimal) input is a validation refusal, which still proves the caller got past
# the policy (members without the action get 403 before any validation).
ROUTES: dict[tuple[str, str], tuple[str, int, dict]] = {
    ("projects.show", "GET"): ("read", 200, {}),
    ("projects.new_version", "POST"): ("edit", 201, {}),
    ("workspace.show", "GET"): ("read", 200, {}),
    ("workspace.inspector", "GET"): ("read", 303, {}),
    ("workspace.diagram", "GET"): ("read", 200, {}),
    ("workspace.export_design", "GET"): ("read", 200, {}),
    ("workspace.add_component", "POST"): ("edit", 200, {"type": "cache", "rev": 1}),
    ("workspace.update_component", "PATCH"): ("edit", 200, {"label": "API 2", "rev": 1}),
    ("workspace.move_component", "PATCH"): ("edit", 200, {"x": "40", "y": "40", "rev": 1}),
    ("workspace.remove_component", "DELETE"): ("edit", 200, {"rev": 1}),
    ("workspace.add_edge", "POST"): ("edit", 200, {"source": "api", "target": "lb", "rev": 1}),
    ("workspace.remove_edge", "DELETE"): ("edit", 200, {"rev": 1}),
    ("workspace.undo", "POST"): ("edit", 422, {"rev": 1}),
    ("workspace.redo", "POST"): ("edit", 422, {"rev": 1}),
    ("workspace.update_notes", "PATCH"): ("edit", 200, {"notes": "ours", "rev": 1}),
    ("workspace.import_design", "POST"): ("edit", 422, {"document": "{}", "rev": 1}),
    ("traffic.show", "GET"): ("read", 200, {}),
    ("traffic.update", "PATCH"): ("edit", 422, {"baseline_rps": "-1", "rev": 1}),
    ("traffic.apply_preset", "POST"): ("edit", 422, {"preset": "no-such", "rev": 1}),
    ("runs.create", "POST"): ("run", 201, {"engine": "analytic"}),
    ("runs.show", "GET"): ("read", 200, {}),
    ("runs.status", "GET"): ("read", 200, {}),
    ("runs.rerun", "POST"): ("run", 201, {}),
    ("runs.failures", "GET"): ("read", 200, {}),
    ("runs.inject", "POST"): ("run", 422, {"mode": "no-such"}),
    ("grades.create", "POST"): ("grade", 202, {}),
    ("grades.show", "GET"): ("read", 200, {}),
    ("grades.status", "GET"): ("read", 200, {}),
    ("grades.regrade", "POST"): ("grade", 303, {}),
    ("grades.create_fix_version", "POST"): ("edit", 422, {"action_id": "no-such"}),
    # the table's grade has no evidence: past the policy, the evidence id is refused
    ("grades.open_evidence_run", "POST"): ("run", 422, {"evidence_id": "des-peak"}),
    ("compare.show", "GET"): ("read", 200, {}),
    ("compare.curve", "GET"): ("read", 200, {}),
    ("compare.run_both", "POST"): ("compare", 201, {}),
    ("reports.show", "GET"): ("read", 200, {}),
    ("reports.pdf", "GET"): ("report", 200, {}),
    ("reports.links", "GET"): ("manage_share_links", 200, {}),
    ("reports.create_link", "POST"): ("manage_share_links", 201, {}),
    ("reports.revoke_link", "DELETE"): ("manage_share_links", 200, {}),
    ("members.index", "GET"): ("read", 200, {}),
    ("members.create_invite", "POST"): (
        "manage_members",
        201,
        {"email": "new@example.com", "role": "viewer"},
    ),
    ("members.revoke_invite", "DELETE"): ("manage_members", 204, {}),
    ("members.update_role", "PATCH"): ("manage_members", 200, {"role": "viewer"}),
    ("members.remove", "DELETE"): ("manage_members", 204, {}),
    # the owner may not leave (a project keeps its owner): 403 from the same table
    ("members.leave", "POST"): ("leave", 204, {}),
    ("comments.index", "GET"): ("read", 200, {}),
    ("comments.create", "POST"): ("comment", 201, {"body": "looks good"}),
    ("comments.resolve", "POST"): ("comment", 200, {}),
    ("comments.reopen", "POST"): ("comment", 200, {}),
    ("presence.show", "GET"): ("read", 200, {}),
}
# Routes under the prefixes that are not about one project's role (listed so none is missed).
NOT_ROLE_BASED = {
    ("projects.start", "POST"),  # any signed-in user starts their own project
    # only the author edits or deletes a comment: checked in the services and web tests
    ("comments.update", "PATCH"),
    ("comments.delete", "DELETE"),
}


def _rules():
    app = create_app(
        settings=load_settings(
            {
                "SECRET_KEY": "x",
                "SDC_ENV": "test",
                "DATABASE_URL": "sqlite://",
                "SDC_INSTANCE_DIR": tempfile.mkdtemp(),
            }
        )
    )
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIXES):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, rule.rule))
    return sorted(out)


RULES = _rules()
CASES = [(e, m, r) for e, m, r in RULES if (e, m) not in NOT_ROLE_BASED]


def test_every_project_route_is_in_the_table():
    found = {(e, m) for e, m, _ in RULES}
    missing = found - set(ROUTES) - NOT_ROLE_BASED
    assert not missing, f"routes without a policy row: {sorted(missing)}"
    stale = set(ROUTES) - found
    assert not stale, f"table rows without a route: {sorted(stale)}"


def test_matrix_size():
    # The note in the issue reports these counts.
    assert len(CASES) * len(ROLES) == len(ROUTES) * len(ROLES)
    assert len(policy.ROLES) * len(policy.ACTIONS) == 33


def _user(email: str) -> User:
    user = User(email=email, password_hash="!")  # bearer tokens only: no password needed
    db.session.add(user)
    db.session.commit()
    return user


class World:
    """One project with every kind of object a route can name, and a token per caller."""

    def __init__(self):
        import tasks

        tasks.huey.immediate = True
        self.users = {
            r: _user(f"{r}@example.com") for r in ("owner", "editor", "viewer", "outsider")
        }
        owner = self.users["owner"]
        self.version = factories.make_runnable_version(owner)
        self.project = self.version.project
        for role in ("editor", "viewer"):
            _i, token = members.create_invite(owner, self.project.id, f"{role}@example.com", role)
            members.accept_invite(self.users[role], token)
        self.run = factories.make_run(owner, self.version, engine="analytic")
        self.grade = GradeReport(
            version_id=self.version.id,
            user_id=owner.id,
            status="completed",
            rubric_version="test",
            input_snapshot={"design": self.version.document()},
            input_hash=uuid.uuid4().hex,
            report={"action_items": []},
        )
        db.session.add(self.grade)
        self.comment = Comment(
            project_id=self.project.id, version_id=self.version.id, author_id=owner.id, body="first"
        )
        db.session.add(self.comment)
        db.session.commit()
        self.invite, _t = members.create_invite(
            owner, self.project.id, "later@example.com", "editor"
        )
        from sdc.services import share_links

        self.link = share_links.create_link(owner, self.project.id)[0]
        self.tokens = {r: factories.make_token(u) for r, u in self.users.items()}
        tasks.huey.immediate = False  # jobs started by the route under test stay queued

    def args(self) -> dict:
        return {
            "project_id": self.project.id,
            "version_id": self.version.id,
            "run_id": self.run.id,
            "grade_id": self.grade.id,
            "comment_id": self.comment.id,
            "cid": "api",
            "eid": "e2",
            "invite_id": self.invite.id,
            "user_id": self.users["viewer"].id,
            "link_id": self.link.id,
        }


def _url(rule: str, args: dict) -> str:
    from werkzeug.routing import Map, Rule

    m = Map([Rule(rule, endpoint="x")])
    return m.bind("localhost").build(
        "x", {k: v for k, v in args.items() if f":{k}>" in rule or f"<{k}>" in rule}
    )


@pytest.mark.parametrize(
    ("endpoint", "method", "rule"), CASES, ids=[f"{m} {e}" for e, m, _ in CASES]
)
def test_route_statuses_by_role(app, client, endpoint, method, rule):
    action, ok_status, data = ROUTES[(endpoint, method)]
    got, want = {}, {}
    for role in ROLES:
        with app.app_context():
            from tests.conftest import _empty_tables

            _empty_tables()
            factories.seed_catalog()
            world = World()
            url = _url(rule, world.args())
            form = copy.deepcopy(data)
            if form.pop("rev", None):
                form["revision"] = str(world.version.revision)
            headers = {"Accept": "application/json"}
            if role != "anonymous":
                headers["Authorization"] = f"Bearer {world.tokens[role]}"
            resp = client.open(url, method=method, data=form, headers=headers)
            got[role] = resp.status_code
            if role == "anonymous":
                want[role] = 401 if method == "GET" else 400
            elif role == "outsider":
                want[role] = 404
            else:
                want[role] = ok_status if policy.allows(role, action) else 403
            db.session.remove()
    assert got == want, f"{method} {rule} ({action})"


def test_removed_member_loses_access_on_the_next_request(app, client):
    with app.app_context():
        world = World()
        url = f"/projects/{world.project.id}/versions/{world.version.id}"
        headers = {
            "Accept": "application/json",
            "Authorization": f"Bearer {world.tokens['editor']}",
        }
        assert client.get(url, headers=headers).status_code == 200
        members.remove_member(world.users["owner"], world.project.id, world.users["editor"].id)
        assert client.get(url, headers=headers).status_code == 404
