"""The traffic profile page: presets, autosave with inline errors, summary, chart, JSON."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdc.core import traffic_profile
from sdc.core.simulation import validate_traffic
from sdc.extensions import db
from tests import factories
from tests.conftest import HtmxClient, csrf_token
from tests.web._versions import count_queries, ids, new_revision, start, stored

FORM = {
    "baseline_rps": "1000",
    "peak_multiplier": "2",
    "read_percent": "80",
    "payload_kb": "2",
    "duration_s": "60",
    "burstiness": "spiky",
    "region-us-east": "60",
    "region-europe": "40",
}


@pytest.fixture
def url(logged_in):
    return start(logged_in) + "/traffic"


def test_page_partial_and_json(logged_in, hx, url):
    page = logged_in.get(url)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in body
    # url-shortener: 4000 rps x 3, 90% reads, 1 KB.
    assert "12,000 rps" in body and "10,800 /s" in body and "1,200 /s" in body
    assert 'id="load-chart"' in body and 'id="traffic-baseline_rps"' in body
    part = hx.get(url)
    assert part.get_data(as_text=True).lstrip().startswith('<div id="traffic-editor"')
    assert "HX-Request" in part.headers.get("Vary", "")
    data = logged_in.get(url, headers={"Accept": "application/json"}).get_json()
    assert data["traffic"]["baseline_rps"] == 4000 and data["summary"]["peak_rps"] == 12000
    assert data["revision"] == 1


def test_autosave_updates_summary_out_of_band(app, hx, url):
    resp = hx.patch(url, data={"revision": 1, **FORM})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_data(as_text=True)
    assert body.lstrip().startswith('<p id="save-status"') and "Saved at" in body
    assert 'id="traffic-summary"' in body and "2,000 rps" in body
    assert new_revision(resp) == 2
    traffic = stored(app, url.removesuffix("/traffic")).traffic
    assert traffic == {
        "baseline_rps": 1000.0,
        "peak_multiplier": 2.0,
        "read_ratio": 0.8,
        "payload_kb": 2.0,
        "duration_s": 60.0,
        "burstiness": "spiky",
        "regions": {"us-east": 0.6, "europe": 0.4},
    }


def test_region_shares_must_sum_to_100(app, hx, url):
    resp = hx.patch(url, data={"revision": 1, **FORM, "region-europe": "30"})
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "they add up to 90%: 10% short" in body
    assert 'id="error-regions"' in body and 'hx-swap-oob="true"' in body
    resp = hx.patch(url, data={"revision": 1, **FORM, "region-apac": "5"})
    assert "5% too much" in resp.get_data(as_text=True)
    assert stored(app, url.removesuffix("/traffic")).revision == 1


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("baseline_rps", "lots", "Baseline requests per second must be a number"),
        ("baseline_rps", "0", "must be greater than 0"),
        ("peak_multiplier", "51", "Peak multiplier must be at least 1 and at most 50"),
        ("read_percent", "101", "Reads (%) must be at least 0 and at most 100"),
        ("burstiness", "wild", "Burstiness must be one of"),
        ("duration_s", "1e308", "at most 3600"),
    ],
)
def test_bad_values_are_refused_inline(app, hx, url, field, value, message):
    resp = hx.patch(url, data={"revision": 1, **FORM, field: value})
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert stored(app, url.removesuffix("/traffic")).revision == 1


def test_no_js_form_and_errors_page(app, logged_in, url):
    token = csrf_token(logged_in, url)
    resp = logged_in.post(
        url, data={"csrf_token": token, "_method": "PATCH", "revision": 1, **FORM}
    )
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/traffic")
    resp = logged_in.post(
        url,
        data={
            "csrf_token": token,
            "_method": "PATCH",
            "revision": 2,
            **FORM,
            "region-us-east": "10",
        },
    )
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "<html" in body and "50% short" in body and 'value="10"' in body


@pytest.mark.parametrize("preset", list(traffic_profile.PRESETS))
def test_presets(app, hx, url, preset):
    resp = hx.post(url + "/preset", data={"revision": 1, "preset": preset})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.get_data(as_text=True).lstrip().startswith('<div id="traffic-editor"')
    version = stored(app, url.removesuffix("/traffic"))
    from sdc.core.simulation import validate_traffic

    assert validate_traffic(version.traffic) == []
    if preset == "viral-spike":
        assert (
            version.traffic["peak_multiplier"] == 30 and version.traffic["burstiness"] == "extreme"
        )
    if preset == "regional-outage-drill":
        assert "us-east" not in version.traffic["regions"]
        assert abs(sum(version.traffic["regions"].values()) - 1) < 1e-9


def test_unknown_preset_and_conflict(app, hx, url):
    assert hx.post(url + "/preset", data={"revision": 1, "preset": "moon"}).status_code == 422
    resp = hx.patch(url, data={"revision": 5, **FORM})
    assert resp.status_code == 409 and 'id="conflict-overwrite"' in resp.get_data(as_text=True)


def test_traffic_edits_are_undoable(app, hx, url):
    workspace = url.removesuffix("/traffic")
    hx.patch(url, data={"revision": 1, **FORM})
    resp = hx.post(workspace + "/undo", data={"revision": 2})
    assert resp.status_code == 200
    assert stored(app, workspace).traffic["baseline_rps"] == 4000


def test_other_users_traffic_is_404(app, client, url):
    with app.app_context():
        token = factories.make_token(factories.make_user("other@example.com"))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(url, headers=headers).status_code == 404
    assert client.patch(url, headers=headers, data={"revision": 1, **FORM}).status_code == 404
    assert (
        client.post(
            url + "/preset", headers=headers, data={"revision": 1, "preset": "scenario"}
        ).status_code
        == 404
    )
    pid, _vid = ids(url)
    assert (
        client.get(f"/projects/{pid}/versions/{uuid.uuid4()}/traffic", headers=headers).status_code
        == 404
    )


def test_bearer_json_patch(app, client, user, url):
    with app.app_context():
        token = factories.make_token(db.session.merge(user))
    resp = client.patch(
        url, headers={"Authorization": f"Bearer {token}"}, data={"revision": 1, **FORM}
    )
    assert resp.status_code == 200 and resp.get_json()["summary"]["peak_rps"] == 2000


def test_traffic_query_count(app, logged_in, url):
    with count_queries(app) as q:
        assert logged_in.get(url).status_code == 200
    assert len(q) <= 4, q


def test_load_curve_shapes():
    steady = traffic_profile.load_curve({"baseline_rps": 10, "peak_multiplier": 2})
    assert {rps for _t, rps in steady} == {20.0}
    spiky = traffic_profile.load_curve(
        {"baseline_rps": 10, "peak_multiplier": 2, "burstiness": "spiky", "duration_s": 60}
    )
    assert max(r for _t, r in spiky) == 50.0 and spiky[-1][0] == 60.0


TRAFFIC_VALUE = st.one_of(
    st.integers(-10, 200_000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=12),
    st.sampled_from(["", "0", "100", "50", "1e400", "spiky", "extreme", "steady"]),
)
TRAFFIC_FIELD = st.sampled_from([*FORM, "region-apac", "region-us-west", "burstiness"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(edits=st.lists(st.dictionaries(TRAFFIC_FIELD, TRAFFIC_VALUE, max_size=4), max_size=6))
def test_random_traffic_edits_leave_valid_or_unchanged_profile(app, logged_in, edits):
    """Any sequence of form edits over the HTTP layer: never a 500; each answer either saves
    a profile that validates or leaves the stored profile and revision as they were."""
    url = start(logged_in)
    hx = HtmxClient(logged_in, url)
    for changes in edits:
        before = stored(app, url)
        resp = hx.patch(url + "/traffic", data={"revision": before.revision, **FORM, **changes})
        assert resp.status_code in (200, 422), (changes, resp.status_code)
        after = stored(app, url)
        if resp.status_code == 200:
            assert validate_traffic(after.traffic) == [], (changes, after.traffic)
            assert after.revision in (before.revision, before.revision + 1)
        else:
            assert after.traffic == before.traffic and after.revision == before.revision
            assert "Not saved" in resp.get_data(as_text=True)
