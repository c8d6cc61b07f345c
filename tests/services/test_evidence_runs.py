"""A grade's simulation evidence opened as a normal run: same input, same numbers."""

from __future__ import annotations

import pytest

from sdc.core.grading.measure import des_duration
from sdc.core.grading.rubric import FLOOR_FRACTION, SURGE_MULTIPLIER
from sdc.extensions import db
from sdc.models import SimulationRun, User
from sdc.services import NotFound, evidence_runs, grades, members
from sdc.services.policy import Forbidden
from tests import factories
from tests.services.test_grades import make_graded_version


@pytest.fixture
def owner(app):
    with app.app_context():
        yield db.session.get(User, factories.make_user().id)


def _graded(owner, example="middling"):
    version = make_graded_version(owner, example)
    row, _created = grades.start_grade(owner, version.id)
    db.session.refresh(row)
    assert row.status == "completed", row.error
    return row


def _evidence(row, eid):
    return next(e for e in row.report["evidence"] if e["id"] == eid)


@pytest.mark.parametrize("eid", ["des-peak", "des-surge", "sim-peak", "sim-surge", "sim-floor"])
def test_a_run_from_evidence_reproduces_its_numbers(app, owner, eid):
    row = _graded(owner)
    ev = _evidence(row, eid)
    run, created = evidence_runs.start_run_for_evidence(owner, row.id, eid)
    db.session.refresh(run)
    assert created and run.status == "completed", run.error
    assert run.seed == row.report["seed"] == 0
    assert run.engine == ev["engine"]
    m = run.result["metrics"]
    # the report rounds to 4 significant digits (evidence.rnd): rounded alike, they are equal
    for key in ("offered_rps", "p95_ms", "p99_ms", "error_rate"):
        got = m[key]
        want = ev[key]
        assert (got if got is None else float(f"{got:.4g}")) == want, key


def test_the_run_simulates_the_graded_snapshot_at_the_evidence_load(app, owner):
    row = _graded(owner)
    # the version changes after grading: the run must still be of the graded design
    version = row.version
    version.design = dict(version.design, components=version.design["components"][:1])
    db.session.commit()
    run, _ = evidence_runs.start_run_for_evidence(owner, row.id, "des-surge")
    scenario = row.input_snapshot["scenario"]
    traffic = run.input_snapshot["design"]["traffic"]
    base = scenario["traffic"]["baseline_rps"] * scenario["traffic"]["peak_multiplier"]
    assert traffic["baseline_rps"] * traffic["peak_multiplier"] == pytest.approx(
        base * SURGE_MULTIPLIER
    )
    assert traffic["duration_s"] == des_duration(base * SURGE_MULTIPLIER)
    graded = {k: v for k, v in row.input_snapshot["design"].items() if k != "traffic"}
    assert {k: v for k, v in run.input_snapshot["design"].items() if k != "traffic"} == graded
    assert run.input_snapshot["slo_p95_ms"] == scenario["slos"]["p95_ms"]
    floor, _ = evidence_runs.start_run_for_evidence(owner, row.id, "sim-floor")
    t = floor.input_snapshot["design"]["traffic"]
    assert floor.engine == "analytic"
    assert t.get("duration_s") == scenario["traffic"].get("duration_s")  # DES only
    assert t["baseline_rps"] == pytest.approx(scenario["traffic"]["baseline_rps"] * FLOOR_FRACTION)


def test_a_second_request_reuses_the_run_and_the_page_map_finds_it(app, owner):
    row = _graded(owner)
    assert evidence_runs.evidence_runs(row) == dict.fromkeys(evidence_runs.REPRODUCIBLE)
    first, created = evidence_runs.start_run_for_evidence(owner, row.id, "des-peak")
    again, created_again = evidence_runs.start_run_for_evidence(owner, row.id, "des-peak")
    assert created and not created_again and again.id == first.id
    found = evidence_runs.evidence_runs(row)
    assert found["des-peak"].id == first.id and found["des-surge"] is None
    # a failed run is not "the run": a new one is started
    first.status = "failed"
    db.session.commit()
    assert evidence_runs.evidence_runs(row)["des-peak"] is None
    third, created_third = evidence_runs.start_run_for_evidence(owner, row.id, "des-peak")
    assert created_third and third.id != first.id
    assert db.session.query(SimulationRun).count() == 2


@pytest.mark.parametrize(
    ("eid", "words"),
    [
        ("no-such", "has no evidence item 'no-such'"),
        ("fail-node-cache", "cannot be opened as a run"),
        ("knee", "cannot be opened as a run"),
    ],
)
def test_bad_evidence_ids_are_refused_with_a_reason(app, owner, eid, words):
    row = _graded(owner)
    if eid == "fail-node-cache":
        eid = next(e["id"] for e in row.report["evidence"] if e["id"].startswith("fail-node-"))
        words = f"Evidence '{eid}' cannot be opened as a run"
    with pytest.raises(evidence_runs.EvidenceNotRunnable) as exc:
        evidence_runs.start_run_for_evidence(owner, row.id, eid)
    assert exc.value.status == 422 and words in exc.value.message
    assert db.session.query(SimulationRun).count() == 0


def test_unfinished_grade_is_refused(app, owner, monkeypatch):
    monkeypatch.setattr(grades, "_send", lambda grade_id: None)
    version = make_graded_version(owner)
    row, _ = grades.start_grade(owner, version.id)
    with pytest.raises(evidence_runs.EvidenceNotRunnable, match="not finished"):
        evidence_runs.start_run_for_evidence(owner, row.id, "des-peak")
    assert evidence_runs.evidence_runs(row) == {}


def test_viewers_are_forbidden_and_outsiders_see_nothing(app, owner):
    row = _graded(owner)
    viewer = factories.make_user("viewer@example.com")
    outsider = factories.make_user("outsider@example.com")
    _i, token = members.create_invite(owner, row.version.project_id, viewer.email, "viewer")
    members.accept_invite(viewer, token)
    with pytest.raises(Forbidden):
        evidence_runs.start_run_for_evidence(viewer, row.id, "des-peak")
    with pytest.raises(NotFound):
        evidence_runs.start_run_for_evidence(outsider, row.id, "des-peak")
    assert db.session.query(SimulationRun).count() == 0
