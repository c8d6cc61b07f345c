"""Validation: every problem at once, with a JSON path and a plain sentence; never a traceback."""

from __future__ import annotations

import copy
import json
import math

import pytest

from sdc.core.simulation import (
    COMPONENT_TYPES,
    TYPE_DEFAULTS,
    InvalidDesign,
    load_design_text,
    request_paths,
    simulate,
    single_points_of_failure,
    validate_design,
    validate_traffic,
)

BASE = {
    "format": "sdc-design/1",
    "components": [
        {"id": "users", "type": "client"},
        {"id": "lb", "type": "load-balancer", "replicas": 2, "azs": ["a", "b"]},
        {"id": "api", "type": "service", "replicas": 3, "azs": ["a", "b"]},
        {"id": "db", "type": "database"},
    ],
    "edges": [
        {"id": "e1", "source": "users", "target": "lb"},
        {"id": "e2", "source": "lb", "target": "api"},
        {"id": "e3", "source": "api", "target": "db"},
    ],
}


def mutate(fn):
    doc = copy.deepcopy(BASE)
    fn(doc)
    return doc


def _set(path_fn):
    return lambda: mutate(path_fn)


CASES = [
    # (name, document, expected path, expected message fragment)
    ("not an object", [1, 2], "", "must be a JSON object"),
    ("string", "hello", "", "must be a JSON object"),
    ("null", None, "", "must be a JSON object"),
    ("wrong format", mutate(lambda d: d.update(format="sdc-design/9")), "format", "must be"),
    ("components missing", mutate(lambda d: d.pop("components")), "components", "is required"),
    (
        "components not list",
        mutate(lambda d: d.update(components={})),
        "components",
        "must be a list",
    ),
    (
        "component not object",
        mutate(lambda d: d["components"].append(7)),
        "components[4]",
        "must be an object",
    ),
    (
        "unknown type",
        mutate(lambda d: d["components"][2].update(type="mainframe")),
        "components[2].type",
        "must be one of",
    ),
    (
        "missing id",
        mutate(lambda d: d["components"][2].pop("id")),
        "components[2].id",
        "is required",
    ),
    (
        "bad id chars",
        mutate(lambda d: d["components"][2].update(id="a b")),
        "components[2].id",
        "letters, digits",
    ),
    (
        "duplicate ids",
        mutate(lambda d: d["components"].append({"id": "api", "type": "cache"})),
        "components[4].id",
        "duplicates the id",
    ),
    (
        "replicas zero",
        mutate(lambda d: d["components"][2].update(replicas=0)),
        "components[2].replicas",
        "must be between 1 and 1000",
    ),
    (
        "replicas huge",
        mutate(lambda d: d["components"][2].update(replicas=10**9)),
        "components[2].replicas",
        "must be between 1 and 1000",
    ),
    (
        "replicas fraction",
        mutate(lambda d: d["components"][2].update(replicas=2.5)),
        "components[2].replicas",
        "whole number",
    ),
    (
        "replicas string",
        mutate(lambda d: d["components"][2].update(replicas="3")),
        "components[2].replicas",
        "must be a number (got a string)",
    ),
    (
        "replicas bool",
        mutate(lambda d: d["components"][2].update(replicas=True)),
        "components[2].replicas",
        "must be a number (got a boolean)",
    ),
    (
        "negative service time",
        mutate(lambda d: d["components"][2].update(service_time_ms=-1)),
        "components[2].service_time_ms",
        "at least 0",
    ),
    (
        "NaN service time",
        mutate(lambda d: d["components"][2].update(service_time_ms=math.nan)),
        "components[2].service_time_ms",
        "finite",
    ),
    (
        "Infinity concurrency",
        mutate(lambda d: d["components"][2].update(concurrency=math.inf)),
        "components[2].concurrency",
        "finite",
    ),
    (
        "bad tier",
        mutate(lambda d: d["components"][2].update(tier="huge")),
        "components[2].tier",
        "must be one of small, medium, large, xlarge",
    ),
    (
        "bad region",
        mutate(lambda d: d["components"][2].update(region="mars")),
        "components[2].region",
        "must be one of",
    ),
    (
        "empty azs",
        mutate(lambda d: d["components"][2].update(azs=[])),
        "components[2].azs",
        "non-empty list",
    ),
    (
        "hit ratio above 1",
        mutate(
            lambda d: d["components"].append(
                {"id": "c", "type": "cache", "params": {"hit_ratio": 1.5}}
            )
        ),
        "components[4].params.hit_ratio",
        "at most 1",
    ),
    (
        "unknown param",
        mutate(lambda d: d["components"][2].update(params={"hit_ratio": 0.5})),
        "components[2].params.hit_ratio",
        "is not a parameter of a service",
    ),
    (
        "unknown field",
        mutate(lambda d: d["components"][2].update(replica=3)),
        "components[2].replica",
        "is not a known field",
    ),
    (
        "label too long",
        mutate(lambda d: d["components"][2].update(label="x" * 121)),
        "components[2].label",
        "at most 120 characters",
    ),
    (
        "dangling edge",
        mutate(lambda d: d["edges"].append({"id": "e9", "source": "api", "target": "ghost"})),
        "edges[3].target",
        "does not exist",
    ),
    (
        "self loop",
        mutate(lambda d: d["edges"].append({"id": "e9", "source": "api", "target": "api"})),
        "edges[3]",
        "self loop",
    ),
    (
        "edge into client",
        mutate(lambda d: d["edges"].append({"id": "e9", "source": "api", "target": "users"})),
        "edges[3].target",
        "is a client",
    ),
    (
        "duplicate edge id",
        mutate(lambda d: d["edges"].append({"id": "e1", "source": "api", "target": "lb"})),
        "edges[3].id",
        "duplicates the id",
    ),
    (
        "edge missing source",
        mutate(lambda d: d["edges"].append({"id": "e9", "target": "api"})),
        "edges[3].source",
        "is required",
    ),
    (
        "edge bad ops",
        mutate(lambda d: d["edges"][0].update(ops="delete")),
        "edges[0].ops",
        "must be one of all, read, write",
    ),
    (
        "edge zero weight",
        mutate(lambda d: d["edges"][0].update(weight=0)),
        "edges[0].weight",
        "greater than 0",
    ),
    ("edges not list", mutate(lambda d: d.update(edges="e1")), "edges", "must be a list"),
    (
        "missing client",
        mutate(lambda d: (d["components"].pop(0), d["edges"].pop(0))),
        "components",
        "needs at least one client",
    ),
    (
        "traffic bad shares",
        mutate(lambda d: d.update(traffic={"regions": {"us-east": 0.9}})),
        "traffic.regions",
        "shares must sum to 1 (they sum to 0.9, 0.1 short)",
    ),
    (
        "traffic negative rps",
        mutate(lambda d: d.update(traffic={"baseline_rps": -5})),
        "traffic.baseline_rps",
        "greater than 0",
    ),
    (
        "traffic peak too big",
        mutate(lambda d: d.update(traffic={"peak_multiplier": 51})),
        "traffic.peak_multiplier",
        "at most 50",
    ),
    (
        "traffic burstiness",
        mutate(lambda d: d.update(traffic={"burstiness": "wild"})),
        "traffic.burstiness",
        "must be one of steady, spiky, extreme",
    ),
    ("traffic not object", mutate(lambda d: d.update(traffic=[1])), "traffic", "must be an object"),
    (
        "too many components",
        mutate(
            lambda d: d.update(
                components=[{"id": f"c{i}", "type": "service"} for i in range(100_000)]
            )
        ),
        "components",
        "at most 500 components",
    ),
    (
        "notes too long (5 MB)",
        mutate(lambda d: d.update(notes="x" * 5_000_000)),
        "notes",
        "at most 20000 characters",
    ),
]


@pytest.mark.parametrize("name,doc,path,message", CASES, ids=[c[0] for c in CASES])
def test_malformed_inputs(name, doc, path, message):
    v = validate_design(doc)
    assert not v.ok and v.design is None
    hits = [p for p in v.problems if p.path == path and message in p.message]
    assert hits, f"{name}: expected {path}: {message}; got {[str(p) for p in v.problems]}"
    for p in v.problems:
        # a plain sentence that follows "path: " (lower case, no traceback or repr)
        assert p.message and not p.message[0].isupper(), str(p)
        assert "Traceback" not in p.message and "Error(" not in p.message
        assert set(p.to_dict()) == {"path", "message"}
    with pytest.raises(InvalidDesign) as exc:
        simulate(doc)
    assert exc.value.problems


def test_at_least_25_cases():
    assert len(CASES) >= 25


def test_all_problems_at_once():
    doc = mutate(
        lambda d: (
            d["components"][2].update(replicas=0, tier="x"),
            d["edges"].append({"source": "api", "target": "nope"}),
        )
    )
    paths = {p.path for p in validate_design(doc).problems}
    assert {"components[2].replicas", "components[2].tier", "edges[3].target"} <= paths


def test_five_megabyte_text_document():
    text = json.dumps(mutate(lambda d: d.update(notes="y" * 5_000_000)))
    doc, problems = load_design_text(text)
    assert doc is None and "too large" in problems[0].message
    doc, problems = load_design_text("{not json")
    assert doc is None and "not valid JSON" in problems[0].message
    doc, problems = load_design_text("NaN")
    assert not problems and not validate_design(doc).ok


def test_valid_design_has_defaults_and_warnings():
    v = validate_design(BASE)
    assert v.ok and v.problems == []
    api = v.design.component("api")
    assert api.service_time_ms == TYPE_DEFAULTS["service"]["service_time_ms"]
    codes = {(w.code, w.component_id) for w in v.warnings}
    assert ("single-point-of-failure", "db") in codes
    assert ("single-point-of-failure", "api") not in codes
    assert set(COMPONENT_TYPES) == set(TYPE_DEFAULTS)


def test_warnings_unreachable_noway_cycle_singleaz():
    doc = mutate(
        lambda d: (
            d["components"].append({"id": "orphan", "type": "service"}),
            d["components"].append({"id": "gw", "type": "api-gateway", "replicas": 2}),
            d["components"].append({"id": "aux", "type": "service", "replicas": 2}),
            d["edges"].append({"id": "e4", "source": "users", "target": "gw", "ops": "write"}),
            d["edges"].append({"id": "e5", "source": "api", "target": "aux"}),
            d["edges"].append({"id": "e6", "source": "aux", "target": "api"}),
        )
    )
    v = validate_design(doc)
    assert v.ok
    codes = {(w.code, w.component_id) for w in v.warnings}
    assert ("unreachable", "orphan") in codes
    assert ("no-way-out", "gw") in codes
    assert any(c == "sync-cycle" for c, _ in codes)
    assert ("single-az", "aux") in codes  # two replicas, both in zone a
    assert all(w.to_dict()["message"] for w in v.warnings)
    simulate(doc)  # a warning never blocks a run


def test_spof_helper_and_paths():
    assert single_points_of_failure(BASE) == ["db"]
    assert single_points_of_failure({"bad": 1}) == []
    paths = request_paths(BASE)
    assert {"client": "users", "op": "read", "components": ["users", "lb", "api", "db"]} in paths


def test_validate_traffic_messages():
    assert validate_traffic({"baseline_rps": 10}) == []
    probs = validate_traffic({"regions": {"us-east": 0.5, "europe": 0.6}})
    assert probs[0].path == "traffic.regions" and "1.1, 0.1 over" in probs[0].message
    assert validate_traffic(5)[0].message.startswith("must be an object")


def test_position_never_changes_a_result():
    a = simulate(BASE)
    b = simulate(mutate(lambda d: d["components"][2].update(position={"x": 1, "y": 2})))
    a.pop("input_hash"), b.pop("input_hash")
    assert a == b
