"""Two people, two browser contexts: the owner invites, the invitee signs up from the link and
accepts as viewer, both see each other in the workspace, and the viewer can comment but not
edit; and an owner and an editor editing the same version at once."""

from __future__ import annotations

import re

import pytest

from tests import factories

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

pytestmark = pytest.mark.browser

WORKSPACE_URL = re.compile(r"/projects/[0-9a-f-]{36}/versions/[0-9a-f-]{36}(#.*)?$")


def test_invite_accept_presence_and_viewer_rights(new_page, signup, live_url):
    owner, owner_problems = new_page()
    signup(owner, "olivia@example.com")
    owner.locator("#scenario-url-shortener").get_by_role("button", name="Start").click()
    owner.wait_for_url(WORKSPACE_URL)
    workspace = owner.url.split("#")[0]

    owner.locator("#project-link").click()
    owner.locator("#members-link").click()
    owner.get_by_label("Email").fill("victor@example.com")
    owner.locator("#invite-role").select_option("viewer")
    owner.locator("#invite-submit").click()
    link = owner.locator("#invite-url")
    expect(link).to_be_visible()
    invite_url = link.input_value()
    assert "/invites/" in invite_url
    expect(owner.locator("#invites-table")).to_contain_text("victor@example.com")

    viewer, viewer_problems = new_page()
    viewer.goto(invite_url)
    expect(viewer.locator("#invite")).to_contain_text("victor@example.com")
    viewer.locator("#invite-sign-up").click()
    viewer.get_by_label("Email").fill("victor@example.com")
    viewer.get_by_label("Password").fill("a long passphrase for tests")
    viewer.get_by_role("button", name="Create account").click()
    viewer.wait_for_url("**/invites/**")
    viewer.locator("#accept-invite").click()
    viewer.wait_for_url(re.compile(r"/projects/[0-9a-f-]{36}$"))

    # Both open the same version: each sees the other within a few heartbeats.
    owner.goto(workspace)
    viewer.goto(workspace)
    expect(owner.locator("#presence")).to_contain_text("victor@example.com", timeout=15_000)
    expect(viewer.locator("#presence")).to_contain_text("olivia@example.com", timeout=15_000)

    # The viewer reads and comments but cannot edit.
    expect(viewer.locator("#viewer-banner")).to_be_visible()
    expect(viewer.locator(".workspace-tools")).to_have_attribute("inert", "")
    viewer.locator("#comment-body").fill("@olivia why no cache?")
    viewer.locator("#comment-submit").click()
    expect(viewer.locator("#comment-threads")).to_contain_text("why no cache?")
    token = viewer.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
    # Out of the page (no console noise): the viewer's session sends a notes save directly.
    resp = viewer.context.request.patch(
        workspace + "/notes",
        form={"notes": "mine", "revision": "1"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    status = resp.status
    assert status == 403

    # The owner heard that the invite was accepted and was mentioned: two unread.
    owner.reload()
    expect(owner.locator("#nav-notifications")).to_contain_text("2 unread")
    expect(owner.locator("#comments")).to_contain_text("why no cache?")
    owner_problems.assert_none()
    viewer_problems.assert_none()


def _login(page, email: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")


def _components(page, url: str) -> list[str]:
    resp = page.request.get(url, headers={"Accept": "application/json"})
    assert resp.ok
    return [c["id"] for c in resp.json()["document"]["components"]]


def test_two_editors_on_one_version_see_each_other_and_lose_nothing(new_page, live_server):
    """Owner and editor edit the same version in two browsers: each sees the other; the stale
    edit is refused with a fragment naming who changed the version; re-applying it keeps both
    changes."""
    from sdc.extensions import db
    from sdc.services import members

    with live_server.app.app_context():
        owner = factories.make_user("olivia@example.com")
        editor = factories.make_user("eddie@example.com")
        project, version = factories.make_project(owner)
        _invite, token = members.create_invite(owner, project.id, editor.email, "editor")
        members.accept_invite(editor, token)
        workspace = f"/projects/{project.id}/versions/{version.id}"
        db.session.remove()

    olivia, olivia_problems = new_page()
    eddie, eddie_problems = new_page()
    _login(olivia, "olivia@example.com")
    _login(eddie, "eddie@example.com")
    olivia.goto(workspace)
    eddie.goto(workspace)
    expect(olivia.locator("#presence")).to_contain_text("eddie@example.com", timeout=15_000)
    expect(eddie.locator("#presence")).to_contain_text("olivia@example.com", timeout=15_000)
    expect(eddie.locator("#viewer-banner")).to_have_count(0)  # an editor, not a viewer
    start = _components(olivia, workspace)

    # Eddie adds a cache; Olivia, whose page is a revision behind, then adds a queue.
    eddie.get_by_role("button", name="+ cache", exact=True).click()
    expect(eddie.locator("#component-table tbody tr")).to_have_count(len(start) + 1)
    olivia.get_by_role("button", name="+ queue", exact=True).click()
    conflict = olivia.locator("#conflict")
    expect(conflict).to_contain_text("Changed by eddie@example.com")
    expect(conflict.get_by_role("button", name="Reload the latest version")).to_be_visible()
    assert _components(olivia, workspace) == start + ["cache-1"]  # Olivia's add was not saved

    # Olivia re-applies her change on top of Eddie's: both survive.
    conflict.get_by_role("button", name="Overwrite with my change").click()
    expect(conflict).to_be_empty()
    expect(olivia.locator("#component-row-cache-1")).to_be_visible()
    expect(olivia.locator("#component-row-queue-1")).to_be_visible()
    assert set(_components(eddie, workspace)) == set(start) | {"cache-1", "queue-1"}

    olivia_problems.console_errors[:] = [
        m for m in olivia_problems.console_errors if "status of 409 " not in m
    ]
    olivia_problems.assert_none()
    eddie_problems.assert_none()
