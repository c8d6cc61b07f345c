"""Read-only shaping of a comparison for the templates: the delta diagram and the load curve."""

from __future__ import annotations

from sdc.web.diagram import render_diagram
from sdc.web.xy_chart import Series, nice_max, xy_chart


def delta_diagram(data: dict):
    return render_diagram(data["merged_design"], delta=data["delta"], svg_id="compare-diagram")


def _ms(v: float) -> str:
    return f"{v:,.0f} ms" if v >= 10 or v == 0 else f"{v:.1f} ms"


def curve_chart(data: dict, chart_id: str = "compare-curve"):
    """p95 latency vs offered load for both versions (analytic), with the p95 SLO line."""
    curves = data.get("curves") or {}
    series = []
    for key, dashed in (("baseline", True), ("candidate", False)):
        curve = curves.get(key)
        version = data[key]
        if not curve:
            continue
        points = [(p.get("offered_rps"), p.get("p95_ms")) for p in curve.get("points") or []]
        series.append(Series(f"Version {version.number} ({key}) p95", points, dashed=dashed))
    slo = (data.get("slos") or {}).get("p95_ms")
    ys = [y for s in series for _, y in s.points if isinstance(y, (int, float))]
    # Near capacity latency grows without bound: keep the SLO region readable.
    y_max = nice_max(min(max(ys), 5 * slo)) if ys and slo else None
    return xy_chart(
        series,
        chart_id=chart_id,
        title="p95 latency vs offered load (analytic model)",
        x_label="offered rps",
        y_label="p95 ms",
        y_format=_ms,
        threshold=slo,
        threshold_label=f"SLO p95 {slo:g} ms" if slo else "",
        y_max=y_max,
    )
