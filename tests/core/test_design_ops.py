"""The design edits are pure: each returns the expected new design and leaves its input as it was.

`versions.edit_design` hands them the stored design itself (no defensive copy), so an edit that
mutated its argument would change the stored row's value in place and make "nothing changed"
look true; these tests pin the contract that saves that copy.
"""

from __future__ import annotations

import copy
import json

import pytest

from sdc.core import design_ops
from sdc.core.design_ops import EditError
from tests.web._compare_helpers import DESIGN


def _frozen(design: dict) -> str:
    return json.dumps(design, sort_keys=True)


EDITS = {
    "add_component": lambda d: design_ops.add_component(d, "cache", "Cache", {"x": 10, "y": 20})[0],
    "update_component params": lambda d: design_ops.update_component(
        d, "db", {"params": {"read_replicas": None, "shards": 2}}
    ),
    "update_component fields": lambda d: design_ops.update_component(
        d, "api", {"replicas": 5, "azs": ["a"], "label": "Edge API", "position": {"x": 1, "y": 2}}
    ),
    "move_component": lambda d: design_ops.move_component(d, "lb", 9000, -3.6),
    "remove_component": lambda d: design_ops.remove_component(d, "api"),
    "add_edge": lambda d: design_ops.add_edge(d, "api", "users", ops="read", weight=0.5)[0],
    "remove_edge": lambda d: design_ops.remove_edge(d, "e2"),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_an_edit_never_mutates_the_design_it_is_given(name):
    design = copy.deepcopy(DESIGN)
    before = _frozen(design)
    after = EDITS[name](design)
    assert _frozen(design) == before
    assert after is not design and _frozen(after) != before
    # The result shares no mutable part with the input either: editing it leaves the input be.
    for comp in after["components"]:
        comp.setdefault("params", {})["touched"] = 1
        comp.setdefault("azs", []).append("z")
    for edge in after["edges"]:
        edge["weight"] = 7
    assert _frozen(design) == before


def test_each_edit_makes_the_hand_written_change():
    d = copy.deepcopy(DESIGN)
    db = next(c for c in EDITS["update_component params"](d)["components"] if c["id"] == "db")
    assert db["params"] == {"shards": 2}  # None removed read_replicas, shards merged in
    api = next(c for c in EDITS["update_component fields"](d)["components"] if c["id"] == "api")
    assert (api["replicas"], api["azs"], api["label"]) == (5, ["a"], "Edge API")
    assert api["position"] == {"x": 1, "y": 2}
    lb = next(c for c in EDITS["move_component"](d)["components"] if c["id"] == "lb")
    assert lb["position"] == {"x": design_ops.CANVAS_MAX, "y": 0}  # clamped to the canvas
    removed = EDITS["remove_component"](d)
    assert [c["id"] for c in removed["components"]] == ["users", "lb", "db"]
    assert [e["id"] for e in removed["edges"]] == ["e1"]  # both of api's connections went
    added = EDITS["add_edge"](d)["edges"][-1]
    assert {k: added[k] for k in ("source", "target", "ops", "weight")} == {
        "source": "api",
        "target": "users",
        "ops": "read",
        "weight": 0.5,
    }
    assert [e["id"] for e in EDITS["remove_edge"](d)["edges"]] == ["e1", "e3"]


def test_a_refused_edit_leaves_the_design_as_it_was():
    design = copy.deepcopy(DESIGN)
    before = _frozen(design)
    with pytest.raises(EditError) as exc:
        design_ops.add_edge(design, "api", "api")
    assert exc.value.field == "target"
    with pytest.raises(EditError):
        design_ops.update_component(design, "api", {"replicas": 4, "nonsense": 1})
    assert _frozen(design) == before
