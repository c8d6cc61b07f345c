"""The harness's own checks: a CSP violation or a console error must not go unnoticed."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_csp_probe_reports_a_violation(page, browser_problems):
    page.goto("/")
    browser_problems.assert_none()
    # img-src is 'self' data:, so Chromium blocks this before any network request.
    page.evaluate(
        "document.body.appendChild(Object.assign(new Image(), {src: 'https://example.invalid/x.png'}))"
    )
    page.wait_for_function("window.__csp.length > 0")
    with pytest.raises(AssertionError, match="CSP violation"):
        browser_problems.assert_none()


def test_console_errors_are_recorded(page, browser_problems):
    page.goto("/")
    page.evaluate("console.error('boom from the page')")
    with pytest.raises(AssertionError, match="boom from the page"):
        browser_problems.assert_none()
