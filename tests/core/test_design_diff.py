"""Architecture delta between two designs: added, removed, changed, identical."""

from __future__ import annotations

import copy

from sdc.core.design_diff import diff_designs, merged_design
from tests.web._compare_helpers import DESIGN, add_cache, more_replicas


def _by_id(diff):
    return {r["id"]: r for r in diff["components"]}


def test_identical_designs_have_no_delta():
    diff = diff_designs(DESIGN, copy.deepcopy(DESIGN))
    assert diff["identical"]
    assert all(r["status"] == "same" for r in diff["components"] + diff["edges"])
    assert diff["counts"]["components_same"] == 4 and diff["counts"]["edges_same"] == 3


def test_positions_and_explicit_defaults_are_not_changes():
    after = copy.deepcopy(DESIGN)
    after["components"][0]["position"] = {"x": 500, "y": 20}
    after["components"][3]["replicas"] = 1  # the default, written out
    after["components"][3]["tier"] = "medium"
    after["edges"][0]["ops"] = "all"
    after["edges"][0]["id"] = "renamed"  # same endpoints and ops: the same edge
    assert diff_designs(DESIGN, after)["identical"]


def test_one_component_added():
    diff = diff_designs(DESIGN, add_cache(copy.deepcopy(DESIGN)))
    rows = _by_id(diff)
    assert rows["cache"]["status"] == "added"
    assert [r["status"] for k, r in rows.items() if k != "cache"] == ["same"] * 4
    edges = {r["key"]: r["status"] for r in diff["edges"]}
    assert edges["api->cache:read"] == "added"
    assert edges["cache->db:all"] == "added"
    assert edges["api->db:write"] == "added"
    assert edges["api->db:all"] == "removed"
    assert diff["counts"]["components_added"] == 1 and diff["counts"]["edges_removed"] == 1
    assert not diff["identical"]


def test_replicas_changed():
    diff = diff_designs(DESIGN, more_replicas(copy.deepcopy(DESIGN)))
    api = _by_id(diff)["api"]
    assert api["status"] == "changed"
    assert api["changes"] == [{"field": "replicas", "before": 3, "after": 6}]
    assert diff["counts"]["components_changed"] == 1 and diff["counts"]["edges_same"] == 3


def test_tier_azs_params_and_edge_fields_are_listed():
    after = copy.deepcopy(DESIGN)
    api = after["components"][2]
    api["tier"] = "large"
    api["azs"] = ["a", "b", "c"]
    after["components"][3]["params"] = {"read_replicas": 3}
    after["edges"][1]["mode"] = "async"
    diff = diff_designs(DESIGN, after)
    rows = _by_id(diff)
    assert [c["field"] for c in rows["api"]["changes"]] == ["tier", "azs"]
    assert rows["db"]["changes"] == [{"field": "params.read_replicas", "before": 1, "after": 3}]
    edge = next(r for r in diff["edges"] if r["key"] == "lb->api:all")
    assert edge["status"] == "changed"
    assert edge["changes"] == [{"field": "mode", "before": "sync", "after": "async"}]


def test_removed_component_is_listed_and_kept_in_the_merged_diagram():
    after = copy.deepcopy(DESIGN)
    after["components"] = [c for c in after["components"] if c["id"] != "db"]
    after["edges"] = [e for e in after["edges"] if e["target"] != "db"]
    diff = diff_designs(DESIGN, after)
    assert _by_id(diff)["db"]["status"] == "removed"
    merged, delta = merged_design(DESIGN, after, diff)
    assert {c["id"] for c in merged["components"]} == {"users", "lb", "api", "db"}
    assert delta["components"] == {"db": "removed"}
    assert list(delta["edges"].values()) == ["removed"]
    assert len({e["id"] for e in merged["edges"]}) == len(merged["edges"]) == 3


def test_merged_design_renders_with_delta_classes():
    from sdc.web.diagram import render_diagram

    after = add_cache(copy.deepcopy(DESIGN))
    merged, delta = merged_design(DESIGN, after)
    html = str(render_diagram(merged, delta=delta))
    assert 'class="node node-cache delta-added"' in html
    assert html.count("delta-added") >= 4  # the node and its three new edges
    assert "delta-removed" in html
    assert "(added)" in html  # the text alternative says it too
