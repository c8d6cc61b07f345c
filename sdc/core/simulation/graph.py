"""Graph analysis of a validated design: sync cycles, warnings, single points of failure."""

from __future__ import annotations

from dataclasses import replace

from .model import Design, DesignWarning, Problem
from .plan import Plan, build_plan


def _sync_back_edges(design: Design) -> list[str]:
    """Edges that close a cycle of synchronous calls (found by DFS from the clients)."""
    out: dict[str, list] = {c.id: [] for c in design.components}
    types = {c.id: c.type for c in design.components}
    for e in design.edges:
        if e.mode == "sync" and types[e.source] != "queue":
            out[e.source].append(e)
    state: dict[str, int] = {}
    back: list[str] = []
    roots = [c.id for c in design.components if c.type == "client"]
    roots += [c.id for c in design.components if c.type != "client"]
    for r in roots:
        if r in state:
            continue
        stack = [(r, iter(out[r]))]
        state[r] = 1
        while stack:
            node, it = stack[-1]
            e = next(it, None)
            if e is None:
                state[node] = 2
                stack.pop()
                continue
            s = state.get(e.target, 0)
            if s == 1:
                back.append(e.id)
            elif s == 0:
                state[e.target] = 1
                stack.append((e.target, iter(out[e.target])))
    return back


def analyse(design: Design) -> tuple[Design, list[DesignWarning], list[Problem]]:
    """Break sync cycles, build the plan once, and derive warnings (and plan problems)."""
    warnings: list[DesignWarning] = []
    back = _sync_back_edges(design)
    if back:
        design = replace(design, ignored_edges=tuple(back))
        edges = {e.id: e for e in design.edges}
        for eid in back:
            e = edges[eid]
            warnings.append(
                DesignWarning(
                    "sync-cycle",
                    f"{e.source} calls {e.target} which (directly or not) calls {e.source} back; "
                    f"the simulator ignores edge {eid} to break the cycle",
                    f"edges[{design.edges.index(e)}]",
                    e.source,
                )
            )
    plan = build_plan(design)
    if plan.problems:
        return design, warnings, plan.problems
    warnings.extend(design_warnings(plan))
    return design, warnings, []


def _path(design: Design, cid: str) -> str:
    return f"components[{design.index[cid]}]"


def critical_components(plan: Plan) -> list[str]:
    """Components whose complete loss cuts some request path from a client."""
    comps = plan.design.components
    visits = plan.visits
    out = []
    for c in comps:
        if c.type == "client" or c.index not in plan.visits_of:
            continue
        x = c.index

        def ok(vi: int, x: int = x) -> bool:
            v = visits[vi]
            if v.comp == x:
                return False
            kids = [k for k in v.children if visits[k].sync]
            if not kids:
                return True
            if v.hit and float(comps[v.comp].params.get("hit_ratio", 0)) >= 1.0:
                return True
            if v.choose:
                return any(ok(k, x) for k in kids)
            return all(ok(k, x) for k in kids)

        if any(not ok(cl.root) for cl in plan.classes):
            out.append(c.id)
    return out


def design_warnings(plan: Plan) -> list[DesignWarning]:
    design = plan.design
    comps = design.components
    w: list[DesignWarning] = []
    for c in comps:
        if c.type != "client" and c.index not in plan.visits_of:
            w.append(
                DesignWarning(
                    "unreachable",
                    f"{c.id} is not on any request path from a client, so it receives no traffic",
                    _path(design, c.id),
                    c.id,
                )
            )
    for ci in sorted(plan.noroute_comps):
        c = comps[ci]
        if c.type == "cache" and float(c.params.get("hit_ratio", 0)) >= 1.0:
            continue
        w.append(
            DesignWarning(
                "no-way-out",
                f"some requests reaching {c.id} have no matching outgoing edge and fail there",
                _path(design, c.id),
                c.id,
            )
        )
    for c in comps:
        if c.type == "queue" and c.index in plan.visits_of and not design.out_edges(c.id):
            w.append(
                DesignWarning(
                    "no-way-out",
                    f"queue {c.id} has no consumer, so its backlog only grows",
                    _path(design, c.id),
                    c.id,
                )
            )
    for cid in critical_components(plan):
        c = design.component(cid)
        if c.replicas == 1:
            w.append(
                DesignWarning(
                    "single-point-of-failure",
                    f"{cid} has a single replica on a request path; if it fails, those requests fail",
                    _path(design, cid),
                    cid,
                )
            )
        elif len({c.instance_az(j) for j in range(c.replicas)}) == 1:
            w.append(
                DesignWarning(
                    "single-az",
                    f"all replicas of {cid} are in one availability zone "
                    f"({c.region}-{c.azs[0]}); losing that zone cuts a request path",
                    _path(design, cid),
                    cid,
                )
            )
    return w


def single_points_of_failure(doc) -> list[str]:
    """Ids of single-replica components whose loss cuts a request path from a client.

    Accepts a document or a validated Design; an invalid document gives [].
    """
    design = doc if isinstance(doc, Design) else None
    if design is None:
        from .validation import validate_design

        v = validate_design(doc)
        if not v.ok:
            return []
        design = v.design
    plan = build_plan(design)
    return [cid for cid in critical_components(plan) if design.component(cid).replicas == 1]


def request_paths(doc) -> list[dict]:
    """Request paths as lists of component ids, one per leaf of each request class."""
    design = doc if isinstance(doc, Design) else None
    if design is None:
        from .validation import validate_design

        v = validate_design(doc)
        if not v.ok:
            return []
        design = v.design
    plan = build_plan(design)
    comps = design.components
    paths = []
    for cl in plan.classes:
        stack = [(cl.root, [comps[plan.visits[cl.root].comp].id])]
        while stack:
            vi, p = stack.pop()
            v = plan.visits[vi]
            if not v.children:
                paths.append(
                    {"client": comps[cl.client].id, "op": ("read", "write")[cl.op], "components": p}
                )
            for k in reversed(v.children):
                stack.append((k, p + [comps[plan.visits[k].comp].id]))
    return paths
