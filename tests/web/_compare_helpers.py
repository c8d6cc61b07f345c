"""Test data for compare, report and share-link tests: a project with two runnable versions."""

from __future__ import annotations

import copy

from sdc.extensions import db
from sdc.services import runs
from sdc.services.projects import new_version_from, start_project

DESIGN = {
    "format": "sdc-design/1",
    "components": [
        {"id": "users", "type": "client", "label": "Users"},
        {"id": "lb", "type": "load-balancer", "label": "LB", "replicas": 2, "azs": ["a", "b"]},
        {
            "id": "api",
            "type": "service",
            "label": "API",
            "replicas": 3,
            "azs": ["a", "b"],
            "service_time_ms": 10,
            "concurrency": 8,
        },
        {"id": "db", "type": "database", "label": "DB", "params": {"read_replicas": 1}},
    ],
    "edges": [
        {"id": "e1", "source": "users", "target": "lb"},
        {"id": "e2", "source": "lb", "target": "api"},
        {"id": "e3", "source": "api", "target": "db"},
    ],
}
TRAFFIC = {
    "baseline_rps": 200,
    "peak_multiplier": 2,
    "read_ratio": 0.8,
    "payload_kb": 2,
    "regions": {"us-east": 1.0},
    "burstiness": "steady",
    "duration_s": 10,
}


def make_pair(user, edit=None, *, title: str | None = None):
    """A project whose version 1 holds DESIGN and version 2 (child of 1) holds ``edit(copy)``."""
    project, v1 = start_project(user, "url-shortener")
    if title:
        project.title = title
    v1.design = copy.deepcopy(DESIGN)
    v1.traffic = copy.deepcopy(TRAFFIC)
    db.session.commit()
    v2 = new_version_from(user, project.id, v1.id)
    design = copy.deepcopy(DESIGN)
    if edit:
        design = edit(design) or design
    v2.design = design
    db.session.commit()
    db.session.refresh(project)
    return project, v1, v2


def run_version(user, version, engine: str = "des"):
    run, _ = runs.start_run(user, version.id, engine=engine)
    db.session.refresh(run)
    assert run.status == "completed", run.error
    return run


def add_cache(design: dict) -> dict:
    design["components"].append(
        {"id": "cache", "type": "cache", "label": "Cache", "params": {"hit_ratio": 0.9}}
    )
    design["edges"] = [e for e in design["edges"] if e["id"] != "e3"]
    design["edges"] += [
        {"id": "e4", "source": "api", "target": "cache", "ops": "read"},
        {"id": "e5", "source": "cache", "target": "db"},
        {"id": "e6", "source": "api", "target": "db", "ops": "write"},
    ]
    return design


def more_replicas(design: dict) -> dict:
    for c in design["components"]:
        if c["id"] == "api":
            c["replicas"] = 6
    return design


def fewer_replicas(design: dict) -> dict:
    for c in design["components"]:
        if c["id"] == "api":
            c["replicas"] = 1
            c["concurrency"] = 2
    return design


def pair_ids(app, user, edit=None, *, run: bool = False, title: str | None = None):
    """``make_pair`` in its own app context (requests must not share one with the setup:
    Flask-Login caches the user on ``g``). Returns ids: (project_id, v1_id, v2_id)."""
    from types import SimpleNamespace

    from sdc.models import User

    with app.app_context():
        owner = db.session.get(User, user.id)
        project, v1, v2 = make_pair(owner, edit, title=title)
        if run:
            run_version(owner, v1)
            run_version(owner, v2)
        return SimpleNamespace(project=project.id, v1=v1.id, v2=v2.id)
