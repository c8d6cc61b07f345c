"""Error pages: every status the foundation issue names (400/403/404/405/409/413/429/500) as a
full page for a browser and as a small fragment for htmx; malformed UUIDs in any URL are 404."""

from __future__ import annotations

import re

import pytest
from werkzeug.exceptions import Conflict, Forbidden, TooManyRequests

from tests.security._routes import all_rules

HTMX = {"HX-Request": "true"}


def _nul_query(client, headers):
    return client.get("/?q=%00", headers=headers)  # PostgreSQL cannot store NUL: refused


def _malformed_uuid(client, headers):
    return client.get("/projects/not-a-uuid", headers=headers)


def _wrong_method(client, headers):
    return client.delete("/healthz", headers=headers)


def _oversized(client, headers):
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    return client.post(
        "/auth/login",
        data=b"x" * (limit + 1),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )


def _raising(exc):
    """A view that fails the way a real one does (added to this test's app only)."""

    def trigger(client, headers):
        app = client.application
        endpoint = f"raise_{type(exc).__name__}"
        if endpoint not in app.view_functions:

            def view():
                raise exc

            app.add_url_rule(f"/__test__/{endpoint}", endpoint, view)
        return client.get(f"/__test__/{endpoint}", headers=headers)

    return trigger


CASES = [
    (400, "Bad request", _nul_query),
    (403, "Forbidden", _raising(Forbidden())),
    (404, "Not found", _malformed_uuid),
    (405, "Method not allowed", _wrong_method),
    (409, "Changed elsewhere", _raising(Conflict())),
    (413, "Too large", _oversized),
    (429, "Too many requests", _raising(TooManyRequests())),
    (500, "Something went wrong", _raising(RuntimeError("secret detail"))),
]


@pytest.mark.parametrize(("status", "title", "trigger"), CASES, ids=[str(c[0]) for c in CASES])
def test_full_page_and_htmx_fragment(client, status, title, trigger):
    page = trigger(client, {})
    body = page.get_data(as_text=True)
    assert page.status_code == status
    assert "<html" in body and "<nav" in body  # the whole layout, with navigation
    assert f"{status} · {title}" in body
    assert "secret detail" not in body and "Traceback" not in body

    fragment = trigger(client, HTMX)
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == status
    assert "<html" not in text and "<nav" not in text
    assert text.lstrip().startswith('<article id="error"')
    assert f"{status} · {title}" in text
    assert "secret detail" not in text


def _uuid_rules():
    for endpoint, methods, rule in all_rules():
        names = re.findall(r"<uuid:(\w+)>", rule)
        if names and "GET" in methods:
            yield pytest.param(rule, names, id=endpoint)


@pytest.mark.parametrize(("rule", "names"), list(_uuid_rules()))
def test_malformed_uuid_in_any_url_is_404(logged_in, rule, names):
    # Werkzeug's uuid converter refuses the text, so the route never matches: 404, no 500.
    url = rule
    for name in names:
        url = url.replace(f"<uuid:{name}>", "12345-not-a-uuid")
    url = re.sub(r"<[^>]+>", "x", url)
    assert logged_in.get(url).status_code == 404
