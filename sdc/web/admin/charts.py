"""Tiny SVG line charts for the admin pages: points computed here, drawn by the template
with presentation attributes only (no inline style, so the strict CSP holds)."""

from __future__ import annotations

WIDTH, HEIGHT, PAD = 600, 120, 4


def line_chart(values: list[float], label: str) -> dict:
    """Polyline points scaled into a WIDTH x HEIGHT box, plus the peak for the axis label."""
    peak = max(values) if values else 0.0
    n = len(values)
    if n == 0:
        return {"points": "", "peak": 0.0, "label": label, "width": WIDTH, "height": HEIGHT}
    scale = (HEIGHT - 2 * PAD) / peak if peak > 0 else 0.0
    step = (WIDTH - 2 * PAD) / max(1, n - 1)
    points = " ".join(
        f"{PAD + i * step:.1f},{HEIGHT - PAD - v * scale:.1f}" for i, v in enumerate(values)
    )
    return {"points": points, "peak": peak, "label": label, "width": WIDTH, "height": HEIGHT}
