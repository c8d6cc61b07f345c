"""Honest numbers: withheld percentiles, overload named with its size, suggestions that
actually reach the target, a timeline read off the series, blast radius per entry path."""

from __future__ import annotations

import math
import re

import pytest

from sdc.core.simulation import simulate

from .helpers import des, design, single_station

TRAFFIC = {
    "baseline_rps": 1000,
    "peak_multiplier": 1,
    "read_ratio": 0.8,
    "payload_kb": 1,
    "regions": {"us-east": 1.0},
    "duration_s": 40,
}


def rows(result):
    return {c["id"]: c for c in result["components"]}


def test_percentiles_are_withheld_with_a_reason_when_too_few_requests_completed():
    # ~2 rps for 40 s: about 80 requests; p50 needs 20, p95 200, p99 1,000
    doc = single_station(c=4, rps=2)
    r = des(doc, seed=1, duration_s=40)  # Little's law and flow conservation asserted too
    m = r["metrics"]
    n = m["flow"]["completed"]
    assert 40 < n < 200
    assert m["p50_ms"] is not None and m["mean_ms"] is not None
    assert m["p95_ms"] is None and m["p99_ms"] is None
    assert m["withheld"]["p95_ms"] == f"only {n} requests completed; 200 are needed"
    assert "1000 are needed" in m["withheld"]["p99_ms"]
    svc = rows(r)["svc"]
    assert (
        svc["p95_sojourn_ms"] is None
        and "requests were served here" in svc["withheld"]["p95_sojourn_ms"]
    )
    # no confidence interval either: 20 batch means need at least 1,000 requests
    assert m.get("mean_ms_ci") is None


@pytest.mark.parametrize("engine", ["analytic", "des"])
def test_overloaded_design_names_the_component_and_by_how_much(engine):
    # one server, 10 ms, offered 150 rps: 1.5x what it can serve, queue unbounded
    r = simulate(single_station(c=1, service_ms=10, rps=150), engine=engine, seed=2)
    m = r["metrics"]
    assert m["saturated"] is True
    for k in ("mean_ms", "p50_ms", "p95_ms", "p99_ms"):
        assert m[k] is None
        why = m["withheld"][k]
        ratio = float(re.search(r"svc is offered ([0-9.]+)x what it can serve", why).group(1))
        # analytic: exactly 1.50; DES: the measured arrival rate (Poisson, ~3,000 requests)
        assert ratio == pytest.approx(1.5, abs=0.005 if engine == "analytic" else 0.04)
    b = r["bottlenecks"][0]
    assert b["component_id"] == "svc" and b["severity"] == "critical"
    assert re.search(r"\((4[7-9]|5[0-3])% over capacity\)", b["reason"])
    # ceil(1 x 1.5 / 0.7) = 3 replicas
    assert b["suggestion"].startswith("add 2 replicas (to 3) to reach utilisation 0.7")
    assert m["capacity_rps"] == pytest.approx(100.0)


def _db_design(read_replicas=0, read_ratio=0.9, rps=1000):
    return design(
        [
            {"id": "users", "type": "client"},
            {
                "id": "db",
                "type": "database",
                "service_time_ms": 4,
                "concurrency": 4,
                "params": {"read_replicas": read_replicas},
            },
        ],
        [{"id": "e", "source": "users", "target": "db"}],
        {**TRAFFIC, "baseline_rps": rps, "read_ratio": read_ratio},
    )


def test_database_suggestion_counts_the_writes_that_stay_on_the_primary():
    # 1,000 rps x 4 ms / 4 connections = utilisation 1.0; 90% reads
    doc = _db_design()
    b = simulate(doc)["bottlenecks"][0]
    assert b["component_id"] == "db" and b["offered_utilization"] == pytest.approx(1.0)
    # primary after n copies: (0.1 + 0.9 / n) x 1.0 <= 0.7  ->  n >= 1.5, so 2 copies
    assert b["suggestion"].startswith("add 1 read replica (to 1)")
    fixed = simulate(_db_design(read_replicas=1))
    assert rows(fixed)["db"]["offered_utilization"] <= 0.7
    assert simulate(_db_design(read_replicas=0, rps=1400))["bottlenecks"][0][
        "suggestion"
    ].startswith("add 2 read replicas (to 2)")  # (0.1 + 0.9/2) x 1.4 = 0.77 is not enough
    # mostly writes: read replicas cannot help, and the suggestion says so
    writes = simulate(_db_design(read_ratio=0.2))["bottlenecks"][0]
    assert writes["suggestion"].startswith("writes alone keep each primary at utilisation 0.80")


def _overload_on_failure():
    """3 api replicas at utilisation 0.6; losing two leaves one at 1.8 for 10 s."""
    return design(
        [
            {"id": "users", "type": "client"},
            {"id": "lb", "type": "load-balancer", "replicas": 2},
            {
                "id": "api",
                "type": "service",
                "replicas": 3,
                "concurrency": 4,
                "service_time_ms": 7.2,
                "queue_limit": None,
            },
        ],
        [
            {"id": "e1", "source": "users", "target": "lb"},
            {"id": "e2", "source": "lb", "target": "api"},
        ],
        TRAFFIC,
    )


def test_timeline_events_are_read_off_the_series():
    fail = {"mode": "node-down", "component_id": "api", "replicas": 2, "at_s": 10, "for_s": 10}
    r = des(_overload_on_failure(), failures=[fail], seed=3)
    s = r["series"]
    ev = {e["title"]: e for e in r["timeline"]}
    slo = r["metrics"]["slo_ms"]
    first = lambda xs, test: next(k for k, x in enumerate(xs) if x is not None and test(x))  # noqa: E731
    assert ev["failure injected: node-down api"]["t_s"] == 10
    assert ev["health checks detect the failure"]["t_s"] == 15
    assert ev["failure ends: node-down api"]["t_s"] == 20
    # errors: two thirds of the requests hit dead replicas until detection
    assert ev["error rate crossed 1%"]["t_s"] == first(s["error_rate"], lambda x: x > 0.01) == 10
    assert ev["error rate back under 1%"]["t_s"] == 15
    # after detection the survivor is offered 1.8x its capacity: saturated, p95 past the SLO
    busy = s["components"]["api"]["utilization"]
    sat = ev["api saturated"]
    assert sat["t_s"] == first(busy, lambda x: x >= 0.95) and 15 <= sat["t_s"] <= 16
    assert sat["component_id"] == "api"
    slo_breach = int(ev["p95 latency above the SLO"]["t_s"])
    assert slo_breach == first(s["p95_ms"], lambda x: x > slo) and 15 <= slo_breach < 20
    # the survivor stays saturated until the recovered replicas get traffic again (20 + 5 s)
    assert (
        ev["api back under 95% utilisation"]["t_s"]
        == first(busy[int(sat["t_s"]) :], lambda x: x < 0.95) + sat["t_s"]
        == 25
    )
    # the backlog built in those 10 s has not drained by the end: no "back within SLO" event
    assert all(p > slo for p in s["p95_ms"][slo_breach:])
    assert "p95 latency back within SLO" not in ev
    assert [e["t_s"] for e in r["timeline"]] == sorted(e["t_s"] for e in r["timeline"])
    # the same design without a failure has an empty timeline: nothing is scripted
    assert des(_overload_on_failure(), seed=3)["timeline"] == []


def test_blast_radius_per_entry_path_and_time_to_recover():
    doc = design(
        [
            {"id": "users", "type": "client"},
            {"id": "lb", "type": "load-balancer", "replicas": 2},
            {"id": "reader", "type": "service", "replicas": 2},
            {"id": "writer", "type": "service", "replicas": 2},
        ],
        [
            {"id": "e1", "source": "users", "target": "lb"},
            {"id": "e2", "source": "lb", "target": "reader", "ops": "read"},
            {"id": "e3", "source": "lb", "target": "writer", "ops": "write"},
        ],
        TRAFFIC,
    )
    fail = {"mode": "node-down", "component_id": "writer", "at_s": 10, "for_s": 10}
    b = des(doc, failures=[fail], seed=4)["blast_radius"]
    paths = {p["path"]: p for p in b["by_path"]}
    assert paths["users write"]["failed_share"] == pytest.approx(1.0)  # no other way to write
    assert paths["users read"]["failed_share"] == 0 and paths["users read"]["slow_share"] == 0
    assert b["failed_share"] == pytest.approx(0.2, abs=0.015)  # the write share
    assert [c["component_id"] for c in b["impacted_components"]] == ["writer"]
    assert b["window_s"] == [10.0, 20.0]
    # back at 20 s, but the routers only send to it again after the 5 s detection delay
    assert b["recovered"] is True and b["recovered_at_s"] == pytest.approx(25, abs=1)
    assert b["time_to_recover_s"] == pytest.approx(15, abs=1)


def test_confidence_interval_width_shrinks_like_one_over_root_n():
    doc = single_station(c=4, service_ms=1, rps=3200)
    short = des(doc, seed=9, duration_s=15)["metrics"]
    long = des(doc, seed=9, duration_s=60)["metrics"]
    w = [m["mean_ms_ci"][1] - m["mean_ms_ci"][0] for m in (short, long)]
    # four times the requests: about half the width (batch means are noisy: 0.3-0.8)
    assert 0.3 < w[1] / w[0] < 0.8
    assert long["p95_ms_ci"][0] < long["p95_ms"] < long["p95_ms_ci"][1]
    assert math.isfinite(w[1])


def test_bursty_bottleneck_reports_the_burst_rate_and_the_true_capacity():
    # 4 servers x 10 ms = 400 rps; spiky traffic: 200 rps on average, bursts at 2.5x = 500
    doc = single_station(c=4, service_ms=10, rps=200)
    r = simulate(doc, {**doc["traffic"], "burstiness": "spiky"})
    svc = rows(r)["svc"]
    assert svc["capacity_rps"] == pytest.approx(400, rel=1e-9)  # not 200 / 1.25
    assert svc["offered_utilization"] == pytest.approx(1.25, rel=1e-9)
    b = r["bottlenecks"][0]
    assert b["reason"] == (
        "svc runs at utilisation 1.25 (25% over capacity): it is offered 500 rps in traffic "
        "bursts (200 rps on average) and can serve about 400 rps"
    )
    steady = simulate(doc)["bottlenecks"]  # 0.5 on average: not a bottleneck at all
    assert steady == []
