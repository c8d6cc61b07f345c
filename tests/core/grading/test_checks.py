"""Requirement checks on hand-built designs: only request-path components count."""

from __future__ import annotations

from sdc.core.grading import grade

from .helpers import basic, comp, design, edge, req, requirement, scenario


def _one(doc, *reqs, traffic=None):
    return grade(doc, scenario(list(reqs), traffic))


def test_unwired_cache_earns_nothing_and_wired_cache_passes():
    doc = basic()
    doc["components"].append(comp("cache", "cache", params={"hit_ratio": 0.95}))
    r = _one(doc, req("rc", "read-cache", min_hit_ratio=0.8))
    assert not requirement(r, "rc")["passed"]
    doc["edges"].append(edge("api", "cache", ops="read"))  # cache-aside
    r = _one(doc, req("rc", "read-cache", min_hit_ratio=0.8))
    assert requirement(r, "rc")["passed"]


def test_layered_caches_combine_and_types_are_respected():
    doc = basic()
    doc["components"].insert(1, comp("cdn", "cdn", params={"hit_ratio": 0.5}))
    doc["edges"] = [edge("users", "cdn"), edge("cdn", "lb")] + doc["edges"][1:]
    doc["components"].append(comp("cache", "cache", params={"hit_ratio": 0.6}))
    doc["edges"].append(edge("api", "cache", ops="read"))
    r = _one(
        doc,
        req("both", "read-cache", min_hit_ratio=0.8),  # 0.5 + 0.5 * 0.6 = 0.8
        req("cdn-only", "read-cache", min_hit_ratio=0.8, component_types=["cdn"]),
    )
    assert requirement(r, "both")["passed"]
    assert not requirement(r, "cdn-only")["passed"]


def test_writes_reach_a_database_through_a_queue_and_async_write():
    doc = design(
        [
            comp("users", "client"),
            comp("api", "service"),
            comp("q", "queue"),
            comp("w", "worker"),
            comp("db", "database"),
            comp("blobs", "object-store"),
        ],
        [
            edge("users", "api"),
            edge("api", "q", ops="write"),
            edge("q", "w"),
            edge("w", "db"),
            edge("api", "db", ops="read"),
        ],
    )
    r = _one(
        doc,
        req("durable", "write-reaches", component_type="database"),
        req("blob", "write-reaches", component_type="object-store"),
        req("async", "async-write"),
        req("reads", "read-reaches", component_type="database"),
    )
    assert requirement(r, "durable")["passed"]
    assert not requirement(r, "blob")["passed"]  # an unwired object store does not count
    assert requirement(r, "async")["passed"]
    assert requirement(r, "reads")["passed"]


def test_entry_router_multi_az_no_spof_and_read_replicas():
    direct = design(
        [comp("users", "client"), comp("api", "service"), comp("db", "database")],
        [edge("users", "api"), edge("api", "db")],
    )
    checks = (
        req("entry", "entry-router"),
        req("maz", "multi-az"),
        req("spof", "no-spof"),
        req("rr", "read-replicas", min=1),
    )
    r = _one(direct, *checks)
    assert not any(requirement(r, x)["passed"] for x in ("entry", "maz", "spof", "rr"))
    good = basic()
    good["components"][3]["params"] = {"read_replicas": 1}
    r = _one(good, *checks)
    assert all(requirement(r, x)["passed"] for x in ("entry", "maz", "spof", "rr"))


def test_survives_az_down_latency_and_surge():
    checks = (
        req("az", "survives-az-down"),
        req("p95", "latency-slo", percentile="p95"),
        req("surge", "surge", multiplier=2),
        req("surge3", "surge", multiplier=3),
    )
    one_az = basic(replicas=2, azs=("a",))
    r = _one(one_az, *checks)
    assert not requirement(r, "az")["passed"]
    assert requirement(r, "p95")["passed"] and requirement(r, "surge")["passed"]
    r = _one(basic(replicas=3, azs=("a", "b", "c")), *checks)
    assert requirement(r, "az")["passed"] and requirement(r, "surge3")["passed"]
    tiny = basic()
    tiny["components"][2].update(replicas=2, concurrency=1, service_time_ms=8)  # 250 rps
    r = _one(tiny, *checks)
    assert not requirement(r, "surge")["passed"]


def test_notes_checks():
    notes = """# Requirements
- Users can create short links and are redirected quickly.
- Links never expire and the codes must be unique.
- The service should stay available when one zone fails.
# Estimates
- Peak: 300 rps, 10% writes, 50 GB per year.
# API
- POST /links -> {code}
# Data model
- links: code (PK), url (text)
# Trade-offs
- We chose Postgres over Cassandra because the write rate is low, at the cost of sharding later.
"""
    checks = (
        req("est", "notes-estimate", quantity="peak_rps"),
        req("sec", "notes-sections", sections=["requirements", "estimates", "api"]),
        req(
            "all",
            "notes-sections",
            sections=["requirements", "estimates", "api", "data model", "trade-offs"],
        ),
    )
    r = _one(design(basic()["components"], basic()["edges"], notes), *checks)
    assert requirement(r, "est")["passed"]  # 300 vs 200: within a factor of 2
    assert requirement(r, "sec")["passed"]
    assert not requirement(r, "all")["passed"]  # one field and one trade-off are thin
    far = notes.replace("Peak: 300 rps", "Peak: 5,000 rps")
    r = _one(design(basic()["components"], basic()["edges"], far), *checks)
    assert not requirement(r, "est")["passed"]
