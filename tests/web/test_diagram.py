"""The server-rendered SVG diagram of the workspace (``sdc.web.diagram``)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from sdc.core.simulation.constants import COMPONENT_TYPES
from sdc.web.diagram import render_diagram

SVG = "{http://www.w3.org/2000/svg}"

DESIGN = {
    "format": "sdc-design/1",
    "components": [
        {"id": "users", "type": "client", "label": "Users"},
        {"id": "lb", "type": "load-balancer", "label": "Edge LB", "replicas": 2, "azs": ["a", "b"]},
        {"id": "api", "type": "service", "label": "API", "replicas": 4, "tier": "large",
         "azs": ["a", "b", "c"]},
        {"id": "q", "type": "queue", "label": "Jobs"},
        {"id": "db", "type": "database", "label": "Links <DB>"},
    ],
    "edges": [
        {"id": "e1", "source": "users", "target": "lb"},
        {"id": "e2", "source": "lb", "target": "api"},
        {"id": "e3", "source": "api", "target": "db", "ops": "read"},
        {"id": "e4", "source": "api", "target": "db", "ops": "write"},
        {"id": "e5", "source": "api", "target": "q", "mode": "async"},
    ],
}  # fmt: skip


def _svg(design, **kwargs) -> ET.Element:
    html = str(render_diagram(design, **kwargs))
    svg = re.search(r"<svg.*</svg>", html, re.S).group(0)
    return ET.fromstring(svg)  # also proves the SVG is well-formed XML


def _node(svg, cid):
    return next(g for g in svg.iter(f"{SVG}g") if g.get("data-component-id") == cid)


def _texts(el, cls):
    return [t.text for t in el.iter(f"{SVG}text") if cls in (t.get("class") or "").split()]


def test_nodes_show_icon_label_replicas_tier_and_az_badges():
    svg = _svg(DESIGN)
    api = _node(svg, "api")
    assert _texts(api, "node-icon") == ["SVC"]
    assert _texts(api, "node-label") == ["API"]
    assert _texts(api, "node-meta") == ["4 × large"]
    assert _texts(api, "az-text") == ["a", "b", "c"]
    assert _texts(_node(svg, "lb"), "node-meta") == ["2 × medium"]
    assert _texts(_node(svg, "users"), "az-text") == ["a"]  # the default zone
    assert _texts(_node(svg, "db"), "node-label") == ["Links <DB>"]  # escaped, parsed back


def test_every_component_type_has_its_own_icon():
    design = {
        "format": "sdc-design/1",
        "edges": [],
        "components": [{"id": f"c{k}", "type": t} for k, t in enumerate(COMPONENT_TYPES)],
    }
    svg = _svg(design)
    icons = [_texts(_node(svg, f"c{k}"), "node-icon")[0] for k in range(len(COMPONENT_TYPES))]
    assert "?" not in icons and len(set(icons)) == len(COMPONENT_TYPES)


def test_edges_have_arrows_and_read_write_async_styling():
    svg = _svg(DESIGN)
    lines = {
        g.get("data-edge-id"): g.find(f"{SVG}line") for g in svg.iter(f"{SVG}g")
        if g.get("data-edge-id")
    }  # fmt: skip
    assert set(lines) == {"e1", "e2", "e3", "e4", "e5"}
    classes = {eid: set(line.get("class").split()) for eid, line in lines.items()}
    assert {"edge-all", "edge-sync"} <= classes["e1"]
    assert "edge-read" in classes["e3"] and "edge-write" in classes["e4"]
    assert {"edge-all", "edge-async"} <= classes["e5"]
    marker = svg.find(f"{SVG}defs/{SVG}marker").get("id")
    assert all(line.get("marker-end") == f"url(#{marker})" for line in lines.values())
    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "edge-label"]
    assert sorted(labels) == ["async", "read", "write"]


def test_the_text_alternative_lists_components_and_connections():
    html = str(render_diagram(DESIGN))
    assert "<strong>API</strong> (service, 4 × large, AZ a, b, c) → Links &lt;DB&gt; (read)" in html
    assert "Links &lt;DB&gt; (write), Jobs (all, async)" in html


def test_selected_node_and_links_into_the_inspector():
    svg = _svg(DESIGN, selected="api", link=lambda cid: {"href": f"/x?component={cid}"})
    assert "node-selected" in _node(svg, "api").get("class").split()
    assert "node-selected" not in _node(svg, "lb").get("class").split()
    link = _node(svg, "lb").find(f"{SVG}a")
    assert link.get("href") == "/x?component=lb"
