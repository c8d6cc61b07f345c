"""The report page's "Open as a run" / "View the run" on simulation evidence."""

from __future__ import annotations

import re
import uuid

import pytest

from sdc.extensions import db
from sdc.models import GradeReport, SimulationRun, User
from sdc.services import evidence_runs, grades, members
from tests import factories
from tests.services.test_grades import make_graded_version

FORM = re.compile(r'name="evidence_id" value="([^"]+)"')


def _grade(app, role: str | None) -> str:
    """A completed grade of owner@example.com's project; user@example.com gets ``role``."""
    with app.app_context():
        owner = db.session.get(User, factories.make_user("owner@example.com").id)
        version = make_graded_version(owner)
        row, _ = grades.start_grade(owner, version.id)
        db.session.refresh(row)
        assert row.status == "completed", row.error
        if role:
            me = db.session.scalar(db.select(User).where(User.email == "user@example.com"))
            _i, token = members.create_invite(owner, version.project_id, me.email, role)
            members.accept_invite(me, token)
        return str(row.id)


def _open(client, hx, grade_id, eid, **kw):
    return client.post(
        f"/grades/{grade_id}/evidence-run", data={"evidence_id": eid, "csrf_token": hx.token}, **kw
    )


def test_an_editor_sees_open_as_a_run_on_simulation_evidence_only(app, logged_in, hx):
    gid = _grade(app, "editor")
    body = logged_in.get(f"/grades/{gid}").get_data(as_text=True)
    offered = set(FORM.findall(body))
    assert offered == set(evidence_runs.REPRODUCIBLE)
    assert "Open as a run" in body and "View the run" not in body
    assert 'id="evidence-runs-note"' in body
    assert not any(e.startswith("fail-") for e in offered)


def test_a_viewer_gets_no_button_and_the_post_is_forbidden(app, logged_in, hx):
    gid = _grade(app, "viewer")
    body = logged_in.get(f"/grades/{gid}").get_data(as_text=True)
    assert FORM.findall(body) == [] and "Open as a run" not in body
    assert _open(logged_in, hx, gid, "des-peak").status_code == 403
    with app.app_context():
        assert db.session.query(SimulationRun).count() == 0


def test_post_creates_the_run_of_the_graded_snapshot_and_a_second_post_reuses_it(
    app, logged_in, hx
):
    gid = _grade(app, "editor")
    resp = _open(logged_in, hx, gid, "des-surge")
    assert resp.status_code == 303
    location = resp.headers["Location"]
    assert re.fullmatch(r"/runs/[0-9a-f-]{36}", location)
    run_id = uuid.UUID(location.rsplit("/", 1)[1])
    with app.app_context():
        run = db.session.get(SimulationRun, run_id)
        row = db.session.get(GradeReport, uuid.UUID(gid))
        ev = next(e for e in row.report["evidence"] if e["id"] == "des-surge")
        assert (run.engine, run.seed, run.status) == ("des", row.report["seed"], "completed")
        graded = dict(row.input_snapshot["design"])
        del graded["traffic"]
        design = dict(run.input_snapshot["design"])
        traffic = design.pop("traffic")
        assert design == graded
        t = row.input_snapshot["scenario"]["traffic"]
        want_peak = t["baseline_rps"] * t["peak_multiplier"] * 2
        assert traffic["baseline_rps"] * traffic["peak_multiplier"] == pytest.approx(want_peak)
        assert float(f"{run.result['metrics']['p95_ms']:.4g}") == ev["p95_ms"]
        assert float(f"{run.result['metrics']['error_rate']:.4g}") == ev["error_rate"]
    assert logged_in.get(location).status_code == 200
    again = _open(logged_in, hx, gid, "des-surge")
    assert again.status_code == 303 and again.headers["Location"] == location
    with app.app_context():
        assert db.session.query(SimulationRun).count() == 1
    body = logged_in.get(f"/grades/{gid}").get_data(as_text=True)
    assert f'href="{location}" class="evidence-run" data-evidence="des-surge"' in body
    assert "des-surge" not in FORM.findall(body)
    assert "des-peak" in FORM.findall(body)


def test_json_clients_get_the_run_created_then_found(app, logged_in, hx):
    gid = _grade(app, "editor")
    headers = {"Accept": "application/json"}
    first = _open(logged_in, hx, gid, "sim-peak", headers=headers)
    assert first.status_code == 201 and first.get_json()["engine"] == "analytic"
    second = _open(logged_in, hx, gid, "sim-peak", headers=headers)
    assert second.status_code == 200 and second.get_json()["id"] == first.get_json()["id"]


@pytest.mark.parametrize(
    ("eid", "words"),
    [
        ("no-such", "This grade has no evidence item &#39;no-such&#39;."),
        ("knee", "cannot be opened as a run"),
        ("", "Choose an evidence item."),
        ("x" * 500, "has no evidence item"),
    ],
)
def test_bad_evidence_ids_are_a_clear_422(app, logged_in, hx, eid, words):
    gid = _grade(app, "editor")
    resp = hx.post(f"/grades/{gid}/evidence-run", data={"evidence_id": eid})
    assert resp.status_code == 422 and words in resp.get_data(as_text=True)
    as_json = _open(logged_in, hx, gid, eid, headers={"Accept": "application/json"})
    assert as_json.status_code == 422
    # a plain form post goes back to the report with the reason shown
    plain = _open(logged_in, hx, gid, eid)
    assert plain.status_code == 303 and plain.headers["Location"] == f"/grades/{gid}"
    assert words in logged_in.get(f"/grades/{gid}").get_data(as_text=True)
    with app.app_context():
        assert db.session.query(SimulationRun).count() == 0


def test_outsiders_and_missing_grades_get_404(app, logged_in, hx):
    gid = _grade(app, None)
    assert _open(logged_in, hx, gid, "des-peak").status_code == 404
    assert _open(logged_in, hx, str(uuid.uuid4()), "des-peak").status_code == 404
    assert "Open as a run" not in logged_in.get(f"/grades/{gid}").get_data(as_text=True)


def test_the_post_needs_the_csrf_token(app, logged_in, hx):
    gid = _grade(app, "editor")
    resp = logged_in.post(f"/grades/{gid}/evidence-run", data={"evidence_id": "des-peak"})
    assert resp.status_code == 400
    with app.app_context():
        assert db.session.query(SimulationRun).count() == 0
