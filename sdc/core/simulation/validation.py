"""Validation of `sdc-design/1` documents and traffic profiles.

Every problem is collected (never the first only), each with its JSON path and a plain
sentence. No input raises: wrong types, NaN, huge documents all become problems.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from .constants import (
    BURSTINESS,
    COMPONENT_TYPES,
    DEFAULT_TRAFFIC,
    DESIGN_FORMAT,
    DISPATCHES,
    EDGE_MODES,
    EDGE_OPS,
    LIMITS,
    REGIONS,
    SERVICE_DISTS,
    TIERS,
    TYPE_DEFAULTS,
)
from .model import Component, Design, DesignWarning, Edge, Problem, Traffic

ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
AZ_RE = re.compile(r"^[a-z0-9]{1,8}$")
MAX_DOCUMENT_BYTES = 2_000_000

TOP_KEYS = {"format", "components", "edges", "traffic", "notes", "meta"}
COMPONENT_KEYS = {
    "id",
    "type",
    "label",
    "replicas",
    "tier",
    "region",
    "azs",
    "service_time_ms",
    "service_dist",
    "service_cv",
    "concurrency",
    "queue_limit",
    "timeout_ms",
    "dispatch",
    "params",
    "position",
    "meta",
}
EDGE_KEYS = {"id", "source", "target", "ops", "mode", "weight", "meta", "label"}
TRAFFIC_KEYS = set(DEFAULT_TRAFFIC)
PARAM_SPECS: dict[str, dict[str, tuple]] = {
    # type -> param -> (kind, lo, hi)
    "cache": {"hit_ratio": ("ratio", 0.0, 1.0)},
    "cdn": {"hit_ratio": ("ratio", 0.0, 1.0)},
    "database": {"read_replicas": ("int", 0, 100)},
    "queue": {"max_depth": ("int", 1, 100_000_000)},
    "client": {"share": ("pos", 0.0, 1e9)},
}


@dataclass(frozen=True)
class Validation:
    """Outcome of `validate_design`: blocking problems, warnings and the normalised model."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[DesignWarning] = field(default_factory=list)
    design: Design | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "problems": [p.to_dict() for p in self.problems],
            "warnings": [w.to_dict() for w in self.warnings],
        }


def _kind(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        if len(self.problems) < 200:
            self.problems.append(Problem(path, message))

    def number(self, path, v, lo, hi, *, integer=False, lo_open=False):
        """Return a float/int within [lo, hi] (or (lo, hi]) or None after adding a problem."""
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.add(path, f"must be a number (got {_kind(v)})")
            return None
        if not math.isfinite(v):
            self.add(path, "must be a finite number (NaN and Infinity are not allowed)")
            return None
        if integer and float(v) != int(v):
            self.add(path, f"must be a whole number (got {v})")
            return None
        bad = v <= lo if lo_open else v < lo
        if bad or v > hi:
            lo_s = f"greater than {_fmt(lo)}" if lo_open else f"at least {_fmt(lo)}"
            if integer and not lo_open:
                self.add(path, f"must be between {_fmt(lo)} and {_fmt(hi)} (got {_fmt(v)})")
            else:
                self.add(path, f"must be {lo_s} and at most {_fmt(hi)} (got {_fmt(v)})")
            return None
        return int(v) if integer else float(v)

    def choice(self, path, v, options):
        if not isinstance(v, str) or v not in options:
            shown = json.dumps(v) if isinstance(v, (str, int, float)) else _kind(v)
            self.add(path, f"must be one of {', '.join(options)} (got {shown})")
            return None
        return v

    def string(self, path, v, max_len):
        if not isinstance(v, str):
            self.add(path, f"must be a string (got {_kind(v)})")
            return None
        if len(v) > max_len:
            self.add(path, f"must be at most {max_len} characters (got {len(v)})")
            return None
        return v

    def unknown(self, path, d: dict, allowed: set):
        for k in d:
            if k not in allowed:
                shown = k if isinstance(k, str) and len(k) <= 40 else str(k)[:40] + "..."
                self.add(f"{path}.{shown}" if path else shown, "is not a known field")


def _fmt(v) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:g}" if isinstance(v, float) else str(v)


def validate_traffic(traffic: object, path: str = "traffic") -> list[Problem]:
    """Problems of a traffic profile (an empty list when it is valid)."""
    ck = _Checker()
    _traffic(ck, traffic, path)
    return ck.problems


def _traffic(ck: _Checker, t: object, path: str) -> Traffic | None:
    if not isinstance(t, dict):
        ck.add(path, f"must be an object (got {_kind(t)})")
        return None
    ck.unknown(path, t, TRAFFIC_KEYS)
    merged = {**DEFAULT_TRAFFIC, **t}
    n0 = len(ck.problems)
    base = ck.number(
        f"{path}.baseline_rps", merged["baseline_rps"], 0.0, LIMITS["max_rps"], lo_open=True
    )
    peak = ck.number(f"{path}.peak_multiplier", merged["peak_multiplier"], 1.0, 50.0)
    rr = ck.number(f"{path}.read_ratio", merged["read_ratio"], 0.0, 1.0)
    pay = ck.number(
        f"{path}.payload_kb", merged["payload_kb"], 0.0, LIMITS["max_payload_kb"], lo_open=True
    )
    burst = ck.choice(f"{path}.burstiness", merged["burstiness"], BURSTINESS)
    dur = ck.number(f"{path}.duration_s", merged["duration_s"], 1.0, LIMITS["max_duration_s"])
    regions = merged["regions"]
    rpath = f"{path}.regions"
    clean: dict[str, float] = {}
    if not isinstance(regions, dict):
        ck.add(rpath, f"must be an object of region shares (got {_kind(regions)})")
    elif not regions:
        ck.add(rpath, "must name at least one region")
    else:
        for name, share in regions.items():
            if name not in REGIONS:
                ck.add(
                    f"{rpath}.{str(name)[:40]}",
                    f"is not a known region (one of {', '.join(REGIONS)})",
                )
                continue
            v = ck.number(f"{rpath}.{name}", share, 0.0, 1.0)
            if v is not None:
                clean[name] = v
        if len(clean) == len(regions):
            total = sum(clean.values())
            if abs(total - 1.0) > 1e-6:
                diff = abs(1.0 - total)
                side = "short" if total < 1 else "over"
                ck.add(rpath, f"shares must sum to 1 (they sum to {total:.4g}, {diff:.4g} {side})")
    if base is not None and peak is not None and base * peak > LIMITS["max_rps"]:
        ck.add(
            f"{path}.peak_multiplier",
            f"baseline_rps x peak_multiplier must be at most {_fmt(LIMITS['max_rps'])}",
        )
    if len(ck.problems) > n0:
        return None
    return Traffic(base, peak, rr, pay, {k: v for k, v in clean.items() if v > 0}, burst, dur)


def _component(ck: _Checker, c: object, i: int) -> Component | None:
    path = f"components[{i}]"
    if not isinstance(c, dict):
        ck.add(path, f"must be an object (got {_kind(c)})")
        return None
    n0 = len(ck.problems)
    ck.unknown(path, c, COMPONENT_KEYS)
    cid = c.get("id")
    if "id" not in c:
        ck.add(f"{path}.id", "is required")
    elif not isinstance(cid, str) or not ID_RE.match(cid):
        ck.add(f"{path}.id", "must be 1-64 characters of letters, digits, '-' or '_'")
    ctype = c.get("type")
    if "type" not in c:
        ck.add(f"{path}.type", "is required")
        return None
    if ck.choice(f"{path}.type", ctype, COMPONENT_TYPES) is None:
        return None
    d = TYPE_DEFAULTS[ctype]
    g = {**d, **{k: v for k, v in c.items() if k != "params"}}
    label = ck.string(
        f"{path}.label", c.get("label", cid if isinstance(cid, str) else ""), LIMITS["max_label"]
    )
    replicas = ck.number(f"{path}.replicas", g["replicas"], 1, LIMITS["max_replicas"], integer=True)
    tier = ck.choice(f"{path}.tier", g["tier"], tuple(TIERS))
    region = ck.choice(f"{path}.region", g["region"], REGIONS)
    azs = g["azs"]
    if not isinstance(azs, list) or not azs:
        ck.add(f"{path}.azs", "must be a non-empty list of availability-zone names")
        azs = None
    elif len(azs) > 6:
        ck.add(f"{path}.azs", f"must list at most 6 availability zones (got {len(azs)})")
        azs = None
    else:
        for j, az in enumerate(azs):
            if not isinstance(az, str) or not AZ_RE.match(az):
                ck.add(f"{path}.azs[{j}]", 'must be a short lowercase zone name such as "a"')
                azs = None
                break
        if azs is not None and len(set(azs)) != len(azs):
            ck.add(f"{path}.azs", "must not repeat a zone")
            azs = None
    st = ck.number(
        f"{path}.service_time_ms", g["service_time_ms"], 0.0, LIMITS["max_service_time_ms"]
    )
    dist = ck.choice(f"{path}.service_dist", g["service_dist"], SERVICE_DISTS)
    cv = ck.number(f"{path}.service_cv", g["service_cv"], 0.0, 10.0)
    conc = ck.number(
        f"{path}.concurrency", g["concurrency"], 1, LIMITS["max_concurrency"], integer=True
    )
    ql = g["queue_limit"]
    if ql is not None:
        ql = ck.number(f"{path}.queue_limit", ql, 0, LIMITS["max_queue_limit"], integer=True)
    to = g["timeout_ms"]
    if to is not None:
        to = ck.number(f"{path}.timeout_ms", to, 0.0, LIMITS["max_service_time_ms"], lo_open=True)
    disp = ck.choice(f"{path}.dispatch", g["dispatch"], DISPATCHES)
    params = dict(d["params"])
    raw = c.get("params", {})
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        ck.add(f"{path}.params", f"must be an object (got {_kind(raw)})")
    else:
        spec = PARAM_SPECS.get(ctype, {})
        for k, v in raw.items():
            if k not in spec:
                ck.add(f"{path}.params.{str(k)[:40]}", f"is not a parameter of a {ctype}")
                continue
            kind, lo, hi = spec[k]
            val = ck.number(
                f"{path}.params.{k}", v, lo, hi, integer=(kind == "int"), lo_open=(kind == "pos")
            )
            if val is not None:
                params[k] = val
    pos = c.get("position")
    if pos is not None and not isinstance(pos, dict):
        ck.add(f"{path}.position", f"must be an object with x and y (got {_kind(pos)})")
    if len(ck.problems) > n0:
        return None
    return Component(
        cid,
        ctype,
        label,
        replicas,
        tier,
        region,
        tuple(azs),
        st,
        dist,
        cv,
        conc,
        ql,
        to,
        disp,
        params,
        i,
    )


def _edge(ck: _Checker, e: object, i: int, ids: dict) -> Edge | None:
    path = f"edges[{i}]"
    if not isinstance(e, dict):
        ck.add(path, f"must be an object (got {_kind(e)})")
        return None
    n0 = len(ck.problems)
    ck.unknown(path, e, EDGE_KEYS)
    eid = e.get("id", f"e{i + 1}")
    if not isinstance(eid, str) or not ID_RE.match(eid):
        ck.add(f"{path}.id", "must be 1-64 characters of letters, digits, '-' or '_'")
    ends = {}
    for end in ("source", "target"):
        v = e.get(end)
        if end not in e:
            ck.add(f"{path}.{end}", "is required")
        elif not isinstance(v, str):
            ck.add(f"{path}.{end}", f"must be a component id (got {_kind(v)})")
        elif v not in ids:
            ck.add(f"{path}.{end}", f"refers to a component that does not exist ({v[:64]!r})")
        else:
            ends[end] = v
    ops = ck.choice(f"{path}.ops", e.get("ops", "all"), EDGE_OPS)
    mode = ck.choice(f"{path}.mode", e.get("mode", "sync"), EDGE_MODES)
    w = ck.number(f"{path}.weight", e.get("weight", 1.0), 0.0, 1e6, lo_open=True)
    if len(ends) == 2:
        if ends["source"] == ends["target"]:
            ck.add(
                path, f"is a self loop ({ends['source']} to itself); a component cannot call itself"
            )
        elif ids[ends["target"]] == "client":
            ck.add(f"{path}.target", f"is a client ({ends['target']}); clients only send requests")
    if len(ck.problems) > n0:
        return None
    return Edge(eid, ends["source"], ends["target"], ops, mode, w)


def validate_design(doc: object) -> Validation:
    """Validate a `sdc-design/1` document; never raises.

    Returns every blocking problem at once; when there are none, `design` is the normalised
    model (per-type defaults filled in) and `warnings` lists risks.
    """
    try:
        return _validate(doc)
    except Exception as exc:  # pragma: no cover - last-resort guard, must never trigger
        return Validation([Problem("", f"the design could not be read ({type(exc).__name__})")])


def _validate(doc: object) -> Validation:
    ck = _Checker()
    if not isinstance(doc, dict):
        ck.add("", f"the design must be a JSON object (got {_kind(doc)})")
        return Validation(ck.problems)
    ck.unknown("", doc, TOP_KEYS)
    fmt = doc.get("format", DESIGN_FORMAT)
    if fmt != DESIGN_FORMAT:
        ck.add("format", f'must be "{DESIGN_FORMAT}"')
    notes = doc.get("notes", "")
    if notes is not None:
        ck.string("notes", notes, LIMITS["max_notes"])
    comps_raw = doc.get("components")
    edges_raw = doc.get("edges", [])
    comps: list[Component] = []
    ids: dict[str, str] = {}
    if "components" not in doc:
        ck.add("components", "is required (a list of components)")
        comps_raw = []
    elif not isinstance(comps_raw, list):
        ck.add("components", f"must be a list (got {_kind(comps_raw)})")
        comps_raw = []
    elif len(comps_raw) > LIMITS["max_components"]:
        ck.add(
            "components",
            f"must have at most {LIMITS['max_components']} components (got {len(comps_raw)})",
        )
        comps_raw = []
    all_ok = True
    for i, c in enumerate(comps_raw):
        comp = _component(ck, c, i)
        cid = c.get("id") if isinstance(c, dict) else None
        if isinstance(cid, str) and ID_RE.match(cid):
            if cid in ids:
                ck.add(f"components[{i}].id", f"duplicates the id of another component ({cid})")
                all_ok = False
            else:
                ids[cid] = c.get("type") if isinstance(c.get("type"), str) else ""
        if comp is None:
            all_ok = False
        else:
            comps.append(comp)
    if comps_raw and not any(t == "client" for t in ids.values()):
        ck.add("components", "needs at least one client (where the users' requests start)")
    elif "components" in doc and not comps_raw and isinstance(comps_raw, list) and not ck.problems:
        ck.add("components", "needs at least one client (where the users' requests start)")
    edges: list[Edge] = []
    if not isinstance(edges_raw, list):
        ck.add("edges", f"must be a list (got {_kind(edges_raw)})")
        edges_raw = []
    elif len(edges_raw) > LIMITS["max_edges"]:
        ck.add("edges", f"must have at most {LIMITS['max_edges']} edges (got {len(edges_raw)})")
        edges_raw = []
    seen_e: set[str] = set()
    seen_pair: set[tuple] = set()
    for i, e in enumerate(edges_raw):
        edge = _edge(ck, e, i, ids)
        if edge is None:
            all_ok = False
            continue
        if edge.id in seen_e:
            ck.add(f"edges[{i}].id", f"duplicates the id of another edge ({edge.id})")
            all_ok = False
        key = (edge.source, edge.target, edge.ops)
        if key in seen_pair:
            ck.add(f"edges[{i}]", f"duplicates another edge from {edge.source} to {edge.target}")
        seen_e.add(edge.id)
        seen_pair.add(key)
        edges.append(edge)
    traffic = None
    if doc.get("traffic") is not None:
        traffic = _traffic(ck, doc["traffic"], "traffic")
    if ck.problems or not all_ok:
        return Validation(ck.problems)
    design = Design(tuple(comps), tuple(edges), traffic, notes or "")
    from .graph import analyse  # local import: graph builds on the model

    design, warnings, problems = analyse(design)
    if problems:
        return Validation(problems, warnings)
    return Validation([], warnings, design)


def load_design_text(text: str | bytes) -> tuple[object, list[Problem]]:
    """Parse JSON text of a design with a size limit; returns (doc, problems)."""
    if isinstance(text, bytes):
        if len(text) > MAX_DOCUMENT_BYTES:
            return None, [
                Problem(
                    "",
                    f"the document is too large ({len(text)} bytes; the "
                    f"limit is {MAX_DOCUMENT_BYTES})",
                )
            ]
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return None, [Problem("", "the document is not UTF-8 text")]
    if len(text) > MAX_DOCUMENT_BYTES:
        return None, [
            Problem(
                "",
                f"the document is too large ({len(text)} characters; the "
                f"limit is {MAX_DOCUMENT_BYTES})",
            )
        ]
    try:
        return json.loads(text), []
    except (ValueError, RecursionError) as exc:
        return None, [Problem("", f"the document is not valid JSON ({exc})")]
