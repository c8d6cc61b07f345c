"""Failure specifications (contract section 5): validation and the CLI's MODE:ARGS syntax."""

from __future__ import annotations

import math

from .constants import REGIONS
from .model import Design, Problem

FAILURE_MODES: tuple[str, ...] = (
    "node-down",
    "az-down",
    "region-down",
    "dependency-lag",
    "traffic-surge",
    "cache-cold",
)
DEFAULT_AT_S = 10.0
DEFAULT_WARM_S = 60.0
_FIELDS = {
    "node-down": {"component_id", "replicas"},
    "az-down": {"region", "az"},
    "region-down": {"region"},
    "dependency-lag": {"component_id", "lag_ms"},
    "traffic-surge": {"multiplier"},
    "cache-cold": {"component_id", "warm_s"},
}
_POSITIONAL = {
    "node-down": ["component_id", "replicas"],
    "az-down": ["region", "az"],
    "region-down": ["region"],
    "dependency-lag": ["component_id", "lag_ms"],
    "traffic-surge": ["multiplier"],
    "cache-cold": ["component_id", "warm_s"],
}


def _num(v, path, lo, hi, problems, *, integer=False, lo_open=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        problems.append(Problem(path, "must be a finite number"))
        return None
    if integer and float(v) != int(v):
        problems.append(Problem(path, "must be a whole number"))
        return None
    if (v <= lo if lo_open else v < lo) or v > hi:
        word = "greater than" if lo_open else "at least"
        problems.append(Problem(path, f"must be {word} {lo:g} and at most {hi:g} (got {v:g})"))
        return None
    return v


def validate_failure(
    spec: object, design: Design | None = None, path: str = "failure"
) -> list[Problem]:
    """Problems of one failure spec; with a design, ids/regions/AZs are checked against it."""
    p: list[Problem] = []
    if not isinstance(spec, dict):
        return [Problem(path, "must be an object with a mode")]
    mode = spec.get("mode")
    if mode not in FAILURE_MODES:
        return [Problem(f"{path}.mode", f"must be one of {', '.join(FAILURE_MODES)}")]
    allowed = _FIELDS[mode] | {"mode", "at_s", "for_s"}
    for k in spec:
        if k not in allowed:
            p.append(Problem(f"{path}.{str(k)[:40]}", f"is not a field of {mode}"))
    if "at_s" in spec:
        _num(spec["at_s"], f"{path}.at_s", 0.0, 86400.0, p)
    if spec.get("for_s") is not None:
        _num(spec["for_s"], f"{path}.for_s", 0.0, 86400.0, p, lo_open=True)
    comps = {c.id: c for c in design.components} if design else None
    if "component_id" in _FIELDS[mode]:
        cid = spec.get("component_id")
        if not isinstance(cid, str) or not cid:
            p.append(Problem(f"{path}.component_id", "is required"))
        elif comps is not None and cid not in comps:
            p.append(Problem(f"{path}.component_id", f"is not a component of the design ({cid})"))
        elif comps is not None and mode == "cache-cold" and comps[cid].type not in ("cache", "cdn"):
            p.append(Problem(f"{path}.component_id", f"{cid} is not a cache or CDN"))
        elif comps is not None and comps[cid].type == "client":
            p.append(Problem(f"{path}.component_id", "a client cannot fail"))
    if mode == "node-down" and spec.get("replicas") is not None:
        _num(spec["replicas"], f"{path}.replicas", 1, 1000, p, integer=True)
    if "region" in _FIELDS[mode]:
        if spec.get("region") not in REGIONS:
            p.append(Problem(f"{path}.region", f"must be one of {', '.join(REGIONS)}"))
    if mode == "az-down" and (not isinstance(spec.get("az"), str) or not spec.get("az")):
        p.append(Problem(f"{path}.az", 'is required (a zone name such as "a")'))
    if mode == "dependency-lag":
        _num(spec.get("lag_ms"), f"{path}.lag_ms", 0.0, 600_000.0, p, lo_open=True)
    if mode == "traffic-surge":
        _num(spec.get("multiplier"), f"{path}.multiplier", 0.0, 50.0, p, lo_open=True)
    if mode == "cache-cold" and "warm_s" in spec:
        _num(spec["warm_s"], f"{path}.warm_s", 0.0, 86400.0, p)
    return p


def normalise_failure(spec: dict) -> dict:
    """Fill defaults (at_s 10, for_s None, warm_s 60, replicas None = all)."""
    out = dict(spec)
    out.setdefault("at_s", DEFAULT_AT_S)
    out.setdefault("for_s", None)
    if out["mode"] == "cache-cold":
        out.setdefault("warm_s", DEFAULT_WARM_S)
    if out["mode"] == "node-down":
        out.setdefault("replicas", None)
    return out


def _value(s: str):
    try:
        f = float(s)
    except ValueError:
        return s
    if not math.isfinite(f):
        return s
    return int(f) if f.is_integer() and "." not in s else f


def parse_failure_arg(arg: str) -> dict:
    """Parse the CLI form `MODE:ARGS`, e.g. `node-down:api,replicas=1,at_s=10,for_s=20`.

    Positional arguments follow the mode: node-down `component_id[,replicas]`, az-down
    `region,az`, region-down `region`, dependency-lag `component_id,lag_ms`, traffic-surge
    `multiplier`, cache-cold `component_id[,warm_s]`. Raises ValueError with a sentence.
    """
    if not isinstance(arg, str) or not arg.strip():
        raise ValueError("a failure must look like MODE:ARGS, e.g. node-down:api,at_s=10")
    mode, _, rest = arg.strip().partition(":")
    if mode not in FAILURE_MODES:
        raise ValueError(f"unknown failure mode {mode!r}; use one of {', '.join(FAILURE_MODES)}")
    spec: dict = {"mode": mode}
    positional = list(_POSITIONAL[mode])
    for part in [x.strip() for x in rest.split(",") if x.strip()]:
        if "=" in part:
            k, _, v = part.partition("=")
            spec[k.strip()] = _value(v.strip())
        elif positional:
            spec[positional.pop(0)] = _value(part)
        else:
            raise ValueError(f"unexpected argument {part!r} for {mode}")
    problems = validate_failure(spec)
    if problems:
        raise ValueError("; ".join(str(p) for p in problems))
    return spec
