"""Layered automatic layout of a design diagram (pure geometry, no rendering).

Components with a ``position`` keep it; the others are placed in columns by their longest
distance from a client along the connections (back edges of cycles ignored), and ordered
inside a column by the mean row of their predecessors (one barycentre pass, which removes
most crossings in the small graphs people draw in interviews).
"""

from __future__ import annotations

from dataclasses import dataclass

NODE_W = 160
NODE_H = 68
COL_GAP = 80
ROW_GAP = 36
MARGIN = 24


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float = NODE_W
    h: float = NODE_H

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class Layout:
    boxes: dict[str, Box]
    width: float
    height: float


def _layers(ids: list[str], types: dict[str, str], edges: list[tuple[str, str]]) -> dict[str, int]:
    out: dict[str, list[str]] = {i: [] for i in ids}
    for s, t in edges:
        out[s].append(t)
    # DFS from clients first so that "forward" means "away from the users".
    roots = [i for i in ids if types.get(i) == "client"] + ids
    state: dict[str, int] = {}
    back: set[tuple[str, str]] = set()
    for r in roots:
        if r in state:
            continue
        state[r] = 1
        stack = [(r, iter(out[r]))]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt, 0) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(out[nxt])))
    dag = [(s, t) for s, t in edges if (s, t) not in back]
    layer = {i: 0 for i in ids}
    indeg = {i: 0 for i in ids}
    for _s, t in dag:
        indeg[t] += 1
    queue = [i for i in ids if indeg[i] == 0]
    succ: dict[str, list[str]] = {i: [] for i in ids}
    for s, t in dag:
        succ[s].append(t)
    while queue:
        node = queue.pop(0)
        for t in succ[node]:
            layer[t] = max(layer[t], layer[node] + 1)
            indeg[t] -= 1
            if indeg[t] == 0:
                queue.append(t)
    return layer


def layout(design: dict) -> Layout:
    """Boxes for every component of ``design`` (which need not be valid)."""
    comps = [c for c in design.get("components") or [] if isinstance(c, dict)]
    ids = [str(c.get("id")) for c in comps]
    known = set(ids)
    types = {str(c.get("id")): c.get("type") for c in comps}
    edges = [
        (str(e.get("source")), str(e.get("target")))
        for e in design.get("edges") or []
        if isinstance(e, dict)
        and e.get("source") in known
        and e.get("target") in known
        and e.get("source") != e.get("target")
    ]
    layer = _layers(ids, types, edges)
    preds: dict[str, list[str]] = {i: [] for i in ids}
    for s, t in edges:
        preds[t].append(s)
    columns: dict[int, list[str]] = {}
    for cid in ids:
        columns.setdefault(layer[cid], []).append(cid)
    row: dict[str, float] = {}
    for col in sorted(columns):
        members = columns[col]
        for k, cid in enumerate(members):
            ps = [row[p] for p in preds[cid] if p in row]
            row[cid] = sum(ps) / len(ps) if ps else float(k)
        members.sort(key=lambda c: (row[c], ids.index(c)))
        for k, cid in enumerate(members):
            row[cid] = float(k)
    boxes: dict[str, Box] = {}
    for c in comps:
        cid = str(c.get("id"))
        pos = c.get("position")
        if isinstance(pos, dict) and all(
            isinstance(pos.get(a), int | float) and not isinstance(pos.get(a), bool)
            for a in ("x", "y")
        ):
            boxes[cid] = Box(float(pos["x"]), float(pos["y"]))
        else:
            boxes[cid] = Box(
                MARGIN + layer[cid] * (NODE_W + COL_GAP), MARGIN + row[cid] * (NODE_H + ROW_GAP)
            )
    width = max((b.x + b.w for b in boxes.values()), default=NODE_W) + MARGIN
    height = max((b.y + b.h for b in boxes.values()), default=NODE_H) + MARGIN
    return Layout(boxes, max(width, 320.0), max(height, 160.0))


def clip_to_box(box: Box, tx: float, ty: float) -> tuple[float, float]:
    """Where the segment from the centre of ``box`` towards (tx, ty) leaves the box."""
    dx, dy = tx - box.cx, ty - box.cy
    if dx == 0 and dy == 0:
        return box.cx, box.cy
    sx = (box.w / 2) / abs(dx) if dx else float("inf")
    sy = (box.h / 2) / abs(dy) if dy else float("inf")
    s = min(sx, sy, 1.0)
    return box.cx + dx * s, box.cy + dy * s


def edge_line(a: Box, b: Box) -> tuple[float, float, float, float]:
    """Endpoints of a straight connection from box ``a`` to box ``b``, clipped to both."""
    x1, y1 = clip_to_box(a, b.cx, b.cy)
    x2, y2 = clip_to_box(b, a.cx, a.cy)
    return x1, y1, x2, y2
