"""CORS only on the JSON resources (projects, versions, runs, grades, scenarios), only for
CORS_ALLOWED_ORIGINS, never with credentials; preflight answered 204."""

from __future__ import annotations

import pytest

from sdc import create_app
from sdc.extensions import db
from tests import factories
from tests.conftest import make_settings

OK = "https://tools.example.com"
EVIL = "https://evil.example.net"


@pytest.fixture
def cors_app(app, migrated, tmp_path):
    application = create_app(
        overrides={"TESTING": True},
        settings=make_settings(migrated, tmp_path / "cors", cors_allowed_origins=(OK,)),
    )
    yield application
    from sdc.services import telemetry

    telemetry.close(application)
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_allowed_origin_on_api_routes_with_a_bearer_token(cors_app):
    with cors_app.app_context():
        user = factories.make_user()
        project, _version = factories.make_project(user)
        token = factories.make_token(user)
        pid = project.id
    client = cors_app.test_client()
    headers = {"Origin": OK, "Authorization": f"Bearer {token}", "Accept": "application/json"}
    resp = client.get(f"/projects/{pid}", headers=headers)
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == OK
    assert "Access-Control-Allow-Credentials" not in resp.headers
    assert "Set-Cookie" not in resp.headers


U = "00000000-0000-4000-8000-000000000001"


@pytest.mark.parametrize("path", [f"/projects/{U}", "/scenarios/", f"/runs/{U}", f"/grades/{U}"])
def test_preflight_is_204_with_the_allowed_methods_and_headers(cors_app, path):
    resp = cors_app.test_client().options(
        path,
        headers={
            "Origin": OK,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert resp.status_code == 204 and resp.data == b""
    assert resp.headers["Access-Control-Allow-Origin"] == OK
    methods = {m.strip() for m in resp.headers["Access-Control-Allow-Methods"].split(",")}
    assert methods == {"GET", "POST", "PATCH", "DELETE"}
    allowed = {h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed == {"authorization", "content-type"}
    assert resp.headers["Access-Control-Max-Age"] == "86400"
    assert "Access-Control-Allow-Credentials" not in resp.headers


@pytest.mark.parametrize("path", [f"/projects/{U}", "/scenarios/"])
def test_other_origins_get_no_cors_headers(cors_app, path):
    client = cors_app.test_client()
    for resp in (
        client.get(path, headers={"Origin": EVIL}),
        client.options(path, headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}),
    ):
        assert not [h for h in resp.headers.keys() if h.lower().startswith("access-control-")]


@pytest.mark.parametrize("path", ["/auth/login", "/settings", "/admin/audit", "/dashboard", "/"])
def test_non_api_pages_never_get_cors_headers(cors_app, path):
    resp = cors_app.test_client().get(path, headers={"Origin": OK})
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_no_origin_configured_means_no_cors_at_all(app, client):
    resp = client.get("/scenarios/", headers={"Origin": OK})
    assert "Access-Control-Allow-Origin" not in resp.headers
