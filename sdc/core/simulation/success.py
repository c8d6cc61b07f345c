"""Exact end-to-end failure probability of the analytic engine (no sampling).

A request fails when any synchronous step of its path rejects it (blocking at a full
station, no matching edge). Walking the routing plan from the leaves up, with `acc[v]` the
acceptance probability of visit v (1 - blocking, from the per-station closed forms):

    s(v) = acc[v] * (h + (1 - h) * next(v))        h = hit ratio for cache/CDN reads, else 0
    next(v) = 0                                     requests that must go on but cannot
            = sum_k w_k / W * s(k)                  router: one child by weight
            = prod_k s(k)                           otherwise: all children (in parallel)

where asynchronous children count as successes (the caller's request ended at the queue).
Parallel branches are treated as independent, as in the sampled latencies.
"""

from __future__ import annotations

import numpy as np

from .plan import Plan


def failure_probability(plan: Plan, acc: np.ndarray) -> float:
    """Share of requests that fail, from per-visit acceptance probabilities `acc`."""
    visits = plan.visits
    comps = plan.design.components
    s = np.ones(len(visits))
    # children are always created after their parent: a reverse sweep sees them first
    for v in reversed(visits):
        if not v.sync:
            continue
        if v.noroute:
            nxt = 0.0
        elif not v.children:
            nxt = 1.0
        elif v.choose:
            w = np.array([visits[k].weight for k in v.children])
            sk = np.array([s[k] if visits[k].sync else 1.0 for k in v.children])
            nxt = float((w * sk).sum() / w.sum())
        else:
            nxt = float(np.prod([s[k] for k in v.children if visits[k].sync]))
        h = float(comps[v.comp].params.get("hit_ratio", 0.0)) if v.hit and v.op == 0 else 0.0
        s[v.idx] = acc[v.idx] * (h + (1.0 - h) * nxt)
    probs = np.array([cl.prob for cl in plan.classes])
    if probs.sum() <= 0:
        return 0.0
    ok = sum(cl.prob * s[cl.root] for cl in plan.classes) / probs.sum()
    return float(min(1.0, max(0.0, 1.0 - ok)))
