"""Plain ``make_*`` functions that build test data through the services (CTFd's ``gen_*``)."""

from __future__ import annotations

from sdc.extensions import db
from sdc.models import User
from sdc.services import accounts
from sdc.services.scenarios import seed_scenarios

PASSWORD = "a long passphrase for tests"


def seed_catalog() -> None:
    seed_scenarios()


def make_user(
    email: str = "user@example.com", password: str = PASSWORD, role: str = "user"
) -> User:
    user = accounts.ensure_user(email, password, role=role)
    db.session.refresh(user)
    return user


def enrol_2fa(user: User) -> str:
    """Turn TOTP two-factor on for ``user``; returns the secret (``pyotp.TOTP(secret).now()``)."""
    import pyotp

    from sdc.models import utcnow

    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    db.session.commit()
    return secret


def make_token(user: User, name: str = "tests") -> str:
    _row, plaintext = accounts.create_api_token(user, name)
    return plaintext


def make_project(user: User, slug: str = "url-shortener"):
    """A project started from scenario ``slug``: (project, version 1)."""
    from sdc.services.projects import start_project

    return start_project(user, slug)


def make_version(
    user: User,
    project,
    design: dict | None = None,
    traffic: dict | None = None,
    notes: str | None = None,
    parent=None,
):
    """A new version of ``project`` (copied from ``parent`` or the newest), optionally with
    its design, traffic or notes replaced directly (test setup, not through the edit rules)."""
    from sdc.services.projects import new_version_from

    source = parent or max(project.versions, key=lambda v: v.number)
    version = new_version_from(user, project.id, source.id)
    if design is not None:
        version.design = design
    if traffic is not None:
        version.traffic = traffic
    if notes is not None:
        version.notes = notes
    db.session.commit()
    return version


# --- simulation runs (issue 5) -----------------------------------------------------------------

RUN_DESIGN = {
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
RUN_TRAFFIC = {
    "baseline_rps": 200,
    "peak_multiplier": 2,
    "read_ratio": 0.8,
    "payload_kb": 2,
    "regions": {"us-east": 1.0},
    "burstiness": "steady",
    "duration_s": 20,
}


# Every request spends exactly 150 ms in the API (deterministic, 2 x 50 servers, 15% busy at
# 100 rps): p95 is a little over 150 ms from the first second, above url-shortener's 120 ms
# target and far below the simulator's 500 ms default SLO threshold.
SLOW_DESIGN = {
    "format": "sdc-design/1",
    "components": [
        {"id": "users", "type": "client", "label": "Users"},
        {
            "id": "api",
            "type": "service",
            "label": "API",
            "replicas": 2,
            "azs": ["a", "b"],
            "service_time_ms": 150,
            "service_dist": "deterministic",
            "concurrency": 50,
        },
    ],
    "edges": [{"id": "e1", "source": "users", "target": "api"}],
}


def make_runnable_version(user, design: dict | None = None, traffic: dict | None = None):
    """Version 1 of a new url-shortener project holding a small runnable design (2 AZs)."""
    import copy

    _project, version = make_project(user)
    version.design = copy.deepcopy(design or RUN_DESIGN)
    version.traffic = copy.deepcopy(traffic or RUN_TRAFFIC)
    db.session.commit()
    return version


def make_run(
    user,
    version=None,
    *,
    engine: str = "des",
    seed: int | None = None,
    failures: list | None = None,
    baseline=None,
):
    """A run through ``runs.start_run`` (completes at once when Huey is immediate)."""
    from sdc.services import runs

    if baseline is not None:
        run, _ = runs.start_run(user, None, baseline_run_id=baseline.id, failures=failures)
    else:
        version = version or make_runnable_version(user)
        run, _ = runs.start_run(user, version.id, engine=engine, seed=seed)
    db.session.refresh(run)
    return run


def refill_by_migration(model, column: str, filename: str) -> int:
    """Empty ``column`` of every ``model`` row, as rows stored before the data migration
    ``migrations/versions/<filename>`` had it, run that migration's ``fill`` and return what it
    returns (the rows it filled); the session then reads the rows afresh."""
    import importlib.util
    from pathlib import Path

    from sqlalchemy import update

    db.session.execute(update(model).values({column: None}))
    db.session.commit()
    path = Path(__file__).resolve().parents[1] / "migrations" / "versions" / filename
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with db.engine.begin() as conn:
        filled = migration.fill(conn)
    db.session.expire_all()
    return filled
