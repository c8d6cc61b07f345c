"""Compare two versions, then share the report and open the link in a fresh browser context
without signing in; revoking it makes the next visit a 404. Real Chromium."""

from __future__ import annotations

import re

import pytest

from sdc.extensions import db
from sdc.models import User
from tests.web._compare_helpers import add_cache, make_pair, run_version

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

pytestmark = pytest.mark.browser

EMAIL = "grace@example.com"


def _two_versions(live_server) -> str:
    with live_server.app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == EMAIL))
        project, v1, v2 = make_pair(user, add_cache, title="Shortener practice")
        run_version(user, v1)
        run_version(user, v2)
        project_id = str(project.id)
        db.session.remove()
    return project_id


def test_compare_then_share_and_revoke(page, browser_problems, signup, live_server, new_page):
    signup(page, EMAIL)
    project_id = _two_versions(live_server)

    page.goto(f"/projects/{project_id}")
    page.get_by_role("link", name="Compare versions").click()
    page.wait_for_url(re.compile(rf"/projects/{project_id}/compare"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Compare version 1 with version 2")
    expect(page.locator("#compare-diagram .delta-added")).not_to_have_count(0)
    expect(page.locator("#delta-list")).to_contain_text("Cache")
    expect(page.locator("#kpi-p95_ms")).to_contain_text("real")
    # htmx loads the analytic load curves into place.
    expect(page.locator("#compare-curve svg")).to_be_visible(timeout=30_000)
    expect(page.locator("#kpi-knee_rps")).to_contain_text("rps")

    page.goto(f"/projects/{project_id}/report")
    expect(page.locator("#report-title")).to_contain_text("report on version 2")
    page.get_by_role("button", name=re.compile("Create a link")).click()
    link = page.locator("#new-link-url")
    expect(link).to_be_visible()
    url = link.input_value()
    assert "/shared/" in url

    # Someone without an account opens it in a fresh context.
    guest, guest_problems = new_page()
    resp = guest.goto(url)
    assert resp.status == 200
    assert resp.headers["referrer-policy"] == "no-referrer"
    assert "no-store" in resp.headers["cache-control"]
    expect(guest.locator("#report-title")).to_contain_text("Shortener practice")
    expect(guest.locator("#share-links")).to_have_count(0)
    expect(guest.get_by_role("button", name="Sign out")).to_have_count(0)

    guest_problems.assert_none()

    page.reload()
    page.locator("#share-link-table").get_by_role("button", name="Revoke").click()
    expect(page.locator("#share-link-table tr[data-state='revoked']")).to_have_count(1)

    resp = guest.goto(url)
    assert resp.status == 404  # (the browser logs the 404 itself: expected)
    expect(guest.locator("main")).to_contain_text("Not found")
    browser_problems.assert_none()
