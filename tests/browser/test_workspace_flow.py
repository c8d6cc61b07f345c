"""Build the url-shortener design in real Chromium: with JavaScript, without, and in two tabs."""

from __future__ import annotations

import json
import re

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

pytestmark = pytest.mark.browser

EMAIL = "grace@example.com"
WORKSPACE_URL = re.compile(r"/projects/[0-9a-f-]{36}/versions/[0-9a-f-]{36}(#.*)?$")
SAVED = re.compile(r"Saved at \d\d:\d\d")


def _start_url_shortener(page, signup):
    signup(page, EMAIL)
    page.locator("#scenario-url-shortener").get_by_role("button", name="Start").click()
    page.wait_for_url(WORKSPACE_URL)
    expect(page.locator("#component-table tbody tr")).to_have_count(1)  # just the users
    return page.url.split("#")[0]


def _add(page, ctype: str, label: str):
    rows = page.locator("#component-table tbody tr")
    before = rows.count()
    page.get_by_label("Label (optional)").fill(label)
    page.get_by_role("button", name=f"+ {ctype}", exact=True).click()
    expect(rows).to_have_count(before + 1)
    expect(page.locator("#component-table")).to_contain_text(label)


def _connect(page, source: str, target: str, ops: str = "all"):
    rows = page.locator("#edge-table tbody tr")
    before = rows.count()
    page.get_by_label("From").select_option(source)
    page.get_by_label("To", exact=True).select_option(target)
    page.get_by_label("Requests").select_option(ops)
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(rows).to_have_count(before + 1)


def _json(page, url: str) -> dict:
    resp = page.request.get(url, headers={"Accept": "application/json"})
    assert resp.ok and resp.headers["content-type"].startswith("application/json")
    return resp.json()


def _component(design: dict, cid: str) -> dict:
    return next(c for c in design["components"] if c["id"] == cid)


def _revision(page) -> int:
    return int(re.search(r"revision (\d+)", page.locator("#save-status").inner_text()).group(1))


def _expect_saved(page, revision: int):
    status = page.locator("#save-status")
    # Autosave is debounced and the CI machine is small: allow a loaded box some seconds.
    expect(status).to_contain_text(f"(revision {revision})", timeout=15_000)
    expect(status).to_contain_text(SAVED)
    _htmx_settled(page)


def _htmx_settled(page):
    """Every swap of the last response is wired: htmx marks new content ``htmx-added`` and
    attaches its triggers when it removes the class (after the settle delay). Typing into a
    swapped-in form before then sends nothing."""
    expect(page.locator(".htmx-added, .htmx-settling, .htmx-swapping")).to_have_count(0)


def _allow_failed_loads(problems, status: int) -> None:
    """Chromium logs every 4xx fetch as a console error; drop the ones this test provoked."""
    pattern = re.compile(rf"status of {status} ")
    expected = [m for m in problems.console_errors if pattern.search(m)]
    assert expected, f"expected a {status} response"
    problems.console_errors[:] = [m for m in problems.console_errors if m not in expected]


def _inspector_ready(page, label: str):
    """The inspector for ``label`` is in the page AND htmx has processed it. htmx inserts new
    content with the class ``htmx-added`` and wires its triggers when it removes that class
    (after the settle delay); typing before then sends no autosave. (``networkidle`` does not
    help: it was reached long before, so it returns at once.)"""
    expect(page.locator("#inspector-heading")).to_contain_text(label)
    _htmx_settled(page)


def _select(page, cid: str, label: str):
    """Click a diagram node and wait until its inspector has been swapped in and wired. The old
    inspector may already show the same component (a node just added is selected), so typing
    before the swap edits an input that is about to be replaced: wait for a new element."""
    page.evaluate("document.getElementById('component-inspector').dataset.replaced = 'no'")
    page.locator(f"#select-{cid}").click()
    expect(page.locator("#component-inspector:not([data-replaced])")).to_have_count(1)
    _inspector_ready(page, label)


def _watch_saving(page):
    """Record whether the "Saving…" indicator was ever shown (htmx adds .htmx-request)."""
    page.evaluate(
        """() => {
          window.__sawSaving = false;
          const el = document.getElementById('saving');
          new MutationObserver(() => {
            if (el.classList.contains('htmx-request')) window.__sawSaving = el.textContent;
          }).observe(el, {attributes: true});
        }"""
    )


URL_SHORTENER = [
    ("load-balancer", "Edge LB", "load-balancer-1"),
    ("service", "Shortener API", "service-1"),
    ("cache", "Link cache", "cache-1"),
    ("database", "Links DB", "database-1"),
]
EDGES = [
    ("users", "load-balancer-1", "all"),
    ("load-balancer-1", "service-1", "all"),
    ("service-1", "cache-1", "read"),
    ("cache-1", "database-1", "all"),
    ("service-1", "database-1", "write"),
]


def test_build_url_shortener_with_javascript(page, browser_problems, signup):
    url = _start_url_shortener(page, signup)
    page.wait_for_function("window.htmx !== undefined")
    page.evaluate("window.__sameDocument = true")

    for ctype, label, _cid in URL_SHORTENER:
        _add(page, ctype, label)
    for source, target, ops in EDGES:
        _connect(page, source, target, ops)
    expect(page.locator("#diagram-svg .edge-group")).to_have_count(len(EDGES))
    expect(page.locator("#diagram-svg .edge-read")).to_have_count(1)
    expect(page.locator("#diagram-svg .edge-write")).to_have_count(1)

    # Select the service by clicking its node in the SVG: the inspector loads in place.
    page.locator('#diagram-svg .node[data-component-id="service-1"] a').click()
    _inspector_ready(page, "Shortener API")
    assert page.evaluate("window.__sameDocument") is True

    spof = page.locator("#warnings-list li", has_text="Shortener API")
    expect(spof).to_have_attribute("data-warning-code", "single-point-of-failure")

    _watch_saving(page)
    replicas = page.get_by_label("Replicas", exact=True)
    replicas.click()
    replicas.press("Control+a")
    replicas.press_sequentially("3")
    _expect_saved(page, 11)
    expect(page.locator('#diagram-svg .node[data-component-id="service-1"]')).to_contain_text(
        "3 × medium"
    )
    expect(page.locator("#component-row-service-1")).to_contain_text("3 × medium")
    expect(spof).to_have_attribute("data-warning-code", "single-az")  # the warnings refreshed
    assert page.evaluate("window.__sawSaving"), "the Saving… indicator never showed"
    assert page.evaluate("document.activeElement.id") == "inspector-replicas"
    expect(replicas).to_have_value("3")

    # Select from the component list as well (keyboard users' way in).
    _select(page, "cache-1", "Link cache")
    page.get_by_label("Hit ratio (0 to 1)").fill("0.85")
    _expect_saved(page, 12)

    # Drag the database node: its position is PATCHed on drop.
    node = page.locator('#diagram-svg .node[data-component-id="database-1"]')
    node.scroll_into_view_if_needed()
    box = node.locator(".node-box").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    with page.expect_response(lambda r: r.url.endswith("/components/database-1/position")) as moved:
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 40, y + 60, steps=5)
        page.mouse.up()
    assert moved.value.status == 200
    assert moved.value.request.method == "PATCH"
    _expect_saved(page, 13)
    design = _json(page, url)["document"]
    position = _component(design, "database-1")["position"]
    assert position and position["x"] > 0 and position["y"] > 0

    # Undo the move, then redo it.
    page.get_by_role("button", name=re.compile(r"^Undo")).click()
    _expect_saved(page, 14)
    assert "position" not in _component(_json(page, url)["document"], "database-1")
    page.get_by_role("button", name=re.compile(r"^Redo")).click()
    _expect_saved(page, 15)
    assert _component(_json(page, url)["document"], "database-1")["position"] == position

    # Notes autosave; the preview is rendered Markdown with anything unsafe removed.
    notes = page.get_by_label("Notes (Markdown)")
    notes.fill("## API\n\n**POST /links** <script>alert(1)</script> <img src=x onerror=alert(1)>")
    preview = page.locator("#notes-preview")
    expect(preview.locator("h2")).to_have_text("API")
    expect(preview.locator("strong")).to_have_text("POST /links")
    expect(preview.locator("script, img")).to_have_count(0)
    assert page.evaluate("document.activeElement.id") == "notes-text"
    assert page.evaluate("window.__sameDocument") is True, "an edit reloaded the page"

    # Everything persisted: the page after a reload, and the JSON of the version.
    page.reload()
    expect(page.locator("#component-table tbody tr")).to_have_count(5)
    expect(page.locator("#edge-table tbody tr")).to_have_count(len(EDGES))
    expect(page.locator("#component-row-service-1")).to_contain_text("3 × medium")
    expect(page.get_by_label("Notes (Markdown)")).to_have_value(re.compile(r"^## API"))
    expect(page.locator("#notes-preview h2")).to_have_text("API")
    version = _json(page, url)
    design = version["document"]
    assert {c["id"] for c in design["components"]} == {"users"} | {c for *_, c in URL_SHORTENER}
    assert {(e["source"], e["target"], e.get("ops", "all")) for e in design["edges"]} == set(EDGES)
    assert _component(design, "service-1")["replicas"] == 3
    assert _component(design, "cache-1")["params"]["hit_ratio"] == 0.85
    assert _component(design, "database-1")["position"] == position
    assert version["document"]["notes"].startswith("## API")

    browser_problems.assert_none()


def test_traffic_page_sliders_presets_and_share_errors(page, browser_problems, signup):
    url = _start_url_shortener(page, signup)
    page.get_by_role("link", name="Traffic").click()
    page.wait_for_url("**/traffic")
    peak = page.locator("#summary-peak")
    expect(peak).to_have_text("12,000 rps")  # the scenario: 4,000 rps x 3

    page.get_by_label("Baseline requests per second", exact=True).fill("5000")
    expect(peak).to_have_text("15,000 rps")
    _expect_saved(page, 2)
    assert page.evaluate("document.activeElement.id") == "traffic-baseline_rps"

    # The slider drives the number field (the real form field) and autosaves the same way.
    page.get_by_label("Peak multiplier (slider)").fill("4")
    expect(page.get_by_label("Peak multiplier", exact=True)).to_have_value("4")
    expect(peak).to_have_text("20,000 rps")
    _expect_saved(page, 3)
    expect(page.locator("#load-chart")).to_be_visible()

    page.get_by_role("button", name="Launch day").click()
    expect(page.get_by_label("Peak multiplier", exact=True)).to_have_value("9")
    _expect_saved(page, 4)

    # Shares off by 10%: an inline error says so, and nothing is saved.
    page.get_by_label("us-east", exact=True).fill("40")
    expect(page.locator("#error-regions")).to_contain_text("10% short")
    expect(page.locator("#save-status")).to_contain_text("Not saved")
    traffic = page.request.get(url + "/traffic", headers={"Accept": "application/json"}).json()
    assert traffic["revision"] == 4 and traffic["traffic"]["peak_multiplier"] == 9
    assert traffic["traffic"]["regions"]["us-east"] == 0.5
    page.get_by_label("europe", exact=True).fill("40")
    expect(page.locator("#error-regions")).to_have_text("")
    _expect_saved(page, 5)

    page.reload()
    expect(page.get_by_label("Peak multiplier", exact=True)).to_have_value("9")
    expect(page.get_by_label("us-east", exact=True)).to_have_value("40")
    expect(page.get_by_label("europe", exact=True)).to_have_value("40")
    _allow_failed_loads(browser_problems, 422)  # the refused save above
    browser_problems.assert_none()


def test_build_without_javascript(page_nojs, signup):
    """The whole url-shortener design with plain form posts and links only (PRG after each)."""
    page = page_nojs
    url = _start_url_shortener(page, signup)
    for ctype, label, _cid in URL_SHORTENER:
        _add(page, ctype, label)
        expect(page).to_have_url(re.compile(r"#component-inspector$"))  # PRG back to the page
    for source, target, ops in EDGES:
        _connect(page, source, target, ops)
        expect(page).to_have_url(WORKSPACE_URL)
    expect(page.locator("#diagram-svg .edge-group")).to_have_count(len(EDGES))
    expect(page.locator("#diagram-svg .edge-read")).to_have_count(1)
    expect(page.locator("#diagram-svg .edge-write")).to_have_count(1)

    # A component added by mistake goes again with its Remove button (method override DELETE).
    _add(page, "queue", "Oops queue")
    with page.expect_navigation():
        page.get_by_role("button", name="Remove Oops queue").click()
    expect(page.locator("#component-table tbody tr")).to_have_count(1 + len(URL_SHORTENER))

    page.locator("#select-service-1").click()
    expect(page.locator("#inspector-heading")).to_contain_text("Shortener API")
    page.get_by_label("Replicas", exact=True).fill("3")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#component-row-service-1")).to_contain_text("3 × medium")
    expect(page.locator("#save-status")).to_contain_text(SAVED)

    page.locator("#select-cache-1").click()
    page.get_by_label("Hit ratio (0 to 1)").fill("0.85")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_label("Hit ratio (0 to 1)")).to_have_value("0.85")

    # Placing a node without dragging: the inspector's x and y fields.
    page.locator("#select-database-1").click()
    page.locator("#inspector-x").fill("600")
    page.locator("#inspector-y").fill("420")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    node = page.locator('#diagram-svg .node[data-component-id="database-1"]')
    expect(node).to_have_attribute("transform", "translate(600,420)")
    # Undo and redo are plain form posts too.
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^Undo")).click()
    expect(node).not_to_have_attribute("transform", "translate(600,420)")
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^Redo")).click()
    expect(node).to_have_attribute("transform", "translate(600,420)")

    page.get_by_label("Notes (Markdown)").fill("## API\n\n**POST /links** <script>x</script>")
    with page.expect_navigation():
        page.get_by_role("button", name="Save notes").click()
    expect(page.locator("#notes-preview h2")).to_have_text("API")
    expect(page.locator("#notes-preview script")).to_have_count(0)

    page.get_by_role("link", name="Traffic").click()
    expect(page.get_by_label("Peak multiplier (slider)")).to_be_hidden()
    page.get_by_label("Baseline requests per second", exact=True).fill("5000")
    page.get_by_role("button", name="Save traffic").click()
    page.wait_for_url("**/traffic")
    expect(page.locator("#summary-peak")).to_have_text("15,000 rps")

    page.get_by_label("us-east", exact=True).fill("40")
    page.get_by_role("button", name="Save traffic").click()
    expect(page.locator("#error-regions")).to_contain_text("10% short")

    # Everything persisted: the page after a fresh load, and the version's JSON.
    page.goto(url)
    expect(page.locator("#component-table tbody tr")).to_have_count(1 + len(URL_SHORTENER))
    expect(page.locator("#edge-table tbody tr")).to_have_count(len(EDGES))
    expect(page.locator("#component-row-service-1")).to_contain_text("3 × medium")
    expect(page.get_by_label("Notes (Markdown)")).to_have_value(re.compile(r"^## API"))
    version = _json(page, url)
    design = version["document"]
    assert {c["id"] for c in design["components"]} == {"users"} | {c for *_, c in URL_SHORTENER}
    assert {(e["source"], e["target"], e.get("ops", "all")) for e in design["edges"]} == set(EDGES)
    assert _component(design, "service-1")["replicas"] == 3
    assert _component(design, "cache-1")["params"]["hit_ratio"] == 0.85
    assert _component(design, "database-1")["position"] == {"x": 600, "y": 420}
    assert design["notes"].startswith("## API")
    assert design["traffic"]["baseline_rps"] == 5000  # the refused 40% save changed nothing
    assert design["traffic"]["regions"]["us-east"] == 0.5
    assert version["validation"]["ok"] is True


def test_two_tabs_conflict_and_export_import(page, browser_problems, signup, tmp_path):
    url = _start_url_shortener(page, signup)
    _add(page, "service", "Shortener API")
    _connect(page, "users", "service-1")

    tab_b = page.context.new_page()
    browser_problems.pages.append(tab_b)
    tab_b.on("console", browser_problems.record_console)
    tab_b.on("pageerror", lambda exc: browser_problems.page_errors.append(str(exc)))
    tab_b.goto(url)

    # Tab A changes the service; tab B, loaded before, then adds a cache on a stale revision.
    _select(page, "service-1", "Shortener API")
    page.get_by_label("Replicas", exact=True).fill("2")
    _expect_saved(page, 4)
    tab_b.get_by_role("button", name="+ cache", exact=True).click()
    conflict = tab_b.locator("#conflict")
    expect(conflict).to_contain_text("Changed in another tab")
    expect(conflict.get_by_role("button", name="Reload the latest version")).to_be_visible()
    design = _json(page, url)["document"]
    assert [c["id"] for c in design["components"]] == ["users", "service-1"]  # nothing saved
    assert _component(design, "service-1")["replicas"] == 2

    conflict.get_by_role("button", name="Overwrite with my change").click()
    expect(conflict).to_be_empty()
    expect(tab_b.locator("#component-row-cache-1")).to_be_visible()
    expect(tab_b.locator("#component-row-service-1")).to_contain_text("2 × medium")
    design = _json(page, url)["document"]
    assert {c["id"] for c in design["components"]} == {"users", "service-1", "cache-1"}
    assert _component(design, "service-1")["replicas"] == 2  # tab A's change survived

    # Export from the toolbar, then import the file into a new version of the project.
    with page.expect_download() as download:
        page.get_by_role("button", name="Export JSON").click()
    assert download.value.suggested_filename == "url-shortener-v1.sdc-design.json"
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    exported = json.loads(path.read_text())
    assert exported["format"] == "sdc-design/1"
    assert {c["id"] for c in exported["components"]} == {"users", "service-1", "cache-1"}

    page.get_by_role("link", name="History").click()
    page.get_by_role("button", name="New version from here").click()
    page.wait_for_url(WORKSPACE_URL)
    expect(page.get_by_role("heading", level=1)).to_contain_text("version 2")
    v2 = page.url.split("#")[0]
    with page.expect_request(lambda r: "/components/cache-1" in r.url) as removed:
        page.get_by_role("button", name="Remove Cache 1").click()
    expect(page.locator("#component-table tbody tr")).to_have_count(2)
    # htmx 2 puts DELETE parameters in the URL by default: the CSRF token would end up in
    # access logs. base.html's htmx-config sends them in the body, like every other method.
    assert removed.value.method == "DELETE"
    assert "?" not in removed.value.url
    assert "csrf_token=" in (removed.value.post_data or "")
    page.get_by_text("Import a design").click()
    page.get_by_label("JSON file").set_input_files(path)
    page.get_by_role("button", name="Import (replaces this design)").click()
    expect(page.locator("#component-table tbody tr")).to_have_count(3)
    imported = _json(page, v2)["document"]
    assert imported["components"] == exported["components"]
    assert imported["edges"] == exported["edges"]
    assert _json(page, url)["number"] == 1  # version 1 untouched

    _allow_failed_loads(browser_problems, 409)  # tab B's stale add, and only that
    browser_problems.assert_none()
