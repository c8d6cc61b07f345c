"""Traffic form parsing: percent on screen, fractions in data; every error at once."""

from __future__ import annotations

from sdc.core.simulation.constants import BURSTINESS, REGIONS
from sdc.services.versions import InvalidEdit
from sdc.web import forms_common as f

FIELDS = {
    # name: (label, lo, hi, integer, lo_open)
    "baseline_rps": ("Baseline requests per second", 0, 10_000_000, False, True),
    "peak_multiplier": ("Peak multiplier", 1, 50, False, False),
    "read_percent": ("Reads (%)", 0, 100, False, False),
    "payload_kb": ("Payload (KB)", 0, 1_000_000, False, True),
    "duration_s": ("Simulated window (s)", 1, 3600, False, False),
}


def parse(values) -> tuple[dict, dict[str, str]]:
    """(traffic profile, errors by field). Region shares arrive as ``region-<name>`` percents."""
    traffic: dict = {}
    errors: dict[str, str] = {}
    for name, (label, lo, hi, integer, lo_open) in FIELDS.items():
        try:
            traffic[name] = f.number(values, name, label, lo, hi, integer=integer, lo_open=lo_open)
        except InvalidEdit as exc:
            errors[name] = exc.message
    if "read_percent" in traffic:
        traffic["read_ratio"] = round(traffic.pop("read_percent") / 100.0, 6)
    try:
        traffic["burstiness"] = f.choice(values, "burstiness", "Burstiness", BURSTINESS)
    except InvalidEdit as exc:
        errors["burstiness"] = exc.message
    regions: dict[str, float] = {}
    for region in REGIONS:
        name = f"region-{region}"
        try:
            share = f.number(values, name, f"Share of {region} (%)", 0, 100, blank=0.0)
        except InvalidEdit as exc:
            errors[name] = exc.message
            continue
        if share:
            regions[region] = share
    if not any(k.startswith("region-") for k in errors):
        total = sum(regions.values())
        if not regions:
            errors["regions"] = "Give at least one region a share of the users."
        elif abs(total - 100.0) > 0.01:
            off = abs(100.0 - total)
            side = "short" if total < 100 else "too much"
            errors["regions"] = (
                f"Region shares must add up to 100% (they add up to {total:g}%: {off:g}% {side})."
            )
    traffic["regions"] = {r: round(s / 100.0, 6) for r, s in regions.items()}
    if not errors:
        # Percent rounding can leave 0.999999: give the remainder to the largest share.
        biggest = max(traffic["regions"], key=traffic["regions"].get)
        rest = sum(v for k, v in traffic["regions"].items() if k != biggest)
        traffic["regions"][biggest] = round(1.0 - rest, 6)
    return traffic, errors
