"""Two people, two browser contexts: the owner invites, the invitee signs up from the link and
accepts as viewer, both see each other in the workspace, and the viewer can comment but not
edit."""

from __future__ import annotations

import re

import pytest

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
