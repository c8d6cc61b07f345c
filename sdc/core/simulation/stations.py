"""How a component's replicas become queueing stations (shared by both engines).

- `round_robin` / `random`: each replica is its own M/M/c(/K) station at its share of the rate
  (exact for `random`; for `round_robin` the analytic engine is slightly pessimistic because
  round-robin splitting makes arrivals more regular than Poisson).
- `least_outstanding`, and workers consuming only from queues: one pooled station with
  replicas x servers servers sharing one queue (what least-outstanding approximates, and what
  consumers pulling from a shared queue are).
- `database`: `replicas` primaries and `read_replicas` read-only copies; writes go to the
  primaries, reads are spread evenly over all copies.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Component
from .plan import Plan


@dataclass
class Group:
    name: str
    instances: list[int]  # instance indices (replica numbers) in this group
    servers: int  # servers of one station of the group
    k_wait: int | None  # waiting places of one station
    read_share: float  # share of the component's reads that ONE station receives
    write_share: float
    pooled: bool = False


def is_pooled(comp: Component, plan: Plan) -> bool:
    if comp.dispatch == "least_outstanding":
        return True
    if comp.type == "worker":
        vis = plan.visits_of.get(comp.index, [])
        return bool(vis) and all(
            plan.visits[v].parent >= 0
            and plan.design.components[plan.visits[plan.visits[v].parent].comp].type == "queue"
            for v in vis
        )
    return False


def feeding_queue_depth(comp: Component, plan: Plan) -> int | None:
    for v in plan.visits_of.get(comp.index, []):
        p = plan.visits[v].parent
        if p >= 0:
            pc = plan.design.components[plan.visits[p].comp]
            if pc.type == "queue":
                return int(pc.params.get("max_depth", 100000))
    return None


def groups(comp: Component, plan: Plan) -> list[Group]:
    n, s = comp.replicas, comp.servers
    if is_pooled(comp, plan):
        k = None if comp.queue_limit is None else comp.queue_limit * n
        depth = feeding_queue_depth(comp, plan)
        if depth is not None and comp.queue_limit is None:
            k = depth
        return [Group("pool", list(range(n)), s * n, k, 1.0, 1.0, True)]
    if comp.type == "database":
        r = int(comp.params.get("read_replicas", 0))
        out = [Group("primary", list(range(n)), s, comp.queue_limit, 1.0 / (n + r), 1.0 / n)]
        if r:
            out.append(
                Group(
                    "read-replica", list(range(n, n + r)), s, comp.queue_limit, 1.0 / (n + r), 0.0
                )
            )
        return out
    return [Group("replica", list(range(n)), s, comp.queue_limit, 1.0 / n, 1.0 / n)]


def hottest_offered_util(comp: Component, plan: Plan, read_rps: float, write_rps: float) -> float:
    """Offered utilisation (lambda x service / servers) of the component's busiest station."""
    best = 0.0
    for g in groups(comp, plan):
        lam = read_rps * g.read_share + write_rps * g.write_share
        best = max(best, lam * comp.service_time_ms / 1000.0 / g.servers)
    return best
