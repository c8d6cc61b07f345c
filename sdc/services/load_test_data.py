"""Test data for the load test (``sdc seed --load-test N``): accounts, API tokens and projects.

Each load-test account owns one url-shortener project whose version 1 holds the example design
(``docs/examples/url-shortener.json``, the demo design when the docs are not installed). One
admin account reads the audit log. The data is written through the same services the app uses,
so it is valid by construction. Re-running reuses the accounts and projects, resets each
design to the example and issues fresh tokens (plaintexts are shown once and never stored).
"""

from __future__ import annotations

import json

from sqlalchemy import select

from sdc.extensions import db
from sdc.models import Project, Version
from sdc.services import accounts
from sdc.services.projects import start_project
from sdc.services.scenarios import get_scenario
from sdc.services.versions import import_document
from sdc.settings import ROOT_DIR

SLUG = "url-shortener"
EMAIL = "loadtest-{:03d}@example.com"
ADMIN_EMAIL = "loadtest-admin@example.com"
# Throwaway local accounts: the password is derived from the index so the locustfile can sign in.
PASSWORD = "load-test-only-password-{:03d}"
EXAMPLE = ROOT_DIR / "docs" / "examples" / "url-shortener.json"
MAX_USERS = 500


def example_document() -> dict:
    if EXAMPLE.exists():
        return json.loads(EXAMPLE.read_text(encoding="utf-8"))
    from sdc.services.demo import demo_design

    return demo_design()


def _project_of(user) -> tuple[Project, Version]:
    scenario = get_scenario(SLUG)
    project = db.session.scalar(
        select(Project)
        .where(Project.owner_id == user.id, Project.scenario_id == scenario.id)
        .order_by(Project.created_at)
        .limit(1)
    )
    if project is None:
        return start_project(user, SLUG)
    version = db.session.scalar(
        select(Version).where(Version.project_id == project.id).order_by(Version.number).limit(1)
    )
    return project, version


def seed_load_test(count: int) -> dict:
    """Create or refresh ``count`` load-test accounts; returns the data the locustfile reads:
    ``{"users": [{email, password, token, project_id, version_id, revision, component_ids}],
    "admin": {email, password}, "design": <example document>}``."""
    if not 1 <= count <= MAX_USERS:
        raise ValueError(f"count must be between 1 and {MAX_USERS}")
    doc = example_document()
    users = []
    for i in range(count):
        password = PASSWORD.format(i)
        user = accounts.ensure_user(EMAIL.format(i), password)
        _row, token = accounts.create_api_token(user, "load test")
        project, version = _project_of(user)
        version = import_document(user, project.id, version.id, version.revision, doc)
        users.append(
            {
                "email": user.email,
                "password": password,
                "token": token,
                "project_id": str(project.id),
                "version_id": str(version.id),
                "revision": version.revision,
                "component_ids": [c["id"] for c in version.design.get("components", [])],
            }
        )
    admin_password = "load-test-only-admin-password"
    admin = accounts.ensure_user(ADMIN_EMAIL, admin_password, role="admin")
    return {
        "slug": SLUG,
        "users": users,
        "admin": {"email": admin.email, "password": admin_password},
        "design": doc,
    }
