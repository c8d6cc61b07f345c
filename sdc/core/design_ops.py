"""Edits of an `sdc-design/1` document, as pure functions on plain dicts.

Each function takes a design (never mutated) and returns a new one, or raises `EditError`
naming the field at fault. They enforce the workspace's limits and referential integrity;
range checks of values are left to `validate_design`, which the caller runs on the result.
"""

from __future__ import annotations

import copy
import re

from sdc.core.simulation.constants import COMPONENT_TYPES, DESIGN_FORMAT

MAX_COMPONENTS = 200
MAX_EDGES = 600
MAX_LABEL = 120
MAX_NOTES = 20_000
CANVAS_MAX = 5000  # positions are clamped to [0, CANVAS_MAX] in both axes
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Component fields the inspector may set; None removes the field (the type default applies).
EDITABLE_FIELDS = (
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
)
# queue_limit: null in the document means "unbounded", so it is kept rather than removed.
KEEP_NULL = frozenset({"queue_limit"})
USE_DEFAULT = "__default__"  # a change value that removes the field (the type default applies)


class EditError(ValueError):
    """An edit was refused; ``field`` names the input at fault (None: the edit as a whole)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def starter_design() -> dict:
    """Version 1 of every project: just the users (a client)."""
    return {
        "format": DESIGN_FORMAT,
        "components": [{"id": "users", "type": "client", "label": "Users"}],
        "edges": [],
    }


def _copy(design: dict) -> dict:
    doc = copy.deepcopy(design)
    doc.setdefault("format", DESIGN_FORMAT)
    doc.setdefault("components", [])
    doc.setdefault("edges", [])
    return doc


def component_index(design: dict, cid: str) -> int:
    for i, c in enumerate(design.get("components", [])):
        if c.get("id") == cid:
            return i
    raise EditError(f"There is no component with id {cid[:64]!r} in this design.", "component")


def edge_index(design: dict, eid: str) -> int:
    for i, e in enumerate(design.get("edges", [])):
        if e.get("id") == eid:
            return i
    raise EditError(f"There is no connection with id {eid[:64]!r} in this design.", "edge")


def _fresh_id(taken: set[str], prefix: str) -> str:
    n = 1
    while f"{prefix}-{n}" in taken:
        n += 1
    return f"{prefix}-{n}"


def check_label(label: str) -> str:
    label = label.strip()
    if len(label) > MAX_LABEL:
        raise EditError(
            f"A label can be at most {MAX_LABEL} characters (this one has {len(label)}).",
            "label",
        )
    return label


def check_limits(design: dict) -> None:
    """Refuse documents over the workspace's size limits (with a sentence that says so)."""
    comps = design.get("components")
    edges = design.get("edges")
    if isinstance(comps, list) and len(comps) > MAX_COMPONENTS:
        raise EditError(
            f"A design can have at most {MAX_COMPONENTS} components (this one has {len(comps)}).",
            "components",
        )
    if isinstance(edges, list) and len(edges) > MAX_EDGES:
        raise EditError(
            f"A design can have at most {MAX_EDGES} connections (this one has {len(edges)}).",
            "edges",
        )


def add_component(
    design: dict, ctype: str, label: str = "", position: dict | None = None
) -> tuple[dict, str]:
    """Append a component of ``ctype`` with a fresh id; returns (design, new id)."""
    if ctype not in COMPONENT_TYPES:
        raise EditError(
            f"Unknown component type {ctype[:40]!r}; choose one of {', '.join(COMPONENT_TYPES)}.",
            "type",
        )
    doc = _copy(design)
    if len(doc["components"]) >= MAX_COMPONENTS:
        raise EditError(
            f"A design can have at most {MAX_COMPONENTS} components; remove one first.", "type"
        )
    taken = {c.get("id") for c in doc["components"]}
    cid = _fresh_id(taken, ctype)
    label = check_label(label) or cid.replace("-", " ").capitalize()
    comp: dict = {"id": cid, "type": ctype, "label": label}
    if position is not None:
        comp["position"] = _clamp_position(position)
    doc["components"].append(comp)
    return doc, cid


def update_component(design: dict, cid: str, changes: dict) -> dict:
    """Set the given fields of component ``cid``; ``params`` merges (None removes a param)."""
    doc = _copy(design)
    comp = doc["components"][component_index(doc, cid)]
    for key, value in changes.items():
        if key == "params":
            params = dict(comp.get("params") or {})
            for pk, pv in value.items():
                if pv is None:
                    params.pop(pk, None)
                else:
                    params[pk] = pv
            if params:
                comp["params"] = params
            else:
                comp.pop("params", None)
            continue
        if key == "position":
            if value is None:
                comp.pop("position", None)
            else:
                comp["position"] = _clamp_position(value)
            continue
        if key not in EDITABLE_FIELDS:
            raise EditError(f"{key[:40]} is not a field a component can set.", key[:40])
        if key == "label":
            value = check_label(value or "") or cid
        if value == USE_DEFAULT or (value is None and key not in KEEP_NULL):
            comp.pop(key, None)
        else:
            comp[key] = value
    return doc


def _clamp_position(position: dict) -> dict:
    out = {}
    for axis in ("x", "y"):
        v = position.get(axis)
        if isinstance(v, bool) or not isinstance(v, int | float) or v != v:
            raise EditError(f"Position {axis} must be a number.", axis)
        out[axis] = int(max(0, min(CANVAS_MAX, round(v))))
    return out


def move_component(design: dict, cid: str, x: float, y: float) -> dict:
    """Place component ``cid`` at (x, y) on the canvas (clamped); UI only."""
    doc = _copy(design)
    comp = doc["components"][component_index(doc, cid)]
    comp["position"] = _clamp_position({"x": x, "y": y})
    return doc


def remove_component(design: dict, cid: str) -> dict:
    """Remove component ``cid`` and every connection to or from it."""
    doc = _copy(design)
    del doc["components"][component_index(doc, cid)]
    doc["edges"] = [e for e in doc["edges"] if cid not in (e.get("source"), e.get("target"))]
    return doc


def add_edge(
    design: dict,
    source: str,
    target: str,
    ops: str = "all",
    mode: str = "sync",
    weight: float = 1.0,
) -> tuple[dict, str]:
    """Connect ``source`` to ``target``; returns (design, new edge id)."""
    doc = _copy(design)
    component_index(doc, source)
    try:
        component_index(doc, target)
    except EditError as exc:
        raise EditError(exc.message, "target") from None
    if source == target:
        raise EditError("A component cannot be connected to itself.", "target")
    if len(doc["edges"]) >= MAX_EDGES:
        raise EditError(
            f"A design can have at most {MAX_EDGES} connections; remove one first.", "source"
        )
    for e in doc["edges"]:
        if e.get("source") == source and e.get("target") == target and e.get("ops", "all") == ops:
            raise EditError(
                f"{source} is already connected to {target} for {ops} requests.", "target"
            )
    eid = _fresh_id({e.get("id") for e in doc["edges"]}, "e")
    edge: dict = {"id": eid, "source": source, "target": target}
    if ops != "all":
        edge["ops"] = ops
    if mode != "sync":
        edge["mode"] = mode
    if weight != 1:
        edge["weight"] = weight
    doc["edges"].append(edge)
    return doc, eid


def remove_edge(design: dict, eid: str) -> dict:
    doc = _copy(design)
    del doc["edges"][edge_index(doc, eid)]
    return doc


def split_document(doc: dict) -> tuple[dict, dict | None, str | None]:
    """Split an imported document into (design, traffic or None, notes or None)."""
    design = {k: v for k, v in doc.items() if k not in ("traffic", "notes")}
    design.setdefault("format", DESIGN_FORMAT)
    design.setdefault("edges", [])
    return design, doc.get("traffic"), doc.get("notes")
