"""Documents that must match the code: the authorization review matrix and the runbook's
references."""

from __future__ import annotations

from pathlib import Path

from sdc import create_app
from sdc.settings import load_settings
from sdc.tools import authz_matrix
from sdc.web.access import access_of

ROOT = Path(__file__).resolve().parent.parent


def _app(tmp_path):
    return create_app(
        settings=load_settings(
            {
                "SECRET_KEY": "x",
                "SDC_ENV": "test",
                "DATABASE_URL": "sqlite://",
                "SDC_INSTANCE_DIR": str(tmp_path),
            }
        )
    )


def test_authz_matrix_is_up_to_date(tmp_path):
    expected = authz_matrix.render(_app(tmp_path))
    committed = (ROOT / "docs" / "authz-review-matrix.md").read_text()
    assert committed == expected, (
        "docs/authz-review-matrix.md is stale: run `python -m sdc.tools.authz_matrix` "
        "and review the diff"
    )


def test_every_admin_route_is_declared_admin(tmp_path):
    app = _app(tmp_path)
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            level, source = access_of(app.view_functions[rule.endpoint], set(rule.arguments))
            assert (level, source) == ("admin", "declared"), rule.rule


def test_documents_exist():
    for name in (
        "runbook.md",
        "incident-response.md",
        "authz-review-matrix.md",
        "observability-dashboard.md",
        "beta-readiness.md",
    ):
        text = (ROOT / "docs" / name).read_text()
        assert len(text) > 500, name
