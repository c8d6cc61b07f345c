"""A user grades a design from the workspace, reads the report, applies a fix as a new
version and grades that one from the project page - all through the self-polling widget."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

pytestmark = pytest.mark.browser

WEAK = Path(__file__).resolve().parents[2] / "docs/examples/grading/pastebin/weak.json"
GRADE_TIMEOUT_MS = 60_000  # the first grade in a process compiles the simulator's kernels


def test_grade_report_fix_version_and_project_page(page, browser_problems, signup, open_import):
    signup(page, "grader@example.com")
    page.locator("#scenario-pastebin").get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"/projects/[0-9a-f-]+/versions/[0-9a-f-]+$"))
    open_import(page)
    page.locator("#import-document").fill(WEAK.read_text())
    page.locator("#import-submit").click()
    expect(page.locator("#component-row-server")).to_be_visible()

    # Grade from the workspace: the widget swaps in without a page load.
    page.wait_for_function("window.htmx !== undefined")
    page.evaluate("window.__sameDocument = true")
    page.locator("#grade-button").get_by_role("button", name="Grade this version").click()
    expect(page.locator("#grade-status")).to_contain_text("Graded", timeout=GRADE_TIMEOUT_MS)
    assert page.evaluate("window.__sameDocument") is True
    page.locator("#grade-status").get_by_role("link", name="Open the report").click()
    page.wait_for_url(re.compile(r"/grades/[0-9a-f-]+$"))

    # The report: ring, seven categories, evidence that opens, a component link, fix proofs.
    expect(page.locator(".score-ring svg")).to_be_visible()
    expect(page.locator("tr[id^='category-']")).to_have_count(7)
    evidence = page.locator("#category-reliability-fault-tolerance details")
    evidence.locator("summary").click()
    expect(evidence.locator("li").first).to_be_visible()
    expect(page.locator("a.evidence-component").first).to_be_attached()
    expect(page.locator("table.fix-proof").first).to_be_visible()
    expect(page.locator("#ai-h")).to_have_text("Coach's summary")
    expect(page.get_by_text("Provider mock")).to_be_visible()

    # Create a fix version from the first action item that has one: lands in its workspace.
    page.get_by_role("button", name="Create fix version").first.click()
    page.wait_for_url(re.compile(r"/projects/[0-9a-f-]+/versions/[0-9a-f-]+$"))
    expect(page.get_by_text(re.compile(r"Version 2 created with the fix applied"))).to_be_visible()

    # Grade version 2 from the project page; its own widget fills in, version 1's stays.
    page.locator("#project-link").click()
    page.wait_for_url(re.compile(r"/projects/[0-9a-f-]+$"))
    page.wait_for_function("window.htmx !== undefined")
    page.locator("#grade-button-v2").get_by_role("button").click()
    expect(page.locator("#grade-status-v2")).to_contain_text("Graded", timeout=GRADE_TIMEOUT_MS)
    expect(page.locator("#grade-status-v1")).to_be_empty()
    page.reload()
    expect(page.locator("#version-grade-1")).to_contain_text("/100")
    expect(page.locator("#version-grade-2")).to_contain_text("/100")
    browser_problems.assert_none()
