"""Reference designs: strict ranking per scenario, report shape, measured share."""

from __future__ import annotations

import json
import math

import pytest

from sdc.core.grading import CATEGORIES, RUBRIC_VERSION
from sdc.core.simulation import ENGINE_VERSION

from .helpers import EXAMPLES, LEVELS, SCENARIOS, graded

KEYS = [
    "requirements-estimation",
    "high-level-architecture",
    "data-model-access-patterns",
    "scalability",
    "reliability-fault-tolerance",
    "bottleneck-identification",
    "trade-off-reasoning",
]


def test_every_catalog_scenario_has_three_reference_designs():
    assert len(SCENARIOS) >= 10
    for slug in SCENARIOS:
        assert {p.name for p in (EXAMPLES / slug).glob("*.json")} == {
            f"{lvl}.json" for lvl in LEVELS
        }, slug


@pytest.mark.parametrize("slug", SCENARIOS)
def test_strong_beats_middling_beats_weak(slug):
    s, m, w = (graded(slug, lvl)["overall_score"] for lvl in LEVELS)
    assert s > m > w, (slug, s, m, w)
    assert s >= 85 and w <= 30


@pytest.mark.parametrize("slug", SCENARIOS)
def test_report_shape(slug):
    r = graded(slug, "middling")
    assert r["rubric_version"] == RUBRIC_VERSION and r["engine_version"] == ENGINE_VERSION
    assert [c["key"] for c in r["categories"]] == KEYS
    assert sum(c["weight"] for c in r["categories"]) == 100
    assert [(c["key"], c["weight"]) for c in r["categories"]] == [(k, w) for k, w, _ in CATEGORIES]
    assert 0 <= r["overall_score"] <= 100
    expected = round(sum(c["weight"] * c["score"] / 100 for c in r["categories"]), 1)
    assert math.isclose(r["overall_score"], expected, abs_tol=0.051)
    ids = {e["id"] for e in r["evidence"]}
    assert len(ids) == len(r["evidence"])
    for c in r["categories"]:
        assert 0 <= c["score"] <= 100 and c["rationale"] and c["evidence"]
        assert set(c["evidence"]) <= ids, (c["key"], set(c["evidence"]) - ids)
    for x in r["requirements"] + r["action_items"] + r["strengths"] + r["risks"]:
        assert set(x["evidence"]) <= ids
    assert len(r["requirements"]) >= 8
    impacts = [a["impact"] for a in r["action_items"]]
    assert impacts == sorted(impacts, reverse=True)
    assert all(a["priority"] in ("P0", "P1", "P2") for a in r["action_items"])
    json.dumps(r, allow_nan=False)


@pytest.mark.parametrize("slug", SCENARIOS)
def test_at_least_half_of_the_score_is_measured(slug):
    r = graded(slug, "strong")
    assert r["measured_share"] >= 0.5
    runs = {x["id"] for x in r["measurements"]["runs"]}
    assert {"sim-peak", "sim-surge", "des-peak", "des-surge"} <= runs
    modes = {x["failure"]["mode"] for x in r["measurements"]["sweep"]}
    assert modes == {"node-down", "az-down"}
    assert r["measurements"]["knee"]["bound"] in ("at-least", "bracket", "none")


def test_weak_designs_have_p0_items_with_fix_proofs():
    r = graded("url-shortener", "weak")
    p0 = [a for a in r["action_items"] if a["priority"] == "P0"]
    assert p0 and any(a["fix_proof"] for a in p0)
