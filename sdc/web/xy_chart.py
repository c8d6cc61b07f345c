"""Server-rendered SVG charts whose series have their own x values (load curves, score history).

``xy_chart`` draws lines over a numeric x axis with no JavaScript and no inline styles (the CSP
forbids both): geometry in SVG attributes, colours from the ``chart-series-N`` classes in
app.css. The PDF renderer restyles the same classes (sdc/web/pdf.py). User text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from sdc.web.charts import _fmt_default as _num
from sdc.web.charts import nice_max

WIDTH, HEIGHT = 640, 240
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 58, 14, 12, 34


@dataclass
class Series:
    name: str
    points: Sequence[tuple[float, float | None]]
    dashed: bool = False


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def xy_chart(
    series: Sequence[Series],
    *,
    chart_id: str,
    title: str,
    x_label: str,
    y_label: str,
    x_format: Callable[[float], str] = _num,
    y_format: Callable[[float], str] = _num,
    y_max: float | None = None,
    y_min: float = 0.0,
    threshold: float | None = None,
    threshold_label: str = "",
    x_ticks: Sequence[float] | None = None,
    markers: bool = False,
) -> Markup:
    """A ``<figure>`` with an SVG line chart of ``series`` and a caption with a legend."""
    cid = escape(chart_id)
    pts = [(x, y) for s in series for x, y in s.points if _finite(x) and _finite(y)]
    if not pts:
        return Markup(  # reviewed: title, labels and series names pass through escape(); the rest are numbers # nosec B704
            f'<figure class="chart chart-empty" id="{cid}"><figcaption>{escape(title)}: '
            "nothing to plot yet.</figcaption></figure>"
        )
    x0 = min(x for x, _ in pts)
    x1 = max(x for x, _ in pts)
    if x_ticks:
        x0, x1 = min(x0, min(x_ticks)), max(x1, max(x_ticks))
    xspan = (x1 - x0) or 1.0
    top = y_max if y_max is not None else nice_max(max([y for _, y in pts] + [threshold or 0]))
    yspan = (top - y_min) or 1.0
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def sx(v: float) -> float:
        return PAD_LEFT + (v - x0) / xspan * plot_w

    def sy(v: float) -> float:
        return PAD_TOP + plot_h - min(max((v - y_min) / yspan, 0.0), 1.05) * plot_h

    out = [
        f'<svg class="chart-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="{cid}-title {cid}-desc">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(_describe(series, x_format, y_format))}</desc>',
        '<g class="chart-gridlines">',
    ]
    for k in range(5):
        v = y_min + yspan * k / 4
        yy = sy(v)
        out.append(
            f'<line x1="{PAD_LEFT}" y1="{yy:.1f}" x2="{WIDTH - PAD_RIGHT}" y2="{yy:.1f}"/>'
            f'<text class="chart-tick" x="{PAD_LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">'
            f"{escape(y_format(v))}</text>"
        )
    ticks = list(x_ticks) if x_ticks else [x0 + xspan * k / 5 for k in range(6)]
    for tv in ticks:
        out.append(
            f'<text class="chart-tick" x="{sx(tv):.1f}" y="{HEIGHT - PAD_BOTTOM + 16}"'
            f' text-anchor="middle">{escape(x_format(tv))}</text>'
        )
    out.append(
        f'<text class="chart-axis-label" x="4" y="{PAD_TOP + 8}">{escape(y_label)}</text>'
        f'<text class="chart-axis-label" x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 4}"'
        f' text-anchor="end">{escape(x_label)}</text></g>'
    )
    if threshold is not None and y_min < threshold <= top * 1.05:
        yy = sy(threshold)
        out.append(
            f'<g class="chart-threshold"><line x1="{PAD_LEFT}" y1="{yy:.1f}"'
            f' x2="{WIDTH - PAD_RIGHT}" y2="{yy:.1f}"/><text x="{WIDTH - PAD_RIGHT - 4}"'
            f' y="{yy - 4:.1f}" text-anchor="end">{escape(threshold_label)}</text></g>'
        )
    for i, s in enumerate(series):
        cls = f"chart-line chart-series-{i}" + (" chart-dashed" if s.dashed else "")
        for run in _runs(s.points):
            coords = [f"{sx(x):.1f},{sy(y):.1f}" for x, y in run]
            d = "M" + " L".join(coords) if len(coords) > 1 else f"M{coords[0]} l0.1,0"
            out.append(
                f'<path class="{cls}" d="{d}" fill="none"><title>{escape(s.name)}</title></path>'
            )
        if markers:
            for x, y in s.points:
                if _finite(x) and _finite(y):
                    out.append(
                        f'<circle class="chart-marker chart-series-{i}" cx="{sx(x):.1f}"'
                        f' cy="{sy(y):.1f}" r="3"/>'
                    )
    out.append("</svg>")
    legend = "".join(
        f'<li><span class="chart-key chart-series-{i}" aria-hidden="true"></span>{escape(s.name)}</li>'
        for i, s in enumerate(series)
    )
    return Markup(  # reviewed: title, labels and series names pass through escape(); the rest are numbers # nosec B704
        f'<figure class="chart" id="{cid}">{"".join(out)}'
        f'<figcaption><strong>{escape(title)}</strong><ul class="chart-legend">{legend}</ul>'
        "</figcaption></figure>"
    )


def _runs(points):
    out, run = [], []
    for x, y in points:
        if _finite(x) and _finite(y):
            run.append((x, y))
        elif run:
            out.append(run)
            run = []
    if run:
        out.append(run)
    return out


def _describe(series, x_format, y_format) -> str:
    parts = []
    for s in series:
        pts = [(x, y) for x, y in s.points if _finite(x) and _finite(y)]
        if pts:
            parts.append(
                f"{s.name}: {len(pts)} points from {x_format(pts[0][0])} "
                f"({y_format(pts[0][1])}) to {x_format(pts[-1][0])} ({y_format(pts[-1][1])})"
            )
        else:
            parts.append(f"{s.name}: no data")
    return "; ".join(parts)
