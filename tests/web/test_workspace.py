"""The design workspace: pages, fragments, JSON, edits, conflicts, limits, undo/redo."""

from __future__ import annotations

import io
import json
import re
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sdc.core.simulation import validate_design
from sdc.extensions import db
from tests import factories
from tests.conftest import HtmxClient, csrf_token
from tests.web._versions import (
    add,
    connect,
    count_queries,
    ids,
    new_revision,
    revision_of,
    start,
    stored,
)

INSPECTOR = {
    "label": "API",
    "replicas": "3",
    "tier": "large",
    "region": "us-east",
    "azs_present": "1",
    "azs": ["a", "b"],
}


@pytest.fixture
def url(logged_in):
    return start(logged_in)


def test_build_flow_persists(app, hx, logged_in, url):
    rev = revision_of(logged_in, url)
    rev = add(hx, url, rev, "load-balancer", "LB")
    rev = add(hx, url, rev, "service", "API")
    rev = connect(hx, url, rev, "users", "load-balancer-1")
    rev = connect(hx, url, rev, "load-balancer-1", "service-1")
    resp = hx.patch(url + "/components/service-1", data={"revision": rev, **INSPECTOR})
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert body.lstrip().startswith('<p id="save-status"') and "Saved at" in body
    # Diagram and warnings refresh out of band; the inspector form is not re-sent.
    assert 'id="diagram" ' in body and 'hx-swap-oob="true"' in body and 'id="warnings"' in body
    assert 'id="inspector-form"' not in body
    assert new_revision(resp) == rev + 1
    version = stored(app, url)
    api = version.design["components"][2]
    assert api == {
        "id": "service-1",
        "type": "service",
        "label": "API",
        "replicas": 3,
        "tier": "large",
        "region": "us-east",
        "azs": ["a", "b"],
    }
    assert validate_design(version.design).ok
    page = logged_in.get(url).get_data(as_text=True)
    assert "3 × large" in page and "LB" in page


def _warning_codes(html: str) -> list[str]:
    return sorted(re.findall(r'data-warning-code="([^"]+)"', html))


def test_autosave_answer_checks_the_design_it_saved(app, hx, logged_in, url):
    """The Checks region sent back with each save lists the warnings of the design just stored
    (the edit's own validation, reused), not those of the design before it."""
    rev = revision_of(logged_in, url)
    rev = add(hx, url, rev, "service", "API")
    rev = connect(hx, url, rev, "users", "service-1")
    seen = []
    for replicas, azs in (("1", ["a"]), ("3", ["a", "b"])):
        form = {**INSPECTOR, "replicas": replicas, "azs": azs}
        resp = hx.patch(url + "/components/service-1", data={"revision": rev, **form})
        assert resp.status_code == 200
        rev = new_revision(resp)
        expected = sorted(w.code for w in validate_design(stored(app, url).design).warnings)
        assert _warning_codes(resp.get_data(as_text=True)) == expected
        seen.append(expected)
    # The two saves changed the checks, so an answer showing the older design's would fail.
    assert "single-point-of-failure" in seen[0] and "single-point-of-failure" not in seen[1]


def test_show_page_partial_and_json(logged_in, hx, url):
    page = logged_in.get(url)
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert "HX-Request" in page.headers.get("Vary", "")
    part = hx.get(url)
    assert part.status_code == 200
    assert part.get_data(as_text=True).lstrip().startswith('<div id="workspace"')
    data = logged_in.get(url, headers={"Accept": "application/json"}).get_json()
    assert data["number"] == 1 and data["revision"] == 1
    assert data["document"]["format"] == "sdc-design/1" and "traffic" in data["document"]
    assert data["validation"]["ok"] is True


def test_json_with_bearer_token(app, client, user, url):
    with app.app_context():
        token = factories.make_token(db.session.merge(user))
    headers = {"Authorization": f"Bearer {token}"}
    data = client.get(url, headers=headers).get_json()
    assert data["revision"] == 1
    resp = client.post(url + "/components", headers=headers, data={"revision": 1, "type": "cache"})
    assert resp.status_code == 200 and resp.get_json()["revision"] == 2
    resp = client.post(url + "/components", headers=headers, data={"revision": 1, "type": "cache"})
    assert resp.status_code == 409 and resp.get_json()["error"]["current_revision"] == 2


def test_inspector_and_diagram_fragments(logged_in, hx, url):
    part = hx.get(url + "/inspector?component=users")
    body = part.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="component-inspector"')
    assert 'id="inspector-label"' in body
    # Without htmx the inspector URL redirects to the page with the component selected.
    resp = logged_in.get(url + "/inspector?component=users")
    assert resp.status_code == 303 and "component=users" in resp.headers["Location"]
    assert 'id="inspector-form"' in logged_in.get(url + "?component=users").get_data(as_text=True)
    diagram = hx.get(url + "/diagram").get_data(as_text=True)
    assert diagram.lstrip().startswith('<section id="diagram"')
    assert logged_in.get(url + "/diagram").status_code == 303
    assert (
        logged_in.get(url + "/diagram", headers={"Accept": "application/json"}).get_json()[
            "revision"
        ]
        == 1
    )


def test_no_js_forms_use_method_override_and_prg(app, logged_in, url):
    token = csrf_token(logged_in, url)
    resp = logged_in.post(
        url + "/components", data={"csrf_token": token, "revision": 1, "type": "service"}
    )
    assert resp.status_code == 303 and "component=service-1" in resp.headers["Location"]
    resp = logged_in.post(
        url + "/components/service-1",
        data={
            "csrf_token": token,
            "_method": "PATCH",
            "revision": 2,
            "label": "Edge API",
            "replicas": "2",
        },
    )
    assert resp.status_code == 303
    assert stored(app, url).design["components"][1]["replicas"] == 2
    resp = logged_in.post(
        url + "/edges",
        data={"csrf_token": token, "revision": 3, "source": "users", "target": "service-1"},
    )
    assert resp.status_code == 303
    resp = logged_in.post(
        url + "/edges/e-1", data={"csrf_token": token, "_method": "DELETE", "revision": 4}
    )
    assert resp.status_code == 303 and stored(app, url).design["edges"] == []
    resp = logged_in.post(
        url + "/components/service-1",
        data={"csrf_token": token, "_method": "DELETE", "revision": 5},
    )
    assert resp.status_code == 303
    assert [c["id"] for c in stored(app, url).design["components"]] == ["users"]
    # An invalid no-JS edit re-renders the page with the message, status 422.
    resp = logged_in.post(
        url + "/components", data={"csrf_token": token, "revision": 6, "type": "mainframe"}
    )
    assert resp.status_code == 422 and "Component type must be one of" in resp.get_data(
        as_text=True
    )


def test_remove_component_removes_its_edges(app, hx, logged_in, url):
    rev = add(hx, url, 1, "service")
    rev = connect(hx, url, rev, "users", "service-1")
    resp = hx.delete(url + f"/components/service-1?revision={rev}")
    assert resp.status_code == 200
    assert stored(app, url).design == {
        "format": "sdc-design/1",
        "edges": [],
        "components": [{"id": "users", "type": "client", "label": "Users"}],
    }


def test_move_component(app, hx, url):
    rev = add(hx, url, 1, "service")
    resp = hx.patch(
        url + "/components/service-1/position", data={"revision": rev, "x": "400.4", "y": "9000"}
    )
    assert resp.status_code == 200
    assert stored(app, url).design["components"][1]["position"] == {"x": 400, "y": 5000}
    assert 'transform="translate(400,5000)"' in resp.get_data(as_text=True)


def test_stale_revision_is_409_with_conflict_fragment(app, hx, url):
    resp = hx.patch(
        url + "/components/users",
        data={"revision": 7, "label": "People"},
        headers={"HX-Target": "save-status"},
    )
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    assert resp.headers["HX-Retarget"] == "#conflict"
    assert 'id="conflict-reload"' in body and 'id="conflict-overwrite"' in body
    assert 'name="label" value="People"' in body and 'name="revision" value="1"' in body
    assert stored(app, url).design["components"][0]["label"] == "Users"


def test_two_clients_never_lose_an_update(app, client, logged_in, url):
    second = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(second).login()
    tab_a, tab_b = HtmxClient(logged_in, url), HtmxClient(second, url)
    rev = revision_of(logged_in, url)
    assert revision_of(second, url) == rev
    resp = tab_a.post(url + "/components", data={"revision": rev, "type": "cache"})
    assert resp.status_code == 200
    resp = tab_b.post(url + "/components", data={"revision": rev, "type": "database"})
    assert resp.status_code == 409
    assert [c["type"] for c in stored(app, url).design["components"]] == ["client", "cache"]
    # Tab B chooses "overwrite": its change is applied on top of A's, nothing is lost.
    resp = tab_b.post(url + "/components", data={"revision": rev + 1, "type": "database"})
    assert resp.status_code == 200
    types = [c["type"] for c in stored(app, url).design["components"]]
    assert types == ["client", "cache", "database"]
    # Both tabs autosaving the same component: the second is refused until it reloads.
    rev = stored(app, url).revision
    a = tab_a.patch(url + "/components/cache-1", data={"revision": rev, "label": "A"})
    b = tab_b.patch(url + "/components/cache-1", data={"revision": rev, "label": "B"})
    assert (a.status_code, b.status_code) == (200, 409)
    assert stored(app, url).design["components"][1]["label"] == "A"


def test_plain_form_conflict_renders_page(app, logged_in, url):
    token = csrf_token(logged_in, url)
    resp = logged_in.post(
        url + "/components/users",
        data={"csrf_token": token, "_method": "PATCH", "revision": 99, "label": "X"},
    )
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    assert "<html" in body and "Changed in another tab" in body
    assert 'name="_method" value="PATCH"' in body


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("replicas", "three", "Replicas must be a whole number"),
        ("replicas", "1e9", "Replicas must be at least 1 and at most 1000"),
        ("replicas", "0", "Replicas must be at least 1"),
        ("replicas", "2.5", "Replicas must be a whole number"),
        ("replicas", "nan", "Replicas must be a finite number"),
        ("tier", "huge", "Tier must be one of"),
        ("hit_ratio", "1.5", "Hit ratio must be at least 0 and at most 1"),
        ("label", "x" * 121, "can be at most 120 characters"),
        ("concurrency", "9" * 40, "Concurrency must be a number"),
    ],
)
def test_bad_inspector_input_is_refused(app, hx, url, field, value, message):
    rev = add(hx, url, 1, "cache")
    before = stored(app, url).design
    resp = hx.patch(url + "/components/cache-1", data={"revision": rev, field: value})
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert message in resp.get_data(as_text=True)
    assert resp.headers["HX-Retarget"] == "#save-status"
    after = stored(app, url)
    assert after.design == before and after.revision == rev


def test_bad_input_json_names_field(app, client, user, url):
    with app.app_context():
        token = factories.make_token(db.session.merge(user))
    resp = client.patch(
        url + "/components/users",
        headers={"Authorization": f"Bearer {token}"},
        data={"revision": 1, "share": "-1"},
    )
    assert resp.status_code == 422
    assert resp.get_json()["error"]["field"] == "share"


def test_unknown_ids_and_missing_revision(app, hx, url):
    assert hx.patch(url + "/components/ghost", data={"revision": 1}).status_code == 422
    assert hx.delete(url + "/components/ghost?revision=1").status_code == 422
    assert hx.delete(url + "/edges/e-9?revision=1").status_code == 422
    assert (
        hx.post(
            url + "/edges", data={"revision": 1, "source": "users", "target": "ghost"}
        ).status_code
        == 422
    )
    assert hx.post(url + "/components", data={"type": "cache"}).status_code == 400
    assert hx.post(url + "/components", data={"type": "cache", "revision": "x"}).status_code == 400
    assert stored(app, url).revision == 1


def test_edge_rules(app, hx, url):
    rev = add(hx, url, 1, "service")
    rev = connect(hx, url, rev, "users", "service-1", ops="read", mode="async", weight="2")
    assert stored(app, url).design["edges"] == [
        {
            "id": "e-1",
            "source": "users",
            "target": "service-1",
            "ops": "read",
            "mode": "async",
            "weight": 2.0,
        }
    ]
    dup = hx.post(
        url + "/edges",
        data={"revision": rev, "source": "users", "target": "service-1", "ops": "read"},
    )
    assert dup.status_code == 422 and "already connected" in dup.get_data(as_text=True)
    loop = hx.post(
        url + "/edges", data={"revision": rev, "source": "service-1", "target": "service-1"}
    )
    assert loop.status_code == 422
    to_client = hx.post(
        url + "/edges", data={"revision": rev, "source": "service-1", "target": "users"}
    )
    assert to_client.status_code == 422 and "client" in to_client.get_data(as_text=True)
    bad_weight = hx.post(
        url + "/edges",
        data={"revision": rev, "source": "service-1", "target": "users", "weight": "-3"},
    )
    assert bad_weight.status_code == 422
    assert stored(app, url).revision == rev


def test_component_limit(app, hx, url):
    design = {
        "format": "sdc-design/1",
        "edges": [],
        "components": [{"id": "users", "type": "client"}]
        + [{"id": f"s{i}", "type": "service"} for i in range(199)],
    }
    with app.app_context():
        from sdc.models import Version

        _pid, vid = ids(url)
        db.session.get(Version, uuid.UUID(vid)).design = design
        db.session.commit()
    resp = hx.post(url + "/components", data={"revision": 1, "type": "cache"})
    assert resp.status_code == 422
    assert "at most 200 components" in resp.get_data(as_text=True)
    assert len(stored(app, url).design["components"]) == 200


def test_edge_limit_on_import(app, hx, url):
    comps = [{"id": "users", "type": "client"}] + [
        {"id": f"s{i}", "type": "service"} for i in range(40)
    ]
    edges = [
        {"id": f"e{i}-{j}", "source": f"s{i}", "target": f"s{j}"}
        for i in range(40)
        for j in range(40)
        if i != j
    ][:601]
    doc = {"format": "sdc-design/1", "components": comps, "edges": edges}
    resp = hx.post(url + "/design", data={"revision": 1, "document": json.dumps(doc)})
    assert resp.status_code == 422
    assert "at most 600 connections" in resp.get_data(as_text=True)


def test_notes_autosave_preview_and_limit(app, hx, logged_in, url):
    text = "# Requirements\n\n* short links\n\n<script>alert(1)</script>[x](javascript:alert(1))"
    resp = hx.patch(url + "/notes", data={"revision": 1, "notes": text})
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "<h1>Requirements</h1>" in body and "<script>" not in body
    assert "javascript:" not in body
    assert stored(app, url).notes == text
    resp = hx.patch(url + "/notes", data={"revision": 2, "notes": "x" * 20_001})
    assert resp.status_code == 422 and "at most 20,000 characters" in resp.get_data(as_text=True)
    assert stored(app, url).notes == text
    page = logged_in.get(url).get_data(as_text=True)
    assert "<h1>Requirements</h1>" in page
    assert "alert(1)</textarea>" in page or "&lt;script&gt;" in page


def test_notes_autosave_answers_without_the_workspace_context(app, hx, url):
    """Notes change neither the diagram, its warnings nor the undo and comment counts, so their
    autosave answer reads none of them: the lock, the write and nothing from the history or
    comment tables (the workspace's count query)."""
    with count_queries(app) as q:
        resp = hx.patch(url + "/notes", data={"revision": 1, "notes": "## API\nPOST /links"})
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "(revision 2)" in body and "<h2>API</h2>" in body
    assert 'id="diagram"' not in body
    assert not [s for s in q if "version_history" in s or "FROM comments" in s], q
    assert any(s.startswith("UPDATE versions") for s in q), q


def test_export_import_round_trip(app, hx, logged_in, url):
    rev = add(hx, url, 1, "service", 'API "v2" <b>')
    rev = connect(hx, url, rev, "users", "service-1")
    hx.patch(url + "/notes", data={"revision": rev, "notes": "## API\nPOST /links"})
    resp = logged_in.get(url + "/design.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    disposition = resp.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="url-shortener-v1.sdc-design.json"'
    doc = json.loads(resp.get_data(as_text=True))
    assert validate_design(doc).ok and doc["notes"] == "## API\nPOST /links"
    # Import it into a fresh project: the stored document is identical.
    other = start(logged_in, "pastebin")
    resp = HtmxClient(logged_in, other).post(
        other + "/design",
        data={"revision": 1, "file": (io.BytesIO(json.dumps(doc).encode()), "design.json")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert stored(app, other).document() == doc
    # And exporting again gives the same document back.
    assert json.loads(logged_in.get(other + "/design.json").get_data(as_text=True)) == doc


def test_import_invalid_lists_every_problem_and_saves_nothing(app, hx, logged_in, url):
    doc = {
        "format": "sdc-design/1",
        "components": [
            {"id": "users", "type": "client"},
            {"id": "api", "type": "service", "replicas": 0},
            {"id": "db", "type": "database", "tier": "galactic"},
        ],
        "edges": [{"id": "e1", "source": "users", "target": "nowhere"}],
    }
    resp = hx.post(url + "/design", data={"revision": 1, "document": json.dumps(doc)})
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "Nothing was imported" in body
    for path in ("components[1].replicas", "components[2].tier", "edges[0].target"):
        assert path in body
    assert stored(app, url).revision == 1
    assert hx.post(url + "/design", data={"revision": 1, "document": "{nope"}).status_code == 422
    assert hx.post(url + "/design", data={"revision": 1, "document": "[]"}).status_code == 422
    resp = logged_in.post(
        url + "/design",
        json={"revision": 1, "document": doc},
        headers={"X-CSRFToken": csrf_token(logged_in, url), "Accept": "application/json"},
    )
    assert resp.status_code == 422 and len(resp.get_json()["error"]["problems"]) >= 3


def test_undo_redo_twenty_five_steps(app, hx, url):
    rev = 1
    for _ in range(25):
        rev = add(hx, url, rev, "service")
    assert len(stored(app, url).design["components"]) == 26
    for _ in range(25):
        resp = hx.post(url + "/undo", data={"revision": rev})
        assert resp.status_code == 200
        rev = new_revision(resp)
    assert [c["id"] for c in stored(app, url).design["components"]] == ["users"]
    resp = hx.post(url + "/undo", data={"revision": rev})
    assert resp.status_code == 422 and "nothing to undo" in resp.get_data(as_text=True)
    for _ in range(3):
        rev = new_revision(hx.post(url + "/redo", data={"revision": rev}))
    assert len(stored(app, url).design["components"]) == 4
    body = hx.get(url).get_data(as_text=True)
    assert "Undo (3)" in body and "Redo (22)" in body
    # A new edit clears the redo stack.
    rev = add(hx, url, rev, "cache")
    assert hx.post(url + "/redo", data={"revision": rev}).status_code == 422


def test_undo_keeps_the_newest_history_depth_steps_and_an_edit_clears_redo(
    app, hx, url, monkeypatch
):
    from sdc.models.history import REDO, UNDO, VersionHistory
    from sdc.services import versions

    monkeypatch.setattr(versions, "HISTORY_DEPTH", 3)
    _, vid = ids(url)

    def stacks():
        with app.app_context():
            rows = db.session.scalars(
                select(VersionHistory)
                .where(VersionHistory.version_id == uuid.UUID(vid))
                .order_by(VersionHistory.id)
            ).all()
            return [(r.stack, len(r.design["components"])) for r in rows]

    rev = 1
    for _ in range(5):
        rev = add(hx, url, rev, "service")
    # Five edits, three kept: the states before edits 3, 4 and 5 (3, 4 and 5 components).
    assert stacks() == [(UNDO, 3), (UNDO, 4), (UNDO, 5)]
    rev = new_revision(hx.post(url + "/undo", data={"revision": rev}))
    assert stacks() == [(UNDO, 3), (UNDO, 4), (REDO, 6)]
    rev = add(hx, url, rev, "cache")  # the redo step goes, the undo stack is back at three
    assert stacks() == [(UNDO, 3), (UNDO, 4), (UNDO, 5)]


def test_undo_covers_traffic_and_is_revision_checked(app, hx, url):
    rev = add(hx, url, 1, "cache")
    assert hx.post(url + "/undo", data={"revision": rev - 1}).status_code == 409
    resp = hx.post(url + "/undo", data={"revision": rev})
    assert resp.status_code == 200
    assert len(stored(app, url).design["components"]) == 1


def test_other_users_versions_are_404(app, client, logged_in, url):
    pid, vid = ids(url)
    with app.app_context():
        other = factories.make_user("other@example.com")
        token = factories.make_token(other)
    headers = {"Authorization": f"Bearer {token}"}
    for method, path in [
        ("get", ""),
        ("get", "/inspector"),
        ("get", "/diagram"),
        ("get", "/design.json"),
        ("post", "/components"),
        ("patch", "/components/users"),
        ("delete", "/components/users"),
        ("patch", "/components/users/position"),
        ("post", "/edges"),
        ("delete", "/edges/e-1"),
        ("post", "/undo"),
        ("post", "/redo"),
        ("patch", "/notes"),
        ("post", "/design"),
    ]:
        resp = getattr(client, method)(
            url + path,
            headers=headers,
            data={
                "revision": 1,
                "type": "cache",
                "x": 1,
                "y": 1,
                "source": "users",
                "target": "users",
                "document": "{}",
            },
        )
        assert resp.status_code == 404, (method, path, resp.status_code)
    assert logged_in.get(f"/projects/{uuid.uuid4()}/versions/{vid}").status_code == 404
    assert logged_in.get(f"/projects/{pid}/versions/{uuid.uuid4()}").status_code == 404
    assert logged_in.get(f"/projects/{pid}/versions/123").status_code == 404
    assert stored(app, url).revision == 1


def test_anonymous_is_sent_to_login(client, url_anon=None):
    resp = client.get(f"/projects/{uuid.uuid4()}/versions/{uuid.uuid4()}")
    assert resp.status_code in (302, 303) and "/auth/login" in resp.headers["Location"]


def test_workspace_query_counts(app, hx, logged_in, url):
    rev = 1
    for t in ("load-balancer", "service", "cache", "database", "queue", "worker"):
        rev = add(hx, url, rev, t)
    rev = connect(hx, url, rev, "users", "load-balancer-1")
    rev = connect(hx, url, rev, "load-balancer-1", "service-1")
    with count_queries(app) as q:
        assert logged_in.get(url + "?component=service-1").status_code == 200
    assert len(q) <= 5, q
    with count_queries(app) as q:
        assert (
            hx.patch(
                url + "/components/service-1", data={"revision": rev, "replicas": "2"}
            ).status_code
            == 200
        )
    assert len(q) <= 14, q
    with count_queries(app) as q:
        assert hx.get(url + "/inspector?component=cache-1").status_code == 200
    assert len(q) <= 5, q


def test_diagram_escapes_labels(hx, logged_in, url):
    rev = add(hx, url, 1, "service", '<script>alert("x")</script>')
    body = logged_in.get(url).get_data(as_text=True)
    assert "<script>alert" not in body and "&lt;script&gt;" in body
    assert rev == 2


EDIT = st.one_of(
    st.tuples(
        st.just("add"),
        st.sampled_from(["service", "cache", "database", "queue", "load-balancer", "bogus", ""]),
    ),
    st.tuples(
        st.just("connect"),
        st.sampled_from(["users", "service-1", "cache-1", "x"]),
        st.sampled_from(["service-1", "cache-1", "database-1", "users", "queue-1"]),
        st.sampled_from(["all", "read", "write", "bad"]),
        st.sampled_from(["sync", "async"]),
    ),
    st.tuples(
        st.just("update"),
        st.sampled_from(["service-1", "cache-1", "users", "zz"]),
        st.sampled_from(
            [
                "replicas",
                "tier",
                "hit_ratio",
                "label",
                "concurrency",
                "queue_limit",
                "timeout_ms",
                "share",
                "region",
            ]
        ),
        st.one_of(
            st.integers(-5, 2000).map(str),
            st.floats(allow_nan=True).map(str),
            st.text(max_size=130),
            st.sampled_from(["large", "europe", ""]),
        ),
    ),
    st.tuples(st.just("remove"), st.sampled_from(["service-1", "cache-1", "users", "e-1"])),
    st.tuples(st.just("undo")),
    st.tuples(st.just("redo")),
    st.tuples(
        st.just("move"),
        st.sampled_from(["users", "service-1"]),
        st.integers(-10_000, 10_000),
        st.text(max_size=5),
    ),
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(edits=st.lists(EDIT, max_size=12))
def test_random_edits_leave_valid_or_unchanged_design(app, logged_in, edits):
    url = start(logged_in)
    hx = HtmxClient(logged_in, url)
    for edit in edits:
        before = stored(app, url)
        rev = before.revision
        kind = edit[0]
        if kind == "add":
            resp = hx.post(url + "/components", data={"revision": rev, "type": edit[1]})
        elif kind == "connect":
            resp = hx.post(
                url + "/edges",
                data={
                    "revision": rev,
                    "source": edit[1],
                    "target": edit[2],
                    "ops": edit[3],
                    "mode": edit[4],
                },
            )
        elif kind == "update":
            resp = hx.patch(
                url + f"/components/{edit[1]}", data={"revision": rev, edit[2]: edit[3]}
            )
        elif kind == "remove":
            path = "edges" if edit[1].startswith("e-") else "components"
            resp = hx.delete(url + f"/{path}/{edit[1]}?revision={rev}")
        elif kind == "move":
            resp = hx.patch(
                url + f"/components/{edit[1]}/position",
                data={"revision": rev, "x": edit[2], "y": edit[3] or "5"},
            )
        else:
            resp = hx.post(url + f"/{kind}", data={"revision": rev})
        assert resp.status_code in (200, 400, 422), (edit, resp.status_code)
        after = stored(app, url)
        if resp.status_code == 200:
            assert validate_design(after.design).ok, (edit, after.design)
        else:
            assert after.design == before.design and after.revision == rev, edit


def test_inspector_keeps_imported_zone_names(app, hx, url):
    doc = {
        "format": "sdc-design/1",
        "edges": [],
        "components": [
            {"id": "users", "type": "client"},
            {"id": "api", "type": "service", "azs": ["a", "d"]},
        ],
    }
    assert (
        hx.post(url + "/design", data={"revision": 1, "document": json.dumps(doc)}).status_code
        == 200
    )
    body = hx.get(url + "/inspector?component=api").get_data(as_text=True)
    assert 'id="inspector-az-d"' in body and 'value="d" checked' in body
    resp = hx.patch(
        url + "/components/api",
        data={"revision": 2, "azs_present": "1", "azs": ["a", "d"], "replicas": "2"},
    )
    assert resp.status_code == 200
    assert stored(app, url).design["components"][1]["azs"] == ["a", "d"]
    bad = hx.patch(
        url + "/components/api", data={"revision": 3, "azs_present": "1", "azs": ["Zone 1"]}
    )
    assert bad.status_code == 422
    none = hx.patch(url + "/components/api", data={"revision": 3, "azs_present": "1"})
    assert none.status_code == 422 and "at least one availability zone" in none.get_data(
        as_text=True
    )
