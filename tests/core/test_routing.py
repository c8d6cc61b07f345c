"""Routing semantics, contract section 2: one test per rule, both engines where it matters.

Expected values are computed here from the rule (arrival shares, sums, maxima, the network
constants of docs/simulation-model.md), not read back from the engine.
"""

from __future__ import annotations

import pytest

from sdc.core.simulation import simulate

from .helpers import des, design

LAM = 1000.0
TRAFFIC = {
    "baseline_rps": LAM,
    "peak_multiplier": 1,
    "read_ratio": 0.8,
    "payload_kb": 1,
    "regions": {"us-east": 1.0},
    "duration_s": 30,
}
READS, WRITES = LAM * 0.8, LAM * 0.2
# one-way network constants from docs/simulation-model.md, section 2 "Network"
LAST_MILE_MS, SAME_AZ_MS, CROSS_AZ_MS = 10.0, 0.1, 0.5


def transfer_ms(payload_kb, mbps):
    return payload_kb * 8.0 / mbps


def rows(result):
    return {c["id"]: c for c in result["components"]}


def both(doc, traffic=None, seed=1):
    """(analytic rows, des rows) of one design."""
    return rows(simulate(doc, traffic)), rows(des(doc, traffic, seed=seed))


def svc(cid, **kw):
    return {"id": cid, "type": "service", "concurrency": 64, **kw}


def edge(src, dst, **kw):
    return {"id": f"{src}-{dst}", "source": src, "target": dst, **kw}


# 1. chain ------------------------------------------------------------------------------------
def test_rule1_chain_visits_every_node_and_adds_each_sojourn():
    doc = design(
        [{"id": "u", "type": "client"}, svc("a"), svc("b"), svc("c")],
        [edge("u", "a"), edge("a", "b"), edge("b", "c")],
        TRAFFIC,
    )
    r = simulate(doc)
    comp = rows(r)
    for cid in "abc":
        assert comp[cid]["arrival_rps"] == pytest.approx(LAM)
    # end to end = sum of the sojourns + the network both ways (all in us-east, zone a)
    net = 2 * (
        LAST_MILE_MS + transfer_ms(1, 50) + 2 * (SAME_AZ_MS + transfer_ms(1, 1000))
    )  # user->a, a->b, b->c
    expected = sum(comp[c]["mean_sojourn_ms"] for c in "abc") + net
    # the end-to-end mean is a Monte Carlo over exact per-hop distributions (40,000 samples)
    assert r["metrics"]["mean_ms"] == pytest.approx(expected, rel=0.01)
    d = des(doc, seed=2)
    assert d["metrics"]["mean_ms"] == pytest.approx(expected, rel=0.03)


# 2. routers pick ONE edge by weight -------------------------------------------------------------
def test_rule2_router_picks_one_edge_by_weight():
    doc = design(
        [{"id": "u", "type": "client"}, {"id": "lb", "type": "load-balancer"}, svc("a"), svc("b")],
        [edge("u", "lb"), edge("lb", "a", weight=3), edge("lb", "b", weight=1)],
        TRAFFIC,
    )
    an, de = both(doc)
    assert an["a"]["arrival_rps"] == pytest.approx(0.75 * LAM, rel=1e-9)
    assert an["b"]["arrival_rps"] == pytest.approx(0.25 * LAM, rel=1e-9)
    # DES: a binomial split of ~30,000 requests; 4 standard deviations is about 1%
    assert de["a"]["arrival_rps"] == pytest.approx(0.75 * de["lb"]["arrival_rps"], rel=0.015)
    assert de["a"]["arrival_rps"] + de["b"]["arrival_rps"] == de["lb"]["arrival_rps"]


def test_rule2_client_shares_split_the_traffic():
    doc = design(
        [
            {"id": "web", "type": "client", "params": {"share": 3}},
            {"id": "mobile", "type": "client", "params": {"share": 1}},
            svc("a"),
            svc("b"),
        ],
        [edge("web", "a"), edge("mobile", "b")],
        TRAFFIC,
    )
    an, de = both(doc)
    assert an["a"]["arrival_rps"] == pytest.approx(0.75 * LAM, rel=1e-9)
    assert de["b"]["arrival_rps"] == pytest.approx(0.25 * LAM, rel=0.04)


# 3. caches: read-through and cache-aside ---------------------------------------------------------
def test_rule3_read_through_cache_answers_hits_and_passes_writes():
    doc = design(
        [
            {"id": "u", "type": "client"},
            svc("api"),
            {"id": "cache", "type": "cache", "params": {"hit_ratio": 0.9}},
            {"id": "db", "type": "database"},
        ],
        [edge("u", "api"), edge("api", "cache"), edge("cache", "db")],
        TRAFFIC,
    )
    an, de = both(doc)
    # every request visits the cache (writes invalidate: one service there); only misses and
    # writes reach the store
    assert an["cache"]["arrival_rps"] == pytest.approx(LAM, rel=1e-9)
    assert an["db"]["arrival_rps"] == pytest.approx(READS * 0.1 + WRITES, rel=1e-9)
    assert de["db"]["arrival_rps"] == pytest.approx(READS * 0.1 + WRITES, rel=0.05)


def test_rule3_cache_aside_reads_the_cache_first_then_the_store_on_a_miss():
    doc = design(
        [
            {"id": "u", "type": "client"},
            svc("api"),
            {"id": "cache", "type": "cache", "params": {"hit_ratio": 0.75}},
            {
                "id": "db",
                "type": "database",
                "service_time_ms": 20,
                "service_dist": "deterministic",
            },
        ],
        [edge("u", "api"), edge("api", "cache", ops="read"), edge("api", "db")],
        TRAFFIC,
    )
    an, de = both(doc)
    assert an["cache"]["arrival_rps"] == pytest.approx(READS, rel=1e-9)  # reads only
    assert an["db"]["arrival_rps"] == pytest.approx(READS * 0.25 + WRITES, rel=1e-9)
    assert de["db"]["arrival_rps"] == pytest.approx(READS * 0.25 + WRITES, rel=0.05)
    # sequential, not parallel: a read that misses pays the cache AND the 20 ms store
    read_only = {**TRAFFIC, "read_ratio": 1.0}
    hit_all = design(
        doc["components"][:2]
        + [{"id": "cache", "type": "cache", "params": {"hit_ratio": 1.0}}]
        + doc["components"][3:],
        doc["edges"],
    )
    miss_all = design(
        doc["components"][:2]
        + [{"id": "cache", "type": "cache", "params": {"hit_ratio": 0.0}}]
        + doc["components"][3:],
        doc["edges"],
    )
    no_cache = design(
        [c for c in doc["components"] if c["id"] != "cache"],
        [e for e in doc["edges"] if e["target"] != "cache"],
    )
    hop = SAME_AZ_MS + transfer_ms(1, 1000)
    for engine in ("analytic", "des"):
        kw = {"engine": engine, "seed": 8}
        hit = simulate(hit_all, read_only, **kw)
        miss = simulate(miss_all, read_only, **kw)
        bare = simulate(no_cache, read_only, **kw)
        cache_ms = rows(miss)["cache"]["mean_sojourn_ms"]
        # a hit never reaches the store; a miss pays the 20 ms store and its network on top
        assert rows(hit)["db"]["arrival_rps"] == 0
        gap = miss["metrics"]["mean_ms"] - hit["metrics"]["mean_ms"]
        assert gap == pytest.approx(20 + 2 * hop, rel=0.03), engine
        # ... and the cache lookup before it (sequential, not in parallel with the store)
        extra = miss["metrics"]["mean_ms"] - bare["metrics"]["mean_ms"]
        assert extra == pytest.approx(cache_ms + 2 * hop, rel=0.1, abs=0.1), engine


# 4. CDN -------------------------------------------------------------------------------------------
def test_rule4_cdn_answers_read_hits_and_routes_misses_and_writes():
    doc = design(
        [
            {"id": "u", "type": "client"},
            {"id": "cdn", "type": "cdn", "params": {"hit_ratio": 0.6}},
            {"id": "lb", "type": "load-balancer"},
            svc("origin"),
        ],
        [edge("u", "cdn"), edge("cdn", "lb"), edge("lb", "origin")],
        TRAFFIC,
    )
    an, de = both(doc)
    assert an["cdn"]["arrival_rps"] == pytest.approx(LAM)
    assert an["origin"]["arrival_rps"] == pytest.approx(READS * 0.4 + WRITES, rel=1e-9)
    assert de["origin"]["arrival_rps"] == pytest.approx(READS * 0.4 + WRITES, rel=0.05)


# 5. parallel fan-out ------------------------------------------------------------------------------
def test_rule5_fan_out_calls_every_branch_and_waits_for_the_slowest():
    def fan(branches):
        comps = [{"id": "u", "type": "client"}, svc("api", service_time_ms=1)]
        edges = [edge("u", "api")]
        for cid, ms in branches:
            comps.append(svc(cid, service_time_ms=ms, service_dist="deterministic"))
            edges.append(edge("api", cid))
        return design(comps, edges, {**TRAFFIC, "baseline_rps": 50})

    slow_only = fan([("slow", 40)])
    both_branches = fan([("slow", 40), ("fast", 30)])
    an = rows(simulate(both_branches))
    assert an["slow"]["arrival_rps"] == an["fast"]["arrival_rps"] == pytest.approx(50)
    # deterministic service, 64 servers at 50 rps: no waiting, so the branch times are exact;
    # the slowest branch (40 ms) sets the time, the 30 ms one runs beside it (not 70 ms)
    for engine in ("analytic", "des"):
        kw = {"engine": engine, "seed": 3}
        one = simulate(slow_only, **kw)["metrics"]["mean_ms"]
        two = simulate(both_branches, **kw)["metrics"]["mean_ms"]
        assert two == pytest.approx(one, abs=0.05), engine


# 6. queues are async boundaries -------------------------------------------------------------------
def test_rule6_queue_ends_the_callers_request_and_reports_backlog_lag_and_drops():
    doc = design(
        [
            {"id": "u", "type": "client"},
            svc("api", service_time_ms=2),
            {"id": "q", "type": "queue", "params": {"max_depth": 500}},
            # 4 consumers x 50 ms: 80 jobs/s for 1,000 offered -> over capacity
            {"id": "w", "type": "worker", "service_time_ms": 50, "concurrency": 4},
        ],
        [edge("u", "api"), edge("api", "q"), edge("q", "w")],
        TRAFFIC,
    )
    an = simulate(doc)
    q = rows(an)["q"]
    # the consumers' slowness never reaches the user: api + queue accept + network only
    assert an["metrics"]["mean_ms"] < 50
    # steady state: the backlog sits at max_depth and drops what the consumers cannot take
    assert q["dropped_rps"] == pytest.approx(LAM - 80, rel=1e-3)
    assert q["backlog_mean"] == pytest.approx(500, rel=0.01)
    assert q["consumer_lag_ms"] == pytest.approx(500 / 80 * 1000, rel=0.02)
    d = des(doc, seed=4)
    dq = rows(d)["q"]
    assert d["metrics"]["mean_ms"] < 50 and d["metrics"]["error_rate"] == 0
    # DES: the backlog fills within the warm-up, then the drops are the excess
    assert dq["dropped_rps"] == pytest.approx(LAM - 80, rel=0.05)
    assert dq["backlog_mean"] == pytest.approx(500, rel=0.05)
    assert rows(d)["w"]["throughput_rps"] == pytest.approx(80, rel=0.05)


# 7. database primary and read replicas ------------------------------------------------------------
def test_rule7_database_writes_to_the_primary_reads_over_all_copies():
    def db(read_replicas):
        return design(
            [
                {"id": "u", "type": "client"},
                {
                    "id": "db",
                    "type": "database",
                    "service_time_ms": 4,
                    "concurrency": 8,
                    "params": {"read_replicas": read_replicas},
                },
            ],
            [edge("u", "db")],
            TRAFFIC,
        )

    # primary: all writes + reads / (1 + read_replicas); utilisation = rate x 4 ms / 8 servers
    for r, primary_rps in ((0, LAM), (2, WRITES + READS / 3), (4, WRITES + READS / 5)):
        row = rows(simulate(db(r)))["db"]
        assert row["offered_utilization"] == pytest.approx(primary_rps * 0.004 / 8, rel=1e-9)
    d = rows(des(db(2), seed=5))["db"]
    assert d["offered_utilization"] == pytest.approx((WRITES + READS / 3) * 0.004 / 8, rel=0.05)


# 8. rejections are errors and do not continue ----------------------------------------------------
def test_rule8_rejected_requests_are_errors_and_stop_there():
    doc = design(
        [
            {"id": "u", "type": "client"},
            # M/M/1/1 (no waiting room) at a = 1: blocking a / (1 + a) = 1/2
            svc("api", concurrency=1, service_time_ms=1, queue_limit=0),
            svc("db"),
        ],
        [edge("u", "api"), edge("api", "db")],
        TRAFFIC,
    )
    an, de = both(doc)
    assert an["api"]["error_rate"] == pytest.approx(0.5, rel=1e-9)
    assert an["db"]["arrival_rps"] == pytest.approx(LAM * 0.5, rel=1e-9)
    assert de["api"]["error_rate"] == pytest.approx(0.5, abs=0.02)
    assert de["db"]["arrival_rps"] == pytest.approx(de["api"]["arrival_rps"] * 0.5, rel=0.04)


def test_rule8_no_matching_edge_is_an_error():
    doc = design(
        [{"id": "u", "type": "client"}, {"id": "lb", "type": "load-balancer"}, svc("api")],
        [edge("u", "lb"), edge("lb", "api", ops="write")],  # reads have nowhere to go
        TRAFFIC,
    )
    assert simulate(doc)["metrics"]["error_rate"] == pytest.approx(0.8, rel=1e-9)
    assert des(doc, seed=6)["metrics"]["error_rate"] == pytest.approx(0.8, abs=0.02)


# 9. network by placement, region shares and payload ----------------------------------------------
def _net_doc(api_region="us-east", db_region="us-east", db_azs=("a",), payload_kb=1, regions=None):
    t = {**TRAFFIC, "payload_kb": payload_kb, "regions": regions or {"us-east": 1.0}}
    return design(
        [
            {"id": "u", "type": "client"},
            svc("api", region=api_region, service_time_ms=1, service_dist="deterministic"),
            svc(
                "db",
                region=db_region,
                azs=list(db_azs),
                replicas=len(db_azs),
                service_time_ms=1,
                service_dist="deterministic",
            ),
        ],
        [edge("u", "api"), edge("api", "db")],
        t,
    )


def _mean(doc, engine="analytic"):
    return simulate(doc, engine=engine, seed=7)["metrics"]["mean_ms"]


@pytest.mark.parametrize("engine", ["analytic", "des"])
def test_rule9_network_latency_by_az_and_region_placement(engine):
    base = _mean(_net_doc(), engine)
    # api in zone a; db over zones a, b: half the calls cross zones (0.5 ms instead of 0.1)
    two_az = _mean(_net_doc(db_azs=("a", "b")), engine)
    assert two_az - base == pytest.approx(2 * 0.5 * (CROSS_AZ_MS - SAME_AZ_MS), abs=0.01)
    # db in europe: us-east -> europe is 40 ms one way; transfer at 100 Mbit/s instead of 1,000
    far = _mean(_net_doc(db_region="europe"), engine)
    hop_gain = 40 - SAME_AZ_MS + transfer_ms(1, 100) - transfer_ms(1, 1000)
    assert far - base == pytest.approx(2 * hop_gain, abs=0.01)


@pytest.mark.parametrize("engine", ["analytic", "des"])
def test_rule9_first_hop_follows_the_profiles_region_shares(engine):
    base = _mean(_net_doc(), engine)
    # 40% of users in apac: 85 ms each way to us-east
    mixed = _mean(_net_doc(regions={"us-east": 0.6, "apac": 0.4}), engine)
    # each user's region is drawn: 40,000 Monte Carlo samples (analytic) or ~30,000 simulated
    # requests (DES); one standard deviation of the mean is about 0.45 ms, so 4 sd
    tol = 1.8
    assert mixed - base == pytest.approx(0.4 * 2 * 85, abs=tol)


def test_rule9_payload_adds_transfer_time_on_every_hop():
    small = _mean(_net_doc(payload_kb=1))
    big = _mean(_net_doc(payload_kb=101))
    # 100 kB more: user link 50 Mbit/s, two internal hops at 1,000 Mbit/s, both ways
    per_kb_ms = 8 / 50 + 8 / 1000
    assert big - small == pytest.approx(2 * 100 * per_kb_ms, rel=1e-6)


def test_unwired_component_receives_no_traffic():
    doc = design(
        [{"id": "u", "type": "client"}, svc("api"), svc("orphan"), svc("island")],
        [edge("u", "api"), edge("orphan", "island")],
        TRAFFIC,
    )
    an, de = both(doc)
    for cid in ("orphan", "island"):
        assert an[cid]["arrival_rps"] == 0 and de[cid]["arrival_rps"] == 0
        assert an[cid]["utilization"] == 0 and de[cid]["utilization"] == 0
