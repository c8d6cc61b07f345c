"""Determinism and the monotonicity properties the rubric promises."""

from __future__ import annotations

import copy
import json

import pytest

from sdc.core.grading import apply_fix, grade

from .helpers import category, graded, reference

STUFFING = """
## Notes
cache cdn sharding replication consistent hashing queue kafka redis cassandra scalability
availability partition tolerance CAP theorem load balancer microservices eventual consistency
cache cdn sharding replication consistent hashing queue kafka redis cassandra scalability

## Trade-offs
scalability availability consistency latency throughput durability
scalability availability consistency latency throughput durability
"""


def test_same_input_same_bytes():
    doc = reference("realtime-chat", "middling")
    a = json.dumps(grade(doc, "realtime-chat"), sort_keys=True)
    b = json.dumps(grade(copy.deepcopy(doc), "realtime-chat"), sort_keys=True)
    assert a == b


def test_grade_does_not_mutate_the_design():
    doc = reference("url-shortener", "middling")
    before = copy.deepcopy(doc)
    grade(doc, "url-shortener")
    assert doc == before


@pytest.mark.parametrize(
    "slug,level",
    [
        ("url-shortener", "middling"),
        ("video-upload-processing", "middling"),
        ("twitter-feed", "weak"),
    ],
)
def test_fixing_a_spof_never_lowers_reliability(slug, level):
    r = graded(slug, level)
    before = category(r, "reliability-fault-tolerance")
    spof_items = [a for a in r["action_items"] if a["id"].startswith("spof-")]
    assert spof_items
    for item in spof_items[:2]:
        fixed = apply_fix(reference(slug, level), item["fix"])
        after = category(grade(fixed, slug), "reliability-fault-tolerance")
        assert after >= before, (item["id"], before, after)


@pytest.mark.parametrize("slug,level", [("url-shortener", "strong"), ("ride-matching", "middling")])
def test_unwired_components_never_raise_the_score(slug, level):
    doc = reference(slug, level)
    before = graded(slug, level)["overall_score"]
    for extra in (
        {
            "id": "spare-cache",
            "type": "cache",
            "replicas": 3,
            "azs": ["a", "b", "c"],
            "params": {"hit_ratio": 0.99},
        },
        {"id": "spare-q", "type": "queue"},
        {"id": "spare-db", "type": "database", "replicas": 3, "params": {"read_replicas": 5}},
    ):
        doc["components"].append(extra)
    # an edge between two unwired boxes is still off every request path
    doc["edges"].append({"id": "spare", "source": "spare-q", "target": "spare-db"})
    after = grade(doc, slug)["overall_score"]
    assert after <= before


@pytest.mark.parametrize("slug,level", [("url-shortener", "middling"), ("realtime-chat", "strong")])
def test_keyword_stuffing_gains_at_most_two_points(slug, level):
    doc = reference(slug, level)
    before = graded(slug, level)["overall_score"]
    notes = doc.get("notes", "")
    doc["notes"] = notes + "\n" + STUFFING + "\n" + notes + "\n" + notes
    after = grade(doc, slug)["overall_score"]
    assert after - before <= 2.0, (before, after)


def test_notes_substance_is_rewarded():
    doc = reference("url-shortener", "strong")
    with_notes = graded("url-shortener", "strong")["overall_score"]
    doc.pop("notes")
    assert grade(doc, "url-shortener")["overall_score"] < with_notes - 20


@pytest.mark.parametrize("slug", ["pastebin", "twitter-feed"])
def test_a_design_that_serves_nothing_earns_nothing(slug):
    """A lone client, or one wired to nothing but unwired boxes, completes no request: no
    credit for 'no single point of failure' or tidy wiring (the starter design scored 6)."""
    lone = {"format": "sdc-design/1", "components": [{"id": "users", "type": "client"}]}
    boxes = copy.deepcopy(lone)
    boxes["components"] += [
        {"id": "lb", "type": "load-balancer", "replicas": 3, "azs": ["a", "b", "c"]},
        {"id": "db", "type": "database", "replicas": 3, "azs": ["a", "b", "c"]},
    ]
    for doc in (lone, boxes):
        r = grade(doc, slug)
        assert r["overall_score"] == 0.0, [(c["key"], c["score"]) for c in r["categories"]]
        spof = next(q for q in r["requirements"] if q["check"] == "no-spof")
        assert not spof["passed"] and "nothing to be redundant" in spof["detail"]
        assert not r["strengths"]
