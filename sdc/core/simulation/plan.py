"""Routing plan: the design's graph unrolled into request "visit" trees (contract section 2).

A request class is (client, op). Starting at the client, the request walks the graph; each
step is a Visit of one component. A visit's children are reached after it (arrival = its
departure + hop latency). Routers choose ONE child by weight; caches/CDNs answer reads with
their hit ratio and only misses reach the children; other components call all children in
parallel; a queue ends the caller's request and its children are asynchronous consumers.
Both engines walk the same plan, so they agree on routing by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .constants import (
    BANDWIDTH_MBPS,
    CROSS_AZ_MS,
    EDGE_MS,
    LAST_MILE_MS,
    LIMITS,
    REGION_LATENCY_MS,
    REGIONS,
    ROUTER_TYPES,
    SAME_AZ_MS,
    STORE_TYPES,
)
from .model import Component, Design, Problem

OPS = ("read", "write")


@dataclass
class Visit:
    idx: int
    comp: int
    op: int  # 0 read, 1 write
    cls: int
    parent: int
    sync: bool
    hop_ms: np.ndarray  # one-way latency + transfer into this visit, by origin region (4,)
    # network of the response's way back from here to the client: the sum of hop_ms from the
    # client, except after a cache-aside miss (the store answers the caller directly, so the
    # caller -> cache -> caller detour is not paid again on the way back)
    cum_ms: np.ndarray
    hit: bool = False  # reads answered here with the component's hit ratio
    choose: bool = False  # children are alternatives (router)
    weight: float = 1.0  # weight as an alternative of its parent
    noroute: bool = False  # requests that must go on but have no matching edge fail here
    queue_root: int = -1  # for async consumer visits: the queue visit they came from
    children: list[int] = field(default_factory=list)


@dataclass
class RequestClass:
    client: int
    op: int
    prob: float  # share of all requests
    root: int  # visit index of the client visit


@dataclass
class Plan:
    design: Design
    visits: list[Visit]
    classes: list[RequestClass]
    order: list[int]  # component indices, parents before children
    visits_of: dict[int, list[int]]  # component -> its visits
    problems: list[Problem]
    noroute_comps: set[int]


def _az_dist(c: Component) -> dict[str, float]:
    n = c.replicas
    out: dict[str, float] = {}
    for j in range(n):
        az = c.instance_az(j)
        out[az] = out.get(az, 0.0) + 1.0 / n
    return out


def hop_latency_ms(a: Component, b: Component) -> float:
    """Expected one-way latency between two components (replicas spread over their AZs)."""
    if a.region != b.region:
        return REGION_LATENCY_MS[a.region][b.region]
    pa, pb = _az_dist(a), _az_dist(b)
    same = sum(p * pb.get(z, 0.0) for z, p in pa.items())
    return same * SAME_AZ_MS + (1.0 - same) * CROSS_AZ_MS


def _transfer_ms(payload_kb: float, kind: str) -> float:
    return payload_kb * 8.0 / BANDWIDTH_MBPS[kind]


def build_plan(design: Design, read_ratio: float = 0.5, payload_kb: float = 4.0) -> Plan:
    """Unroll the design into visit trees. `read_ratio` only sets class probabilities."""
    comps = design.components
    index = design.index
    visits: list[Visit] = []
    problems: list[Problem] = []
    noroute: set[int] = set()
    out: dict[int, list] = {i: [] for i in range(len(comps))}
    for e in design.edges:
        if e.id not in design.ignored_edges:
            out[index[e.source]].append(e)
    limit = LIMITS["max_template_visits"]
    too_big = False

    def hop(a: Component, b: Component, extra: float = 0.0) -> np.ndarray:
        h = np.empty(len(REGIONS))
        for r, reg in enumerate(REGIONS):
            if a.type == "client":
                if b.type == "cdn":
                    h[r] = EDGE_MS + _transfer_ms(payload_kb, "internet")
                else:
                    h[r] = (
                        LAST_MILE_MS
                        + REGION_LATENCY_MS[reg][b.region]
                        + _transfer_ms(payload_kb, "internet")
                    )
            elif a.type == "cdn":
                cross = reg != b.region
                h[r] = (
                    REGION_LATENCY_MS[reg][b.region]
                    + CROSS_AZ_MS
                    + _transfer_ms(payload_kb, "cross_region" if cross else "internal")
                )
            else:
                cross = a.region != b.region
                h[r] = hop_latency_ms(a, b) + _transfer_ms(
                    payload_kb, "cross_region" if cross else "internal"
                )
        return h + extra

    def new_visit(ci, op, cls, parent, sync, hop_ms, weight=1.0, qroot=-1, back=None) -> int:
        nonlocal too_big
        if len(visits) >= limit:
            too_big = True
            return -1
        if back is not None:
            cum = back
        else:
            cum = hop_ms.copy() if parent < 0 else visits[parent].cum_ms + hop_ms
        v = Visit(
            len(visits), ci, op, cls, parent, sync, hop_ms, cum, weight=weight, queue_root=qroot
        )
        visits.append(v)
        if parent >= 0:
            visits[parent].children.append(v.idx)
        return v.idx

    def expand(
        vi: int,
        path: frozenset,
        stores_on_miss: list | None = None,
        from_comp: Component | None = None,
    ) -> None:
        if vi < 0 or too_big:
            return
        v = visits[vi]
        c = comps[v.comp]
        op = OPS[v.op]
        edges = [e for e in out[v.comp] if e.matches(op) and index[e.target] not in path]
        path = path | {v.comp}
        qroot = v.queue_root
        if c.type == "queue":
            qroot = vi
        if stores_on_miss is not None:  # cache-aside lookup: misses go to the caller's stores
            v.hit = True
            caller = visits[v.parent]
            for e, t in stores_on_miss:
                extra = hop_latency_ms(c, from_comp)  # the miss travels back to the caller
                direct = hop(from_comp, t)
                ci = new_visit(
                    index[t.id],
                    v.op,
                    v.cls,
                    vi,
                    v.sync and e.mode == "sync",
                    direct + extra,
                    qroot=qroot,
                    back=caller.cum_ms + direct,
                )
                expand(ci, path)
            return
        if c.type in ROUTER_TYPES or c.type == "cdn":
            v.choose = True
            v.hit = c.type == "cdn" and op == "read"
            if not edges:
                v.noroute = True
                noroute.add(v.comp)
            for e in edges:
                t = comps[index[e.target]]
                ci = new_visit(
                    t.index,
                    v.op,
                    v.cls,
                    vi,
                    v.sync and e.mode == "sync",
                    hop(c, t),
                    e.weight,
                    qroot,
                )
                expand(ci, path)
            return
        if c.type == "cache" and op == "read":
            v.hit = True
            if not edges:
                v.noroute = True
                noroute.add(v.comp)
        aside: list = []
        if op == "read" and c.type not in ("cache", "queue"):
            caches = [
                e
                for e in edges
                if comps[index[e.target]].type == "cache"
                and not any(x.matches("read") for x in out[index[e.target]])
            ]
            stores = [e for e in edges if comps[index[e.target]].type in STORE_TYPES]
            if caches and stores:
                aside = [caches[0]] + stores
                cache_e = caches[0]
                t = comps[index[cache_e.target]]
                ci = new_visit(
                    t.index,
                    v.op,
                    v.cls,
                    vi,
                    v.sync and cache_e.mode == "sync",
                    hop(c, t),
                    qroot=qroot,
                )
                if ci >= 0:
                    expand(ci, path, [(e, comps[index[e.target]]) for e in stores], c)
        for e in edges:
            if e in aside:
                continue
            t = comps[index[e.target]]
            sync = v.sync and e.mode == "sync" and c.type != "queue"
            ci = new_visit(t.index, v.op, v.cls, vi, sync, hop(c, t), qroot=qroot)
            expand(ci, path)

    classes: list[RequestClass] = []
    clients = [c for c in comps if c.type == "client"]
    total_share = sum(float(c.params.get("share", 1.0)) for c in clients) or 1.0
    for c in clients:
        share = float(c.params.get("share", 1.0)) / total_share
        for op, p in ((0, read_ratio), (1, 1.0 - read_ratio)):
            root = new_visit(c.index, op, len(classes), -1, True, np.zeros(len(REGIONS)))
            classes.append(RequestClass(c.index, op, share * p, root))
            expand(root, frozenset())
    if too_big:
        problems.append(
            Problem(
                "edges",
                f"the design has too many distinct request paths "
                f"(more than {limit} steps); simplify the wiring",
            )
        )
    visits_of: dict[int, list[int]] = {}
    deps: dict[int, set[int]] = {}
    for v in visits:
        visits_of.setdefault(v.comp, []).append(v.idx)
        if v.parent >= 0:
            deps.setdefault(v.comp, set()).add(visits[v.parent].comp)
    order = _topo(sorted(visits_of), deps)
    if order is None:
        problems.append(
            Problem(
                "edges",
                "the request paths form a cycle through a cache and a "
                "store; remove the edge that calls back",
            )
        )
        order = sorted(visits_of)
    return Plan(design, visits, classes, order, visits_of, problems, noroute)


def _topo(nodes: list[int], deps: dict[int, set[int]]) -> list[int] | None:
    indeg = {n: len(deps.get(n, set()) - {n}) for n in nodes}
    if any(n in deps.get(n, set()) for n in nodes):
        return None
    children: dict[int, list[int]] = {n: [] for n in nodes}
    for n in nodes:
        for d in deps.get(n, set()):
            children[d].append(n)
    ready = [n for n in nodes if indeg[n] == 0]
    order = []
    while ready:
        ready.sort()
        n = ready.pop(0)
        order.append(n)
        for ch in children[n]:
            indeg[ch] -= 1
            if indeg[ch] == 0:
                ready.append(ch)
    return order if len(order) == len(nodes) else None
