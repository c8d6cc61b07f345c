"""The p95 threshold (`slo_ms`) the DES timeline and blast radius judge against."""

from __future__ import annotations

import hashlib
import json
import math

import pytest

from sdc.core.simulation import ENGINE_VERSION, InvalidDesign, simulate, validate_design
from sdc.core.simulation.timeline import crossings
from tests.core.helpers import single_station

SURGE = [{"mode": "traffic-surge", "multiplier": 1.5, "at_s": 5, "for_s": 5}]


def slow_design():
    """Every request spends exactly 100 ms in service (deterministic) on a station that is
    20% busy (50 servers, 100 rps), so every response is a little over 100 ms: above an
    80 ms SLO from the first second, far below the 500 ms default."""
    doc = single_station(c=50, service_ms=100.0, dist="deterministic", rps=100.0)
    doc["traffic"]["duration_s"] = 20
    return doc


def slo_events(result):
    return [e for e in result["timeline"] if e["title"].startswith("p95 latency")]


def test_timeline_and_blast_radius_judge_against_the_given_slo():
    doc = slow_design()
    tight = simulate(doc, engine="des", seed=3, failures=SURGE, slo_ms=80)
    default = simulate(doc, engine="des", seed=3, failures=SURGE)
    # same arrivals and service: only the threshold differs
    assert tight["series"]["p95_ms"] == default["series"]["p95_ms"]
    assert min(p for p in tight["series"]["p95_ms"] if p is not None) >= 100

    # breached from second 0 and never back: one event at t=0, no "back within" event
    events = slo_events(tight)
    assert [(e["t_s"], e["title"]) for e in events] == [(0.0, "p95 latency above the SLO")]
    assert "> 80 ms" in events[0]["detail"]
    assert slo_events(default) == []

    assert tight["metrics"]["slo_ms"] == 80 and tight["metrics"]["slo_source"] == "given"
    assert default["metrics"]["slo_ms"] == 500 and default["metrics"]["slo_source"] == "default"
    tb, db = tight["blast_radius"], default["blast_radius"]
    assert tb["slo_ms"] == 80 and db["slo_ms"] == 500
    assert tb["failed_share"] == 0 and db["failed_share"] == 0
    assert tb["slow_share"] == 1.0 and tb["impacted_share"] == 1.0
    assert db["slow_share"] == 0.0 and db["impacted_share"] == 0.0
    # never within an 80 ms SLO, so never recovered; against 500 ms nothing was impacted
    assert tb["recovered"] is False and db["recovered"] is True


def _hash_without_slo(doc, engine, seed, failures, duration):
    """The input hash as defined before `slo_ms` existed (independent re-computation)."""
    v = validate_design(doc)
    blob = json.dumps(
        {
            "d": v.design.to_dict(),
            "t": v.design.traffic.to_dict(),
            "e": engine,
            "s": seed,
            "f": failures,
            "dur": duration,
            "v": ENGINE_VERSION,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def test_slo_enters_the_input_hash_only_when_given():
    doc = slow_design()
    plain = simulate(doc)
    assert plain["input_hash"] == _hash_without_slo(doc, "analytic", 0, [], None)
    assert plain["metrics"]["slo_ms"] == 500 and plain["metrics"]["slo_source"] == "default"
    given = simulate(doc, slo_ms=500)
    assert given["input_hash"] != plain["input_hash"]
    assert given["metrics"]["slo_source"] == "given"
    assert simulate(doc, slo_ms=80)["input_hash"] not in (plain["input_hash"], given["input_hash"])


@pytest.mark.parametrize("bad", [0, -5, math.nan, math.inf, True, "80", [80], 3_600_001])
def test_bad_slo_is_refused_with_its_field(bad):
    with pytest.raises(InvalidDesign) as exc:
        simulate(slow_design(), slo_ms=bad)
    assert [p.path for p in exc.value.problems] == ["slo_ms"]
    assert "positive number of milliseconds" in exc.value.problems[0].message


def test_crossings_of_a_breach_from_the_first_to_the_last_second():
    assert crossings([120.0] * 10, lambda x: x > 80, 10) == [(0, None)]
    # a breach that clears for fewer than 3 seconds at the end has not ended
    assert crossings([120.0] * 8 + [50.0, 50.0], lambda x: x > 80, 10) == [(0, None)]
    assert crossings([120.0] * 5 + [50.0] * 5, lambda x: x > 80, 10) == [(0, 5)]
    # seconds without enough samples (None) are not a breach
    assert crossings([None, None, 120.0, 120.0], lambda x: x > 80, 4) == [(2, None)]
