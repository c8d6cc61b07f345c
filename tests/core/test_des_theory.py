"""The DES against queueing theory, over two seeds, with run lengths chosen for the tolerance.

Tolerances (rho <= 0.8): mean sojourn 3%, p95 sojourn 5%, utilisation 1%; at rho 0.9 the
sampling error is larger and the bounds are 6% / 8%.
"""

from __future__ import annotations

import math

import pytest

from .helpers import (
    des,
    mmc,
    mmc_sojourn_tail,
    mmck,
    quantile,
    single_station,
    tandem,
)

S = 1.0  # ms; short service times give many customers per simulated second
DURATION = {1: 300, 4: 120, 16: 40}


def _node(r, cid="svc"):
    return next(c for c in r["components"] if c["id"] == cid)


def _avg(rows, key):
    return sum(r[key] for r in rows) / len(rows)


@pytest.mark.parametrize("c", [1, 4, 16])
@pytest.mark.parametrize("rho", [0.5, 0.8, 0.9])
def test_des_matches_erlang_c(c, rho):
    lam = rho * c / S
    doc = single_station(c=c, service_ms=S, rps=lam * 1000)
    rows = [_node(des(doc, seed=seed, duration_s=DURATION[c])) for seed in (1, 2)]
    ref = mmc(c, lam, 1 / S)
    p95 = quantile(lambda t: mmc_sojourn_tail(c, lam, 1 / S, t), 0.95, S)
    tol_mean, tol_p95 = (0.03, 0.05) if rho <= 0.8 else (0.06, 0.08)
    assert _avg(rows, "mean_sojourn_ms") == pytest.approx(ref["w"], rel=tol_mean)
    assert _avg(rows, "p95_sojourn_ms") == pytest.approx(p95, rel=tol_p95)
    assert _avg(rows, "utilization") == pytest.approx(rho, rel=0.01)
    assert _avg(rows, "mean_queue_len") == pytest.approx(ref["lq"], rel=0.08, abs=0.002 * c)


@pytest.mark.parametrize("c,k,rho", [(1, 5, 0.9), (4, 10, 1.2), (2, 0, 0.7)])
def test_des_blocking_matches_mmck(c, k, rho):
    lam = rho * c / S
    r = des(
        single_station(c=c, service_ms=S, queue_limit=k, rps=lam * 1000), seed=3, duration_s=120
    )
    ref = mmck(c, lam, 1 / S, k)
    node = _node(r)
    assert node["error_rate"] == pytest.approx(ref["block"], rel=0.05, abs=0.002)
    assert r["metrics"]["error_rate"] == pytest.approx(ref["block"], rel=0.05, abs=0.002)
    assert node["mean_sojourn_ms"] == pytest.approx(ref["l"] / ref["lam_eff"], rel=0.03)


def test_des_tandem_jackson_burke():
    n, s, rps = 5, 1.0, 700.0
    lam, mu = rps / 1000, 1 / s
    rows = [des(tandem(n, s, rps), seed=seed, duration_s=200) for seed in (4, 5)]
    for i in range(n):
        mean = sum(_node(r, f"s{i}")["mean_sojourn_ms"] for r in rows) / 2
        assert mean == pytest.approx(1 / (mu - lam), rel=0.03)
        # per station the sojourn is Exp(mu - lambda) (Burke): p95 = ln(20) / (mu - lambda)
        p95 = sum(_node(r, f"s{i}")["p95_sojourn_ms"] for r in rows) / 2
        assert p95 == pytest.approx(math.log(20) / (mu - lam), rel=0.05)
    # end to end minus the (deterministic) network time: Erlang(n, mu - lambda)
    from sdc.core.simulation import simulate

    net = simulate(tandem(n, s, rps))["metrics"]["mean_ms"] - n / (mu - lam)

    def tail(t):
        x = (mu - lam) * t
        return sum(math.exp(-x) * x**i / math.factorial(i) for i in range(n))

    e2e_mean = sum(r["metrics"]["mean_ms"] for r in rows) / 2 - net
    e2e_p95 = sum(r["metrics"]["p95_ms"] for r in rows) / 2 - net
    assert e2e_mean == pytest.approx(n / (mu - lam), rel=0.03)
    assert e2e_p95 == pytest.approx(quantile(tail, 0.95, 1.0), rel=0.05)


def test_des_md1_pollaczek_khinchine():
    lam = 0.8 / S
    rows = [
        _node(
            des(
                single_station(c=1, service_ms=S, dist="deterministic", rps=lam * 1000),
                seed=seed,
                duration_s=300,
            )
        )
        for seed in (6, 7)
    ]
    rho = lam * S
    wq = rho * S / (2 * (1 - rho))
    assert _avg(rows, "mean_sojourn_ms") == pytest.approx(wq + S, rel=0.03)


def test_confidence_intervals_cover_theory():
    lam = 0.8 * 4 / S
    r = des(single_station(c=4, service_ms=S, rps=lam * 1000), seed=8, duration_s=120)
    lo, hi = r["metrics"]["mean_ms_ci"]
    assert lo < r["metrics"]["mean_ms"] < hi
    assert r["metrics"]["p95_ms_ci"][0] < r["metrics"]["p95_ms"] < r["metrics"]["p95_ms_ci"][1]


def test_warm_up_is_simulated_then_discarded():
    # M/M/1 at rho 0.9, 40 s measured: 4 s of warm-up (10%, between 1 and 10 s) run first
    doc = single_station(c=1, service_ms=S, rps=900)
    r = des(doc, seed=11, duration_s=40)
    m = r["metrics"]
    assert m["warmup_s"] == 4.0 and m["duration_s"] == 40.0
    assert m["flow"]["arrived"] == pytest.approx(900 * 40, rel=0.02)  # only the window counts
    assert m["requests_simulated"] == pytest.approx(900 * 44, rel=0.02)
    assert len(r["series"]["t_s"]) == 40
    # the window starts loaded, not empty: the first second is already at the steady state
    first = r["series"]["components"]["svc"]["utilization"][0]
    assert first == pytest.approx(0.9, abs=0.06)
    assert des(doc, seed=11, duration_s=200)["metrics"]["warmup_s"] == 10.0  # capped
    assert des(doc, seed=11, duration_s=5)["metrics"]["warmup_s"] == 1.0  # at least 1 s
