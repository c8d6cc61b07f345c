"""A new user runs the url-shortener design, reads the results, breaks an AZ, sees the blast radius."""

from __future__ import annotations

import json
import re
import statistics
import time
from pathlib import Path

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

pytestmark = pytest.mark.browser

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "url-shortener.json"
RUN_TIMEOUT_MS = 30_000  # the first run in a process compiles the simulator's kernels


def test_run_results_and_failure_lab(page, browser_problems, signup, open_import):
    signup(page, "runner@example.com")
    page.locator("#scenario-url-shortener").get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"/projects/[0-9a-f-]+/versions/[0-9a-f-]+$"))
    workspace = page.url

    # Import the example design (paste), as a user would from a file.
    open_import(page)
    page.locator("#import-document").fill(EXAMPLE.read_text())
    page.locator("#import-submit").click()
    expect(page.locator("#component-row-api")).to_be_visible()

    # Press Run (several seeds, to time it): the status widget swaps in, without a reload.
    page.wait_for_function("window.htmx !== undefined")
    page.evaluate("window.__sameDocument = true")
    timings = []
    for seed in ("1", "2", "3"):
        if not page.locator("#run-seed").is_visible():
            page.locator(".run-options summary").click()
        page.locator("#run-seed").fill(seed)
        # Mark the control so we can tell when htmx has swapped in the response: the previous
        # run is already "completed", so waiting on the status alone could read the old one.
        page.evaluate("document.getElementById('run-control').dataset.stale = '1'")
        started = time.perf_counter()
        with page.expect_response(
            lambda r: r.url.endswith("/runs") and r.request.method == "POST",
            timeout=RUN_TIMEOUT_MS,
        ) as posted:
            page.locator("#run-button").click()
        assert posted.value.status == 200
        expect(page.locator("#run-control[data-stale]")).to_have_count(0)
        # The swap keeps the options the user chose, open.
        expect(page.locator("#run-seed")).to_be_visible()
        expect(page.locator("#run-seed")).to_have_value(seed)
        expect(page.locator("#run-status")).to_have_attribute(
            "data-status", "completed", timeout=RUN_TIMEOUT_MS
        )
        timings.append(time.perf_counter() - started)
        expect(page.locator("#run-status")).not_to_have_attribute("hx-trigger", re.compile("."))
        expect(page.locator("#run-button")).to_be_enabled()
    assert page.evaluate("window.__sameDocument") is True, "Run reloaded the page"

    started = time.perf_counter()
    page.locator("#run-results-link").click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]+$"))
    expect(page.locator("#kpi-served dd")).to_contain_text("rps")
    timings[-1] += time.perf_counter() - started
    print(
        f"\nRun -> results (live server, Huey immediate): median "
        f"{statistics.median(timings):.2f} s over {len(timings)}: "
        + ", ".join(f"{t:.2f}" for t in timings)
    )
    run_url = page.url
    expect(page.locator("#verdict-overall")).to_have_text(
        re.compile("met|missed|too close to call")
    )
    expect(page.locator("#kpi-p95 dd")).to_contain_text("ms")
    expect(page.locator("#chart-throughput svg")).to_be_visible()
    expect(page.locator("#chart-utilization svg path").first).to_be_attached()
    expect(page.locator('#chart-diagram .node[data-component-id="api"]')).to_have_class(
        re.compile(r"heat-")
    )
    expect(page.locator('#component-stats-table tr[data-component-id="api"]')).to_be_visible()
    expect(page.locator("#manifest-seed")).to_have_text("3")

    # Break an availability zone, against the same seed and snapshot.
    page.locator("#failure-lab-link").click()
    page.wait_for_url(re.compile(r"/failures$"))
    page.get_by_label("Failure mode").select_option("az-down")
    page.get_by_label("Region").select_option("us-east")
    page.get_by_label("Availability zone").select_option("a")
    page.get_by_label("Starts at, s").fill("10")
    page.get_by_label("Lasts, s").fill("20")
    page.locator("#inject-button").click()
    page.wait_for_url(re.compile(r"/failures\?selected="), timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#blast-radius")).to_be_visible()
    expect(page.locator("#blast-failed")).to_contain_text("%")
    expect(page.locator("#blast-detect")).to_contain_text("s")
    expect(page.locator("#impacted-components")).to_be_visible()
    expect(page.locator("#comparison-table")).to_contain_text("p95 latency")
    expect(page.locator("#timeline-failure")).to_contain_text("failure injected: az-down")
    expect(page.locator("#failure-runs-table tbody tr")).to_have_count(1)

    browser_problems.assert_none()

    # A bad injection shows its message beside the field (Chromium logs the 422 it expects).
    page.get_by_label("Failure mode").select_option("dependency-lag")
    page.get_by_label("Extra lag, ms").fill("")
    page.locator("#inject-button").click()
    expect(page.locator("#fail-lag_ms-error")).to_be_visible()
    expected = [m for m in browser_problems.console_errors if "status of 422" in m]
    assert len(expected) == 1
    browser_problems.console_errors.remove(expected[0])

    # The project page lists the version's latest run and verdict.
    page.goto(run_url)
    page.locator("#version-link").click()
    page.wait_for_url(workspace)
    page.locator("#project-link").click()
    expect(page.locator("#version-run-1")).to_contain_text("Latest run")

    # The JSON form of the run, as a script would read it.
    data = json.loads(page.request.get(run_url, headers={"Accept": "application/json"}).text())
    assert data["status"] == "completed" and data["result"]["format"] == "sdc-result/1"
    browser_problems.assert_none()


def test_run_without_javascript(page_nojs, new_page, signup):
    page = page_nojs
    signup(page, "nojs@example.com")
    page.locator("#scenario-url-shortener").get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"/versions/[0-9a-f-]+$"))
    doc = json.loads(EXAMPLE.read_text())
    doc["traffic"]["duration_s"] = 10
    page.locator("#import-heading").click()
    page.locator("#import-document").fill(json.dumps(doc))
    page.locator("#import-submit").click()
    page.get_by_role("button", name="Run simulation").click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]+$"), timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#kpi-offered")).to_contain_text("rps")
    expect(page.locator("#chart-latency svg")).to_be_visible()
