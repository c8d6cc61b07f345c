"""Server-rendered SVG line charts: no JavaScript, no inline styles (the CSP forbids both).

``line_chart(t, lines, ...)`` returns Markup holding a ``<figure>`` with an ``<svg>`` (geometry in
SVG attributes, colours from CSS classes ``chart-series-N`` in app.css) and a caption. Every piece
of user text (titles, series names) is escaped. Missing values (``None``) break a line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 58, 12, 12, 30
MAX_SERIES = 8


@dataclass
class Line:
    name: str
    values: Sequence[float | None]
    dashed: bool = False


def nice_max(value: float) -> float:
    """A round upper bound at or above ``value`` (1, 2, 2.5, 5 times a power of ten)."""
    if not value or value <= 0 or not math.isfinite(value):
        return 1.0
    exp = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        top = step * 10**exp
        if top >= value * 0.999999:
            return float(top)
    return float(10 ** (exp + 1))


def _fmt_default(v: float) -> str:
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10 or v == 0:
        return f"{v:.0f}"
    return f"{v:.2g}"


def _segments(t: Sequence[float], values: Sequence[float | None], x, y) -> list[str]:
    """SVG path data, one ``M ... L ...`` run per stretch of known values."""
    out, run = [], []
    for ti, vi in zip(t, values, strict=False):
        if vi is None or not isinstance(vi, (int, float)) or not math.isfinite(vi):
            if run:
                out.append(run)
            run = []
            continue
        run.append(f"{x(ti):.1f},{y(vi):.1f}")
    if run:
        out.append(run)
    return ["M" + " L".join(r) if len(r) > 1 else f"M{r[0]} l0.1,0" for r in out]


def line_chart(
    t: Sequence[float],
    lines: Sequence[Line],
    *,
    chart_id: str,
    title: str,
    y_label: str,
    y_format: Callable[[float], str] = _fmt_default,
    y_max: float | None = None,
    threshold: float | None = None,
    threshold_label: str = "",
) -> Markup:
    """A line chart of ``lines`` over the time axis ``t`` (seconds)."""
    lines = [ln for ln in lines if ln.values][:MAX_SERIES]
    cid = escape(chart_id)
    if not t or not lines:
        return Markup(  # reviewed: title, labels and series names pass through escape(); the rest are numbers # nosec B704
            f'<figure class="chart chart-empty" id="{cid}"><figcaption>{escape(title)}: '
            "no time series for this run.</figcaption></figure>"
        )
    known = [
        v for ln in lines for v in ln.values if isinstance(v, (int, float)) and math.isfinite(v)
    ]
    top = y_max if y_max is not None else nice_max(max(known + [threshold or 0.0], default=0.0))
    t0, t1 = float(t[0]), float(t[-1])
    span = (t1 - t0) or 1.0
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def x(v: float) -> float:
        return PAD_LEFT + (float(v) - t0) / span * plot_w

    def y(v: float) -> float:
        return PAD_TOP + plot_h - min(max(float(v) / top, 0.0), 1.05) * plot_h

    out = [
        f'<svg class="chart-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="{cid}-title {cid}-desc">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(_describe(lines, y_format))}</desc>',
        '<g class="chart-gridlines">',
    ]
    for k in range(5):
        v = top * k / 4
        yy = y(v)
        out.append(
            f'<line x1="{PAD_LEFT}" y1="{yy:.1f}" x2="{WIDTH - PAD_RIGHT}" y2="{yy:.1f}"/>'
            f'<text class="chart-tick" x="{PAD_LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">'
            f"{escape(y_format(v))}</text>"
        )
    for k in range(6):
        tv = t0 + span * k / 5
        xx = x(tv)
        out.append(
            f'<text class="chart-tick" x="{xx:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}"'
            f' text-anchor="middle">{tv:.0f}s</text>'
        )
    out.append(
        f'<text class="chart-axis-label" x="4" y="{PAD_TOP + 8}">{escape(y_label)}</text></g>'
    )
    if threshold is not None and 0 < threshold <= top * 1.05:
        yy = y(threshold)
        out.append(
            f'<g class="chart-threshold"><line x1="{PAD_LEFT}" y1="{yy:.1f}"'
            f' x2="{WIDTH - PAD_RIGHT}" y2="{yy:.1f}"/><text x="{WIDTH - PAD_RIGHT - 4}"'
            f' y="{yy - 4:.1f}" text-anchor="end">{escape(threshold_label)}</text></g>'
        )
    for i, ln in enumerate(lines):
        cls = f"chart-line chart-series-{i}" + (" chart-dashed" if ln.dashed else "")
        for d in _segments(t, ln.values, x, y):
            out.append(
                f'<path class="{cls}" d="{d}" fill="none"><title>{escape(ln.name)}</title></path>'
            )
    out.append("</svg>")
    legend = "".join(
        f'<li><span class="chart-key chart-series-{i}" aria-hidden="true"></span>{escape(ln.name)}</li>'
        for i, ln in enumerate(lines)
    )
    return Markup(  # reviewed: title, labels and series names pass through escape(); the rest are numbers # nosec B704
        f'<figure class="chart" id="{cid}">{"".join(out)}'
        f'<figcaption><strong>{escape(title)}</strong><ul class="chart-legend">{legend}</ul>'
        "</figcaption></figure>"
    )


def _describe(lines: Sequence[Line], y_format) -> str:
    parts = []
    for ln in lines:
        vals = [v for v in ln.values if isinstance(v, (int, float)) and math.isfinite(v)]
        if vals:
            parts.append(
                f"{ln.name}: min {y_format(min(vals))}, max {y_format(max(vals))}, "
                f"last {y_format(vals[-1])}"
            )
        else:
            parts.append(f"{ln.name}: no data")
    return "; ".join(parts)


def pct(v: float) -> str:
    return f"{v * 100:.0f}%" if v >= 0.1 or v == 0 else f"{v * 100:.1f}%"


def ms(v: float) -> str:
    return f"{v:,.0f} ms" if v >= 10 or v == 0 else f"{v:.1f} ms"


def run_charts(result: dict, labels: dict[str, str], slo_ms: float | None, prefix: str = "chart"):
    """The charts of one run's ``series``: throughput, latency, errors, per-component load."""
    series = (result or {}).get("series") or {}
    t = series.get("t_s") or []
    if not t:
        return []
    charts = [
        line_chart(
            t,
            [
                Line("offered rps", series.get("offered_rps") or [], dashed=True),
                Line("served rps", series.get("throughput_rps") or []),
            ],
            chart_id=f"{prefix}-throughput",
            title="Offered vs served requests per second",
            y_label="rps",
        ),
        line_chart(
            t,
            [Line("p95", series.get("p95_ms") or []), Line("p99", series.get("p99_ms") or [])],
            chart_id=f"{prefix}-latency",
            title="Latency per second (p95" + (", p99)" if series.get("p99_ms") else ")"),
            y_label="ms",
            y_format=ms,
            threshold=slo_ms,
            threshold_label=f"SLO {slo_ms:g} ms" if slo_ms else "",
        ),
        line_chart(
            t,
            [Line("error rate", series.get("error_rate") or [])],
            chart_id=f"{prefix}-errors",
            title="Share of requests failing per second",
            y_label="errors",
            y_format=pct,
            y_max=max(0.05, nice_max(max((v or 0) for v in series.get("error_rate") or [0]))),
        ),
    ]
    comps = series.get("components") or {}
    if comps:
        ranked = sorted(
            comps.items(),
            key=lambda kv: -max((v or 0) for v in kv[1].get("utilization") or [0]),
        )[:MAX_SERIES]
        charts.append(
            line_chart(
                t,
                [Line(labels.get(cid, cid), s.get("utilization") or []) for cid, s in ranked],
                chart_id=f"{prefix}-utilization",
                title="Utilisation per component (busiest first)",
                y_label="busy",
                y_format=pct,
                y_max=1.0
                if all(max((v or 0) for v in s.get("utilization") or [0]) <= 1 for _, s in ranked)
                else None,
            )
        )
    return charts
