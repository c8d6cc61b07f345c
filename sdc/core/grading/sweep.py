"""Single-failure sweep: each request-path component loses one instance, each used AZ goes down.

Each failure is measured in its steady state after detection (routers have stopped sending to
dead instances) with the analytic engine on a degraded copy of the design:
- a lost instance is removed (`replicas` - 1, its AZ dropped from `azs` when none is left there);
  for a database a lost primary is lost (no failover is modelled, as in the engine's SPOF rule);
- a component with no instance left is dead: routers (client, load balancer, gateway, CDN) with a
  live alternative route around it; any other request that reaches it fails.
The transient before detection (DETECTION_DELAY_S) is not in these numbers; the grader shows it
separately with one DES run of the worst AZ loss.
"""

from __future__ import annotations

import copy
import math

from .paths import Paths

ROUTER_SOURCES = frozenset({"client", "load-balancer", "api-gateway", "cdn"})


def failure_list(paths: Paths) -> list[dict]:
    """The sweep: node-down (one instance) per request-path component, then az-down per AZ."""
    out = []
    for cid in paths.on_path():
        out.append({"mode": "node-down", "component_id": cid, "replicas": 1})
    zones = set()
    for cid in paths.on_path():
        c = paths.design.component(cid)
        for az in paths.az_spread(cid):
            zones.add((c.region, az))
    for region, az in sorted(zones):
        out.append({"mode": "az-down", "region": region, "az": az})
    return out


def failure_id(f: dict) -> str:
    if f["mode"] == "node-down":
        return f"fail-node-{f['component_id']}"
    return f"fail-az-{f['region']}-{f['az']}"


def lost_instances(paths: Paths, f: dict) -> dict[str, list[int]]:
    """Instance indices each component loses under failure `f`."""
    if f["mode"] == "node-down":
        return {f["component_id"]: [0]}
    out = {}
    for cid in paths.on_path():
        c = paths.design.component(cid)
        if c.region != f["region"]:
            continue
        lost = [j for j in range(c.instance_count) if c.instance_az(j) == f["az"]]
        if lost:
            out[cid] = lost
    return out


def degrade(doc: dict, paths: Paths, lost: dict[str, list[int]]) -> tuple[dict, list[str]]:
    """A copy of `doc` with the lost instances removed; returns (doc, dead component ids)."""
    new = copy.deepcopy(doc)
    by_id = {c["id"]: c for c in new["components"]}
    dead = []
    for cid, idx in sorted(lost.items()):
        c = paths.design.component(cid)
        raw = by_id[cid]
        if c.type == "database":
            n = c.replicas
            prim = [j for j in idx if j < n]
            reads = [j for j in idx if j >= n]
            left = [j for j in range(c.instance_count) if j not in idx]
            if len(prim) >= n:
                dead.append(cid)
                continue
            raw["replicas"] = n - len(prim)
            raw.setdefault("params", {})
            raw["params"] = dict(
                raw["params"], read_replicas=int(c.params.get("read_replicas", 0)) - len(reads)
            )
        else:
            left = [j for j in range(c.replicas) if j not in idx]
            if not left:
                dead.append(cid)
                continue
            raw["replicas"] = len(left)
        zones = []
        for j in left:
            z = c.instance_az(j)
            if z not in zones:
                zones.append(z)
        raw["azs"] = [z for z in c.azs if z in zones]
    if dead:
        _kill(new, paths, set(dead))
    return new, dead


def _kill(doc: dict, paths: Paths, dead: set[str]) -> None:
    types = {c["id"]: c["type"] for c in doc["components"]}
    edges = doc["edges"]
    keep = []
    for e in edges:
        if e["source"] in dead:
            continue  # a dead component forwards nothing
        if e["target"] in dead and types[e["source"]] in ROUTER_SOURCES:
            ops = e.get("ops", "all")
            alive = [
                x
                for x in edges
                if x["source"] == e["source"] and x is not e and x["target"] not in dead
            ]

            def covered(op, alive=alive):
                return any(x.get("ops", "all") in ("all", op) for x in alive)

            need = ["read", "write"] if ops == "all" else [ops]
            left = [op for op in need if not covered(op)]
            if not left:
                continue  # health checks route around the dead branch
            if len(left) < len(need):
                e = dict(e, ops=left[0])
        keep.append(e)
    doc["edges"] = keep
    for i, c in enumerate(doc["components"]):
        if c["id"] in dead:
            # A router with nowhere to go: every request reaching it fails ("no way out").
            doc["components"][i] = {
                "id": c["id"],
                "type": "load-balancer",
                "label": c.get("label", c["id"]),
                "region": c.get("region", "us-east"),
            }


def share_within(metrics: dict, threshold_ms: float) -> float:
    """Share of offered requests that complete within `threshold_ms` (0..1).

    From the engine's percentiles: the tail probability is interpolated log-linearly between
    p50, p95 and p99 and extrapolated exponentially beyond p99 (approximate between the
    reported points). An over-capacity result (latency withheld) counts as 0.
    """
    err = metrics.get("error_rate")
    p50, p95, p99 = metrics.get("p50_ms"), metrics.get("p95_ms"), metrics.get("p99_ms")
    if err is None:
        return 0.0
    ok = 1.0 - err
    if p95 is None or p50 is None:
        return 0.0 if ok < 0.5 else ok
    p99 = p99 if p99 is not None else p95
    return ok * _cdf(threshold_ms, p50, p95, p99)


def _cdf(t: float, p50: float, p95: float, p99: float) -> float:
    pts = [(p50, 0.5), (max(p95, p50), 0.05), (max(p99, p95, p50), 0.01)]
    if t <= 0:
        return 0.0
    if t < p50:
        return 0.5 * t / p50 if p50 > 0 else 1.0
    for (x0, s0), (x1, s1) in zip(pts, pts[1:], strict=False):
        if t <= x1:
            if x1 <= x0:
                return 1.0 - s1
            frac = (t - x0) / (x1 - x0)
            return 1.0 - math.exp(math.log(s0) + frac * (math.log(s1) - math.log(s0)))
    x0, x1 = pts[1][0], pts[2][0]
    scale = (x1 - x0) / math.log(5.0) if x1 > x0 else max(x1 * 0.1, 1e-9)
    return 1.0 - 0.01 * math.exp(-(t - x1) / scale)
