"""HTML to PDF with xhtml2pdf (pure Python on ReportLab; installs from PyPI, no system libs).

The report page's own HTML (rendered with ``print=True``) goes in; a PDF comes out. Inline
``<svg>`` diagrams and charts become ``data:image/svg+xml`` images, which xhtml2pdf draws as
vector graphics through svglib; their CSS classes are restyled by ``SVG_STYLE`` because the
renderer does not apply the page's stylesheet inside an SVG.

Nothing in the document can make the renderer fetch a URL or read a file: a ``link_callback``
answers every reference (images, stylesheets, fonts) with an empty inline image unless it is
one of the data URIs made here, and the resource policy refuses remote and local access as a
second line. tests/web/test_reports.py proves it with a loopback listener and ``file://``.
"""

from __future__ import annotations

import base64
import io
import logging
import re

from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

log = logging.getLogger(__name__)

# One space, as CSS: what any reference we did not make resolves to (an image that is not
# one is skipped; a stylesheet that is empty adds nothing).
BLANK = "data:text/css;base64,IA=="
MAX_WIDTH_PT = 500.0
_SVG = re.compile(r"<svg\b[^>]*>.*?</svg>", re.S)
_DIMS = re.compile(r'viewBox="0 0 ([0-9.]+) ([0-9.]+)"')

# The page stylesheet's SVG rules in a form svglib applies (no CSS variables).
SVG_STYLE = """
.node-box { fill: #ffffff; stroke: #9aa3ad; stroke-width: 1.5; }
.node-icon-bg { fill: #1e6fd9; }
.node-client .node-icon-bg { fill: #2e7d32; }
.node-database .node-icon-bg, .node-object-store .node-icon-bg { fill: #6a4fb3; }
.node-cache .node-icon-bg, .node-cdn .node-icon-bg { fill: #f9a825; }
.node-queue .node-icon-bg, .node-worker .node-icon-bg { fill: #00838f; }
.node-icon { fill: #ffffff; font-size: 10px; font-weight: bold; font-family: Helvetica; }
.node-label { fill: #1b1f24; font-size: 13px; font-weight: bold; font-family: Helvetica; }
.node-meta, .node-heat, .az-text, .edge-label, .node-delta { fill: #5f6b76; font-size: 10px; font-family: Helvetica; }
.az-badge { fill: none; stroke: #5f6b76; }
.edge { stroke: #5f6b76; stroke-width: 1.6; }
.edge-read { stroke: #1e88e5; }
.edge-write { stroke: #e53935; }
.arrowhead { fill: #5f6b76; }
.heat-low .node-box { fill: #e8f5e9; stroke: #2e7d32; }
.heat-mid .node-box { fill: #fff8e1; stroke: #f9a825; }
.heat-high .node-box { fill: #ffe0b2; stroke: #ef6c00; }
.heat-critical .node-box { fill: #ffcdd2; stroke: #c62828; }
.delta-added .node-box { fill: #e8f5e9; stroke: #2e7d32; stroke-width: 3; }
.delta-removed .node-box { fill: #fbe9e7; stroke: #c62828; stroke-width: 3; }
.delta-changed .node-box { fill: #fff8e1; stroke: #ef6c00; stroke-width: 3; }
.delta-added .edge { stroke: #2e7d32; stroke-width: 2.5; }
.delta-removed .edge { stroke: #c62828; stroke-width: 2.5; }
.delta-changed .edge { stroke: #ef6c00; stroke-width: 2.5; }
.chart-gridlines line { stroke: #d0d5da; stroke-width: 1; }
.chart-tick, .chart-axis-label { fill: #5f6b76; font-size: 11px; font-family: Helvetica; }
.chart-threshold line { stroke: #c62828; stroke-width: 1.2; }
.chart-threshold text { fill: #c62828; font-size: 11px; font-family: Helvetica; }
.chart-line { stroke-width: 2; fill: none; }
.chart-series-0 { stroke: #1e88e5; }
.chart-series-1 { stroke: #e53935; }
.chart-series-2 { stroke: #43a047; }
.chart-series-3 { stroke: #fb8c00; }
circle.chart-series-0 { fill: #1e88e5; }
circle.chart-series-1 { fill: #e53935; }
"""


class PdfError(RuntimeError):
    pass


def _svg_to_img(match: re.Match, allowed: set[str]) -> str:
    svg = match.group(0)
    # The <style> goes first inside the SVG; markers and <title>s are harmless to svglib.
    head_end = svg.index(">") + 1
    styled = svg[:head_end] + f"<style>{SVG_STYLE}</style>" + svg[head_end:]
    uri = "data:image/svg+xml;base64," + base64.b64encode(styled.encode("utf-8")).decode()
    allowed.add(uri)
    dims = _DIMS.search(svg)
    width, height = (float(dims.group(1)), float(dims.group(2))) if dims else (640.0, 240.0)
    scale = min(1.0, MAX_WIDTH_PT / width) if width else 1.0
    return (
        f'<img class="pdf-figure" src="{uri}" width="{width * scale:.0f}"'
        f' height="{height * scale:.0f}" alt="">'
    )


def inline_svgs(html: str) -> tuple[str, set[str]]:
    """Replace every inline ``<svg>`` with a vector data-URI image; return the URIs made."""
    allowed: set[str] = set()
    return _SVG.sub(lambda m: _svg_to_img(m, allowed), html), allowed


def render_pdf(html: str) -> bytes:
    """The PDF of ``html``. Fetches nothing; raises PdfError if the renderer reports errors."""
    html, allowed = inline_svgs(html)
    refused: list[str] = []

    def link_callback(uri, rel):
        if isinstance(uri, str) and uri in allowed:
            return uri
        refused.append(str(uri)[:200])
        return BLANK

    # Second line of defence: no network at all, no directory to read from.
    policy = ResourceAccessPolicy.server(base_dir=None, allow_remote=False)
    out = io.BytesIO()
    status = pisa.CreatePDF(
        html,
        dest=out,
        link_callback=link_callback,
        resource_policy=policy,
        encoding="utf-8",
    )
    if refused:
        log.info("pdf: refused %d references: %r", len(refused), refused[:10])
    if status.err:
        raise PdfError(f"The PDF renderer reported {status.err} error(s).")
    return out.getvalue()
