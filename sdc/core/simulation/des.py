"""Discrete-event engine: every request simulated, station by station.

The routing plan is feed-forward (sync cycles are cut at validation), so instead of one
global event list the engine processes components in topological order: a component's
arrivals are the departures of its callers plus the hop latency; each replica is an FCFS
multi-server station run by a compiled loop over its time-sorted arrivals. This is exact
for FCFS stations in a feed-forward network and costs O(n log n) per hop.

Randomness: arrivals come from a counter-based stream keyed by (seed, "arrivals"); every
per-request decision (class, region, service time at a component, route, cache hit,
dispatch) is hash(seed, purpose, component id, request id), so changing one component's
replicas changes neither the arrival sequence nor any other component's draws.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable

import numpy as np

from .constants import DEFAULT_SLO_MS, REGIONS, SERVICE_DISTS
from .des_report import build_outputs
from .kernels import (
    FAILED,
    NOROUTE,
    OK,
    apply_timeout,
    dispatch_range,
    hash_uniform,
    hit_misses,
    hop_arrivals,
    indices_eq,
    ok_only,
    pick_category,
    poisson_arrivals,
    route_pick,
    run_station,
    visit_update,
    window_stats,
)
from .model import Design, Traffic
from .plan import build_plan
from .schedule import INF, Schedule
from .stations import groups, is_pooled

# (probability a 1-second slot is a burst, burst multiplier); the calm rate is chosen so
# that the mean rate is unchanged. Same phases as the analytic engine.
BURSTS = {"steady": (0.0, 1.0), "spiky": (0.1, 2.5), "extreme": (0.05, 5.0)}
SEC_MS = 1000.0


def stream_key(seed: int, *parts: str) -> int:
    h = hashlib.blake2b(repr((seed,) + parts).encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") & 0x7FFFFFFFFFFFFFFF


def warmup_ms(duration_s: float) -> float:
    """Warm-up simulated before the measured window: 10% of it, between 1 s and 10 s."""
    return min(10.0, max(1.0, 0.1 * duration_s)) * 1000.0


def arrival_rates(traffic: Traffic, sched: Schedule, seed: int, t_start: float, n_slots: int):
    p, mult = BURSTS[traffic.burstiness]
    base = traffic.peak_rps / 1000.0
    slot_t = t_start + np.arange(n_slots) * SEC_MS
    if p > 0:
        u = hash_uniform(np.arange(n_slots, dtype=np.int64), stream_key(seed, "bursts"))
        # exactly round(p * slots) burst seconds, so the run's mean rate is the baseline's
        burst = np.zeros(n_slots, dtype=bool)
        burst[np.argsort(u, kind="stable")[: int(round(p * n_slots))]] = True
        calm = (1.0 - p * mult) / (1.0 - p)
        rates = np.where(burst, base * mult, base * calm)
    else:
        rates = np.full(n_slots, base)
    # surges switch at whole seconds of simulated time
    return rates * sched.rate_multiplier(slot_t + 0.5 * SEC_MS)


def run_des(
    design: Design,
    traffic: Traffic,
    *,
    seed: int = 0,
    failures: list | None = None,
    duration_s: float = 60.0,
    progress: Callable[[float], None] | None = None,
    slo_ms: float = DEFAULT_SLO_MS,
) -> dict:
    failures = failures or []
    plan = build_plan(design, traffic.read_ratio, traffic.payload_kb)
    comps = design.components
    visits = plan.visits
    sched = Schedule(design, failures)
    D = duration_s * 1000.0
    W = warmup_ms(duration_s)
    n_slots = int(math.ceil((W + D) / SEC_MS))
    rates = arrival_rates(traffic, sched, seed, -W, n_slots)
    t_arr = poisson_arrivals(rates, SEC_MS, -W, stream_key(seed, "arrivals"), D)
    N = len(t_arr)
    # request class (client, op) and origin region
    probs = np.array([cl.prob for cl in plan.classes])
    cum = np.cumsum(probs / probs.sum())
    cls = pick_category(N, stream_key(seed, "class"), cum, np.empty(N, dtype=np.int16))
    shares = np.array([traffic.regions.get(r, 0.0) for r in REGIONS])
    rcum = np.cumsum(shares / shares.sum())
    region = pick_category(N, stream_key(seed, "region"), rcum, np.empty(N, dtype=np.int8))
    done = t_arr.copy()
    failed = np.zeros(N, dtype=np.int8)  # 0 ok, else status code of the first failure
    fail_comp = np.full(N, -1, dtype=np.int16)
    pending: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for ci_, cl in enumerate(plan.classes):
        sel = indices_eq(cls, ci_)
        pending[cl.root] = (sel, t_arr[sel], None)
    n_sec = int(math.ceil(D / SEC_MS))
    comp_stats: dict[int, dict] = {}
    queue_stats: dict[int, dict] = {}
    total = len(plan.order)
    for step, ci in enumerate(plan.order):
        comp = comps[ci]
        vis = [v for v in plan.visits_of[ci] if v in pending]
        if not vis:
            continue
        idx, ta, ts, vid = _gather(pending, vis)
        ops = np.array([visits[v].op for v in vis], dtype=np.int8)
        if comp.type == "client":
            opv = ops[vid] if len(vis) > 1 else np.full(len(idx), ops[0], dtype=np.int8)
            dep, status, start = ta, np.zeros(len(ta), dtype=np.int8), ta
            comp_stats[ci] = _comp_stats(comp, plan, ta, start, dep, status, D, n_sec, opv)
        else:
            # sort by arrival time, in place (introsort: deterministic, 4x faster than stable)
            order = np.argsort(ta)
            # one array at a time, so at most one extra copy is alive
            ta = np.take(ta, order)
            idx = np.take(idx, order)
            ts = np.take(ts, order) if ts is not None else None
            vid = np.take(vid, order) if len(vis) > 1 else vid
            del order
            opv = ops[vid] if len(vis) > 1 else np.full(len(idx), ops[0], dtype=np.int8)
            start, dep, status = _station(comp, plan, sched, seed, idx, ta, opv, D)
            if comp.timeout_ms is not None and ts is not None:
                apply_timeout(ta, ts, dep, status, float(comp.timeout_ms))
            comp_stats[ci] = _comp_stats(comp, plan, ta, start, dep, status, D, n_sec, opv)
        del opv, ts
        if not any(
            visits[v].queue_root >= 0 and visits[v].parent == visits[v].queue_root for v in vis
        ):
            del ta, start  # only queue consumers' lag needs them past this point
            ta = start = None
        # scatter back per visit, update requests, expand children
        single = len(vis) == 1
        last = len(vis) - 1
        for k, v in enumerate(vis):
            m = slice(None) if single else vid == k
            vv = visits[v]
            vi_idx, vi_dep, vi_st = idx[m], dep[m], status[m]
            if vv.sync:
                visit_update(done, failed, fail_comp, vi_idx, vi_dep, vi_st, vv.cum_ms, region, ci)
            elif vv.queue_root >= 0 and vv.parent == vv.queue_root:
                q = visits[vv.queue_root].comp
                qs = queue_stats.setdefault(q, {"lag": [], "dropped": 0, "consumed": 0})
                vi_ta = ta[m]
                w = (vi_ta >= 0) & (vi_ta < D)
                okm = w & (vi_st == OK)
                st_m = start[m]
                qs["lag"].append(st_m[okm] - vi_ta[okm])
                qs["dropped"] += int((w & (vi_st != OK)).sum())
                qs["consumed"] += int(okm.sum())
                del vi_ta, w, okm, st_m
            del m
            if k == last:
                # the children only need ids and departures: drop the rest before they
                # allocate their arrival arrays (vi_* may be views that keep idx/dep alive)
                del idx, ta, vid, start, dep, status
            if not (vi_st == OK).all():
                vi_idx, vi_dep = ok_only(vi_idx, vi_dep, vi_st)
            del vi_st
            _expand(
                plan,
                sched,
                seed,
                vv,
                comp,
                vi_idx,
                vi_dep,
                region,
                pending,
                done,
                failed,
                fail_comp,
            )
            del vi_idx, vi_dep
        if progress is not None:
            progress((step + 1) / total)
    return build_outputs(
        design,
        plan,
        traffic,
        sched,
        seed,
        t_arr,
        done,
        failed,
        fail_comp,
        comp_stats,
        queue_stats,
        D,
        W,
        slo_ms,
        cls,
    )


_EMPTY_I2 = np.empty(0, dtype=np.int16)


def _gather(pending, vis):
    """Pop the visits' pending arrivals into merged arrays: idx, ta, ts (None unless every
    part carries send times) and the visit of each."""
    parts = [pending.pop(v) for v in vis]
    if len(parts) == 1:
        idx, ta, ts = parts[0]
        return idx, ta, ts, _EMPTY_I2
    n = sum(len(p[0]) for p in parts)
    has_ts = all(p[2] is not None for p in parts)
    idx = np.empty(n, dtype=np.int32)
    ta = np.empty(n)
    ts = np.empty(n) if has_ts else None
    vid = np.empty(n, dtype=np.int16)
    o = 0
    for k in range(len(parts)):
        pi, pt, ps = parts[k]
        parts[k] = None  # free each part as soon as it is copied
        m = len(pi)
        idx[o : o + m] = pi
        ta[o : o + m] = pt
        if has_ts:
            ts[o : o + m] = ps
        vid[o : o + m] = k
        o += m
        del pi, pt, ps
    return idx, ta, ts, vid


def _expand(plan, sched, seed, vv, comp, idx, dep, region, pending, done, failed, fail_comp):
    if len(idx) == 0:
        return
    visits = plan.visits
    if vv.hit and vv.op == 0:
        h = sched.hit_ratio(comp.index, float(comp.params.get("hit_ratio", 0.0)), dep)
        if np.ndim(h) == 0:
            idx, dep = hit_misses(idx, dep, stream_key(seed, "hit", comp.id), float(h))
        else:
            miss = hash_uniform(idx, stream_key(seed, "hit", comp.id)) >= h
            idx, dep = idx[miss], dep[miss]
    if vv.noroute:
        if vv.sync and len(idx):
            first = failed[idx] == 0
            failed[idx[first]] = NOROUTE
            fail_comp[idx[first]] = comp.index
        return
    if not vv.children or len(idx) == 0:
        return
    comps = plan.design.components
    if vv.choose and len(vv.children) > 1:
        kids = vv.children
        w = np.array([visits[k].weight for k in kids])
        avail = np.ones((len(idx), len(kids)), dtype=bool)
        for j, k in enumerate(kids):
            kc = comps[visits[k].comp]
            if kc.index in sched.down:
                avail[:, j] = ~sched.all_down_detected(kc.index, kc.instance_count, dep)
        # failover: routers skip targets known to be entirely down; nothing healthy: pick as
        # usual (and fail there)
        if len(kids) < 8:
            pick = route_pick(idx, stream_key(seed, "route", comp.id), w, avail)
        else:
            u = hash_uniform(idx, stream_key(seed, "route", comp.id))
            ww = avail * w
            tot = ww.sum(axis=1)
            none = tot == 0
            ww[none] = w
            cw = np.cumsum(ww, axis=1) / ww.sum(axis=1)[:, None]
            pick = (u[:, None] >= cw).sum(axis=1)
            pick = np.minimum(pick, len(kids) - 1)
        del avail
        for j, k in enumerate(kids):
            m = pick == j
            if m.any():
                _send(plan, sched, visits[k], idx[m], dep[m], region, pending)
    else:
        for k in vv.children:
            _send(plan, sched, visits[k], idx, dep, region, pending)


def _send(plan, sched, child, idx, dep, region, pending):
    h = np.ascontiguousarray(child.hop_ms, dtype=np.float64)
    ta = hop_arrivals(dep, idx, region, h, bool((h == h[0]).all()))
    if child.comp in sched.lag:
        ta += sched.lag_ms(child.comp, dep)
    keep_send = plan.design.components[child.comp].timeout_ms is not None
    pending[child.idx] = (idx, ta, dep if keep_send else None)


def _station(comp, plan, sched: Schedule, seed, idx, ta, opv, D):
    """Dispatch to replicas and run the FCFS kernel. Returns start, dep, status (input order)."""
    n = len(idx)
    gs = groups(comp, plan)
    pooled = is_pooled(comp, plan)
    n_inst = comp.instance_count
    pre = np.zeros(n, dtype=np.int8)
    if pooled:
        inst = np.zeros(n, dtype=np.int32)
        g = gs[0]
        seg_servers = np.array([g.servers], dtype=np.int64)
        seg_q = np.array([-1 if g.k_wait is None else g.k_wait], dtype=np.int64)
        down, ph = [[]], [[]]
        if comp.index in sched.down:
            u = hash_uniform(idx, stream_key(seed, "dispatch", comp.id))
            frac_dead = np.zeros(n)
            per_inst = [sched.instance_intervals(comp.index, j) for j in range(comp.replicas)]
            for ivs in per_inst:
                for t0, t1 in ivs:
                    frac_dead[(ta >= t0) & (ta < min(t0 + sched.detect_ms, t1))] += 1.0
                    ph[0].append((t0, t1, comp.servers))
            pre[u < frac_dead / comp.replicas] = FAILED
            # whole pool down: every replica's intervals overlap
            pts = sorted({t for ivs in per_inst for iv in ivs for t in iv})
            for a, b in zip(pts[:-1], pts[1:], strict=False):
                mid = (a + b) / 2
                if all(any(t0 <= mid < t1 for t0, t1 in ivs) for ivs in per_inst):
                    down[0].append((a, b))
            ph[0].sort()
    else:
        inst = np.empty(n, dtype=np.int32)
        eligible = {
            0: [j for gg in gs if gg.read_share > 0 for j in gg.instances],
            1: [j for gg in gs if gg.write_share > 0 for j in gg.instances],
        }
        cps = [p for p in sched.change_points(comp.index) if ta[0] < p <= ta[-1]] if n else []
        bounds = [0] + [int(np.searchsorted(ta, p)) for p in cps] + [n]
        counters = {0: 0, 1: 0}
        rnd = comp.dispatch == "random"
        key = stream_key(seed, "dispatch", comp.id)
        if not cps and eligible[0] == eligible[1] and comp.index not in sched.down:
            bounds = [0, 0]  # skip the per-op loop below
            dispatch_range(
                inst,
                pre,
                opv,
                0,
                n,
                -1,
                np.array(eligible[0], dtype=np.int64),
                rnd,
                0,
                key,
                idx,
                NOROUTE,
            )
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            if b <= a:
                continue
            t_seg = ta[a]
            for op in (0, 1):
                healthy = np.array(
                    [j for j in eligible[op] if not sched.known_down_at(comp.index, j, t_seg)],
                    dtype=np.int64,
                )
                counters[op] = dispatch_range(
                    inst, pre, opv, a, b, op, healthy, rnd, counters[op], key, idx, NOROUTE
                )
        seg_servers = np.full(n_inst, comp.servers, dtype=np.int64)
        seg_q = np.full(
            n_inst, -1 if comp.queue_limit is None else comp.queue_limit, dtype=np.int64
        )
        down = [sched.instance_intervals(comp.index, j) for j in range(n_inst)]
        ph = [[] for _ in range(n_inst)]
    n_seg = len(seg_servers)
    d_ptr, d0, d1 = _flatten(down)
    p_ptr, p0, p1, pm = _flatten_ph(ph)
    return run_station(
        ta,
        idx,
        inst,
        pre,
        n_seg,
        stream_key(seed, "svc", comp.id),
        comp.service_time_ms,
        SERVICE_DISTS.index(comp.service_dist),
        comp.service_cv,
        seg_servers,
        seg_q,
        d_ptr,
        d0,
        d1,
        p_ptr,
        p0,
        p1,
        pm,
    )


def _flatten(lists):
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    a, b = [], []
    for i, ivs in enumerate(lists):
        for t0, t1 in ivs:
            a.append(t0)
            b.append(min(t1, INF))
        ptr[i + 1] = len(a)
    return ptr, np.array(a, dtype=np.float64), np.array(b, dtype=np.float64)


def _flatten_ph(lists):
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    a, b, m = [], [], []
    for i, ivs in enumerate(lists):
        for t0, t1, k in ivs:
            a.append(t0)
            b.append(t1)
            m.append(k)
        ptr[i + 1] = len(a)
    return (
        ptr,
        np.array(a, dtype=np.float64),
        np.array(b, dtype=np.float64),
        np.array(m, dtype=np.int64),
    )


def _comp_stats(comp, plan, ta, start, dep, status, D, n_sec, opv) -> dict:
    """Window statistics of one component (arrivals at it in [0, D))."""
    sc, soj, sec_a, sec_e, sec_s, sec_b = window_stats(
        ta, start, dep, status, opv.astype(np.int8, copy=False), D, n_sec, SEC_MS
    )
    soj_mean = float(soj.mean()) if len(soj) else None
    # throughput: requests this component finished inside the window, whenever they arrived
    # (a saturated consumer finishes fewer than arrive; the rest are still queued at the end)
    out_m = dep < D
    out_m &= dep >= 0
    out_m &= status == OK
    served = int(np.count_nonzero(out_m))
    del out_m
    servers_total = sum(
        (1 if g.pooled else len(g.instances)) * g.servers for g in groups(comp, plan)
    )
    return {
        "arrivals": int(sc[0]),
        "reads": int(sc[1]),
        "ok": int(sc[2]),
        "served_in_window": served,
        "errors": int(sc[3]),
        "soj_n": len(soj),
        "soj_mean": soj_mean,
        # partitions soj in place, so after the mean (whose summation order it would change)
        "soj_p95": float(np.quantile(soj, 0.95, overwrite_input=True)) if len(soj) else None,
        "wait_sum": float(sc[4]),
        "busy_ms": float(sc[5]),
        "queue_area": float(sc[6]),
        "system_area": float(sc[7]),
        "servers_total": servers_total,
        "sec_arrivals": sec_a.astype(np.int64),
        "sec_errors": sec_e.astype(np.int64),
        "sec_soj": sec_s,
        "sec_busy": sec_b,
    }
