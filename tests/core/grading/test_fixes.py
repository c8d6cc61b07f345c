"""apply_fix on hand-built designs, and fix proofs in reports."""

from __future__ import annotations

import copy

import pytest

from sdc.core.grading import FixError, apply_fix
from sdc.core.simulation import single_points_of_failure, validate_design

from .helpers import SCENARIOS, basic, comp, design, edge, graded, reference


def _chain():
    return design(
        [comp("users", "client"), comp("api", "service"), comp("db", "database")],
        [edge("users", "api"), edge("api", "db")],
    )


@pytest.mark.parametrize(
    "fix",
    [
        {
            "kind": "add-replicas",
            "params": {"component_id": "api", "replicas": 3, "azs": ["a", "b"]},
        },
        {"kind": "spread-azs", "params": {"component_id": "db", "azs": ["a", "b"]}},
        {"kind": "add-read-replicas", "params": {"component_id": "db", "read_replicas": 2}},
        {"kind": "add-cache", "params": {"service_id": "api", "hit_ratio": 0.9}},
        {"kind": "add-cdn", "params": {"hit_ratio": 0.8}},
        {"kind": "add-load-balancer", "params": {}},
        {"kind": "make-async", "params": {"source": "api", "target": "db"}},
    ],
)
def test_every_fix_kind_gives_a_valid_new_design(fix):
    doc = _chain()
    before = copy.deepcopy(doc)
    new = apply_fix(doc, fix)
    assert doc == before  # never mutated
    assert new != doc
    assert validate_design(new).ok, validate_design(new).problems


def test_fix_effects():
    doc = _chain()
    assert "db" in single_points_of_failure(doc)
    fixed = apply_fix(
        doc,
        {
            "kind": "add-replicas",
            "params": {"component_id": "db", "replicas": 2, "azs": ["a", "b"]},
        },
    )
    assert "db" not in single_points_of_failure(fixed)
    asyn = apply_fix(doc, {"kind": "make-async", "params": {"source": "api", "target": "db"}})
    ops = {(e["source"], e["target"]): e.get("ops", "all") for e in asyn["edges"]}
    assert ops[("api", "db")] == "read" and ops[("api", "db-queue")] == "write"
    assert ops[("db-queue", "db")] == "all"
    lb = apply_fix(basic(), {"kind": "add-load-balancer", "params": {}})
    assert [e["target"] for e in lb["edges"] if e["source"] == "users"] == ["lb-2"]


@pytest.mark.parametrize(
    "fix",
    [
        None,
        {"kind": "teleport"},
        {"kind": "add-replicas"},
        {"kind": "add-replicas", "params": {"component_id": "nope", "replicas": 2}},
        {"kind": "add-replicas", "params": {"component_id": "api", "replicas": 0}},
        {"kind": "add-read-replicas", "params": {"component_id": "api", "read_replicas": 1}},
        {"kind": "make-async", "params": {"source": "db", "target": "api"}},
    ],
)
def test_bad_fixes_are_refused(fix):
    with pytest.raises(FixError):
        apply_fix(_chain(), fix)


@pytest.mark.parametrize("slug", SCENARIOS)
def test_fix_proofs_show_measured_improvement(slug):
    for level in ("middling", "weak"):
        r = graded(slug, level)
        proofs = [a for a in r["action_items"] if a["fix_proof"]]
        assert proofs, (slug, level)
        for a in proofs:
            assert a["fix_proof"]["improved"], (slug, level, a["id"], a["fix_proof"])
            assert validate_design(apply_fix(reference(slug, level), a["fix"])).ok
