"""Strict query parameters: every GET route, fed malformed ints, dates, uuids, huge page sizes
and repeated or hostile values in every parameter name the views read, answers without a 5xx
or a traceback (page-size caps themselves are not asserted here yet)."""

from __future__ import annotations

import pytest

from tests.security._routes import url_for_rule
from tests.security.test_principals import RULES, _sign_in, _world

# Every name the views read from request.args (grep request.args in sdc/web), plus paging.
NAMES = [
    "page",
    "per_page",
    "limit",
    "q",
    "action",
    "actor",
    "status",
    "since",
    "until",
    "from",
    "to",
    "date",
    "window",
    "kind",
    "component",
    "revision",
    "difficulty",
    "domain",
    "curve",
    "baseline",
    "candidate",
    "run",
    "grade",
    "version",
    "place",
    "selected",
    "v",
    "next",
    "mode",
    "overlay",
    "trend",
    "sort",
]
VALUES = [
    "-1",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "2026-13-45",
    "not-a-uuid",
    "00000000-0000-0000-0000-000000000000",
    "\x00",
    "%ff",
    "a" * 5000,
    "١",
]
# endpoint -> reason, for a finding that must stay visible as an expected failure. The one this
# test found (report.pdf and /shared/<token> writing after a read inside a GET on SQLite:
# "database is locked") is fixed in services.reports and services.share_links.
KNOWN: dict[str, str] = {}
GETS = [
    pytest.param(e, r, id=e, marks=[pytest.mark.xfail(reason=KNOWN[e], strict=False)])
    if e in KNOWN
    else pytest.param(e, r, id=e)
    for e, m, r in RULES
    if m == "GET"
]


@pytest.mark.parametrize(("endpoint", "rule"), GETS)
def test_malformed_query_parameters_never_500(app, endpoint, rule, monkeypatch):
    # The PDF renderer is not what this test is about, and it takes ~0.3 s per call (352
    # calls here). tests/web/test_reports.py covers the real PDF; here every parameter still
    # goes through the report view's parsing, loading and HTML rendering.
    monkeypatch.setattr("sdc.web.reports.routes.render_pdf", lambda html: b"%PDF-1.4 test\n")
    world = _world(app)
    client = app.test_client()
    principal = "admin" if endpoint.startswith("admin.") else "owner"
    _sign_in(app, client, world["users"][principal])
    url = url_for_rule(rule, world["args"])
    for name in NAMES:
        for value in VALUES:
            for headers in ({"HX-Request": "true"},):
                resp = client.get(url, query_string={name: value}, headers=headers)
                body = resp.get_data().decode("utf-8", "replace")
                assert resp.status_code < 500, (endpoint, name, value, headers, body[:300])
                assert "Traceback" not in body
                assert resp.status_code in (200, 204, 301, 302, 303, 304, 400, 404, 409, 422), (
                    endpoint,
                    name,
                    value,
                    resp.status_code,
                )
