"""Compare two versions: defaults, architecture delta, KPI deltas with noise, rubric deltas,
regression banner, load curves, "run both", JSON and authorisation."""

from __future__ import annotations

import re
import uuid

import pytest

from sdc.extensions import db
from sdc.models import SimulationRun, User
from sdc.services import grades
from tests import factories
from tests.web._compare_helpers import (
    add_cache,
    fewer_replicas,
    more_replicas,
    pair_ids,
    run_version,
)

JSON = {"Accept": "application/json"}


def _url(ids, **args):
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/projects/{ids.project}/compare" + (f"?{query}" if query else "")


def test_defaults_to_latest_version_and_its_parent(app, logged_in, user):
    project = pair_ids(app, user, add_cache)
    data = logged_in.get(_url(project), headers=JSON).get_json()
    assert data["baseline"]["number"] == 1 and data["candidate"]["number"] == 2
    page = logged_in.get(_url(project)).get_data(as_text=True)
    assert "Compare version 1 with version 2" in page
    assert 'id="compare-diagram"' in page and "delta-added" in page


def test_one_component_added(app, logged_in, user):
    project = pair_ids(app, user, add_cache, run=True)
    data = logged_in.get(_url(project), headers=JSON).get_json()
    arch = data["architecture"]
    added = [c["id"] for c in arch["components"] if c["status"] == "added"]
    assert added == ["cache"] and arch["counts"]["components_removed"] == 0
    assert data["runs_comparable"] and data["runs_fresh"]
    kpis = {k["key"]: k for k in data["kpis"]}
    assert set(kpis) >= {
        "throughput_rps",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "error_rate",
        "capacity_rps",
        "knee_rps",
    }
    for row in kpis.values():
        assert row["significance"] in ("real", "within noise")
    # A read cache answers most reads: p95 falls, by more than the runs' noise. Same offered
    # load and seed: throughput is unchanged (the API, not the database, limits capacity).
    p95 = kpis["p95_ms"]
    assert p95["delta"] < 0 and p95["significance"] == "real" and p95["better"] is True
    assert p95["delta_pct"] == pytest.approx(p95["delta"] / p95["before"] * 100)
    assert kpis["throughput_rps"]["significance"] == "within noise"
    assert kpis["capacity_rps"]["delta"] == 0
    page = logged_in.get(_url(project)).get_data(as_text=True)
    assert 'id="kpi-table"' in page and "Cache" in page
    assert "common random numbers" in page  # the help explains the paired comparison


def test_replicas_changed(app, logged_in, user):
    project = pair_ids(app, user, more_replicas)
    data = logged_in.get(_url(project), headers=JSON).get_json()
    api = next(c for c in data["architecture"]["components"] if c["id"] == "api")
    assert api["status"] == "changed"
    assert api["changes"] == [{"field": "replicas", "before": 3, "after": 6}]
    page = logged_in.get(_url(project)).get_data(as_text=True)
    assert re.search(r"replicas: 3 to 6", page)


def test_identical_versions_have_zero_deltas_within_noise(app, logged_in, user):
    project = pair_ids(app, user, run=True)
    with app.app_context():
        owner = db.session.get(User, user.id)
        for vid in (project.v1, project.v2):
            row, _ = grades.start_grade(owner, vid)
            db.session.refresh(row)
            assert row.status == "completed", row.error
    data = logged_in.get(_url(project), headers=JSON).get_json()
    assert data["architecture"]["identical"]
    assert data["runs_comparable"]
    assert len(data["kpis"]) == 7
    for row in data["kpis"]:
        assert row["delta"] == 0, row
        assert row["significance"] == "within noise", row
    assert data["rubric"]["overall"]["delta"] == 0
    assert all(r["delta"] == 0 for r in data["rubric"]["categories"])
    assert data["rubric"]["categories"]
    assert data["regressions"] == []
    page = logged_in.get(_url(project)).get_data(as_text=True)
    assert "The two designs are identical" in page
    assert 'id="regressions"' not in page
    assert page.count('data-significance="within noise"') == 6  # the knee loads separately


def test_regression_banner_links_to_the_section(app, logged_in, user):
    project = pair_ids(app, user, fewer_replicas, run=True)
    data = logged_in.get(_url(project), headers=JSON).get_json()
    assert data["baseline"]["verdict"]["overall"] != "missed"
    assert data["candidate"]["verdict"]["overall"] == "missed"
    assert data["regressions"] and data["regressions"][0]["section"] == "kpi-deltas"
    page = logged_in.get(_url(project)).get_data(as_text=True)
    assert 'id="regressions"' in page and 'href="#kpi-deltas"' in page


def test_missing_runs_offer_run_both_and_one_post_starts_both(app, logged_in, hx, user):
    project = pair_ids(app, user, more_replicas)
    v1, v2 = project.v1, project.v2
    with app.app_context():
        from sdc.models import Version

        run_version(db.session.get(User, user.id), db.session.get(Version, v1))
    page = logged_in.get(_url(project)).get_data(as_text=True)
    assert "Version 2 has no completed run." in page and 'id="run-both-button"' in page
    resp = logged_in.post(
        f"/projects/{project.project}/compare/runs",
        data={"csrf_token": hx.token, "baseline": v1, "candidate": v2},
    )
    assert resp.status_code == 303
    assert f"baseline={v1}" in resp.headers["Location"]
    with app.app_context():
        runs = db.session.query(SimulationRun).filter(SimulationRun.version_id.in_([v1, v2])).all()
        assert len(runs) == 3 and {r.seed for r in runs} == {1}
    data = logged_in.get(_url(project), headers=JSON).get_json()
    assert data["runs_comparable"] and data["runs_fresh"]


def test_edited_version_is_stale(app, logged_in, user):
    project = pair_ids(app, user, more_replicas, run=True)
    with app.app_context():
        from sdc.models import Version

        v2 = db.session.get(Version, project.v2)
        v2.traffic = {**v2.traffic, "baseline_rps": 150}
        db.session.commit()
    data = logged_in.get(_url(project), headers=JSON).get_json()
    assert not data["runs_fresh"]
    assert "Version 2 was edited after its latest run." in data["reasons"]


def test_curve_fragment_and_no_js_link(app, logged_in, hx, user):
    project = pair_ids(app, user, add_cache)
    v1, v2 = project.v1, project.v2
    page = logged_in.get(_url(project)).get_data(as_text=True)
    assert 'hx-trigger="load"' in page and "curve=1" in page
    frag = hx.get(f"/projects/{project.project}/compare/curve?baseline={v1}&candidate={v2}")
    body = frag.get_data(as_text=True)
    assert frag.status_code == 200 and body.lstrip().startswith('<section id="load-curve"')
    assert 'id="compare-curve"' in body and "Version 1 (baseline) p95" in body
    assert 'id="kpi-knee_rps"' in body and "<html" not in body


def test_pick_any_two_versions_and_reverse(app, logged_in, user):
    project = pair_ids(app, user, add_cache)
    data = logged_in.get(
        _url(project, baseline=project.v2, candidate=project.v1), headers=JSON
    ).get_json()
    removed = [c["id"] for c in data["architecture"]["components"] if c["status"] == "removed"]
    assert removed == ["cache"]


def test_other_users_and_bad_ids_get_404(app, logged_in, user):
    project = pair_ids(app, user, add_cache)
    assert logged_in.get(_url(project, baseline="nope")).status_code == 404
    assert logged_in.get(_url(project, candidate=uuid.uuid4())).status_code == 404
    with app.app_context():
        other = factories.make_user("other@example.com")
        _p, foreign = factories.make_project(other)
        foreign_id = foreign.id
        token = factories.make_token(other)
    assert logged_in.get(_url(project, candidate=foreign_id)).status_code == 404
    fresh = app.test_client()
    assert fresh.get(_url(project)).status_code in (302, 303)
    resp = fresh.get(_url(project), headers={"Authorization": f"Bearer {token}", **JSON})
    assert resp.status_code == 404
    resp = fresh.post(
        f"/projects/{project.project}/compare/runs",
        headers={"Authorization": f"Bearer {token}", **JSON},
        json={},
    )
    assert resp.status_code in (403, 404)


def test_project_page_links_to_compare_and_report(app, logged_in, user):
    project = pair_ids(app, user)
    page = logged_in.get(f"/projects/{project.project}").get_data(as_text=True)
    pid = project.project
    assert f"/projects/{pid}/compare" in page and f"/projects/{pid}/report" in page
