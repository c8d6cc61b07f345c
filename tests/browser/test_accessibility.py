"""Every main page passes axe-core (vendored from npm: tests/browser/vendor) with no serious or
critical violations, in light and dark mode; forms work from the keyboard alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sdc.extensions import db
from sdc.models import User
from tests import factories

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
EMAIL = "a11y@example.com"
ADMIN_EMAIL = "a11y-admin@example.com"
EMAIL_INVITEE = "invitee@example.com"
BLOCKING = ("serious", "critical")

_RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + (n.failureSummary || "")),
  }));
}"""


def axe_violations(page) -> list[dict]:
    """Serious and critical violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(_RUN_AXE)
    return [v for v in found if v["impact"] in BLOCKING]


def _report(path: str, scheme: str, violations: list[dict]) -> str:
    lines = [f"{path} ({scheme}):"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        lines.extend(f"      {n}" for n in v["nodes"])
    return "\n".join(lines)


@pytest.fixture
def world(live_server, live_url):
    """A signed-up user with a run and a grade on a project, the seeded demo, and an admin."""
    from sdc.services import demo, runs

    app = live_server.app
    with app.app_context():
        user = factories.make_user(EMAIL)
        user.profile = {"level": "intermediate", "onboarding": "completed"}
        db.session.commit()
        version = factories.make_runnable_version(user)
        run, _ = runs.start_run(user, version.id, engine="analytic")
        grade_id = None
        try:
            from sdc.services import grades

            grade, _ = grades.start_grade(user, version.id)
            grade_id = grade.id
        except ImportError:
            pass
        demo_user = factories.make_user(app.config["SDC_SETTINGS"].demo_email)
        demo.seed_demo(db.session.get(User, demo_user.id))
        ids = {
            "project": version.project_id,
            "version": version.id,
            "run": run.id,
            "grade": grade_id,
        }
        ids.update(_collaboration(user, version, run))
        db.session.remove()
    return ids


def _collaboration(user, version, run) -> dict:
    """A second version, a failure drill, a comment, a member and a pending invite, a share
    link, a notification, and an admin with two-factor: what the remaining pages show."""
    from sdc.services import comments, members, notifications, share_links

    factories.make_version(user, version.project)
    drill = factories.make_run(
        user,
        baseline=run,
        failures=[
            {"mode": "node-down", "component_id": "api", "replicas": 1, "at_s": 5, "for_s": 5}
        ],
    )
    comments.add_comment(user, version.project_id, version.id, "Is the cache warm at peak?")
    friend = factories.make_user("friend@example.com")
    _invite, token = members.create_invite(user, version.project_id, friend.email, "editor")
    members.accept_invite(friend, token)
    _invite, invite_token = members.create_invite(user, version.project_id, EMAIL_INVITEE, "viewer")
    _link, share_token = share_links.create_link(user, version.project_id)
    notifications.notify(user.id, "comment", {"text": "friend replied"})
    admin = factories.make_user(ADMIN_EMAIL, role="admin")
    return {
        "drill": drill.id,
        "invite_token": invite_token,
        "share_token": share_token,
        "admin_secret": factories.enrol_2fa(admin),
    }


def _sign_in(page, email: str = EMAIL) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")


def _public_pages(ids: dict) -> list[str]:
    return [
        "/",
        "/auth/login",
        "/auth/signup",
        "/status",
        "/demo",
        f"/shared/{ids['share_token']}",
        f"/invites/{ids['invite_token']}",
        "/no/such/page",  # the error page
    ]


def _private_pages(ids: dict) -> list[str]:
    project = f"/projects/{ids['project']}"
    version = f"{project}/versions/{ids['version']}"
    pages = [
        "/dashboard",
        "/scenarios/",
        "/onboarding",
        "/settings",
        "/settings/two-factor",
        "/notifications",
        "/shared",
        project,
        version,
        f"{version}/traffic",
        f"{version}/comments",
        f"/runs/{ids['run']}",
        f"/runs/{ids['drill']}/failures",
        f"{project}/compare",
        f"{project}/report",
        f"{project}/share-links",
        f"{project}/members",
    ]
    if ids["grade"]:
        pages.append(f"/grades/{ids['grade']}")
    return pages


ADMIN_PAGES = ["/admin/", "/admin/audit", "/admin/requests", "/admin/jobs", "/admin/users"]

# GET endpoints that answer with something other than a page: files, JSON, probes, and the
# partials htmx polls or swaps in (their content is scanned inside the pages that hold them).
NOT_PAGES = {
    "static",
    "main.favicon",
    "main.healthz",
    "main.readyz",
    "admin.audit_export",
    "reports.pdf",
    "workspace.export_design",
    "workspace.diagram",
    "workspace.inspector",
    "runs.status",
    "grades.status",
    "presence.show",
    "compare.curve",
}


def _endpoint(app, path: str) -> str | None:
    from werkzeug.exceptions import HTTPException

    try:
        return app.url_map.bind("localhost").match(path.split("?")[0], method="GET")[0]
    except HTTPException:
        return None


def _scan(page, path: str, scheme: str, failures: list, statuses=(200,)) -> None:
    resp = page.goto(path)
    assert resp.status in statuses, f"{path} answered {resp.status}"
    if found := axe_violations(page):
        failures.append(_report(path, scheme, found))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_has_no_serious_violations(new_page, world, live_server, scheme):
    """Every page (each GET endpoint that renders one; ``NOT_PAGES`` lists the others): as a
    visitor, as a signed-in user with a graded project, as a collaborator's invitee, as an admin
    signed in with two-factor, including the two-factor step itself."""
    import pyotp

    app = live_server.app
    # The axe script is injected inline, which the app's CSP (rightly) forbids: bypass it here
    # only; the CSP itself is checked by every other browser test.
    page, _problems = new_page(bypass_csp=True, color_scheme=scheme)
    failures: list[str] = []
    scanned: list[str] = []
    for path in _public_pages(world):
        _scan(page, path, scheme, failures, statuses=(404,) if path == "/no/such/page" else (200,))
        scanned.append(path)
    _sign_in(page)
    for path in _private_pages(world):
        _scan(page, path, scheme, failures)
        scanned.append(path)
    page.get_by_role("button", name="Sign out").click()

    page.goto("/auth/login")  # the admin: password, then the two-factor step (scanned too)
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/auth/two-factor")
    if found := axe_violations(page):
        failures.append(_report("/auth/two-factor", scheme, found))
    scanned.append("/auth/two-factor")
    page.get_by_label("Code").fill(pyotp.TOTP(world["admin_secret"]).now())
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/dashboard")
    for path in ADMIN_PAGES:
        _scan(page, path, scheme, failures)
        scanned.append(path)

    pages = {r.endpoint for r in app.url_map.iter_rules() if "GET" in r.methods} - NOT_PAGES
    missed = pages - {_endpoint(app, path) for path in scanned}
    assert not missed, f"pages no scan visited: {sorted(missed)}"
    assert not failures, "axe-core found serious or critical violations:\n" + "\n".join(failures)


def test_status_page_as_admin_and_a_new_users_dashboard(new_page, live_server, live_url):
    with live_server.app.app_context():
        factories.make_user("admin@example.com", role="admin")
        factories.make_user("new@example.com")
        db.session.remove()
    page, _ = new_page(bypass_csp=True)
    _sign_in(page, "admin@example.com")
    page.goto("/status")
    assert not axe_violations(page), "admin status form"
    page.get_by_role("button", name="Sign out").click()
    _sign_in(page, "new@example.com")  # empty states
    assert not axe_violations(page), "empty dashboard"
    page.goto("/onboarding")
    assert not axe_violations(page), "first onboarding"


def test_skip_link_is_the_first_tab_stop(page, browser_problems, live_url):
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    browser_problems.assert_none()


def test_onboarding_form_by_keyboard_only(page, browser_problems, signup, live_url):
    page.goto("/auth/signup")
    page.get_by_label("Email").focus()
    page.keyboard.type("keys@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type(factories.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/onboarding")
    # Name, role, level radios, companies, domains, all by keyboard.
    page.get_by_label("Name to show").focus()
    page.keyboard.type("Keys")
    page.keyboard.press("Tab")  # role <select>
    assert page.evaluate("document.activeElement.id") == "role"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")  # first level radio
    assert page.evaluate("document.activeElement.name") == "level"
    page.keyboard.press("ArrowRight")  # moves to and checks "intermediate"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "target_companies"
    page.keyboard.type("Stripe, Netflix")
    page.keyboard.press("Tab")  # first domain checkbox
    assert page.evaluate("document.activeElement.name") == "preferred_domains"
    page.keyboard.press("Space")
    # Tab on to the submit button and press it.
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "submit":
            break
    assert "Save and recommend" in page.evaluate("document.activeElement.textContent")
    page.keyboard.press("Enter")
    page.wait_for_url("**/onboarding#recommendations")
    expect(page.locator("[id^=recommended-]")).to_have_count(3)
    expect(page.get_by_label("intermediate")).to_be_checked()
    browser_problems.assert_none()


def test_settings_token_form_by_keyboard(page, browser_problems, live_server, live_url):
    with live_server.app.app_context():
        factories.make_user(EMAIL)
        db.session.remove()
    _sign_in(page)
    page.goto("/settings")
    page.get_by_label("Token name").focus()
    page.keyboard.type("ci")
    page.keyboard.press("Enter")
    expect(page.get_by_label("New API token")).to_have_value(re.compile(r"^sdc_"))
    # The revoke button is reachable by Tab and works with the keyboard.
    page.get_by_role("button", name="Revoke token ci").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#token-list")).to_contain_text("revoked")
    browser_problems.assert_none()
