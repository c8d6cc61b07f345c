"""Turn what the DES did into the result: metrics, components, series, timeline, blast radius."""

from __future__ import annotations

import math

import numpy as np

from .constants import DETECTION_DELAY_S
from .kernels import clipped_sum, completions_per_sec
from .report import MIN_SAMPLES
from .stations import hottest_offered_util
from .timeline import timeline as _timeline

SEC_MS = 1000.0
T_975 = 2.093  # Student t, 19 degrees of freedom (20 batches)
N_BATCHES = 20


def batch_ci(x: np.ndarray, fn) -> list[float] | None:
    """95% CI of fn over `x` (in time order) by the method of batch means (20 batches)."""
    if len(x) < N_BATCHES * 50:
        return None
    vals = np.array([fn(b) for b in np.array_split(x, N_BATCHES)])
    half = T_975 * vals.std(ddof=1) / math.sqrt(N_BATCHES)
    centre = fn(x)
    return [float(centre - half), float(centre + half)]


def _q(x, p):
    return float(np.quantile(x, p))


def build_outputs(
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
) -> dict:
    from .analytic import solve  # capacity is structural: same definition as analytic

    dur_s = D / 1000.0
    n_sec = int(math.ceil(D / SEC_MS))
    w = t_arr >= 0
    arrived = int(w.sum())
    ok = w & (failed == 0)
    completed = int((ok & (done <= D)).sum())
    in_flight = int((ok & (done > D)).sum())
    rejected = int((w & (failed != 0)).sum())
    in_sys = clipped_sum(t_arr, done, 0.0, D) / D
    thr = completions_per_sec(done, ok, D, n_sec, SEC_MS)
    # `done` is not needed past here: turn it into response times in place (saves a copy)
    resp = np.subtract(done, t_arr, out=done)
    del done
    lat = resp[ok]
    # mean and batch CIs read `lat` in time order, before the quantiles partition it in place
    lat_mean = float(lat.mean()) if len(lat) else None
    metrics: dict = {"offered_rps": arrived / dur_s, "throughput_rps": completed / dur_s}
    base = solve(plan, traffic.peak_rps)
    u_max = max((st.offered_util for sts in base.stations.values() for _, st in sts), default=0.0)
    metrics["capacity_rps"] = traffic.peak_rps / u_max if u_max > 0 else None
    withheld: dict = {}
    comps_out = _components(design, plan, sched, comp_stats, queue_stats, D)
    over = [
        c
        for c in comps_out
        if (c.get("offered_utilization") or 0) >= 1.0
        and design.component(c["id"]).queue_limit is None
        and any(
            plan.visits[v].sync for v in plan.visits_of.get(design.component(c["id"]).index, [])
        )
    ]
    metrics["saturated"] = any((c.get("offered_utilization") or 0) >= 1.0 for c in comps_out)
    cis = (
        {}
        if over
        else {
            "mean_ms_ci": batch_ci(lat, np.mean),
            "p95_ms_ci": batch_ci(lat, lambda x: _q(x, 0.95)),
        }
    )
    qs = (
        dict(
            zip(
                (0.5, 0.95, 0.99),
                np.quantile(lat, [0.5, 0.95, 0.99], overwrite_input=True),
                strict=True,
            )
        )
        if len(lat)
        else {}
    )
    for key, p in (("mean_ms", None), ("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99)):
        need = MIN_SAMPLES[key]
        if over:
            worst = max(over, key=lambda c: c["offered_utilization"])
            withheld[key] = (
                f"over capacity: {worst['id']} is offered "
                f"{worst['offered_utilization']:.2f}x what it can serve and its "
                "queue is unbounded, so latency only reflects how long the run was"
            )
            metrics[key] = None
        elif len(lat) < need:
            withheld[key] = f"only {len(lat)} requests completed; {need} are needed"
            metrics[key] = None
        else:
            metrics[key] = lat_mean if p is None else float(qs[p])
    metrics.update(cis)
    del lat
    metrics["error_rate"] = rejected / arrived if arrived else 0.0
    if withheld:
        metrics["withheld"] = withheld
    # t_arr is sorted, so the measured window (t_arr >= 0) is a suffix: a view, not a copy
    w0 = len(t_arr) - arrived
    lam_w = arrived / D * float(resp[w0:].mean()) if arrived else 0.0
    metrics["flow"] = {
        "arrived": arrived,
        "completed": completed,
        "rejected": rejected,
        "in_flight": in_flight,
        "conserved": arrived == completed + rejected + in_flight,
    }
    metrics["littles_law"] = {
        "L": in_sys,
        "lambda_W": lam_w,
        "rel_error": abs(in_sys - lam_w) / lam_w if lam_w > 0 else 0.0,
    }
    metrics["requests_simulated"] = int(len(t_arr))
    metrics["warmup_s"] = W / 1000.0
    metrics["duration_s"] = dur_s
    metrics["slo_ms"] = slo_ms
    # series, per second of the measured window
    bounds = np.searchsorted(t_arr, np.arange(n_sec + 1) * SEC_MS)
    offered = np.diff(bounds)
    p95s, errs = [], []
    for k in range(n_sec):
        a, b = bounds[k], bounds[k + 1]
        f = failed[a:b]
        good = resp[a:b][f == 0]
        p95s.append(_q(good, 0.95) if len(good) >= 20 else None)
        errs.append(float((f != 0).mean()) if b > a else 0.0)
    series = {
        "t_s": list(range(n_sec)),
        "offered_rps": offered.tolist(),
        "throughput_rps": thr.tolist(),
        "p95_ms": p95s,
        "error_rate": errs,
        "components": {
            c.id: {
                "utilization": _util_series(c, st, sched, n_sec).tolist(),
                "arrival_rps": st["sec_arrivals"].tolist(),
                "error_rate": (st["sec_errors"] / np.maximum(st["sec_arrivals"], 1)).tolist(),
            }
            for c in design.components
            if (st := comp_stats.get(c.index)) is not None
        },
    }
    timeline = _timeline(design, sched, series, comp_stats, slo_ms, n_sec)
    blast = (
        _blast(design, plan, sched, t_arr, resp, failed, cls, comp_stats, series, slo_ms, D)
        if sched.failures
        else None
    )
    return {
        "metrics": metrics,
        "components": comps_out,
        "series": series,
        "timeline": timeline,
        "blast_radius": blast,
    }


def _components(design, plan, sched, comp_stats, queue_stats, D) -> list[dict]:
    dur_s = D / 1000.0
    out = []
    for c in design.components:
        st = comp_stats.get(c.index)
        n_inst = c.instance_count
        up = [sched.replicas_up(c.index, n_inst, t) for t in np.arange(0, D, SEC_MS)]
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
            "replicas_up": sched.replicas_up(c.index, n_inst, D - 1),
            "replicas_up_min": min(up) if up else n_inst,
            "offered_utilization": 0.0,
            "capacity_rps": None,
            "saturated": False,
        }
        if st is None:
            out.append(row)
            continue
        arr_rps = st["arrivals"] / dur_s
        n_soj = st["soj_n"]
        row["arrival_rps"] = arr_rps
        row["throughput_rps"] = st["served_in_window"] / dur_s
        row["utilization"] = st["busy_ms"] / (st["servers_total"] * D)
        row["mean_sojourn_ms"] = st["soj_mean"] if n_soj >= MIN_SAMPLES["mean_ms"] else None
        if n_soj >= MIN_SAMPLES["p95_ms"]:
            row["p95_sojourn_ms"] = st["soj_p95"]
        elif st["arrivals"]:
            row["withheld"] = {"p95_sojourn_ms": f"only {n_soj} requests were served here"}
        row["mean_queue_len"] = st["queue_area"] / D
        row["mean_in_system"] = st["system_area"] / D
        row["error_rate"] = st["errors"] / st["arrivals"] if st["arrivals"] else 0.0
        ou = hottest_offered_util(
            c, plan, st["reads"] / dur_s, (st["arrivals"] - st["reads"]) / dur_s
        )
        row["offered_utilization"] = ou
        row["capacity_rps"] = arr_rps / ou if ou > 0 else None
        row["saturated"] = ou >= 1.0
        row["littles_law"] = {
            "L": st["system_area"] / D,
            "lambda_W": st["ok"] / D * st["soj_mean"] if n_soj else 0.0,
        }
        if c.type == "database":
            row["read_rps"] = st["reads"] / dur_s
        qs = queue_stats.get(c.index)
        if c.type == "queue":
            lag = np.concatenate(qs["lag"]) if qs and qs["lag"] else np.zeros(0)
            row["consumer_lag_ms"] = float(lag.mean()) if len(lag) else None
            row["consumer_lag_p95_ms"] = _q(lag, 0.95) if len(lag) >= 200 else None
            row["dropped"] = qs["dropped"] if qs else 0
            row["dropped_rps"] = (qs["dropped"] if qs else 0) / dur_s
            # waiting messages of each consumer component, counted once however many
            # request classes (visits) reach it through this queue
            consumers = {
                plan.visits[k].comp
                for v in plan.visits_of.get(c.index, [])
                for k in plan.visits[v].children
            }
            backlog = sum(
                comp_stats[kc]["queue_area"] / D for kc in sorted(consumers) if kc in comp_stats
            )
            row["backlog_mean"] = backlog
        out.append(row)
    return out


def _util_series(c, st, sched, n_sec) -> np.ndarray:
    """Busy share per second of the servers in service (in the middle of that second: up,
    and not yet known to be down by the routers, which send a recovered replica work again
    only after the detection delay): one survivor of three replicas working flat out is
    saturated, not "33% busy"."""
    cap = np.full(n_sec, float(st["servers_total"]) * SEC_MS)
    if c.index in sched.down:
        n = c.instance_count
        serving = []
        for k in range(n_sec):
            t = (k + 0.5) * SEC_MS
            serving.append(
                sum(
                    1
                    for j in range(n)
                    if not sched.known_down_at(c.index, j, t)
                    and not any(a <= t < b for a, b in sched.instance_intervals(c.index, j))
                )
            )
        cap *= np.array(serving, dtype=float) / n
    return np.divide(st["sec_busy"], cap, out=np.zeros(n_sec), where=cap > 0).clip(0.0, 1.0)


def _blast(design, plan, sched, t_arr, resp, failed, cls, comp_stats, series, slo_ms, D):
    n_sec = int(math.ceil(D / SEC_MS))
    f0 = min(float(f.get("at_s", 0)) for f in sched.failures)
    ends = [
        float(f["at_s"]) + float(f["for_s"]) if f.get("for_s") else None for f in sched.failures
    ]
    f1 = D / 1000.0 if any(e is None for e in ends) else max(ends)
    f1 = min(f1, D / 1000.0)
    k0, k1 = int(f0), max(int(math.ceil(f1)), int(f0) + 1)
    direct = set().union(*sched.failed_comps.values()) if sched.failed_comps else set()
    impacted = []
    for c in design.components:
        st = comp_stats.get(c.index)
        if st is None:
            continue
        a = st["sec_arrivals"][k0:k1].sum()
        e = st["sec_errors"][k0:k1].sum()
        soj = st["sec_soj"][k0:k1].sum() / max(a - e, 1)
        pre_a = st["sec_arrivals"][:k0].sum()
        pre_soj = (
            st["sec_soj"][:k0].sum() / max(pre_a - st["sec_errors"][:k0].sum(), 1)
            if pre_a
            else None
        )
        up_min = (
            min(sched.replicas_up(c.index, c.instance_count, t * 1000.0) for t in range(k0, k1))
            if k1 > k0
            else c.instance_count
        )
        how = []
        if c.index in direct:
            how.append("failed" if up_min < c.instance_count else "degraded")
        if up_min == 0:
            how.append("unreachable")
        if a and e / a >= 0.01:
            how.append("errors")
        if pre_soj and soj > 1.5 * pre_soj + 1.0:
            how.append("slower")
        if how:
            impacted.append(
                {
                    "component_id": c.id,
                    "how": how,
                    "error_rate": float(e / a) if a else 0.0,
                    "mean_sojourn_ms": float(soj),
                    "baseline_sojourn_ms": float(pre_soj) if pre_soj else None,
                    "replicas_up_min": up_min,
                }
            )
    lo, hi = np.searchsorted(t_arr, [f0 * 1000.0, f1 * 1000.0])
    fw = slice(lo, hi)
    fl, rs = failed[fw], resp[fw]
    paths = []
    cls_of = _classes(plan, cls, lo, hi, design)
    for name, m in cls_of:
        n = int(m.sum())
        if n == 0:
            continue
        bad = fl[m] != 0
        slow = (~bad) & (rs[m] > slo_ms)
        paths.append(
            {
                "path": name,
                "requests": n,
                "failed_share": float(bad.mean()),
                "slow_share": float(slow.mean()),
                "impacted_share": float((bad | slow).mean()),
            }
        )
    total = int(hi - lo)
    bad_all = (fl != 0) | (rs > slo_ms)
    er, p95 = series["error_rate"], series["p95_ms"]
    recovered = None
    for k in range(k0, n_sec - 2):
        window = range(k, k + 3)
        if all(er[j] < 0.01 and (p95[j] is None or p95[j] <= slo_ms) for j in window):
            if k > k0 or not any(
                er[j] >= 0.01 or (p95[j] or 0) > slo_ms for j in range(k0, min(n_sec, k1 + 1))
            ):
                recovered = k
                break
    impact_began = next(
        (k for k in range(k0, n_sec) if er[k] >= 0.01 or (p95[k] or 0) > slo_ms), None
    )
    downs = [f for f in sched.failures if f["mode"] in ("node-down", "az-down", "region-down")]
    return {
        "window_s": [f0, f1],
        "impacted_components": impacted,
        "requests_in_window": total,
        "failed_share": float((fl != 0).mean()) if total else 0.0,
        "slow_share": float(((fl == 0) & (rs > slo_ms)).mean()) if total else 0.0,
        "impacted_share": float(bad_all.mean()) if total else 0.0,
        "by_path": paths,
        "slo_ms": slo_ms,
        "time_to_detect_s": DETECTION_DELAY_S
        if downs
        else (float(impact_began - f0) if impact_began is not None else None),
        "impact_began_s": float(impact_began) if impact_began is not None else None,
        "recovered_at_s": float(recovered) if recovered is not None else None,
        "time_to_recover_s": (float(max(0.0, recovered - f0)) if recovered is not None else None),
        "recovered": recovered is not None,
    }


def _classes(plan, cls, lo, hi, design):
    """Masks over the failure window per entry path (client and read/write)."""
    c = cls[lo:hi]
    out = []
    for i, cl in enumerate(plan.classes):
        name = f"{design.components[cl.client].id} {('read', 'write')[cl.op]}"
        out.append((name, c == i))
    return out
