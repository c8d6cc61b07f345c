"""The grader's analytic fast path equals simulate(); the sweep's degradation rules."""

from __future__ import annotations

import pytest

from sdc.core.grading.fast import simulate_fast
from sdc.core.grading.grader import scenario_dict
from sdc.core.grading.measure import Runner
from sdc.core.grading.sweep import degrade, failure_list, lost_instances, share_within
from sdc.core.simulation import simulate

from .helpers import TRAFFIC, basic, comp, design, edge, reference


@pytest.mark.parametrize(
    "slug,level",
    [
        ("twitter-feed", "middling"),
        ("ride-matching", "strong"),
        ("url-shortener", "weak"),
        ("video-upload-processing", "middling"),
    ],
)
def test_fast_path_matches_simulate(slug, level):
    doc, traffic = reference(slug, level), scenario_dict(slug)["traffic"]
    a, b = simulate(doc, traffic), simulate_fast(doc, traffic)
    for k in (
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "error_rate",
        "capacity_rps",
        "throughput_rps",
        "saturated",
    ):
        assert a["metrics"][k] == b["metrics"][k], k
    for x, y in zip(a["components"], b["components"], strict=True):
        for k in ("arrival_rps", "offered_utilization", "capacity_rps", "backlog_note"):
            assert x.get(k) == y.get(k), (x["id"], k)
    assert a["bottlenecks"] == b["bottlenecks"] and a["warnings"] == b["warnings"]


def test_routers_route_around_a_dead_branch():
    doc = design(
        [
            comp("users", "client"),
            comp("lb", "load-balancer", replicas=2, azs=["a", "b"]),
            comp("api1", "service"),
            comp("api2", "service"),
        ],
        [edge("users", "lb"), edge("lb", "api1"), edge("lb", "api2")],
    )
    runner = Runner(TRAFFIC, 0)
    paths = runner.paths(doc)
    f = {"mode": "node-down", "component_id": "api1", "replicas": 1}
    bad, dead = degrade(doc, paths, lost_instances(paths, f))
    assert dead == ["api1"] and all(e["target"] != "api1" for e in bad["edges"])
    assert simulate(bad, TRAFFIC)["metrics"]["error_rate"] == 0


def test_a_dead_hop_fails_its_requests_and_az_loss_removes_instances():
    doc = basic(replicas=2, azs=("a", "b"))
    runner = Runner(TRAFFIC, 0)
    paths = runner.paths(doc)
    fails = failure_list(paths)
    assert {f["mode"] for f in fails} == {"node-down", "az-down"}
    az = {"mode": "az-down", "region": "us-east", "az": "a"}
    bad, dead = degrade(doc, paths, lost_instances(paths, az))
    assert dead == [] and all(c.get("replicas", 1) == 1 for c in bad["components"][1:])
    single = basic(replicas=1, azs=("a",))
    p1 = Runner(TRAFFIC, 0).paths(single)
    bad, dead = degrade(single, p1, lost_instances(p1, {"mode": "node-down", "component_id": "db"}))
    assert dead == ["db"] and simulate(bad, TRAFFIC)["metrics"]["error_rate"] == 1.0


def test_share_within_is_monotone_in_the_threshold():
    m = {"error_rate": 0.1, "p50_ms": 10.0, "p95_ms": 50.0, "p99_ms": 90.0}
    xs = [share_within(m, t) for t in (1, 5, 10, 30, 50, 70, 90, 200, 1000)]
    assert xs == sorted(xs) and xs[-1] <= 0.9 + 1e-9 and abs(xs[2] - 0.45) < 1e-9
    assert share_within({"error_rate": None}, 100) == 0.0
