"""Request-path analysis of a design, on the simulator's own routing plan.

This is the one module of the grader that reads engine internals (`plan.build_plan`): every
path question (what reads reach, which share of reads a cache answers, which components are on
a request path) is answered on the same visit trees both engines route by, so the grader and
the simulator can never disagree about routing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sdc.core.simulation import InvalidDesign, validate_design
from sdc.core.simulation.plan import Plan, build_plan

HIT_TYPES = frozenset({"cache", "cdn"})
ROUTERS = frozenset({"load-balancer", "api-gateway", "cdn"})


@dataclass
class Paths:
    """A validated design, its plan, and path facts the checks and scores use."""

    design: object
    plan: Plan
    warnings: list

    @property
    def comps(self):
        return self.design.components

    def on_path(self, *, sync_only: bool = False) -> list[str]:
        """Ids of non-client components that some request visits (in document order)."""
        out = []
        for c in self.comps:
            vis = self.plan.visits_of.get(c.index, [])
            if c.type == "client" or not vis:
                continue
            if sync_only and not any(self.plan.visits[v].sync for v in vis):
                continue
            out.append(c.id)
        return out

    def visited_by(self, op: int, *, sync_only: bool = True) -> set[str]:
        """Component ids some request of `op` (0 read, 1 write) visits."""
        out = set()
        for v in self.plan.visits:
            if v.op == op and (v.sync or not sync_only):
                out.add(self.comps[v.comp].id)
        return out

    def _classes(self, op: int):
        cls = [c for c in self.plan.classes if c.op == op]
        tot = sum(c.prob for c in cls)
        # class probabilities are 0 when read_ratio is 0 or 1; weight by client share then
        if tot <= 0:
            return [(c, 1.0 / len(cls)) for c in cls] if cls else []
        return [(c, c.prob / tot) for c in cls]

    def reach_share(self, op: int, pred, *, hits: bool = False, sync_only: bool = False) -> float:
        """Share of `op` requests whose walk visits a component satisfying `pred(component)`.

        Routers pick one branch by weight; other fan-outs call every branch. With `hits`, a
        cache or CDN hit ends the walk (what really happens); without, every branch counts.
        """
        visits = self.plan.visits

        def f(vi: int) -> float:
            v = visits[vi]
            c = self.comps[v.comp]
            if c.type != "client" and pred(c):
                return 1.0
            kids = [k for k in v.children if visits[k].sync or not sync_only]
            if not kids:
                return 0.0
            if v.choose:
                wsum = sum(visits[k].weight for k in v.children) or 1.0
                inner = sum(visits[k].weight * f(k) for k in kids) / wsum
            else:
                miss = 1.0
                for k in kids:
                    miss *= 1.0 - f(k)
                inner = 1.0 - miss
            if hits and v.hit and op == 0:
                inner *= 1.0 - float(c.params.get("hit_ratio", 0.0))
            return inner

        return sum(p * f(cl.root) for cl, p in self._classes(op))

    def read_answer_share(self, types) -> float:
        """Share of reads answered by a component of `types` before reaching anything else.

        A cache/CDN answers its hit ratio; another listed type (e.g. `search`) answers all
        reads reaching it. Parallel branches: the best branch counts.
        """
        visits = self.plan.visits
        types = set(types)

        def a(vi: int) -> float:
            v = visits[vi]
            c = self.comps[v.comp]
            if c.type in types and c.type not in HIT_TYPES:
                return 1.0
            kids = [k for k in v.children if visits[k].sync]
            if v.choose:
                wsum = sum(visits[k].weight for k in v.children) or 1.0
                inner = sum(visits[k].weight * a(k) for k in kids) / wsum
            else:
                inner = max((a(k) for k in kids), default=0.0)
            if v.hit and c.type in HIT_TYPES:
                h = float(c.params.get("hit_ratio", 0.0))
                return (h if c.type in types else 0.0) + (1.0 - h) * inner
            return inner

        return sum(p * a(cl.root) for cl, p in self._classes(0))

    def entry_share(self) -> float:
        """Share of requests whose first hop is a load balancer, API gateway or CDN."""
        visits = self.plan.visits
        tot = 0.0
        for op in (0, 1):
            share = 0.0
            for cl, p in self._classes(op):
                root = visits[cl.root]
                wsum = sum(visits[k].weight for k in root.children) or 1.0
                share += (
                    p
                    * sum(
                        visits[k].weight
                        for k in root.children
                        if self.comps[visits[k].comp].type in ROUTERS
                    )
                    / wsum
                )
            tot += share
        return tot / 2.0

    def has_queue_boundary(self, op: int = 1) -> list[str]:
        """Queues that `op` requests reach synchronously and that have a consumer."""
        out = []
        for v in self.plan.visits:
            c = self.comps[v.comp]
            if v.op == op and v.sync and c.type == "queue" and v.children and c.id not in out:
                out.append(c.id)
        return out

    def az_spread(self, cid: str) -> set[str]:
        c = self.design.component(cid)
        return {c.instance_az(j) for j in range(c.instance_count)}


def analyse(doc: dict, read_ratio: float, payload_kb: float) -> Paths:
    """Validate `doc` and build its plan; raises InvalidDesign like `simulate` does."""
    v = validate_design(doc)
    if not v.ok:
        raise InvalidDesign(v.problems)
    plan = build_plan(v.design, read_ratio, payload_kb)
    return Paths(v.design, plan, [w.to_dict() for w in v.warnings])
