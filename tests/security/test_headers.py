"""The security headers on every GET route from ``app.url_map`` (full page and htmx fragment,
as the owner of every resource and as an admin), on error pages and on downloads."""

from __future__ import annotations

import re

import pytest

from tests import factories
from tests.conftest import AuthActions, csrf_token
from tests.security._routes import all_rules, url_for_rule

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
EXPECTED = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": {"strict-origin-when-cross-origin", "no-referrer"},
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
PERMISSIONS = {"camera=()", "microphone=()", "geolocation=()"}
GET_RULES = [(e, r) for e, methods, r in all_rules() if "GET" in methods]


def check(resp, where: str) -> None:
    for name, want in EXPECTED.items():
        got = resp.headers.get(name)
        ok = got in want if isinstance(want, set) else got == want
        assert ok, f"{where}: {name} = {got!r}"
    perms = {p.strip() for p in resp.headers.get("Permissions-Policy", "").split(",")}
    assert PERMISSIONS <= perms, f"{where}: Permissions-Policy {perms}"
    assert re.fullmatch(r"[A-Za-z0-9._-]{8,128}", resp.headers.get("X-Request-ID", "")), where
    assert resp.status_code < 500, f"{where}: {resp.status_code}"


@pytest.fixture
def world(app, client):
    with app.app_context():
        root = factories.make_user("root@example.com", role="admin")
        secret = factories.enrol_2fa(root)
        run = factories.make_run(root, engine="analytic")
        version = run.version
        # Hostile text where file names come from.
        version.project.title = 'Évil"; filename=x.exe\r\n<script>'
        from sdc.extensions import db

        db.session.commit()
        ids = {
            "project_id": version.project_id,
            "version_id": version.id,
            "run_id": run.id,
            "slug": "url-shortener",
        }
    assert AuthActions(client).login_2fa("root@example.com", secret).status_code == 303
    return ids


def test_every_get_route_page_and_fragment(app, client, world):
    checked = 0
    for endpoint, rule in GET_RULES:
        url = url_for_rule(rule, world)
        for headers in ({}, {"HX-Request": "true"}):
            resp = client.get(url, headers=headers)
            check(resp, f"{endpoint} {url} {headers}")
            checked += 1
    anonymous = app.test_client()
    for endpoint, rule in GET_RULES:
        check(anonymous.get(url_for_rule(rule, world)), f"anonymous {endpoint}")
        checked += 1
    print(f"headers: {checked} responses over {len(GET_RULES)} GET routes")


def test_error_pages_and_downloads(app, client, world):
    check(client.get("/no/such/page"), "404")
    check(client.get("/no/such/page", headers={"HX-Request": "true"}), "404 fragment")
    check(client.put("/auth/login"), "405")
    check(client.post("/settings/tokens", data={}), "400 csrf")
    token = csrf_token(client, "/settings")
    big = client.post(
        "/settings/tokens", data={"name": "x" * (3 * 1024 * 1024), "csrf_token": token}
    )
    check(big, "413")
    assert big.status_code == 413
    pid, vid = world["project_id"], world["version_id"]
    for url in (
        f"/projects/{pid}/versions/{vid}/design.json",
        f"/projects/{pid}/report.pdf",
        "/admin/audit.csv",
    ):
        resp = client.get(url)
        assert resp.status_code == 200, url
        check(resp, url)
        disposition = resp.headers.get("Content-Disposition", "")
        assert disposition.startswith("attachment; filename="), (url, disposition)
        assert re.fullmatch(r'attachment; filename="[A-Za-z0-9._-]{1,120}"', disposition), (
            disposition
        )
