"""Result helpers shared by both engines: bottlenecks, suggestions, JSON safety."""

from __future__ import annotations

import hashlib
import json
import math

from .constants import ENGINE_VERSION, RESULT_FORMAT, UTILISATION_TARGET
from .model import Design

# Minimum completed requests before a percentile is reported: the q-quantile needs at
# least 10 / (1 - q) samples (10 above it), so p50 20, p95 200, p99 1000.
MIN_SAMPLES = {"p50_ms": 20, "p95_ms": 200, "p99_ms": 1000, "mean_ms": 10}


def clean(x):
    """Make a value JSON-safe: numpy scalars to Python, NaN/inf to None, floats rounded."""
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if hasattr(x, "item"):
        x = x.item()
    if isinstance(x, float):
        if not math.isfinite(x):
            return None
        return float(f"{x:.10g}") if abs(x) < 1e15 else x
    return x


def input_hash(
    design: Design, traffic, engine: str, seed: int, failures, duration, slo_ms=None
) -> str:
    """First 16 hex digits of the SHA-256 of the canonical inputs. `slo_ms` is included only
    when given, so a run without it hashes as it did before the option existed."""
    inputs = {
        "d": design.to_dict(),
        "t": traffic.to_dict(),
        "e": engine,
        "s": seed,
        "f": failures or [],
        "dur": duration,
        "v": ENGINE_VERSION,
    }
    if slo_ms is not None:
        inputs["slo"] = float(slo_ms)
    blob = json.dumps(
        inputs,
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def empty_result(engine: str, seed: int) -> dict:
    return {
        "format": RESULT_FORMAT,
        "engine": engine,
        "engine_version": ENGINE_VERSION,
        "seed": seed,
        "metrics": {},
        "components": [],
        "bottlenecks": [],
        "timeline": [],
        "series": {
            "t_s": [],
            "offered_rps": [],
            "throughput_rps": [],
            "p95_ms": [],
            "error_rate": [],
        },
        "blast_radius": None,
        "warnings": [],
    }


def _fmt_rps(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 else f"{x:.3g}"


def bottlenecks(design: Design, comps: list[dict], peak_rps: float) -> list[dict]:
    """Components at utilisation >= 0.7 (offered), hottest first, with a concrete suggestion."""
    out = []
    by_id = {c.id: c for c in design.components}
    for m in comps:
        u = m.get("offered_utilization")
        if u is None or u < UTILISATION_TARGET or m["type"] == "client":
            continue
        c = by_id[m["id"]]
        sev = "critical" if u >= 1.0 else "high" if u >= 0.85 else "medium"
        cap = m.get("capacity_rps")
        arr = m["arrival_rps"]
        # bursty traffic: u is the burst's utilisation, the arrival rate is the mean
        burst = u * cap if cap else None
        offered = (
            f"{_fmt_rps(burst)} rps in traffic bursts ({_fmt_rps(arr)} rps on average)"
            if burst and abs(burst - arr) > 0.01 * max(arr, 1e-9)
            else f"{_fmt_rps(arr)} rps"
        )
        reason = (
            f"{c.id} runs at utilisation {u:.2f}"
            + (f" ({u * 100 - 100:.0f}% over capacity)" if u >= 1 else "")
            + f": it is offered {offered}"
            + (f" and can serve about {_fmt_rps(cap)} rps" if cap else "")
        )
        out.append(
            {
                "component_id": c.id,
                "utilization": min(u, 1.0) if u < 1 else 1.0,
                "offered_utilization": u,
                "severity": sev,
                "reason": reason,
                "suggestion": suggestion(design, c, u, m),
            }
        )
    out.sort(key=lambda b: (-b["offered_utilization"], b["component_id"]))
    return out


def suggestion(design: Design, c, u: float, row: dict | None = None) -> str:
    """A concrete change that brings the component to utilisation 0.7."""
    target = UTILISATION_TARGET
    parts = []
    if c.type == "database":
        parts.append(_database_fix(c, u, row or {}))
        upstream_cache = any(
            e.target == c.id and design.component(e.source).type == "cache" for e in design.edges
        )
        if upstream_cache:
            parts.append("raise the cache hit ratio (a longer TTL or a bigger cache)")
        elif not any(x.type == "cache" for x in design.components):
            parts.append("put a cache in front of it for reads")
        return "; ".join(parts)
    if c.type == "queue":
        return "add partitions/replicas to the queue or raise its concurrency"
    need = math.ceil(c.replicas * u / target)
    add = max(1, need - c.replicas)
    s = f"add {add} replica{'s' if add > 1 else ''} (to {c.replicas + add}) to reach utilisation {target}"
    if c.type in ("cache", "cdn"):
        pass
    elif c.tier in ("small", "medium", "large"):
        s += " or move to a larger tier"
    if (
        c.type == "service"
        and any(
            e.source == c.id and design.component(e.target).type == "database" for e in design.edges
        )
        and not any(x.type == "cache" for x in design.components)
    ):
        s += "; a cache would also cut its database calls"
    return s


def _database_fix(c, u: float, row: dict) -> str:
    """Read replicas that bring the hottest copy (a primary) to the target, if any can.

    A primary serves writes / P + reads / n (P primaries, n = P + read replicas copies), so
    with f the read share its utilisation scales as (1 - f) / P + f / n.
    """
    target = UTILISATION_TARGET
    p = c.replicas
    n = p + int(c.params.get("read_replicas", 0))
    arr = row.get("arrival_rps") or 0.0
    f = min(1.0, (row.get("read_rps") or 0.0) / arr) if arr > 0 else 0.0
    per_unit = u / ((1 - f) / p + f / n)  # utilisation per unit of that load mix
    writes_u = per_unit * (1 - f) / p
    room = target / per_unit - (1 - f) / p  # what reads may add per primary
    if f > 0 and room > 0:
        need = max(n + 1, math.ceil(f / room - 1e-9))
        add = need - n
        return (
            f"add {add} read replica{'s' if add > 1 else ''} (to {need - p}): reads spread "
            f"over {need} copies bring the primary to utilisation {target}"
        )
    return (
        f"writes alone keep each primary at utilisation {writes_u:.2f}: shard the writes "
        "over more primaries or move to a larger tier"
    )
