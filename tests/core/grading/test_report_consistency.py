"""The parts of a report agree with each other: every unmet requirement and every risk has an
action item, no strength restates a failure, and rationales say what was measured."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

from sdc.core.grading import grade

from .helpers import ROOT, SCENARIOS, TRAFFIC, basic, comp, edge, graded, req, scenario

DEMO = ROOT / "sdc" / "services" / "data" / "demo_url_shortener.json"


# The seeded demo with its CDN answering only 80% of reads (the catalog's minimum): more than
# 5% of url-shortener's requests are apac users going to the us-east origin (about 190 ms round
# trip), so p95 misses the 120 ms target through network distance alone.
DISTANT_CDN_HIT_RATIO = 0.8


@lru_cache(maxsize=2)
def _demo(cdn_hit_ratio: float | None) -> str:
    doc = json.loads(Path(DEMO).read_text("utf-8"))
    if cdn_hit_ratio is not None:
        next(c for c in doc["components"] if c["type"] == "cdn")["params"]["hit_ratio"] = (
            cdn_hit_ratio
        )
    return json.dumps(grade(doc, "url-shortener"))


def demo(cdn_hit_ratio: float | None = None) -> dict:
    """The report of the seeded demo design, or of it with another CDN hit ratio."""
    return json.loads(_demo(cdn_hit_ratio))


def far_users(with_cdn: bool) -> dict:
    """A roomy design whose p95 misses a 100 ms SLO only because half the users are in apac
    (85 ms from us-east): the origin is idle, every requirement but p95 passes."""
    t = dict(TRAFFIC, regions={"us-east": 0.5, "apac": 0.5})
    sc = scenario(
        [
            req("p95", "latency-slo", percentile="p95"),
            req("p99", "latency-slo", percentile="p99"),
            req("surge", "surge"),
            req("spof", "no-spof"),
            req("az", "survives-az-down"),
        ],
        t,
    )
    sc["slos"] = dict(sc["slos"], p95_ms=100)
    doc = basic()
    if with_cdn:
        kw = {"replicas": 2, "azs": ["a", "b"], "params": {"hit_ratio": 0.9}}
        doc["components"].insert(1, comp("cdn", "cdn", **kw))
        doc["edges"] = [edge("users", "cdn"), edge("cdn", "lb")] + doc["edges"][1:]
    return grade(doc, sc)


def addressed(report: dict) -> set[str]:
    return {a for item in report["action_items"] for a in item["addresses"]}


NAMES = ["demo", "demo-distant", "far-users", "far-users-cdn"] + [
    f"{slug}/{level}" for slug in SCENARIOS for level in ("strong", "middling")
]


def report_of(name: str) -> dict:
    if name == "demo":
        return demo()
    if name == "demo-distant":
        return demo(DISTANT_CDN_HIT_RATIO)
    if name.startswith("far-users"):
        return far_users(name.endswith("cdn"))
    return graded(*name.split("/"))


def test_the_seeded_demo_meets_every_requirement():
    """The demo is a design a learner can aim for (its p95 105 ms and p99 194 ms are under the
    120 / 250 ms targets); its one risk is the AZ-detection window, with its P2 item."""
    r = demo()
    assert [q["id"] for q in r["requirements"] if not q["passed"]] == []
    assert {x["id"] for x in r["risks"]} == {"az-detection"}
    assert [a["priority"] for a in r["action_items"]] == ["P2"]


def test_demo_distant_unmet_p95_and_every_risk_lead_to_action_items():
    r = demo(DISTANT_CDN_HIT_RATIO)
    unmet = [q for q in r["requirements"] if not q["passed"]]
    assert [q["check"] for q in unmet] == ["latency-slo"]  # p95 about 185 ms vs 120 ms
    assert r["action_items"], "an unmet requirement must lead to an action item"
    risk_ids = {x["id"] for x in r["risks"]}
    assert {f"req-{unmet[0]['id']}", "latency-floor", "az-detection"} <= risk_ids
    assert risk_ids <= addressed(r)
    item = next(a for a in r["action_items"] if f"req-{unmet[0]['id']}" in a["addresses"])
    assert item["priority"] == "P1" and item["evidence"]
    assert "sim-floor" in item["evidence"] and "apac" in item["detail"]
    # the grader cannot prove this one, and says so instead of pretending
    assert item["fix_proof"] is None and item["proof_note"].startswith("No fix proof")
    ids = {e["id"] for e in r["evidence"]}
    for a in r["action_items"]:
        assert a["evidence"] and set(a["evidence"]) <= ids


@pytest.mark.parametrize("with_cdn", [False, True])
def test_a_miss_caused_only_by_distance_has_an_honest_action_item(with_cdn):
    r = far_users(with_cdn)
    failed = {q["id"] for q in r["requirements"] if not q["passed"]}
    assert failed == {"p95"}
    assert {x["id"] for x in r["risks"]} <= addressed(r)
    items = [a for a in r["action_items"] if "req-p95" in a["addresses"]]
    assert items
    for a in items:
        assert a["proof_note"], a
        if a["fix_proof"]:  # the CDN the grader can add helps, but does not reach 100 ms
            assert a["fix_proof"]["after"]["peak_p95_ms"] > 100
            assert "still above the 100 ms target" in a["proof_note"]
        else:
            assert a["proof_note"].startswith("No fix proof")


@pytest.mark.parametrize("name", ["demo-distant", "far-users"])
def test_scalability_rationale_names_the_budget_the_knee_was_measured_against(name):
    r = report_of(name)
    cat = next(c for c in r["categories"] if c["key"] == "scalability")
    eff = r["measurements"]["effective_slo"]
    assert eff["p95_ms"] > r["measurements"]["slos"]["p95_ms"]  # the floor raised the budget
    why = cat["rationale"]
    assert "within the SLO" not in why and "misses the" in why and "network distance" in why
    assert f"p95 {eff['p95_ms']:,.0f} ms" in why
    # the rationale says why the category still scores high
    assert "costs" in why


def test_rationale_says_within_the_slo_when_the_slo_itself_was_the_budget():
    r = grade(basic(), scenario([req("p95", "latency-slo", percentile="p95")]))
    why = next(c for c in r["categories"] if c["key"] == "scalability")["rationale"]
    assert r["measurements"]["effective_slo"]["p95_ms"] == 200
    assert "meets the 200 ms SLO" in why and "within the SLO up to at least 2.00x" in why


@pytest.mark.parametrize("name", NAMES)
def test_every_risk_is_addressed_and_no_strength_restates_a_failure(name):
    report = report_of(name)
    unmet = [q for q in report["requirements"] if not q["passed"]]
    assert {f"req-{q['id']}" for q in unmet} <= {x["id"] for x in report["risks"]}
    assert {x["id"] for x in report["risks"]} <= addressed(report), name
    texts = " | ".join(s["text"] for s in report["strengths"])
    for q in unmet:
        assert q["detail"] not in texts, (name, q["detail"])
    if any(q["check"] in ("latency-slo", "surge") for q in unmet):
        assert "Scalability:" not in texts, name
    for a in report["action_items"]:
        assert a["fix_proof"] or a["proof_note"], (name, a["id"])
