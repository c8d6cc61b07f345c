"""Each failure mode against an expected value; each traffic field moves the result the right way."""

from __future__ import annotations

import pytest

from sdc.core.simulation import (
    FAILURE_MODES,
    InvalidDesign,
    parse_failure_arg,
    simulate,
    validate_failure,
)

from .helpers import des, design

TRAFFIC = {
    "baseline_rps": 1000,
    "peak_multiplier": 1,
    "read_ratio": 0.9,
    "payload_kb": 4,
    "regions": {"us-east": 1.0},
    "burstiness": "steady",
    "duration_s": 40,
}


def web(api_replicas=3, azs=("a", "b", "c"), hit=0.9, timeout=None, region="us-east"):
    db = {
        "id": "db",
        "type": "database",
        "region": region,
        "azs": list(azs),
        "params": {"read_replicas": 1},
    }
    if timeout:
        db["timeout_ms"] = timeout
    return design(
        [
            {"id": "users", "type": "client"},
            {
                "id": "lb",
                "type": "load-balancer",
                "replicas": 2,
                "azs": list(azs),
                "region": region,
            },
            {
                "id": "api",
                "type": "service",
                "replicas": api_replicas,
                "azs": list(azs),
                "service_time_ms": 5,
                "concurrency": 8,
                "region": region,
            },
            {
                "id": "cache",
                "type": "cache",
                "params": {"hit_ratio": hit},
                "replicas": 2,
                "azs": list(azs),
                "region": region,
            },
            db,
        ],
        [
            {"id": "e1", "source": "users", "target": "lb"},
            {"id": "e2", "source": "lb", "target": "api"},
            {"id": "e3", "source": "api", "target": "cache", "ops": "read"},
            {"id": "e4", "source": "api", "target": "db"},
        ],
        TRAFFIC,
    )


def _mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs)


def test_node_down_one_of_three_loses_a_third_until_detected():
    r = des(
        web(),
        failures=[
            {"mode": "node-down", "component_id": "api", "replicas": 1, "at_s": 10, "for_s": 20}
        ],
        seed=1,
    )
    er = r["series"]["error_rate"]
    assert _mean(er[:9]) == 0
    assert _mean(er[10:15]) == pytest.approx(1 / 3, abs=0.03)  # 5 s detection delay
    assert _mean(er[16:30]) == 0  # the two others have the capacity
    b = r["blast_radius"]
    assert b["time_to_detect_s"] == 5
    assert any(c["component_id"] == "api" for c in b["impacted_components"])
    assert b["failed_share"] == pytest.approx(1 / 3 * 5 / 20, abs=0.02)
    titles = [e["title"] for e in r["timeline"]]
    assert "error rate crossed 1%" in titles and any("injected" in t for t in titles)
    api = next(c for c in r["components"] if c["id"] == "api")
    assert api["replicas_up_min"] == 2 and api["replicas_up"] == 3


def test_node_down_all_replicas_fails_everything_until_back():
    r = des(
        web(api_replicas=2),
        failures=[{"mode": "node-down", "component_id": "api", "at_s": 10, "for_s": 10}],
        seed=2,
    )
    er = r["series"]["error_rate"]
    assert _mean(er[11:19]) == pytest.approx(1.0, abs=0.01)
    assert _mean(er[26:]) == 0  # back after for_s plus the detection delay
    assert r["blast_radius"]["recovered"] is True


def test_az_down_loses_the_zone_share_during_detection():
    r = des(
        web(api_replicas=2, azs=("a", "b")),
        failures=[{"mode": "az-down", "region": "us-east", "az": "a", "at_s": 10}],
        seed=3,
    )
    er = r["series"]["error_rate"]
    # lb, api, cache and db each lose the replicas in zone a; api: 1 of 2 -> about half
    assert _mean(er[10:15]) > 0.45
    # after detection: the only database primary was in zone a, so writes (10%) fail
    assert _mean(er[17:]) == pytest.approx(0.1, abs=0.01)
    db = next(c for c in r["components"] if c["id"] == "db")
    assert db["replicas_up"] == 1


def test_region_down_fails_all_requests_of_a_single_region_design():
    r = des(web(), failures=[{"mode": "region-down", "region": "us-east", "at_s": 10}], seed=4)
    assert _mean(r["series"]["error_rate"][11:]) == pytest.approx(1.0, abs=0.001)
    assert r["blast_radius"]["failed_share"] > 0.99


def test_dependency_lag_adds_the_lag_then_timeouts_fire():
    base = des(web(), seed=5)["metrics"]["mean_ms"]
    r = des(
        web(),
        failures=[
            {"mode": "dependency-lag", "component_id": "db", "lag_ms": 200, "at_s": 10, "for_s": 20}
        ],
        seed=5,
    )
    p = r["series"]["p95_ms"]
    assert _mean(p[12:28]) > 200  # every request calls db (writes and cache-aside misses)
    lagged = r["blast_radius"]
    assert lagged["failed_share"] == 0
    r2 = des(
        web(timeout=100),
        failures=[
            {"mode": "dependency-lag", "component_id": "db", "lag_ms": 200, "at_s": 10, "for_s": 20}
        ],
        seed=5,
    )
    # reads that hit the cache (90% x 90%) skip db; the rest time out
    assert _mean(r2["series"]["error_rate"][11:29]) == pytest.approx(1 - 0.9 * 0.9, abs=0.02)
    assert base < 100


def test_traffic_surge_multiplies_offered_rate():
    r = des(
        web(),
        failures=[{"mode": "traffic-surge", "multiplier": 3, "at_s": 10, "for_s": 10}],
        seed=6,
    )
    off = r["series"]["offered_rps"]
    assert _mean(off[10:20]) == pytest.approx(3000, rel=0.03)
    assert _mean(off[25:]) == pytest.approx(1000, rel=0.05)


def test_cache_cold_sends_reads_to_the_store_then_warms():
    r = des(
        web(),
        failures=[{"mode": "cache-cold", "component_id": "cache", "warm_s": 20, "at_s": 10}],
        seed=7,
    )
    db = r["series"]["components"]["db"]["arrival_rps"]
    # before: writes 100 + reads that miss 900 x 0.1 = 190 rps; cold: 100 + 900 = 1000
    assert _mean(db[2:10]) == pytest.approx(190, rel=0.1)
    assert db[10] == pytest.approx(1000 - 900 * 0.9 * 0.025, rel=0.1)
    assert _mean(db[32:]) == pytest.approx(190, rel=0.1)


def test_failure_specs_parse_and_validate():
    assert parse_failure_arg("node-down:api,replicas=1,at_s=10,for_s=20") == {
        "mode": "node-down",
        "component_id": "api",
        "replicas": 1,
        "at_s": 10,
        "for_s": 20,
    }
    assert parse_failure_arg("az-down:us-east,a")["az"] == "a"
    assert parse_failure_arg("traffic-surge:3")["multiplier"] == 3
    for bad in ("", "explode:api", "dependency-lag:pg", "node-down:api,x,y,z"):
        with pytest.raises(ValueError):
            parse_failure_arg(bad)
    assert validate_failure({"mode": "node-down"})[0].path == "failure.component_id"
    assert set(FAILURE_MODES) == {
        "node-down",
        "az-down",
        "region-down",
        "dependency-lag",
        "traffic-surge",
        "cache-cold",
    }
    with pytest.raises(InvalidDesign) as e:
        simulate(web(), engine="des", failures=[{"mode": "node-down", "component_id": "x"}])
    assert e.value.problems[0].path == "failures[0].component_id"
    with pytest.raises(InvalidDesign):
        simulate(web(), failures=[{"mode": "traffic-surge", "multiplier": 2}])


# --- traffic fields move the result the right way ------------------------------------------
def _analytic(doc, **changes):
    return simulate(doc, {**TRAFFIC, **changes})["metrics"]


def test_read_ratio_with_a_cache_lowers_latency():
    doc = web()
    assert _analytic(doc, read_ratio=0.99)["mean_ms"] < _analytic(doc, read_ratio=0.5)["mean_ms"]


def test_region_shares_far_users_are_slower():
    doc = web()
    near = _analytic(doc, regions={"us-east": 1.0})["mean_ms"]
    far = _analytic(doc, regions={"us-east": 0.2, "apac": 0.8})["mean_ms"]
    assert far > near + 2 * 85 * 0.8 * 0.9  # two crossings of the us-east/apac link


def test_payload_adds_transfer_time():
    doc = web()
    assert _analytic(doc, payload_kb=512)["mean_ms"] > _analytic(doc, payload_kb=1)["mean_ms"] + 50


def test_peak_multiplier_raises_utilisation_and_latency():
    doc = web()
    lo = simulate(doc, {**TRAFFIC, "peak_multiplier": 1})
    hi = simulate(doc, {**TRAFFIC, "peak_multiplier": 4})
    api = [next(c for c in r["components"] if c["id"] == "api") for r in (lo, hi)]
    assert api[1]["utilization"] == pytest.approx(4 * api[0]["utilization"], rel=1e-6)
    assert hi["metrics"]["p95_ms"] > lo["metrics"]["p95_ms"]


def test_burstiness_raises_p95_at_equal_mean_rate():
    doc = design(
        [
            {"id": "u", "type": "client"},
            {
                "id": "s",
                "type": "service",
                "concurrency": 4,
                "service_time_ms": 2,
                "queue_limit": None,
            },
        ],
        [{"id": "e", "source": "u", "target": "s"}],
    )
    t = {**TRAFFIC, "baseline_rps": 1200, "duration_s": 120}
    steady = des(doc, t, seed=9)["metrics"]
    spiky = des(doc, {**t, "burstiness": "spiky"}, seed=9)["metrics"]
    assert spiky["offered_rps"] == pytest.approx(steady["offered_rps"], rel=0.1)
    assert spiky["p95_ms"] > steady["p95_ms"] * 1.2
    t2 = {**t, "baseline_rps": 300}
    assert (
        _analytic(doc, **{**t2, "burstiness": "extreme"})["p95_ms"] > _analytic(doc, **t2)["p95_ms"]
    )
