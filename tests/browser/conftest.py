"""Real Chromium (Debian's /usr/bin/chromium, driven by Playwright) against a live server.

Each xdist worker runs its own server on 127.0.0.1 (port 0) in a background thread, backed by
its own freshly migrated database (SQLite file, or a PostgreSQL database when ``DATABASE_URL``
is set), so ``pytest -n 2`` works. Every test starts from empty tables plus the seeded catalog.

Fixtures: ``live_server`` (app + url), ``live_url``, ``browser``, ``new_page`` (a page in a
fresh context with any Playwright context options), ``page``, ``page_nojs``,
``browser_problems`` (console errors, uncaught exceptions and CSP violations seen by ``page``)
and ``signup``. Huey runs in immediate mode inside the live app, so jobs run inline.

The folder is skipped, with the reason, when Chromium or Playwright is missing. Never run
``playwright install``: the browser comes from ``apt-get install chromium``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from sdc import create_app
from sdc.extensions import db
from tests import factories
from tests.conftest import (
    POSTGRES_URL,
    _drop_postgres_database,
    _empty_tables,
    _postgres_database,
    make_settings,
)

HERE = Path(__file__).parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Nothing is ignored: base.html links an SVG icon, so Chromium no longer asks for a missing one.
IGNORED_CONSOLE = re.compile(r"(?!)")
TIMEOUT_MS = 5_000  # every step is local; a slow step is a bug, not a reason to wait longer

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None
    expect = None


def _skip_reason() -> str | None:
    if sync_playwright is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} not found (apt-get install chromium; never `playwright install`)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


# --- the live server ---------------------------------------------------------------------------


@dataclass
class LiveServer:
    app: object
    url: str


@pytest.fixture(scope="session")
def live_database_url(tmp_path_factory, worker_id):
    """A database of its own, so the server never shares tables with the in-process tests."""
    if POSTGRES_URL:
        url = _postgres_database(f"{worker_id}_live")
        yield url
        _drop_postgres_database(url)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('live-db') / 'live.db'}"


@pytest.fixture(scope="session")
def live_server(live_database_url, tmp_path_factory):
    from flask_migrate import upgrade

    import tasks

    app = create_app(
        settings=make_settings(live_database_url, tmp_path_factory.mktemp("live-instance"))
    )
    app.config["TESTING"] = True
    with app.app_context():
        upgrade()  # the real migrations, as in tests/conftest.py's ``migrated``
    tasks.huey.immediate = True

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def live_url(live_server):
    """The server's base URL, with empty tables and the seeded catalog for this test."""
    import tasks

    app = live_server.app
    with app.app_context():
        _empty_tables()
        factories.seed_catalog()
        db.session.remove()
    # The ``app`` fixture of other tests in this worker repoints Huey's app; take it back.
    tasks.huey.immediate = True
    tasks.set_flask_app(app)
    yield live_server.url
    tasks.set_flask_app(None)


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _playwright():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(_playwright):
    browser = _playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


# Runs before any page script, in every document; CDP-injected, so the page's CSP allows it.
_CSP_PROBE = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const v = {directive: e.violatedDirective, blocked: e.blockedURI,
             source: e.sourceFile, line: e.lineNumber, sample: e.sample,
             page: document.location.href};
  window.__csp.push(v);
  if (window.__sdcReportCsp) window.__sdcReportCsp(v);
});
"""


@dataclass
class BrowserProblems:
    """What went wrong in one browser context, across every navigation."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[dict] = field(default_factory=list)
    pages: list = field(default_factory=list)

    def record_console(self, message) -> None:
        if message.type != "error":
            return
        text = f"{message.text} ({message.location.get('url', '')})"
        if not IGNORED_CONSOLE.search(text):
            self.console_errors.append(text)

    def _current_csp(self) -> list[dict]:
        # The binding reports asynchronously; the open documents' own lists close the gap.
        seen = list(self.csp_violations)
        for page in self.pages:
            if page.is_closed():
                continue
            try:
                for v in page.evaluate("window.__csp || []"):
                    if v not in seen:
                        seen.append(v)
            except Exception:  # JS disabled or mid-navigation: the binding list stands
                pass
        return seen

    def assert_none(self) -> None:
        csp = self._current_csp()
        problems = (
            [f"console error: {m}" for m in self.console_errors]
            + [f"uncaught exception: {m}" for m in self.page_errors]
            + [f"CSP violation: {v}" for v in csp]
        )
        assert not problems, "the browser reported problems:\n" + "\n".join(problems)


@pytest.fixture
def _contexts(browser, live_url):
    opened = []
    yield opened
    for context in opened:
        context.close()


@pytest.fixture
def new_page(browser, live_url, _contexts):
    """``new_page(**context_options) -> (page, problems)``: a page in a fresh context."""

    def open_page(**options):
        problems = BrowserProblems()
        context = browser.new_context(base_url=live_url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.expose_binding("__sdcReportCsp", lambda _src, v: problems.csp_violations.append(v))
        context.add_init_script(_CSP_PROBE)
        _contexts.append(context)
        page = context.new_page()
        problems.pages.append(page)
        page.on("console", problems.record_console)
        page.on("pageerror", lambda exc: problems.page_errors.append(str(exc)))
        return page, problems

    return open_page


@pytest.fixture
def _page_and_problems(new_page):
    return new_page()


@pytest.fixture
def page(_page_and_problems):
    """A page with JavaScript, in a fresh context whose base URL is the live server."""
    return _page_and_problems[0]


@pytest.fixture
def browser_problems(_page_and_problems):
    """The console errors, uncaught exceptions and CSP violations ``page`` has seen."""
    return _page_and_problems[1]


@pytest.fixture
def page_nojs(new_page):
    """A page with JavaScript disabled: every action must still be a link or a form post."""
    return new_page(java_script_enabled=False)[0]


@pytest.fixture
def signup():
    """``signup(page, email)``: create an account through the form, skip onboarding, land on
    the catalog."""

    def sign_up(page, email: str, password: str = factories.PASSWORD):
        page.goto("/auth/signup")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url("**/onboarding")
        page.get_by_role("button", name="Skip for now").click()
        page.wait_for_url("**/scenarios/")
        return page

    return sign_up


@pytest.fixture
def open_import():
    """``open_import(page)``: open the workspace's import form as a user does, by its heading.

    It waits for the page's network to settle first: once up, the workspace loads its comments
    and presence regions by htmx, and their swaps move the layout; a click aimed at the heading
    while one lands can hit something else, and the form stays closed (seen once, in a busy
    suite run)."""
    from playwright.sync_api import expect

    def open_form(page) -> None:
        page.wait_for_load_state("networkidle")
        page.locator("#import-heading").click()
        expect(page.locator("#import-document")).to_be_visible()

    return open_form
