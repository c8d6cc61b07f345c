"""The analytic engine against textbook queueing formulas (to 1e-6)."""

from __future__ import annotations

import math

import pytest

from sdc.core.simulation import knee, simulate

from .helpers import erlang_c, mmc, mmc_sojourn_tail, mmck, quantile, single_station, tandem

SERVICE_MS = 10.0


def _node(result, cid="svc"):
    return next(c for c in result["components"] if c["id"] == cid)


@pytest.mark.parametrize("c", [1, 4, 16])
@pytest.mark.parametrize("rho", [0.5, 0.8, 0.9])
def test_erlang_c_per_node(c, rho):
    mu = 1 / SERVICE_MS
    lam = rho * c * mu  # per ms
    doc = single_station(c=c, service_ms=SERVICE_MS, rps=lam * 1000)
    node = _node(simulate(doc))
    ref = mmc(c, lam, mu)
    p95 = quantile(lambda t: mmc_sojourn_tail(c, lam, mu, t), 0.95, SERVICE_MS)
    assert node["utilization"] == pytest.approx(ref["rho"], rel=1e-6)
    assert node["mean_sojourn_ms"] == pytest.approx(ref["w"], rel=1e-6)
    assert node["mean_queue_len"] == pytest.approx(ref["lq"], rel=1e-6, abs=1e-9)
    assert node["p95_sojourn_ms"] == pytest.approx(p95, rel=1e-6)
    # Little's law on the node: L = lambda W
    assert node["mean_queue_len"] == pytest.approx(
        lam * (node["mean_sojourn_ms"] - SERVICE_MS), rel=1e-4, abs=1e-9
    )


def test_engine_erlang_c_exact_to_1e_9():
    from sdc.core.simulation.queueing import Station

    for c in (1, 4, 16):
        for rho in (0.5, 0.8, 0.9):
            lam = rho * c / SERVICE_MS
            st = Station(lam, SERVICE_MS, c, None)
            ref = mmc(c, lam, 1 / SERVICE_MS)
            assert st.p_wait == pytest.approx(erlang_c(c, lam, 1 / SERVICE_MS), rel=1e-9)
            assert st.mean_sojourn == pytest.approx(ref["w"], rel=1e-9)
            assert st.mean_queue == pytest.approx(ref["lq"], rel=1e-9)
            p95 = quantile(
                lambda t, c=c, lam=lam: mmc_sojourn_tail(c, lam, 1 / SERVICE_MS, t),
                0.95,
                SERVICE_MS,
            )
            assert st.sojourn_quantile(0.95) == pytest.approx(p95, rel=1e-6)


@pytest.mark.parametrize("c,k,rho", [(1, 5, 0.9), (4, 10, 1.2), (2, 0, 0.7), (16, 20, 0.95)])
def test_mmck_blocking(c, k, rho):
    lam = rho * c / SERVICE_MS
    doc = single_station(c=c, service_ms=SERVICE_MS, queue_limit=k, rps=lam * 1000)
    node = _node(simulate(doc))
    ref = mmck(c, lam, 1 / SERVICE_MS, k)
    assert node["error_rate"] == pytest.approx(ref["block"], rel=1e-6, abs=1e-12)
    assert node["mean_queue_len"] == pytest.approx(ref["lq"], rel=1e-6, abs=1e-12)
    assert node["mean_sojourn_ms"] == pytest.approx(ref["l"] / ref["lam_eff"], rel=1e-6)
    res = simulate(doc)
    # end to end too: the analytic error rate is exact (not sampled)
    assert res["metrics"]["error_rate"] == pytest.approx(ref["block"], rel=1e-6, abs=1e-12)


def test_mmck_p95_matches_numeric_integration():
    import numpy as np

    from sdc.core.simulation.queueing import Station

    c, k, lam = 2, 6, 0.18
    st = Station(lam, SERVICE_MS, c, k)
    rng = np.random.default_rng(1)
    x = st.sample_sojourn(rng, 400_000)
    assert st.sojourn_quantile(0.95) == pytest.approx(np.quantile(x, 0.95), rel=0.01)


def test_md1_pollaczek_khinchine():
    lam = 0.08  # per ms, rho 0.8
    doc = single_station(c=1, service_ms=SERVICE_MS, dist="deterministic", rps=lam * 1000)
    node = _node(simulate(doc))
    rho = lam * SERVICE_MS
    wq = rho * SERVICE_MS / (2 * (1 - rho))  # P-K for deterministic service
    assert node["mean_sojourn_ms"] == pytest.approx(wq + SERVICE_MS, rel=1e-9)


def test_tandem_jackson_burke():
    n, s, rps = 5, 8.0, 100.0
    res = simulate(tandem(n, s, rps))
    lam, mu = rps / 1000, 1 / s
    for i in range(n):
        node = _node(res, f"s{i}")
        assert node["mean_sojourn_ms"] == pytest.approx(1 / (mu - lam), rel=1e-9)
        assert node["arrival_rps"] == pytest.approx(rps)
    # end to end: sum of n Exp(mu - lam) sojourns = Erlang(n, mu - lam), plus network
    net = res["metrics"]["mean_ms"] - n / (mu - lam)
    assert net > 0

    def tail(t):
        r = (mu - lam) * t
        return sum(math.exp(-r) * r**i / math.factorial(i) for i in range(n))

    p95 = quantile(tail, 0.95, 10.0)
    # network adds a constant (hops both ways), measured by the mean difference
    assert res["metrics"]["p95_ms"] - net == pytest.approx(p95, rel=0.02)
    assert res["metrics"]["mean_ms"] - net == pytest.approx(n / (mu - lam), rel=0.02)


def test_overloaded_design_names_component_and_withholds_latency():
    doc = single_station(c=1, service_ms=SERVICE_MS, rps=150)
    res = simulate(doc)
    m = res["metrics"]
    assert m["saturated"] is True
    assert m["p95_ms"] is None and "svc" in m["withheld"]["p95_ms"]
    assert res["bottlenecks"][0]["component_id"] == "svc"
    assert res["bottlenecks"][0]["severity"] == "critical"
    assert "add 2 replicas" in res["bottlenecks"][0]["suggestion"]
    assert m["capacity_rps"] == pytest.approx(100.0)


def test_capacity_and_knee():
    doc = single_station(c=4, service_ms=SERVICE_MS, rps=200)
    res = simulate(doc)
    assert res["metrics"]["capacity_rps"] == pytest.approx(400.0)
    k = knee(doc, None, {"p95_ms": 100})
    assert 0 < k["knee_rps"] < 400
    assert k["limited_by"] == "svc"
    # the knee is where p95 meets the SLO: just below it meets, 2% above it does not
    at = lambda rps: simulate({**doc, "traffic": {**doc["traffic"], "baseline_rps": rps}})  # noqa: E731
    assert at(k["knee_rps"] * 0.99)["metrics"]["p95_ms"] <= 100
    assert at(k["knee_rps"] * 1.02)["metrics"]["p95_ms"] > 100
    pts = k["points"]
    assert len(pts) >= 10 and all({"offered_rps", "p95_ms", "p99_ms"} <= set(p) for p in pts)
    p95s = [p["p95_ms"] for p in pts]
    assert p95s == sorted(p95s)


def test_result_is_plain_json():
    import json

    res = simulate(single_station(c=1, rps=150))
    text = json.dumps(res, allow_nan=False)
    assert json.loads(text) == res


def test_flow_is_conserved_and_reported_in_rps():
    # M/M/1/1 at a = 1: half the requests are rejected
    ok = simulate(single_station(c=1, service_ms=SERVICE_MS, queue_limit=0, rps=100))
    f = ok["metrics"]["flow"]
    assert f["unit"] == "rps" and f["conserved"] is True
    assert (f["arrived"], f["completed"], f["rejected"], f["in_flight"]) == pytest.approx(
        (100, 50, 50, 0)
    )
    # over capacity (1.5x, unbounded): 100 rps served, the backlog grows by 50 rps
    over = simulate(single_station(c=1, service_ms=SERVICE_MS, rps=150))["metrics"]["flow"]
    assert (over["completed"], over["rejected"], over["in_flight"]) == pytest.approx((100, 0, 50))
    assert over["conserved"] is True


@pytest.mark.parametrize(
    ("c", "a"), [(1, 0.5), (16, 5.55), (32, 0.65), (1024, 0.22), (10_000, 12.0), (400, 390.0)]
)
def test_erlang_b_matches_the_textbook_sum(c, a):
    """Erlang B against its closed form, (a^c / c!) / sum_k a^k / k!, summed in logarithms
    (the engine's recursion stops early once it underflows to zero; that must not change a
    value, zero included)."""
    from sdc.core.simulation.queueing import erlang_b

    logs = [k * math.log(a) - math.lgamma(k + 1) for k in range(c + 1)]
    top = max(logs)
    log_total = top + math.log(sum(math.exp(x - top) for x in logs))
    assert erlang_b(c, a) == pytest.approx(math.exp(logs[c] - log_total), rel=1e-9, abs=1e-300)
