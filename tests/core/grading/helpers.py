"""Shared builders for the grader tests (no app, no database)."""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

from sdc.core.catalog import load_catalog
from sdc.core.grading import grade

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "docs" / "examples" / "grading"
# Every scenario of the catalog has strong / middling / weak reference designs.
SCENARIOS = tuple(sorted(s.slug for s in load_catalog()))
LEVELS = ("strong", "middling", "weak")


def reference(slug: str, level: str) -> dict:
    return json.loads((EXAMPLES / slug / f"{level}.json").read_text("utf-8"))


@lru_cache(maxsize=64)
def _graded(slug: str, level: str) -> str:
    return json.dumps(grade(reference(slug, level), slug), sort_keys=True)


def graded(slug: str, level: str) -> dict:
    """The report of a reference design (cached per test process)."""
    return json.loads(_graded(slug, level))


def category(report: dict, key: str) -> float:
    return next(c["score"] for c in report["categories"] if c["key"] == key)


TRAFFIC = {
    "baseline_rps": 200,
    "peak_multiplier": 1,
    "read_ratio": 0.8,
    "payload_kb": 1,
    "regions": {"us-east": 1.0},
    "burstiness": "steady",
    "duration_s": 60,
}
SLOS = {"p95_ms": 200, "p99_ms": 400, "availability": 0.999, "max_error_rate": 0.01}


def scenario(requirements: list, traffic: dict | None = None) -> dict:
    """A small in-memory scenario: light steady traffic, loose SLOs."""
    return {
        "slug": "test",
        "traffic": dict(traffic or TRAFFIC),
        "slos": dict(SLOS),
        "requirements": requirements,
    }


def req(rid: str, ctype: str, **params) -> dict:
    return {"id": rid, "kind": "functional", "text": rid, "check": {"type": ctype, **params}}


def comp(cid: str, ctype: str, **kw) -> dict:
    return {"id": cid, "type": ctype, **kw}


def edge(s: str, t: str, **kw) -> dict:
    return {"id": f"{s}-{t}-{kw.get('ops', 'all')}", "source": s, "target": t, **kw}


def design(components: list, edges: list, notes: str | None = None) -> dict:
    d = {
        "format": "sdc-design/1",
        "components": copy.deepcopy(components),
        "edges": copy.deepcopy(edges),
    }
    if notes is not None:
        d["notes"] = notes
    return d


def basic(replicas: int = 2, azs=("a", "b")) -> dict:
    """users -> lb -> api -> db, every hop with `replicas` over `azs`."""
    kw = {"replicas": replicas, "azs": list(azs)}
    return design(
        [
            comp("users", "client"),
            comp("lb", "load-balancer", **kw),
            comp("api", "service", **kw),
            comp("db", "database", **kw),
        ],
        [edge("users", "lb"), edge("lb", "api"), edge("api", "db")],
    )


def requirement(report: dict, rid: str) -> dict:
    return next(r for r in report["requirements"] if r["id"] == rid)
