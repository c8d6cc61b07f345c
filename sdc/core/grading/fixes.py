"""Design changes the grader can make itself, as pure functions on `sdc-design/1` dicts.

`apply_fix(doc, fix)` never mutates `doc`; it returns a new document with the change applied
(the app's "create fix version" uses it). A fix is `{"kind": ..., "params": {...}}`:

- `add-replicas` {component_id, replicas, azs?}: set the replica count (and AZs).
- `spread-azs` {component_id, azs}: spread the component over these AZs (at least one replica
  per AZ).
- `add-read-replicas` {component_id, read_replicas}: a database's read replicas.
- `add-cache` {service_id, cache_id, hit_ratio}: a cache-aside cache (2 replicas, 2 AZs) the
  service reads first; misses go to the stores it already reads.
- `add-cdn` {cdn_id, hit_ratio}: a CDN between every client and the components it called.
- `add-load-balancer` {lb_id}: a load balancer between every client and its targets.
- `make-async` {source, target, queue_id}: writes from source to target go through a new
  queue (source -> queue -> target); reads on that edge stay synchronous.
"""

from __future__ import annotations

import copy

FIX_KINDS = (
    "add-replicas",
    "spread-azs",
    "add-read-replicas",
    "add-cache",
    "add-cdn",
    "add-load-balancer",
    "make-async",
)


class FixError(ValueError):
    """The fix cannot be applied to this document (unknown kind, missing component, ...)."""


def _comp(doc: dict, cid) -> dict:
    for c in doc["components"]:
        if c["id"] == cid:
            return c
    raise FixError(f"no component {cid!r} in the design")


def _new_id(doc: dict, base: str, key: str = "components") -> str:
    taken = {x["id"] for x in doc[key]}
    if base not in taken:
        return base
    i = 2
    while f"{base}-{i}" in taken:
        i += 1
    return f"{base}-{i}"


def _edge(doc: dict, source: str, target: str, **kw) -> dict:
    e = {
        "id": _new_id(doc, f"fix-{source}-{target}"[:64], "edges"),
        "source": source,
        "target": target,
    }
    e.update(kw)
    doc["edges"].append(e)
    return e


def _near(c: dict, dx: int = 0, dy: int = 120) -> dict:
    p = c.get("position") or {"x": 200, "y": 200}
    return {
        "x": min(5000, max(0, p.get("x", 200) + dx)),
        "y": min(5000, max(0, p.get("y", 200) + dy)),
    }


def _int(params: dict, key: str, lo: int, hi: int) -> int:
    v = params.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise FixError(f"params.{key} must be a whole number between {lo} and {hi}")
    return v


def _azs(params: dict) -> list[str] | None:
    azs = params.get("azs")
    if azs is None:
        return None
    if not isinstance(azs, list) or not azs or not all(isinstance(a, str) and a for a in azs):
        raise FixError("params.azs must be a non-empty list of zone names")
    return list(dict.fromkeys(azs))


def _reroute_clients(doc: dict, new: dict) -> None:
    """Put `new` between every client and what it called."""
    types = {c["id"]: c["type"] for c in doc["components"]}
    targets = []
    kept = []
    for e in doc["edges"]:
        if types.get(e["source"]) == "client" and e["target"] != new["id"]:
            if e["target"] not in targets:
                targets.append(e["target"])
            continue
        kept.append(e)
    doc["edges"] = kept
    doc["components"].append(new)
    for cid, t in types.items():
        if t == "client":
            _edge(doc, cid, new["id"])
    for t in targets:
        _edge(doc, new["id"], t)


def apply_fix(doc: dict, fix: dict) -> dict:
    """A copy of `doc` with `fix` applied; raises FixError (a ValueError) if it cannot be."""
    if not isinstance(fix, dict) or fix.get("kind") not in FIX_KINDS:
        raise FixError(f"fix kind must be one of {', '.join(FIX_KINDS)}")
    p = fix.get("params") or {}
    if not isinstance(p, dict):
        raise FixError("params must be an object")
    new = copy.deepcopy(doc)
    new.setdefault("edges", [])
    kind = fix["kind"]
    if kind == "add-replicas":
        c = _comp(new, p.get("component_id"))
        c["replicas"] = _int(p, "replicas", 1, 1000)
        azs = _azs(p)
        if azs:
            c["azs"] = azs
    elif kind == "spread-azs":
        c = _comp(new, p.get("component_id"))
        azs = _azs(p)
        if not azs:
            raise FixError("params.azs is required")
        c["azs"] = azs
        c["replicas"] = max(int(c.get("replicas", 1)), len(azs))
    elif kind == "add-read-replicas":
        c = _comp(new, p.get("component_id"))
        if c["type"] != "database":
            raise FixError(f"{c['id']} is not a database")
        c["params"] = dict(c.get("params") or {}, read_replicas=_int(p, "read_replicas", 0, 100))
    elif kind == "add-cache":
        svc = _comp(new, p.get("service_id"))
        cid = _new_id(new, str(p.get("cache_id") or f"{svc['id']}-cache")[:64])
        new["components"].append(
            {
                "id": cid,
                "type": "cache",
                "label": "Cache",
                "replicas": 2,
                "azs": ["a", "b"],
                "region": svc.get("region", "us-east"),
                "position": _near(svc, 180),
                "params": {"hit_ratio": _ratio(p)},
            }
        )
        _edge(new, svc["id"], cid, ops="read")
    elif kind in ("add-cdn", "add-load-balancer"):
        is_cdn = kind == "add-cdn"
        cid = _new_id(
            new, str(p.get("cdn_id" if is_cdn else "lb_id") or ("cdn" if is_cdn else "lb"))[:64]
        )
        comp = {
            "id": cid,
            "type": "cdn" if is_cdn else "load-balancer",
            "label": "CDN" if is_cdn else "Load balancer",
            "replicas": 2,
            "azs": ["a", "b"],
        }
        if is_cdn:
            comp["params"] = {"hit_ratio": _ratio(p)}
        _reroute_clients(new, comp)
    elif kind == "make-async":
        src, dst = _comp(new, p.get("source")), _comp(new, p.get("target"))
        edges = [
            e
            for e in new["edges"]
            if e["source"] == src["id"]
            and e["target"] == dst["id"]
            and e.get("ops", "all") in ("all", "write")
        ]
        if not edges:
            raise FixError(f"no write edge from {src['id']} to {dst['id']}")
        qid = _new_id(new, str(p.get("queue_id") or f"{dst['id']}-queue")[:64])
        for e in edges:
            if e.get("ops", "all") == "all":
                e["ops"] = "read"
            else:
                new["edges"].remove(e)
        new["components"].append(
            {
                "id": qid,
                "type": "queue",
                "label": "Queue",
                "replicas": 2,
                "azs": ["a", "b"],
                "region": src.get("region", "us-east"),
                "position": _near(src, 0, 160),
            }
        )
        _edge(new, src["id"], qid, ops="write")
        _edge(new, qid, dst["id"])
    return new


def _ratio(p: dict) -> float:
    h = p.get("hit_ratio", 0.9)
    if isinstance(h, bool) or not isinstance(h, (int, float)) or not 0 <= h <= 1:
        raise FixError("params.hit_ratio must be between 0 and 1")
    return float(h)
