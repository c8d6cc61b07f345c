"""Every catalog scenario's SLOs can be met in the simulator, and still separate the designs.

The simulator serves every user from the design's one origin (no geo-routing), so a latency
target below the round trip of the scenario's far-away users is unreachable whatever the
learner builds. These tests run each scenario's strong reference design under the scenario's
default traffic at peak (analytic engine) and judge it with the same functions the app and the
grader use: ``sdc.services.runs.verdict`` (the run page's "SLOs met"), ``measure.meets`` (the
grader's within-SLO test) and the grader's own ``latency-slo`` requirement checks.
"""

from __future__ import annotations

import pytest

from sdc.core.catalog import load_catalog
from sdc.core.grading.measure import meets
from sdc.core.simulation import simulate
from sdc.services.runs import verdict
from tests.core.grading.helpers import graded, reference

CATALOG = {s.slug: s for s in load_catalog()}
# Requirement checks that judge latency or errors (at peak, under a surge, with an AZ down).
LATENCY_OR_ERRORS = {"latency-slo", "surge", "survives-az-down"}


def _peak(slug: str, level: str) -> dict:
    spec = CATALOG[slug]
    return simulate(reference(slug, level), dict(spec.traffic), engine="analytic", seed=0)


@pytest.mark.parametrize("slug", sorted(CATALOG))
def test_the_strong_reference_design_meets_every_slo_at_peak(slug):
    spec = CATALOG[slug]
    result = _peak(slug, "strong")
    m = result["metrics"]
    assert m["offered_rps"] == pytest.approx(spec.peak_rps)
    judged = verdict(result, spec.slos)
    assert judged["overall"] == "met", (slug, judged["checks"])
    assert {c["key"] for c in judged["checks"]} == {"p95_ms", "p99_ms", "error_rate"}
    assert meets(m, spec.slos, spec.slos["max_error_rate"]), (slug, m["p95_ms"], m["p99_ms"])
    # a sensible margin, not a knife edge: at least 5% under each latency target
    for key in ("p95_ms", "p99_ms"):
        assert m[key] <= 0.95 * spec.slos[key], (slug, key, m[key], spec.slos[key])


@pytest.mark.parametrize("slug", sorted(CATALOG))
def test_the_grader_passes_the_strong_designs_latency_requirements(slug):
    report = graded(slug, "strong")
    latency = [r for r in report["requirements"] if r["check"] == "latency-slo"]
    assert latency, slug
    assert all(r["passed"] for r in latency), (slug, [r["detail"] for r in latency])
    assert "latency-floor" not in {r["id"] for r in report["risks"]}, slug


@pytest.mark.parametrize("slug", sorted(CATALOG))
def test_the_middling_design_still_misses_a_latency_or_error_requirement(slug):
    """Attainable targets must not be so loose that a mediocre design looks fine: the middling
    reference design fails at least one latency, surge or AZ-loss check."""
    report = graded(slug, "middling")
    missed = [
        r["id"]
        for r in report["requirements"]
        if r["check"] in LATENCY_OR_ERRORS and not r["passed"]
    ]
    assert missed, slug
