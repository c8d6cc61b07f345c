"""Form parsing for runs: the Run button's options and the failure lab's injection form."""

from __future__ import annotations

import math

from sdc.core.simulation import FAILURE_MODES

# The fields each failure mode takes (the simulator rejects any other field).
MODE_FIELDS = {
    "node-down": ("component_id", "replicas"),
    "az-down": ("region", "az"),
    "region-down": ("region",),
    "dependency-lag": ("component_id", "lag_ms"),
    "traffic-surge": ("multiplier",),
    "cache-cold": ("component_id", "warm_s"),
}
REQUIRED = {"component_id", "region", "az", "lag_ms", "multiplier"}
INTEGER_FIELDS = {"replicas"}
NUMBER_FIELDS = {"replicas", "lag_ms", "multiplier", "warm_s", "at_s", "for_s"}


class FormErrors(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _number(raw: str, name: str, errors: dict, *, integer: bool = False):
    try:
        value = float(raw)
    except ValueError:
        errors[name] = "Enter a number."
        return None
    if not math.isfinite(value):
        errors[name] = "Enter a finite number."
        return None
    if integer:
        if not value.is_integer():
            errors[name] = "Enter a whole number."
            return None
        return int(value)
    return int(value) if value.is_integer() else value


def run_options(form) -> dict:
    """``engine`` and ``seed`` from the Run button's form (both optional)."""
    errors: dict[str, str] = {}
    engine = (form.get("engine") or "des").strip()
    seed_raw = (form.get("seed") or "").strip()
    seed = None
    if seed_raw:
        seed = _number(seed_raw, "seed", errors, integer=True)
    if errors:
        errors["seed"] = "The seed must be a whole number between 0 and 2147483647."
        raise FormErrors(errors)
    if errors:
        raise FormErrors(errors)
    return {"engine": engine, "seed": seed}


def failure_spec(form, duration_s: float) -> dict:
    """A failure spec from the lab's form; only the fields of the chosen mode are kept.

    Raises FormErrors (field -> message) for a missing mode, a non-number, or a start time
    outside the simulated window (the simulator itself checks ids, regions and ranges).
    """
    errors: dict[str, str] = {}
    mode = (form.get("mode") or "").strip()
    if mode not in FAILURE_MODES:
        raise FormErrors({"mode": "Choose a failure mode."})
    spec: dict = {"mode": mode}
    for name in (*MODE_FIELDS[mode], "at_s", "for_s"):
        raw = (form.get(name) or "").strip()
        if not raw:
            if name in REQUIRED:
                errors[name] = "Required for " + mode + "."
            continue
        if name in NUMBER_FIELDS:
            value = _number(raw, name, errors, integer=name in INTEGER_FIELDS)
            if value is not None:
                spec[name] = value
        else:
            spec[name] = raw
    at_s = spec.get("at_s")
    if isinstance(at_s, (int, float)) and at_s >= duration_s:
        errors["at_s"] = (
            f"The run simulates {duration_s:g} s; start the failure before {duration_s:g} s."
        )
    if errors:
        raise FormErrors(errors)
    return spec


def problems_by_field(problems: list[dict]) -> dict[str, str]:
    """``failures[0].component_id: ...`` -> ``{"component_id": "..."}`` for the lab's form."""
    out: dict[str, str] = {}
    for p in problems:
        path = str(p.get("path", ""))
        field = path.rsplit(".", 1)[-1] if "." in path else "mode"
        out.setdefault(field, str(p.get("message", "")))
    return out
