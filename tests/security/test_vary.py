"""``Vary`` is added to, never replaced: HX-Request on HTML, Cookie from the session, and
Origin on the CORS paths (docs/security.md, "CORS")."""

from __future__ import annotations

from flask import Response

from sdc.web.htmx import add_vary
from tests import factories
from tests.security.test_cors import OK, cors_app  # noqa: F401  (fixture)


def _vary(resp) -> list[str]:
    lines = resp.headers.getlist("Vary")
    assert len(lines) <= 1, lines  # one merged line
    return [v.strip() for line in lines for v in line.split(",")]


def test_add_vary_merges_every_existing_line():
    resp = Response("x", mimetype="text/html")
    resp.headers.add("Vary", "Accept-Encoding")
    resp.headers.add("Vary", "Origin")  # what Flask-CORS appends
    add_vary(resp, "Origin")
    assert _vary(resp) == ["Accept-Encoding", "Origin", "HX-Request"]
    resp = Response("{}", mimetype="application/json")
    add_vary(resp)
    assert "Vary" not in resp.headers
    resp.headers["Vary"] = "*"
    assert _vary(add_vary(resp, "Origin")) == ["*"]


def test_cors_paths_vary_on_origin_with_one_allowed_origin(cors_app):  # noqa: F811
    with cors_app.app_context():
        user = factories.make_user()
        project, _version = factories.make_project(user)
        token = factories.make_token(user)
        pid = project.id
    client = cors_app.test_client()
    for origin in (OK, "https://evil.example.net", None):
        headers = {"Authorization": f"Bearer {token}"}
        if origin:
            headers["Origin"] = origin
        for accept in ("application/json", "text/html"):
            resp = client.get(f"/projects/{pid}", headers=headers | {"Accept": accept})
            assert resp.status_code == 200
            assert "Origin" in _vary(resp), (origin, accept, resp.headers.getlist("Vary"))
        page = client.get("/scenarios/", headers=headers)
        assert {"Origin", "HX-Request"} <= set(_vary(page)), page.headers.getlist("Vary")


def test_pages_outside_the_cors_paths_do_not_vary_on_origin(cors_app, client):  # noqa: F811
    resp = cors_app.test_client().get("/status", headers={"Origin": OK})
    assert "Origin" not in _vary(resp) and "HX-Request" in _vary(resp)
