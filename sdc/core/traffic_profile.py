"""Traffic profiles: presets, the derived summary and the shape of offered load over time.

Plain data in, plain data out (SIMULATION_MODEL.md section 3). Rates in requests per second,
ratios as fractions, bandwidth in megabytes per second.
"""

from __future__ import annotations

from sdc.core.simulation.constants import DEFAULT_TRAFFIC, REGIONS

PRESETS: dict[str, str] = {
    "scenario": "Scenario default",
    "steady-day": "Steady day",
    "launch-day": "Launch day",
    "viral-spike": "Viral spike",
    "regional-outage-drill": "Regional outage drill",
}
PRESET_HELP: dict[str, str] = {
    "scenario": "The traffic the scenario asks you to handle.",
    "steady-day": "An ordinary day: the baseline rate, no peak, Poisson arrivals.",
    "launch-day": "Launch: three times the scenario's peak multiplier (at most 50), with bursts.",
    "viral-spike": "A post goes viral: ten times the scenario's peak with extreme bursts.",
    "regional-outage-drill": "The busiest region's users fail over to the others.",
}
# (share of the window, rate multiplier) phases with the mean preserved, as in the model's
# documented burstiness (docs/simulation-model.md): the chart shows the same shape.
BURST_PHASES = {
    "steady": ((1.0, 1.0),),
    "spiky": ((0.1, 2.5), (0.9, 0.75 / 0.9)),
    "extreme": ((0.05, 5.0), (0.95, 0.75 / 0.95)),
}
SECONDS_PER_DAY = 86_400


def normalise(traffic: dict) -> dict:
    """The profile with defaults filled in (values are not validated here)."""
    return {**DEFAULT_TRAFFIC, **(traffic or {})}


def preset(name: str, scenario_traffic: dict) -> dict:
    """The profile of preset ``name`` derived from the scenario's default; KeyError if unknown."""
    if name not in PRESETS:
        raise KeyError(name)
    base = normalise(scenario_traffic)
    base["regions"] = dict(base["regions"])
    if name == "scenario":
        return base
    if name == "steady-day":
        return {**base, "peak_multiplier": 1.0, "burstiness": "steady"}
    if name == "launch-day":
        return {
            **base,
            "peak_multiplier": min(50.0, base["peak_multiplier"] * 3),
            "burstiness": "spiky",
        }
    if name == "viral-spike":
        return {
            **base,
            "peak_multiplier": min(50.0, base["peak_multiplier"] * 10),
            "burstiness": "extreme",
        }
    # regional-outage-drill: the largest region's share moves to the others pro rata.
    regions = {k: float(v) for k, v in base["regions"].items()}
    biggest = max(regions, key=lambda k: regions[k])
    rest = {k: v for k, v in regions.items() if k != biggest}
    if not rest or sum(rest.values()) <= 0:
        fallback = next(r for r in REGIONS if r != biggest)
        rest = {fallback: 1.0}
    total = sum(rest.values())
    shares = {k: round(v / total, 4) for k, v in rest.items()}
    first = next(iter(shares))
    shares[first] = round(1.0 - sum(v for k, v in shares.items() if k != first), 4)
    return {**base, "regions": shares}


def summary(traffic: dict) -> dict:
    """Derived figures at the peak: rates in rps, bandwidth in MB/s, daily requests.

    Ingress is the payload of writes arriving; egress the payload of reads answered.
    Daily requests assume the baseline rate all day (the peak is a short window).
    """
    t = normalise(traffic)
    peak = float(t["baseline_rps"]) * float(t["peak_multiplier"])
    reads = peak * float(t["read_ratio"])
    writes = peak - reads
    payload_mb = float(t["payload_kb"]) / 1024.0
    regions = t["regions"] if isinstance(t["regions"], dict) else {}
    return {
        "baseline_rps": float(t["baseline_rps"]),
        "peak_rps": peak,
        "reads_rps": reads,
        "writes_rps": writes,
        "daily_requests": float(t["baseline_rps"]) * SECONDS_PER_DAY,
        "ingress_mb_s": writes * payload_mb,
        "egress_mb_s": reads * payload_mb,
        "regions_rps": {
            r: peak * float(s)
            for r, s in regions.items()
            if isinstance(s, int | float) and not isinstance(s, bool)
        },
    }


def load_curve(traffic: dict, points: int = 60) -> list[tuple[float, float]]:
    """(t_s, offered rps) samples over the simulated window, with bursts spread evenly.

    The mean over the window equals the peak rate, as in the simulator; where the bursts fall
    in a real run is random, so the chart shows the shape, not the schedule.
    """
    t = normalise(traffic)
    peak = float(t["baseline_rps"]) * float(t["peak_multiplier"])
    duration = float(t["duration_s"])
    phases = BURST_PHASES.get(t["burstiness"], BURST_PHASES["steady"])
    if len(phases) == 1:
        return [(0.0, peak), (duration, peak)]
    (burst_share, burst_x), (_rest, calm_x) = phases
    bursts = 4
    period = duration / bursts
    width = period * burst_share
    out: list[tuple[float, float]] = []
    for k in range(bursts):
        start = k * period + (period - width) / 2
        out += [
            (k * period, peak * calm_x),
            (start, peak * calm_x),
            (start, peak * burst_x),
            (start + width, peak * burst_x),
            (start + width, peak * calm_x),
        ]
    out.append((duration, peak * calm_x))
    return out
