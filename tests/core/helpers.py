"""Small builders and independent queueing formulas for the engine tests."""

from __future__ import annotations

import math


def design(components, edges, traffic=None):
    doc = {"format": "sdc-design/1", "components": components, "edges": edges}
    if traffic is not None:
        doc["traffic"] = traffic
    return doc


def single_station(
    c=1,
    service_ms=10.0,
    queue_limit=None,
    dist="exponential",
    replicas=1,
    rps=50.0,
    dispatch="round_robin",
):
    """client -> svc with one M/M/c station; no network effect on the node metrics."""
    return design(
        [
            {"id": "users", "type": "client"},
            {
                "id": "svc",
                "type": "service",
                "replicas": replicas,
                "concurrency": c,
                "service_time_ms": service_ms,
                "queue_limit": queue_limit,
                "service_dist": dist,
                "dispatch": dispatch,
            },
        ],
        [{"id": "e1", "source": "users", "target": "svc"}],
        {
            "baseline_rps": rps,
            "peak_multiplier": 1,
            "read_ratio": 0.5,
            "payload_kb": 1,
            "regions": {"us-east": 1.0},
            "duration_s": 60,
        },
    )


def tandem(n=5, service_ms=8.0, rps=100.0):
    comps = [{"id": "users", "type": "client"}]
    edges = []
    prev = "users"
    for i in range(n):
        comps.append(
            {
                "id": f"s{i}",
                "type": "service",
                "concurrency": 1,
                "service_time_ms": service_ms,
                "queue_limit": None,
            }
        )
        edges.append({"id": f"e{i}", "source": prev, "target": f"s{i}"})
        prev = f"s{i}"
    return design(
        comps,
        edges,
        {
            "baseline_rps": rps,
            "peak_multiplier": 1,
            "read_ratio": 0.5,
            "payload_kb": 1,
            "regions": {"us-east": 1.0},
            "duration_s": 60,
        },
    )


# --- independent textbook formulas (written from scratch, not imported from the engine) ----
def erlang_c(c: int, lam: float, mu: float) -> float:
    a = lam / mu
    rho = a / c
    s = sum(a**k / math.factorial(k) for k in range(c))
    top = a**c / math.factorial(c) / (1 - rho)
    return top / (s + top)


def mmc(c, lam, mu):
    """Mean wait, mean sojourn, Lq, utilisation of M/M/c."""
    pw = erlang_c(c, lam, mu)
    wq = pw / (c * mu - lam)
    return {"pw": pw, "wq": wq, "w": wq + 1 / mu, "lq": lam * wq, "rho": lam / (c * mu)}


def mmc_sojourn_tail(c, lam, mu, t):
    pw = erlang_c(c, lam, mu)
    th = c * mu - lam
    if abs(th - mu) < 1e-12:
        conv = math.exp(-mu * t) * (1 + mu * t)
    else:
        conv = (th * math.exp(-mu * t) - mu * math.exp(-th * t)) / (th - mu)
    return (1 - pw) * math.exp(-mu * t) + pw * conv


def quantile(tail, p, hi=1.0):
    lo = 0.0
    while tail(hi) > 1 - p:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if tail(mid) > 1 - p else (lo, mid)
    return (lo + hi) / 2


def mmck(c, lam, mu, k_wait):
    """Blocking, Lq and L of M/M/c/(c+k_wait) from the birth-death chain."""
    n = c + k_wait
    p = [1.0]
    for i in range(1, n + 1):
        p.append(p[-1] * lam / (mu * min(i, c)))
    z = sum(p)
    p = [x / z for x in p]
    lq = sum(max(i - c, 0) * x for i, x in enumerate(p))
    lsys = sum(i * x for i, x in enumerate(p))
    return {"block": p[-1], "lq": lq, "l": lsys, "lam_eff": lam * (1 - p[-1])}


def check_des_invariants(result: dict, littles_law: bool = True) -> None:
    """Flow conservation and Little's law, asserted on every DES run of the tests.

    ``littles_law=False`` checks flow only: over capacity the backlog grows for the whole run,
    and what the warm-up leaves in the system (counted in L, not in lambda W) has no bound.
    """
    import pytest

    m = result["metrics"]
    f = m["flow"]
    assert f["conserved"] and f["arrived"] == f["completed"] + f["rejected"] + f["in_flight"]
    if not littles_law:
        return
    ll = m["littles_law"]
    # L (time-average number in the system) = lambda W, up to window edge effects
    assert ll["L"] == pytest.approx(ll["lambda_W"], rel=0.02, abs=0.05)
    for c in result["components"]:
        if "littles_law" in c and c["arrival_rps"] > 10:
            assert c["littles_law"]["L"] == pytest.approx(
                c["littles_law"]["lambda_W"], rel=0.05, abs=0.05
            )


def des(doc, traffic=None, **kw):
    from sdc.core.simulation import simulate

    r = simulate(doc, traffic, engine="des", **kw)
    check_des_invariants(r)
    return r
