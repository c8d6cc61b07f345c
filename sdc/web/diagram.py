"""Server-rendered SVG of a design, reused by the workspace and (with a heat overlay) by runs.

``render_diagram(design, overlay)`` returns Markup: a ``<figure>`` holding the SVG and a text
alternative listing every component and connection. All user text is escaped. Presentation
comes from CSS classes (the CSP forbids inline styles); geometry from SVG attributes.
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup, escape

from sdc.core.diagram_layout import edge_line, layout

TYPE_ICONS = {
    "client": "USR",
    "cdn": "CDN",
    "load-balancer": "LB",
    "api-gateway": "GW",
    "service": "SVC",
    "worker": "WRK",
    "cache": "$",
    "database": "DB",
    "queue": "Q",
    "object-store": "OBJ",
    "search": "SRCH",
}
LABEL_CHARS = 18
# Compare pages draw two versions as one diagram; these mark what changed (CSS delta-*).
DELTA_TEXT = {"added": "added", "removed": "removed", "changed": "changed"}


def _attrs(attrs: dict) -> str:
    return "".join(f' {k}="{escape(v)}"' for k, v in attrs.items() if v is not None)


def _short(text: str, n: int = LABEL_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def heat_class(stats: dict | None) -> str:
    """CSS class for a component's utilisation and error rate (fractions)."""
    if not stats:
        return ""
    util = float(stats.get("utilization") or 0.0)
    err = float(stats.get("error_rate") or 0.0)
    if util >= 1.0 or err >= 0.01:
        return "heat-critical"
    if util >= 0.8:
        return "heat-high"
    if util >= 0.5:
        return "heat-mid"
    return "heat-low"


def _meta(c: dict) -> str:
    replicas = c.get("replicas", 1)
    tier = c.get("tier", "medium")
    return f"{replicas} × {tier}"


def render_diagram(
    design: dict,
    overlay: dict | None = None,
    *,
    selected: str | None = None,
    link: Callable[[str], dict] | None = None,
    svg_id: str = "diagram-svg",
    delta: dict | None = None,
    badges: dict | None = None,
) -> Markup:
    """The design as an SVG figure with a text alternative.

    ``overlay`` maps component id -> {"utilization": float, "error_rate": float} (fractions)
    and colours each node by load. ``link(cid)`` returns the attributes of an ``<a>`` around
    the node (href, hx-get, ...), or None for no link. ``selected`` highlights one node.
    ``delta`` (compare pages) is ``{"components": {id: status}, "edges": {id: status}}`` with
    status added/removed/changed: those nodes and edges get ``delta-<status>`` classes and a tag.
    ``badges`` maps component id -> a count (open comments) drawn as a badge on the node.
    """
    node_delta = (delta or {}).get("components") or {}
    edge_delta = (delta or {}).get("edges") or {}
    comps = [c for c in design.get("components") or [] if isinstance(c, dict)]
    edges = [e for e in design.get("edges") or [] if isinstance(e, dict)]
    geo = layout(design)
    labels = {str(c.get("id")): str(c.get("label") or c.get("id")) for c in comps}
    out: list[str] = [
        f'<svg id="{escape(svg_id)}" class="diagram" xmlns="http://www.w3.org/2000/svg"'
        f' viewBox="0 0 {geo.width:.0f} {geo.height:.0f}" width="{geo.width:.0f}"'
        f' height="{geo.height:.0f}" role="{"group" if link else "img"}"'
        f' aria-labelledby="{escape(svg_id)}-title">',
        f'<title id="{escape(svg_id)}-title">Architecture diagram: {len(comps)} components, '
        f"{len(edges)} connections (listed as text below)</title>",
        "<defs>",
        f'<marker id="{escape(svg_id)}-arrow" viewBox="0 0 10 10" refX="9" refY="5"'
        ' markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker>',
        "</defs>",
        '<g class="edges">',
    ]
    for e in edges:
        a, b = geo.boxes.get(str(e.get("source"))), geo.boxes.get(str(e.get("target")))
        if a is None or b is None:
            continue
        x1, y1, x2, y2 = edge_line(a, b)
        ops, mode = e.get("ops", "all"), e.get("mode", "sync")
        cls = f"edge edge-{escape(ops)} edge-{escape(mode)}"
        desc = f"{labels.get(e['source'], e['source'])} → {labels.get(e['target'], e['target'])}"
        tag = " ".join(
            t for t in (ops if ops != "all" else "", "async" if mode == "async" else "") if t
        )
        group_cls = "edge-group"
        if edge_status := edge_delta.get(str(e.get("id", ""))):
            group_cls += f" delta-{escape(edge_status)}"
        out.append(
            f'<g class="{group_cls}" data-edge-id="{escape(e.get("id", ""))}">'
            f'<line class="{cls}" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"'
            f' marker-end="url(#{escape(svg_id)}-arrow)"><title>{escape(desc)}'
            f"{escape(' (' + tag + ')') if tag else ''}</title></line>"
        )
        if tag:
            out.append(
                f'<text class="edge-label" x="{(x1 + x2) / 2:.1f}" y="{(y1 + y2) / 2 - 4:.1f}"'
                f' text-anchor="middle">{escape(tag)}</text>'
            )
        out.append("</g>")
    out.append('</g><g class="nodes">')
    for c in comps:
        cid = str(c.get("id"))
        box = geo.boxes[cid]
        ctype = str(c.get("type", ""))
        stats = (overlay or {}).get(cid)
        classes = ["node", f"node-{ctype}"]
        if cid == selected:
            classes.append("node-selected")
        if heat := heat_class(stats):
            classes.append(heat)
        status = node_delta.get(cid)
        if status:
            classes.append(f"delta-{status}")
        label = labels[cid]
        out.append(
            f'<g class="{escape(" ".join(classes))}" data-component-id="{escape(cid)}"'
            f' transform="translate({box.x:.0f},{box.y:.0f})">'
        )
        attrs = link(cid) if link else None
        if attrs:
            out.append(f"<a{_attrs(attrs)}>")
        out.append(
            f'<rect class="node-box" width="{box.w:.0f}" height="{box.h:.0f}" rx="8"/>'
            f"<title>{escape(label)} ({escape(ctype)})</title>"
            f'<rect class="node-icon-bg" x="6" y="6" width="34" height="20" rx="4"/>'
            f'<text class="node-icon" x="23" y="20" text-anchor="middle" aria-hidden="true">'
            f"{escape(TYPE_ICONS.get(ctype, '?'))}</text>"
            f'<text class="node-label" x="46" y="21">{escape(_short(label))}</text>'
            f'<text class="node-meta" x="8" y="44" aria-hidden="true">{escape(_meta(c))}</text>'
        )
        if stats:
            util = float(stats.get("utilization") or 0.0) * 100
            err = float(stats.get("error_rate") or 0.0) * 100
            out.append(
                f'<text class="node-heat" x="8" y="60" aria-hidden="true">util {util:.0f}% · err {err:.1f}%</text>'
            )
        if status:
            out.append(
                f'<text class="node-delta" x="{box.w - 8:.0f}" y="44" text-anchor="end">'
                f"{escape(DELTA_TEXT.get(status, status))}</text>"
            )
        if count := (badges or {}).get(cid):
            out.append(_badge(box.w, int(count)))
        azs = c.get("azs") or ["a"]
        if isinstance(azs, list):
            for k, az in enumerate(azs[:6]):
                x = box.w - 8 - (len(azs[:6]) - k) * 18
                out.append(
                    f'<rect class="az-badge" x="{x + 2}" y="{box.h - 22}" width="16"'
                    f' height="14" rx="3"/><text class="az-text" aria-hidden="true" x="{x + 10}"'
                    f' y="{box.h - 11}" text-anchor="middle">{escape(str(az)[:2])}</text>'
                )
        if attrs:
            out.append("</a>")
        out.append("</g>")
    out.append("</g></svg>")
    svg = "".join(out)
    return (
        Markup(  # reviewed: labels, ids, types and AZs pass through escape(); the rest are numbers # nosec B704
            f'<figure class="diagram-figure" id="{escape(svg_id)}-figure">'
            f'<div class="diagram-scroll">{svg}</div>'
            f"{text_alternative(comps, edges, labels, overlay, node_delta)}</figure>"
        )
    )


def _badge(width: float, count: int) -> str:
    label = f"{count} open comment{'s' if count != 1 else ''}"
    return (
        f'<g class="comment-badge" transform="translate({width - 12:.0f},0)">'
        f"<title>{label}</title>"
        f'<circle r="10" cx="0" cy="0"/>'
        f'<text x="0" y="4" text-anchor="middle">{min(count, 99)}</text></g>'
    )


def text_alternative(comps, edges, labels, overlay=None, node_delta=None) -> str:
    """The diagram as a list: each component with its settings and where it sends requests."""
    targets: dict[str, list[str]] = {}
    for e in edges:
        tag = e.get("ops", "all")
        mode = e.get("mode", "sync")
        suffix = (
            ""
            if tag == "all" and mode == "sync"
            else f" ({tag}{', async' if mode == 'async' else ''})"
        )
        targets.setdefault(str(e.get("source")), []).append(
            labels.get(str(e.get("target")), str(e.get("target"))) + suffix
        )
    items = []
    for c in comps:
        cid = str(c.get("id"))
        azs = c.get("azs") or ["a"]
        line = (
            f"<strong>{escape(labels[cid])}</strong> ({escape(c.get('type', ''))}, "
            f"{escape(_meta(c))}, AZ {escape(', '.join(map(str, azs)) if isinstance(azs, list) else azs)})"
        )
        stats = (overlay or {}).get(cid)
        if stats:
            # str(): adding Markup to a str would escape the <strong> written above.
            line += str(
                escape(
                    f" · utilisation {float(stats.get('utilization') or 0) * 100:.0f}%,"
                    f" errors {float(stats.get('error_rate') or 0) * 100:.1f}%"
                )
            )
        if targets.get(cid):
            line += " → " + str(escape(", ".join(targets[cid])))
        if (node_delta or {}).get(cid):
            line += f' <span class="delta-tag">({escape(node_delta[cid])})</span>'
        items.append(f'<li data-component-id="{escape(cid)}">{line}</li>')
    return (
        '<figcaption><details class="diagram-text"><summary>Diagram as text</summary>'
        f'<ul class="diagram-text-list">{"".join(items)}</ul></details></figcaption>'
    )
