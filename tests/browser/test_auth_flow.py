"""Sign up, browse the catalog (with and without JavaScript), sign out and in, in real Chromium."""

from __future__ import annotations

import re

import pytest

from sdc.services import scenarios as scenario_service

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

pytestmark = pytest.mark.browser

EMAIL = "ada@example.com"


def _count(live_server, difficulty: str = "") -> int:
    with live_server.app.app_context():
        return len(scenario_service.list_scenarios(difficulty=difficulty))


def test_sign_up_filter_sign_out_and_sign_in(page, browser_problems, signup, live_server):
    signup(page, EMAIL)
    expect(page.get_by_role("heading", level=1)).to_have_text("Pick a scenario")
    expect(page.locator(".flash-success")).to_contain_text("Welcome")
    cards = page.locator("#scenario-list .scenario-card")
    total, beginner = _count(live_server), _count(live_server, "beginner")
    assert 0 < beginner < total, "the seeded catalog needs beginner and other scenarios"
    expect(cards).to_have_count(total)
    # With JavaScript the no-JS submit button stays hidden inside <noscript>.
    expect(page.get_by_role("button", name="Filter")).to_have_count(0)

    # htmx swaps the list in place: the window survives, the URL is pushed.
    page.wait_for_function("window.htmx !== undefined")
    page.evaluate("window.__sameDocument = true")
    with page.expect_response(
        lambda r: "difficulty=beginner" in r.url and r.request.headers.get("hx-request") == "true"
    ) as swap:
        page.get_by_label("Difficulty").select_option("beginner")
    assert swap.value.status == 200
    expect(cards).to_have_count(beginner)
    expect(cards.locator(".badge-beginner")).to_have_count(beginner)
    expect(page).to_have_url(re.compile(r"/scenarios/\?.*difficulty=beginner"))
    assert page.evaluate("window.__sameDocument") is True, "the filter reloaded the page"

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator(".flash")).to_contain_text("You are signed out.")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    page.get_by_role("navigation").get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("a long passphrase for tests")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    expect(page.get_by_text(f"Signed in as {EMAIL}.")).to_be_visible()

    browser_problems.assert_none()


def test_filter_without_javascript_submits_the_form(page_nojs, signup, live_server):
    page = signup(page_nojs, EMAIL)
    advanced = _count(live_server, "advanced")
    assert advanced > 0
    page.get_by_label("Difficulty").select_option("advanced")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"/scenarios/\?.*difficulty=advanced"))
    cards = page.locator("#scenario-list .scenario-card")
    expect(cards).to_have_count(advanced)
    expect(cards.locator(".badge-advanced")).to_have_count(advanced)
    expect(page.get_by_label("Difficulty")).to_have_value("advanced")


def test_landing_page_renders_in_light_and_dark(new_page):
    backgrounds = {}
    for scheme in ("light", "dark"):
        page, problems = new_page(color_scheme=scheme)
        page.goto("/")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Practise system design")
        # <a role="button">: a link that looks like a button
        expect(page.get_by_role("button", name="Start practising").first).to_be_visible()
        dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
        assert dark is (scheme == "dark")
        backgrounds[scheme] = page.evaluate(
            "getComputedStyle(document.documentElement).backgroundColor"
        )
        problems.assert_none()
    assert backgrounds["light"] != backgrounds["dark"], f"no dark theme: {backgrounds}"
