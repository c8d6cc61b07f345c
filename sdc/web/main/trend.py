"""The score trend as a server-rendered SVG line chart (no JavaScript, CSS classes only)."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 40, 16, 14, 28


def geometry(scores: list[float], width: int = WIDTH, height: int = HEIGHT) -> list[tuple]:
    """(x, y) of each score (0-100), evenly spaced left to right; one point sits centred."""
    inner_w = width - PAD_LEFT - PAD_RIGHT
    inner_h = height - PAD_TOP - PAD_BOTTOM
    n = len(scores)
    out = []
    for i, s in enumerate(scores):
        x = PAD_LEFT + (inner_w / 2 if n == 1 else inner_w * i / (n - 1))
        y = PAD_TOP + inner_h * (1 - max(0.0, min(100.0, s)) / 100)
        out.append((round(x, 1), round(y, 1)))
    return out


def trend_svg(points: list[dict], svg_id: str = "score-trend") -> Markup:
    """``points``: dicts with ``label`` and ``score``, oldest first."""
    if not points:
        return Markup("")
    xy = geometry([p["score"] for p in points])
    first, last = points[0]["score"], points[-1]["score"]
    out = [
        f'<svg id="{svg_id}" class="trend-chart" xmlns="http://www.w3.org/2000/svg"'
        f' viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{svg_id}-title">',
        f'<title id="{svg_id}-title">Overall score across {len(points)} graded version'
        f"{'' if len(points) == 1 else 's'}: from {first:.0f} to {last:.0f} out of 100"
        " (the table below lists every point)</title>",
    ]
    for tick in (0, 25, 50, 75, 100):
        y = geometry([tick])[0][1]
        out.append(
            f'<line class="trend-grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y}" y2="{y}"/>'
            f'<text class="trend-tick" x="{PAD_LEFT - 6}" y="{y + 4}" text-anchor="end">{tick}</text>'
        )
    if len(xy) > 1:
        coords = " ".join(f"{x},{y}" for x, y in xy)
        out.append(f'<polyline class="trend-line" points="{coords}"/>')
    for (x, y), p in zip(xy, points, strict=True):
        out.append(
            f'<circle class="trend-point" cx="{x}" cy="{y}" r="4">'
            f"<title>{escape(p['label'])}: {p['score']:.0f}</title></circle>"
        )
    out.append(
        f'<text class="trend-tick" x="{PAD_LEFT}" y="{HEIGHT - 8}">oldest</text>'
        f'<text class="trend-tick" x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 8}" text-anchor="end">newest</text>'
    )
    out.append("</svg>")
    return Markup(
        "".join(out)
    )  # reviewed: point labels pass through escape(); the rest are numbers and constants # nosec B704
