"""Form parsing for the design workspace: strings in, typed edits out (or InvalidEdit)."""

from __future__ import annotations

import json
import re

from sdc.core.design_ops import MAX_LABEL, USE_DEFAULT
from sdc.core.simulation.constants import (
    COMPONENT_TYPES,
    DISPATCHES,
    EDGE_MODES,
    EDGE_OPS,
    REGIONS,
    SERVICE_DISTS,
    TIERS,
)
from sdc.services.versions import InvalidEdit
from sdc.web import forms_common as f

AZ_CHOICES = ("a", "b", "c")
MAX_IMPORT_BYTES = 2_000_000
# type -> [(param, label, kind, lo, hi)]
PARAM_FIELDS = {
    "cache": [("hit_ratio", "Hit ratio", "ratio", 0.0, 1.0)],
    "cdn": [("hit_ratio", "Hit ratio", "ratio", 0.0, 1.0)],
    "database": [("read_replicas", "Read replicas", "int", 0, 100)],
    "queue": [("max_depth", "Max queue depth", "int", 1, 100_000_000)],
    "client": [("share", "Traffic share", "pos", 0.0, 1e9)],
}
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_AZ = re.compile(r"^[a-z0-9]{1,8}$")


def component_id(raw: str, field: str = "component") -> str:
    raw = (raw or "").strip()
    if not _ID.match(raw):
        raise InvalidEdit("Choose a component.", field)
    return raw


def new_component(values) -> dict:
    ctype = f.choice(values, "type", "Component type", COMPONENT_TYPES)
    label = f.text(values, "label", "Label", MAX_LABEL)
    return {"ctype": ctype, "label": label}


def component_changes(values, ctype: str) -> dict:
    """The inspector's fields as a change set for ``design_ops.update_component``."""
    changes: dict = {}
    if "label" in values:
        changes["label"] = f.text(values, "label", "Label", MAX_LABEL)
    if "replicas" in values:
        changes["replicas"] = f.number(values, "replicas", "Replicas", 1, 1000, integer=True)
    if "tier" in values:
        changes["tier"] = f.choice(values, "tier", "Tier", tuple(TIERS))
    if "region" in values:
        changes["region"] = f.choice(values, "region", "Region", REGIONS)
    if "azs_present" in values or "azs" in values:
        azs = [a for a in values.getlist("azs") if a]
        bad = [a for a in azs if not _AZ.match(a)]
        if bad:
            raise InvalidEdit(
                "Availability zones are short lowercase names such as a, b or c.", "azs"
            )
        if not azs:
            raise InvalidEdit("Choose at least one availability zone.", "azs")
        changes["azs"] = sorted(set(azs))
    if "service_time_ms" in values:
        changes["service_time_ms"] = f.number(
            values, "service_time_ms", "Service time (ms)", 0, 600_000, blank=None
        )
    if "concurrency" in values:
        changes["concurrency"] = f.number(
            values, "concurrency", "Concurrency", 1, 100_000, integer=True, blank=None
        )
    if "queue_limit" in values or "queue_unbounded" in values:
        if values.get("queue_unbounded"):
            changes["queue_limit"] = None  # null in the document: an unbounded queue
        else:
            changes["queue_limit"] = f.number(
                values,
                "queue_limit",
                "Queue limit",
                0,
                10_000_000,
                integer=True,
                blank=USE_DEFAULT,
            )
    if "timeout_ms" in values:
        changes["timeout_ms"] = f.number(
            values, "timeout_ms", "Timeout (ms)", 0, 600_000, blank=None, lo_open=True
        )
    if "dispatch" in values:
        changes["dispatch"] = f.choice(values, "dispatch", "Dispatch", DISPATCHES)
    if "service_dist" in values:
        changes["service_dist"] = f.choice(
            values, "service_dist", "Service time distribution", SERVICE_DISTS
        )
    if "service_cv" in values:
        changes["service_cv"] = f.number(
            values, "service_cv", "Coefficient of variation", 0, 10, blank=None
        )
    params = {}
    for name, label, kind, lo, hi in PARAM_FIELDS.get(ctype, []):
        if name in values:
            params[name] = f.number(
                values,
                name,
                label,
                lo,
                hi,
                integer=(kind == "int"),
                blank=None,
                lo_open=(kind == "pos"),
            )
    if params:
        changes["params"] = params
    if "x" in values or "y" in values:
        x = f.number(values, "x", "Position x", 0, 5000, blank=None)
        y = f.number(values, "y", "Position y", 0, 5000, blank=None)
        changes["position"] = None if x is None or y is None else {"x": x, "y": y}
    return changes


def position(values) -> tuple[float, float]:
    x = f.number(values, "x", "Position x", -100_000, 100_000)
    y = f.number(values, "y", "Position y", -100_000, 100_000)
    return x, y


def new_edge(values) -> dict:
    return {
        "source": component_id(values.get("source", ""), "source"),
        "target": component_id(values.get("target", ""), "target"),
        "ops": f.choice(values, "ops", "Requests", EDGE_OPS, default="all"),
        "mode": f.choice(values, "mode", "Mode", EDGE_MODES, default="sync"),
        "weight": f.number(values, "weight", "Weight", 0, 1_000_000, blank=1.0, lo_open=True),
    }


def notes(values) -> str:
    return values.get("notes") or ""


def import_document(request) -> object:
    """The uploaded or pasted document, parsed as JSON (InvalidEdit on anything else)."""
    if request.is_json:
        body = request.get_json(silent=True)
        if body is None:
            raise InvalidEdit("The request body is not valid JSON.", "document")
        if isinstance(body, dict) and "document" in body and "format" not in body:
            return body["document"]
        return body
    upload = request.files.get("file")
    raw: bytes | str = b""
    if upload is not None and upload.filename:
        raw = upload.read(MAX_IMPORT_BYTES + 1)
    else:
        raw = request.form.get("document", "")
    if len(raw) > MAX_IMPORT_BYTES:
        raise InvalidEdit("The document is larger than 2 MB.", "document")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidEdit("The file is not UTF-8 text.", "document") from None
    if not raw.strip():
        raise InvalidEdit("Choose a JSON file or paste a design document.", "document")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidEdit(f"The document is not valid JSON ({exc}).", "document") from None
