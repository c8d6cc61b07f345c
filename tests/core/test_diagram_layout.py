"""The layered automatic layout of the workspace diagram (pure geometry)."""

from __future__ import annotations

from sdc.core.diagram_layout import COL_GAP, MARGIN, NODE_H, NODE_W, ROW_GAP, edge_line, layout

COLUMN = NODE_W + COL_GAP
ROW = NODE_H + ROW_GAP


def _design(components, edges):
    return {
        "format": "sdc-design/1",
        "components": [{"id": cid, "type": t, **extra} for cid, t, extra in components],
        "edges": [{"id": f"e{k}", "source": s, "target": t} for k, (s, t) in enumerate(edges)],
    }


URL_SHORTENER = _design(
    [
        ("users", "client", {}),
        ("lb", "load-balancer", {}),
        ("api", "service", {}),
        ("cache", "cache", {}),
        ("db", "database", {}),
    ],
    [("users", "lb"), ("lb", "api"), ("api", "cache"), ("cache", "db"), ("api", "db")],
)


def test_columns_are_the_longest_path_from_the_client():
    boxes = layout(URL_SHORTENER).boxes
    # db is reached by api -> db (2 hops from lb) and by api -> cache -> db (3): the longer wins.
    expected_column = {"users": 0, "lb": 1, "api": 2, "cache": 3, "db": 4}
    for cid, col in expected_column.items():
        assert boxes[cid].x == MARGIN + col * COLUMN, cid
        assert boxes[cid].y == MARGIN  # one node per column: all on the first row


def test_siblings_share_a_column_in_rows_and_the_canvas_holds_every_box():
    design = _design(
        [("users", "client", {}), ("a", "service", {}), ("b", "service", {}), ("c", "cache", {})],
        [("users", "a"), ("users", "b"), ("users", "c")],
    )
    geo = layout(design)
    assert {geo.boxes[c].x for c in "abc"} == {MARGIN + COLUMN}
    assert sorted(geo.boxes[c].y for c in "abc") == [MARGIN, MARGIN + ROW, MARGIN + 2 * ROW]
    assert geo.width >= max(b.x + b.w for b in geo.boxes.values())
    assert geo.height >= max(b.y + b.h for b in geo.boxes.values())


def test_a_placed_node_keeps_its_position_and_others_are_laid_out_around_it():
    design = _design(
        [("users", "client", {}), ("api", "service", {"position": {"x": 700, "y": 500}})],
        [("users", "api")],
    )
    geo = layout(design)
    assert (geo.boxes["api"].x, geo.boxes["api"].y) == (700, 500)
    assert (geo.boxes["users"].x, geo.boxes["users"].y) == (MARGIN, MARGIN)
    assert geo.width == 700 + NODE_W + MARGIN and geo.height == 500 + NODE_H + MARGIN


def test_cycles_dangling_edges_and_broken_positions_do_not_break_the_layout():
    design = _design(
        [
            ("users", "client", {}),
            ("a", "service", {}),
            ("b", "service", {"position": {"x": "left", "y": True}}),
        ],
        [("users", "a"), ("a", "b"), ("b", "a"), ("a", "ghost"), ("a", "a")],
    )
    geo = layout(design)
    assert geo.boxes["a"].x == MARGIN + COLUMN and geo.boxes["b"].x == MARGIN + 2 * COLUMN
    assert "ghost" not in geo.boxes


def test_edges_are_clipped_to_the_borders_of_both_boxes():
    boxes = layout(URL_SHORTENER).boxes
    x1, y1, x2, y2 = edge_line(boxes["users"], boxes["lb"])
    assert x1 == boxes["users"].x + NODE_W  # leaves the right side of the client's box
    assert x2 == boxes["lb"].x  # and enters the left side of the load balancer's
    assert y1 == y2 == MARGIN + NODE_H / 2
