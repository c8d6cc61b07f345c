"""The DES timeline, read off the per-second series: failure injected/detected/ended,
error rate crossed 1% and back, p95 above the SLO and back, each component saturated
(>= 95% of its servers in service busy) and failing requests. Nothing is scripted."""

from __future__ import annotations

from .constants import DETECTION_DELAY_S


def crossings(values, test, n_sec, min_gap=3):
    """(start, end) second ranges where test(value) holds (end None if never cleared)."""
    out = []
    k = 0
    while k < n_sec and len(out) < 3:
        if values[k] is not None and test(values[k]):
            s = k
            calm = 0
            while k < n_sec:
                if values[k] is None or not test(values[k]):
                    calm += 1
                    if calm >= min_gap:
                        break
                else:
                    calm = 0
                k += 1
            out.append((s, k - calm + 1 if k < n_sec else None))
        k += 1
    return out


def timeline(design, sched, series, comp_stats, slo_ms, n_sec) -> list[dict]:
    ev = []
    for f in sched.failures:
        at = float(f.get("at_s", 0))
        what = f.get("component_id") or f.get("region", "")
        if f["mode"] == "az-down":
            what = f"{f['region']}-{f['az']}"
        detail = {k: v for k, v in f.items() if k not in ("mode",) and v is not None}
        ev.append(
            {
                "t_s": at,
                "severity": "critical",
                "title": f"failure injected: {f['mode']} {what}".strip(),
                "detail": ", ".join(f"{k}={v}" for k, v in detail.items()),
                "component_id": f.get("component_id"),
            }
        )
        if f["mode"] in ("node-down", "az-down", "region-down"):
            ev.append(
                {
                    "t_s": at + DETECTION_DELAY_S,
                    "severity": "info",
                    "title": "health checks detect the failure",
                    "detail": f"routers stop sending to dead replicas after "
                    f"{DETECTION_DELAY_S:g} s",
                    "component_id": f.get("component_id"),
                }
            )
        if f.get("for_s"):
            ev.append(
                {
                    "t_s": at + float(f["for_s"]),
                    "severity": "info",
                    "title": f"failure ends: {f['mode']} {what}".strip(),
                    "detail": "the failed part is back",
                    "component_id": f.get("component_id"),
                }
            )
    for s, e in crossings(series["error_rate"], lambda x: x >= 0.01, n_sec):
        peak = max(x for x in series["error_rate"][s : e or n_sec])
        ev.append(
            {
                "t_s": float(s),
                "severity": "critical" if peak >= 0.05 else "warning",
                "title": "error rate crossed 1%",
                "detail": f"peak {peak:.1%} per second",
                "component_id": None,
            }
        )
        if e is not None:
            ev.append(
                {
                    "t_s": float(e),
                    "severity": "info",
                    "title": "error rate back under 1%",
                    "detail": "",
                    "component_id": None,
                }
            )
    for s, e in crossings(series["p95_ms"], lambda x: x > slo_ms, n_sec):
        ev.append(
            {
                "t_s": float(s),
                "severity": "warning",
                "title": "p95 latency above the SLO",
                "detail": f"p95 {series['p95_ms'][s]:.0f} ms > {slo_ms:g} ms",
                "component_id": None,
            }
        )
        if e is not None:
            ev.append(
                {
                    "t_s": float(e),
                    "severity": "info",
                    "title": "p95 latency back within SLO",
                    "detail": "",
                    "component_id": None,
                }
            )
    for c in design.components:
        st = series["components"].get(c.id)
        if not st:
            continue
        for s, e in crossings(st["utilization"], lambda x: x >= 0.95, n_sec):
            ev.append(
                {
                    "t_s": float(s),
                    "severity": "warning",
                    "title": f"{c.id} saturated",
                    "detail": f"utilisation {st['utilization'][s]:.0%}",
                    "component_id": c.id,
                }
            )
            if e is not None:
                ev.append(
                    {
                        "t_s": float(e),
                        "severity": "info",
                        "title": f"{c.id} back under 95% utilisation",
                        "detail": "",
                        "component_id": c.id,
                    }
                )
        for s, _ in crossings(st["error_rate"], lambda x: x >= 0.01, n_sec):
            ev.append(
                {
                    "t_s": float(s),
                    "severity": "warning",
                    "title": f"{c.id} failing requests",
                    "detail": f"{st['error_rate'][s]:.1%} of its requests fail",
                    "component_id": c.id,
                }
            )
    ev.sort(key=lambda x: (x["t_s"], x["title"]))
    return ev[:100]
