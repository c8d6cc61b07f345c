"""The routes of a freshly built app, for tests that must cover every route."""

from __future__ import annotations

import tempfile
import uuid
from functools import lru_cache

from sdc import create_app
from sdc.settings import load_settings

SAFE = {"GET", "HEAD", "OPTIONS"}
# Written by the request hooks themselves, whatever the outcome.
SKIP_TABLES = {"audit_logs", "request_telemetry", "job_telemetry"}


@lru_cache(maxsize=1)
def _app():
    return create_app(
        settings=load_settings(
            {
                "SECRET_KEY": "x",
                "SDC_ENV": "test",
                "DATABASE_URL": "sqlite://",
                "SDC_INSTANCE_DIR": tempfile.mkdtemp(),
            }
        )
    )


def all_rules() -> list[tuple[str, set[str], str]]:
    return sorted(
        (r.endpoint, set(r.methods or ()), r.rule)
        for r in _app().url_map.iter_rules()
        if r.endpoint != "static"
    )


def mutating_rules() -> list[tuple[str, str, str]]:
    return sorted(
        (endpoint, method, rule)
        for endpoint, methods, rule in all_rules()
        for method in methods - SAFE
    )


def url_for_rule(rule: str, values: dict) -> str:
    """Fill a rule's arguments: named values first, a fresh uuid for uuid args, else "x"."""
    from werkzeug.routing import Map, Rule

    m = Map([Rule(rule, endpoint="x")])
    r = next(iter(m.iter_rules()))
    args = {}
    for name in r.arguments:
        if name in values:
            args[name] = values[name]
        elif type(r._converters[name]).__name__ == "UUIDConverter":
            args[name] = values.get("any") or uuid.uuid4()
        else:
            args[name] = "x"
    return m.bind("localhost").build("x", args)
