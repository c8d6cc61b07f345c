"""Analytic engine: closed form per station, end-to-end percentiles by seeded Monte Carlo.

Per station: Erlang C (M/M/c) or M/M/c/K when a queue limit is set, exact for exponential
service; non-exponential service multiplies waiting by (1 + cv^2)/2 (P-K, exact in the mean
for one server, approximate otherwise). Stations are fed in topological order, so blocking
upstream thins the traffic downstream. End-to-end latency: requests are sampled through the
routing plan with a fixed seed, each hop drawing its sojourn from the station's exact
stationary distribution (hops treated as independent, exact for Jackson networks).
Bursty traffic is handled quasi-statically: a mixture of the burst and calm rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .constants import REGIONS
from .model import Design, Traffic
from .plan import Plan, build_plan
from .queueing import Station, dist_cv
from .stations import Group, groups
from .success import failure_probability

MC_SAMPLES = 40_000
# (share of time, rate multiplier) phases; mean rate preserved. See docs.
BURST_PHASES = {
    "steady": [(1.0, 1.0)],
    "spiky": [(0.1, 2.5), (0.9, 0.75 / 0.9)],
    "extreme": [(0.05, 5.0), (0.95, 0.75 / 0.95)],
}


@dataclass
class Solved:
    lam_rps: float
    rate: np.ndarray  # arrivals per visit (rps)
    acc: np.ndarray  # acceptance probability per visit
    stations: dict  # comp index -> list[(Group, Station)]
    comp_rates: dict  # comp index -> (read rps, write rps)


def solve(plan: Plan, lam_rps: float) -> Solved:
    comps = plan.design.components
    visits = plan.visits
    rate = np.zeros(len(visits))
    acc = np.ones(len(visits))
    for cl in plan.classes:
        rate[cl.root] = lam_rps * cl.prob
    stations: dict = {}
    comp_rates: dict = {}
    for ci in plan.order:
        comp = comps[ci]
        vis = plan.visits_of[ci]
        lr = sum(rate[v] for v in vis if visits[v].op == 0)
        lw = sum(rate[v] for v in vis if visits[v].op == 1)
        comp_rates[ci] = (lr, lw)
        acc_op = [1.0, 1.0]
        if comp.type != "client":
            cv = dist_cv(comp.service_dist, comp.service_cv)
            sts = []
            for g in groups(comp, plan):
                lam = (lr * g.read_share + lw * g.write_share) / 1000.0
                sts.append(
                    (
                        g,
                        Station(
                            lam, comp.service_time_ms, g.servers, g.k_wait, cv, comp.service_dist
                        ),
                    )
                )
            stations[ci] = sts
            for op in (0, 1):
                tot = sum(_count(g) * (g.read_share if op == 0 else g.write_share) for g, _ in sts)
                ok = sum(
                    _count(g) * (g.read_share if op == 0 else g.write_share) * (1.0 - st.block)
                    for g, st in sts
                )
                acc_op[op] = ok / tot if tot > 0 else 1.0
        for v in vis:
            vv = visits[v]
            acc[v] = acc_op[vv.op]
            passed = rate[v] * acc[v]
            if vv.hit and vv.op == 0:
                passed *= 1.0 - float(comp.params.get("hit_ratio", 0.0))
            if not vv.children:
                continue
            if vv.choose:
                wsum = sum(visits[k].weight for k in vv.children)
                for k in vv.children:
                    rate[k] = passed * visits[k].weight / wsum
            else:
                for k in vv.children:
                    rate[k] = passed
    return Solved(lam_rps, rate, acc, stations, comp_rates)


def read_rps(sols: list[tuple[float, Solved]], ci: int) -> float:
    """Reads per second arriving at component `ci`, mixed over the burst phases."""
    return sum(w * s.comp_rates[ci][0] for w, s in sols)


def _count(g: Group) -> int:
    return 1 if g.pooled else len(g.instances)


def _group_probs(sts, op: int) -> np.ndarray:
    w = np.array([_count(g) * (g.read_share if op == 0 else g.write_share) for g, _ in sts])
    return w / w.sum() if w.sum() > 0 else np.full(len(sts), 1.0 / len(sts))


def unstable_on_path(plan: Plan, sol: Solved) -> list[int]:
    """Components with an unbounded, overloaded station that sync requests reach."""
    out = []
    for ci, sts in sol.stations.items():
        if any(not st.stable for _, st in sts):
            if any(plan.visits[v].sync and sol.rate[v] > 0 for v in plan.visits_of[ci]):
                out.append(ci)
    return out


def sample_requests(plan: Plan, sol: Solved, traffic: Traffic, n: int, seed: int):
    """Monte Carlo end-to-end: returns (latency_ms of successful requests, failed share)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xA11]))
    comps = plan.design.components
    visits = plan.visits
    probs = np.array([cl.prob for cl in plan.classes])
    probs = probs / probs.sum()
    cls = rng.choice(len(probs), size=n, p=probs)
    shares = np.array([traffic.regions.get(r, 0.0) for r in REGIONS])
    region = rng.choice(len(REGIONS), size=n, p=shares / shares.sum())
    arr = np.zeros(n)
    done = np.zeros(n)
    failed = np.zeros(n, dtype=bool)
    at: dict[int, np.ndarray] = {}
    for ci, cl in enumerate(plan.classes):
        at[cl.root] = np.nonzero(cls == ci)[0]
    arr_at: dict[int, np.ndarray] = {k: np.zeros(len(v)) for k, v in at.items()}
    for vi, v in enumerate(visits):
        pos = at.pop(vi, None)
        if pos is None or len(pos) == 0 or not v.sync:
            continue
        t = arr_at.pop(vi)
        comp = comps[v.comp]
        if comp.type != "client":
            sts = sol.stations[v.comp]
            gp = _group_probs(sts, v.op)
            gi = (
                rng.choice(len(sts), size=len(pos), p=gp)
                if len(sts) > 1
                else np.zeros(len(pos), dtype=np.int64)
            )
            soj = np.empty(len(pos))
            ok = np.ones(len(pos), dtype=bool)
            for j, (_, st) in enumerate(sts):
                m = gi == j
                k = int(m.sum())
                if k:
                    soj[m] = st.sample_sojourn(rng, k)
                    if st.block > 0:
                        ok[m] = rng.random(k) >= st.block
            if not ok.all():
                failed[pos[~ok]] = True
                pos, t, soj = pos[ok], t[ok], soj[ok]
            t = t + soj
        done[pos] = np.maximum(done[pos], t + v.cum_ms[region[pos]])
        if v.hit and v.op == 0:
            keep = rng.random(len(pos)) >= float(comp.params.get("hit_ratio", 0.0))
            pos, t = pos[keep], t[keep]
        if v.noroute:
            failed[pos] = True
            continue
        kids = [k for k in v.children if visits[k].sync]
        if not kids or len(pos) == 0:
            continue
        if v.choose:
            w = np.array([visits[k].weight for k in v.children])
            pick = rng.choice(len(w), size=len(pos), p=w / w.sum())
            for j, k in enumerate(v.children):
                m = pick == j
                if visits[k].sync and m.any():
                    at[k] = pos[m]
                    arr_at[k] = t[m] + visits[k].hop_ms[region[pos[m]]]
        else:
            for k in kids:
                at[k] = pos
                arr_at[k] = t + visits[k].hop_ms[region[pos]]
    lat = (done - arr)[~failed]
    return lat, float(failed.mean()) if n else 0.0


def component_metrics(plan: Plan, sols: list[tuple[float, Solved]], peak_rps: float) -> list[dict]:
    """Per-component result rows, mixing burst phases by their weight (share of time)."""
    comps = plan.design.components
    out = []
    for c in comps:
        ci = c.index
        row = {
            "id": c.id,
            "type": c.type,
            "arrival_rps": 0.0,
            "throughput_rps": 0.0,
            "utilization": 0.0,
            "mean_sojourn_ms": None,
            "p95_sojourn_ms": None,
            "mean_queue_len": 0.0,
            "error_rate": 0.0,
            "replicas_up": c.instance_count,
            "offered_utilization": 0.0,
            "capacity_rps": None,
            "saturated": False,
        }
        if ci not in plan.visits_of or c.type == "client":
            if c.type == "client" and ci in plan.visits_of:
                arr = sum(w * sum(s.comp_rates[ci]) for w, s in sols)
                row.update(
                    arrival_rps=arr, throughput_rps=arr, mean_sojourn_ms=0.0, p95_sojourn_ms=0.0
                )
            out.append(row)
            continue
        arr = thr = oq = mq = 0.0
        busy = cap_servers = 0.0
        soj_num = 0.0
        stable = True
        tails = []
        cap_rps = None
        for w, s in sols:
            sts = s.stations[ci]
            lr, lw = s.comp_rates[ci]
            arr += w * (lr + lw)
            ou_phase = max((st.offered_util for _, st in sts), default=0.0)
            if ou_phase > 0:  # linear in the rate: the same in every burst phase
                cap_rps = (lr + lw) / ou_phase
            for g, st in sts:
                n = _count(g)
                lam_rps = st.lam * 1000.0 * n
                thr += w * lam_rps * (1 - st.block)
                busy += w * n * st.util * g.servers
                cap_servers += w * n * g.servers
                oq = max(oq, st.offered_util)
                mq += w * n * st.mean_queue
                stable &= st.stable
                soj_num += w * lam_rps * (1 - st.block) * st.mean_sojourn
                tails.append((w * lam_rps * (1 - st.block), st))
        row["arrival_rps"] = arr
        row["throughput_rps"] = thr
        row["utilization"] = busy / cap_servers if cap_servers else 0.0
        row["offered_utilization"] = oq
        row["saturated"] = oq >= 1.0
        base = sols[0][1].stations[ci]
        if c.service_time_ms > 0 and arr > 0:
            # capacity: the component's arrival rate that takes its hottest station to 1
            # (from one phase: the mixture's mean rate over the burst's utilisation is not it)
            row["capacity_rps"] = cap_rps
        err = 1.0 - thr / arr if arr > 0 else 0.0
        row["error_rate"] = err if err > 1e-12 else 0.0
        if stable:
            row["mean_sojourn_ms"] = soj_num / thr if thr > 0 else base[0][1].mean_sojourn
            row["mean_queue_len"] = mq
            row["p95_sojourn_ms"] = _mixture_quantile(tails, 0.95)
        else:
            row["mean_queue_len"] = None
            row["withheld"] = (
                f"{c.id} is over capacity (offered utilisation {oq:.2f}); its "
                "queue grows without bound, so no latency is meaningful"
            )
        if c.type == "queue":
            _queue_extras(plan, sols, c, row)
        if c.type == "database":
            row["read_rps"] = read_rps(sols, ci)
        out.append(row)
    return out


def _mixture_quantile(tails, p: float) -> float | None:
    """The p-quantile of a weighted mixture of per-station sojourn distributions.

    Stations with no service time (pass-through components) are a point mass at 0 ms.
    """
    tails = [(w, st) for w, st in tails if w > 0]
    if not tails:
        return None
    tot = sum(w for w, _ in tails)
    zero = sum(w for w, st in tails if st.service_ms <= 0)
    tails = [(w, st) for w, st in tails if st.service_ms > 0]
    if not tails or zero / tot >= p:
        return 0.0
    if len(tails) == 1 and zero == 0:
        return tails[0][1].sojourn_quantile(p)
    if all(
        st.dist == "exponential" and (st.k_wait is None or st._nmax() - st.servers < 1500)
        for _, st in tails
    ):

        def tail(t):
            return sum(w * st.sojourn_tail(t) for w, st in tails) / tot

        lo, hi = 0.0, max(st.service_ms for _, st in tails)
        while tail(hi) > 1 - p:
            hi *= 2
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if tail(mid) > 1 - p else (lo, mid)
            if hi - lo <= 1e-9 * hi:
                break
        return (lo + hi) / 2
    rng = np.random.default_rng(7)
    xs = [st.sample_sojourn(rng, max(1, int(100_000 * w / tot))) for w, st in tails]
    xs.append(np.zeros(int(100_000 * zero / tot)))
    return float(np.quantile(np.concatenate(xs), p))


def _queue_extras(plan: Plan, sols, c, row) -> None:
    backlog = lag_num = dropped = thr = 0.0
    stable = True
    for w, s in sols:
        seen: set[int] = set()  # a consumer's queue is counted once, however many visits
        for v in plan.visits_of[c.index]:
            for k in plan.visits[v].children:
                kc = plan.visits[k].comp
                for g, st in s.stations.get(kc, []):
                    if not g.pooled:
                        continue
                    lam = s.rate[k]
                    stable &= st.stable
                    if id(st) not in seen:
                        seen.add(id(st))
                        backlog += w * st.mean_queue
                    lag_num += w * lam * (1 - st.block) * st.mean_wait
                    thr += w * lam * (1 - st.block)
                    dropped += w * lam * st.block
    row["backlog_mean"] = backlog if stable else None
    row["consumer_lag_ms"] = (lag_num / thr if thr > 0 else 0.0) if stable else None
    row["dropped_rps"] = dropped
    if not stable:
        row["backlog_note"] = "consumers are slower than producers: the backlog grows without bound"


def run_analytic(
    design: Design,
    traffic: Traffic,
    seed: int = 0,
    lam_rps: float | None = None,
    samples: int = MC_SAMPLES,
) -> dict:
    """Core of the analytic engine; returns metrics/components (not yet the full result)."""
    plan = build_plan(design, traffic.read_ratio, traffic.payload_kb)
    lam = traffic.peak_rps if lam_rps is None else lam_rps
    phases = BURST_PHASES[traffic.burstiness]
    sols = [(frac, solve(plan, lam * mult)) for frac, mult in phases]
    weights = [frac * mult for frac, mult in phases]  # share of requests per phase
    comps = component_metrics(plan, sols, lam)
    # capacity: the offered rate that takes the hottest station to utilisation 1 (linear)
    steady = sols[0][1] if len(sols) == 1 else solve(plan, lam)
    base_u = max((st.offered_util for _, st in _all_stations(steady)), default=0.0)
    max_u = max((c["offered_utilization"] for c in comps), default=0.0)
    capacity = lam / base_u if base_u > 0 else None
    unstable = sorted({ci for _, s in sols for ci in unstable_on_path(plan, s)})
    metrics = {
        "offered_rps": lam,
        "throughput_rps": None,
        "capacity_rps": capacity,
        "mean_ms": None,
        "p50_ms": None,
        "p95_ms": None,
        "p99_ms": None,
        "error_rate": None,
        "saturated": max_u >= 1.0,
    }
    withheld = {}
    if unstable:
        names = ", ".join(design.components[ci].id for ci in unstable)
        worst = max(unstable, key=lambda ci: comps[ci]["offered_utilization"])
        u = comps[worst]["offered_utilization"]
        reason = (
            f"over capacity: {names} cannot keep up ({design.components[worst].id} is "
            f"offered {u:.2f}x what it can serve), so queues grow without bound"
        )
        for k in ("mean_ms", "p50_ms", "p95_ms", "p99_ms"):
            withheld[k] = reason
        thr_share = min(1.0, 1.0 / u) if u > 0 else 1.0
        metrics["throughput_rps"] = lam * thr_share
        metrics["error_rate"] = None
        withheld["error_rate"] = reason
    else:
        lats, fails = [], 0.0
        tot_w = sum(weights)
        for (_, s), w in zip(sols, weights, strict=True):
            n = max(1000, int(samples * w / tot_w))
            lat, _ = sample_requests(plan, s, traffic, n, seed)
            lats.append(lat)
            fails += failure_probability(plan, s.acc) * w / tot_w  # exact, not sampled
        lat = np.concatenate(lats)
        metrics["error_rate"] = fails
        metrics["throughput_rps"] = lam * (1.0 - fails)
        if len(lat) >= 20:
            metrics["mean_ms"] = float(lat.mean())
            metrics["p50_ms"], metrics["p95_ms"], metrics["p99_ms"] = (
                float(x) for x in np.quantile(lat, [0.5, 0.95, 0.99])
            )
        else:
            for k in ("mean_ms", "p50_ms", "p95_ms", "p99_ms"):
                withheld[k] = "almost every request fails, so there is no latency to report"
    if withheld:
        metrics["withheld"] = withheld
    metrics["latency_method"] = (
        f"monte-carlo over exact per-hop distributions, {samples} samples, seed {seed}"
    )
    return {"metrics": metrics, "components": comps, "plan": plan, "solutions": sols}


def _all_stations(sol: Solved):
    for sts in sol.stations.values():
        yield from sts


def knee_curve(design: Design, traffic: Traffic, slo: dict, points: int = 24) -> dict:
    """Highest offered rps meeting the SLO, and the latency-vs-load curve."""
    plan = build_plan(design, traffic.read_ratio, traffic.payload_kb)
    base = solve(plan, 1.0)
    u1 = max((st.offered_util for _, st in _all_stations(base)), default=0.0)
    cap = 1.0 / u1 if u1 > 0 else None
    top = cap if cap else traffic.peak_rps * 10
    p95_slo, p99_slo = slo.get("p95_ms"), slo.get("p99_ms")

    def at(lam):
        r = run_analytic(design, traffic, 0, lam, samples=20_000)["metrics"]
        return r

    def meets(m):
        if m["p95_ms"] is None:
            return False
        if (m.get("error_rate") or 0) > 0.01:
            return False
        return (p95_slo is None or m["p95_ms"] <= p95_slo) and (
            p99_slo is None or m["p99_ms"] is None or m["p99_ms"] <= p99_slo
        )

    curve = []
    for f in np.linspace(0.05, 0.99, points):
        m = at(top * f)
        curve.append(
            {
                "offered_rps": top * f,
                "p95_ms": m["p95_ms"],
                "p99_ms": m["p99_ms"],
                "error_rate": m["error_rate"],
            }
        )
    lo, hi = 0.0, top * 0.999
    if not meets(at(top * 0.001)):
        knee = None
    else:
        for _ in range(30):
            mid = (lo + hi) / 2
            if meets(at(mid)):
                lo = mid
            else:
                hi = mid
            if hi - lo < max(1e-3 * top, 1e-9):
                break
        knee = lo if lo > 0 else top * 0.001
    hottest = None
    if cap:
        ci = max(base.stations, key=lambda i: max(st.offered_util for _, st in base.stations[i]))
        hottest = design.components[ci].id
    return {
        "knee_rps": knee,
        "capacity_rps": cap,
        "slo": {"p95_ms": p95_slo, "p99_ms": p99_slo},
        "limited_by": hottest,
        "points": curve,
        "meets_at_peak": meets(at(traffic.peak_rps))
        if cap is None or traffic.peak_rps < cap
        else False,
    }


def finite(x) -> bool:
    return x is not None and math.isfinite(x)
