"""Runs as durable jobs: snapshot, dedupe, limits, idempotency, failure, reaper, queue down."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text, update

import tasks
from sdc.extensions import db
from sdc.models import SimulationRun, User, utcnow
from sdc.models.base import as_utc
from sdc.services import NotFound, RateLimited, jobs, runs
from sdc.services.projects import start_project
from tests import factories

SMALL_DESIGN = {
    "format": "sdc-design/1",
    "components": [
        {"id": "users", "type": "client", "label": "Users"},
        {"id": "lb", "type": "load-balancer", "label": "LB", "replicas": 2, "azs": ["a", "b"]},
        {
            "id": "api",
            "type": "service",
            "label": "API",
            "replicas": 3,
            "azs": ["a", "b"],
            "service_time_ms": 10,
            "concurrency": 8,
        },
        {"id": "db", "type": "database", "label": "DB", "params": {"read_replicas": 1}},
    ],
    "edges": [
        {"id": "e1", "source": "users", "target": "lb"},
        {"id": "e2", "source": "lb", "target": "api"},
        {"id": "e3", "source": "api", "target": "db"},
    ],
}
TRAFFIC = {
    "baseline_rps": 200,
    "peak_multiplier": 2,
    "read_ratio": 0.8,
    "payload_kb": 2,
    "regions": {"us-east": 1.0},
    "burstiness": "steady",
    "duration_s": 20,
}


def make_version(user, design=None, traffic=None):
    _project, version = start_project(user, "url-shortener")
    version.design = copy.deepcopy(design or SMALL_DESIGN)
    version.traffic = copy.deepcopy(traffic or TRAFFIC)
    db.session.commit()
    return version


@pytest.fixture
def owner(app):
    with app.app_context():
        yield db.session.get(User, factories.make_user().id)


def test_run_completes_with_snapshot_and_manifest(app, owner):
    version = make_version(owner)
    run, created = runs.start_run(owner, version.id, engine="analytic")
    assert created
    db.session.refresh(run)
    assert run.status == "completed", run.error
    assert run.result["format"] == "sdc-result/1" and run.result["engine"] == "analytic"
    assert run.engine_version and run.seed == runs.DEFAULT_SEED and len(run.input_hash) == 64
    assert run.attempts == 1 and run.progress == 1.0 and run.enqueued_at is not None
    # later edits never change the old run
    version.design["components"][2]["replicas"] = 9
    db.session.commit()
    db.session.refresh(run)
    assert run.input_snapshot["design"]["components"][2]["replicas"] == 3


def test_a_run_s_metrics_follow_its_result_and_the_migration_fills_old_runs(app, owner):
    """A finished run stores its result's metrics beside it (the worker, in Core), an ORM write
    of ``result`` sets them, and migration 0012 fills them for runs stored before it (run here
    on rows whose column is emptied, as they were)."""
    from sdc.models.run import run_metrics

    assert run_metrics({"metrics": {"p95_ms": 1.0}}) == {"p95_ms": 1.0}
    assert run_metrics(None) is None and run_metrics({"metrics": [1]}) is None
    version = make_version(owner)
    done, _created = runs.start_run(owner, version.id, engine="analytic")
    db.session.refresh(done)
    assert done.status == "completed" and done.metrics == done.result["metrics"]
    assert done.metrics["throughput_rps"] > 0

    def row(status: str, seed: int, **values) -> SimulationRun:
        return SimulationRun(
            version_id=version.id,
            user_id=owner.id,
            status=status,
            engine="analytic",
            engine_version="test",
            seed=seed,
            input_snapshot={},
            input_hash=str(seed) * 64,
            **values,
        )

    written = row("completed", 2, result={"metrics": {"p95_ms": 7.0}, "series": {}})
    pending = row("pending", 3)
    db.session.add_all([written, pending])
    db.session.commit()
    assert written.metrics == {"p95_ms": 7.0} and pending.metrics is None
    expected = {done.id: done.result["metrics"], written.id: {"p95_ms": 7.0}, pending.id: None}

    assert factories.refill_by_migration(SimulationRun, "metrics", "0012_run_metrics.py") == 2
    assert {i: db.session.get(SimulationRun, i).metrics for i in expected} == expected


def test_a_new_run_object_holds_what_its_row_holds(app, owner, monkeypatch):
    """The run ``start_run`` returns was never read back (``jobs.insert_new``): each of its
    attributes equals the stored row's, and a row written without some column is refused
    (the object could not know what the database filled in)."""
    monkeypatch.setattr(tasks.huey, "immediate", False)
    monkeypatch.setattr(runs, "_send", lambda run_id: None)
    version = make_version(owner)
    run, created = runs.start_run(owner, version.id, engine="analytic", seed=5)
    columns = SimulationRun.__table__.columns.keys()

    def values(r):  # SQLite hands datetimes back naive; they were stored as UTC (``as_utc``)
        return {
            c: as_utc(v) if isinstance(v, datetime) else v for c in columns for v in [getattr(r, c)]
        }

    held = values(run)
    db.session.expire_all()
    assert created and held == values(db.session.get(SimulationRun, run.id))
    with pytest.raises(ValueError, match="no value for"):
        jobs.insert_new(SimulationRun, {"id": run.id, "status": "pending"})
    with pytest.raises(ValueError, match="None for defaulted"):
        jobs.insert_new(SimulationRun, {c: None for c in columns})
    # The documents it has not got yet are SQL NULL, not JSON null.
    nulls = db.session.execute(
        text("SELECT result IS NULL, error IS NULL FROM simulation_runs WHERE id = :id"),
        {"id": run.id if db.engine.dialect.name == "postgresql" else run.id.hex},
    ).one()
    assert tuple(nulls) == (True, True)


def test_des_run_completes(app, owner):
    version = make_version(owner)
    run, _ = runs.start_run(owner, version.id, engine="des")
    db.session.refresh(run)
    assert run.status == "completed", run.error
    assert run.result["engine"] == "des" and run.result["series"]["t_s"]


def test_identical_in_flight_run_is_not_duplicated(app, owner):
    version = make_version(owner)
    tasks.huey.immediate = False  # leave the first run pending in a real (memory) queue
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(runs, "_send", lambda run_id: None)
            first, created1 = runs.start_run(owner, version.id, engine="analytic")
            second, created2 = runs.start_run(owner, version.id, engine="analytic")
    finally:
        tasks.huey.immediate = True
    assert created1 and not created2 and first.id == second.id
    assert db.session.query(SimulationRun).count() == 1


def test_runs_of_one_stored_state_validate_its_document_once(app, owner, monkeypatch):
    """Seed after seed, a version's document is validated once per stored state (the version
    memo); a new revision is validated afresh, and a given snapshot (a grade's design) always."""
    from sdc.services import versions

    validated = []

    def counting(document):
        validated.append(document)
        return real(document)

    real = runs.validate_design
    monkeypatch.setattr(runs, "validate_design", counting)
    version = make_version(owner)
    for seed in (1, 2, 3):
        assert runs.start_run(owner, version.id, engine="analytic", seed=seed)[1]
    assert len(validated) == 1
    versions.update_notes(owner, version.project_id, version.id, version.revision, "# Notes")
    assert runs.start_run(owner, version.id, engine="analytic", seed=4)[1]
    assert len(validated) == 2 and validated[-1]["notes"] == "# Notes"
    snapshot = runs.baseline_snapshot(version)
    runs.start_run(owner, version.id, engine="analytic", seed=5, snapshot=snapshot)
    runs.start_run(owner, version.id, engine="analytic", seed=6, snapshot=snapshot)
    assert len(validated) == 4


def test_second_execution_of_a_completed_run_does_nothing(app, owner):
    version = make_version(owner)
    run, _ = runs.start_run(owner, version.id, engine="analytic")
    db.session.refresh(run)
    finished_at = run.finished_at
    assert runs.execute_run(run.id) == "skipped"
    db.session.refresh(run)
    assert run.attempts == 1 and run.finished_at == finished_at


def test_engine_error_gives_failed_run_with_reason(app, owner, monkeypatch):
    version = make_version(owner)

    def explode(*args, **kwargs):
        raise ZeroDivisionError("division by zero in the kernel")

    monkeypatch.setattr(runs, "simulate", explode)
    run, _ = runs.start_run(owner, version.id, engine="analytic")
    db.session.refresh(run)
    assert run.status == "failed"
    assert "ZeroDivisionError" in run.error and "division by zero" in run.error


def test_invalid_design_is_refused_before_queueing(app, owner):
    bad = copy.deepcopy(SMALL_DESIGN)
    bad["edges"].append({"id": "e9", "source": "api", "target": "nowhere"})
    version = make_version(owner, design=bad)
    with pytest.raises(runs.RunRefused) as info:
        runs.start_run(owner, version.id)
    assert "edges[3]" in info.value.message
    assert db.session.query(SimulationRun).count() == 0


def test_other_users_cannot_see_or_run(app, owner):
    version = make_version(owner)
    stranger = factories.make_user("stranger@example.com")
    with pytest.raises(NotFound):
        runs.start_run(stranger, version.id)
    run, _ = runs.start_run(owner, version.id, engine="analytic")
    with pytest.raises(NotFound):
        runs.get_run_for(stranger, run.id)


def test_per_user_concurrency_limit(app, owner, monkeypatch):
    version = make_version(owner)
    monkeypatch.setattr(runs, "_send", lambda run_id: None)
    for seed in range(3):
        runs.start_run(owner, version.id, engine="analytic", seed=seed)
    with pytest.raises(RateLimited) as info:
        runs.start_run(owner, version.id, engine="analytic", seed=99)
    assert "limit is 3" in info.value.message
    # A double click at the limit is not refused: it gets the run already in flight.
    again, created = runs.start_run(owner, version.id, engine="analytic", seed=1)
    assert not created and again.seed == 1 and again.status == "pending"
    assert db.session.query(SimulationRun).count() == 3


def test_per_user_per_minute_limit(app, owner, monkeypatch):
    import dataclasses

    version = make_version(owner)
    monkeypatch.setattr(runs, "_send", lambda run_id: None)
    settings = app.config["SDC_SETTINGS"]
    monkeypatch.setitem(
        app.config,
        "SDC_SETTINGS",
        dataclasses.replace(settings, runs_per_minute=2, runs_concurrent=100),
    )
    first, _ = runs.start_run(owner, version.id, engine="analytic", seed=1)
    runs.start_run(owner, version.id, engine="analytic", seed=2)
    # Finished runs still count: the limit is on starts per minute, not on runs in flight.
    db.session.execute(
        update(SimulationRun).where(SimulationRun.id == first.id).values(status="completed")
    )
    db.session.commit()
    with pytest.raises(RateLimited) as info:
        runs.start_run(owner, version.id, engine="analytic", seed=3)
    assert "in the last minute (the limit is 2)" in info.value.message
    assert db.session.query(SimulationRun).count() == 2
    # A minute later the older starts no longer count.
    db.session.execute(update(SimulationRun).values(created_at=utcnow() - timedelta(seconds=61)))
    db.session.commit()
    run, created = runs.start_run(owner, version.id, engine="analytic", seed=3)
    assert created and run.status == "pending"


def test_queue_down_keeps_run_pending_then_reaper_enqueues(app, owner, monkeypatch):
    version = make_version(owner)

    def queue_down(run_id):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(runs, "_send", queue_down)
    run, created = runs.start_run(owner, version.id, engine="analytic")
    assert created and run.status == "pending" and run.enqueued_at is None
    monkeypatch.undo()  # the queue is back
    counts = runs.reap_stuck_runs()
    assert counts["requeued"] == 1
    db.session.refresh(run)
    assert run.status == "completed"


def test_reaper_recovers_a_run_whose_worker_died(app, owner, monkeypatch):
    version = make_version(owner)
    monkeypatch.setattr(runs, "_send", lambda run_id: None)
    run, _ = runs.start_run(owner, version.id, engine="analytic")
    # a worker claimed it and died without a heartbeat for longer than the timeout
    assert jobs.claim(SimulationRun, run.id) == 1
    stale = utcnow() - timedelta(seconds=app.config["SDC_SETTINGS"].run_timeout_s + 5)
    db.session.execute(
        update(SimulationRun).where(SimulationRun.id == run.id).values(updated_at=stale)
    )
    db.session.commit()
    monkeypatch.undo()
    assert runs.reap_stuck_runs()["requeued"] == 1
    db.session.refresh(run)
    assert run.status == "completed" and run.attempts == 2


def test_reaper_gives_up_after_max_attempts(app, owner, monkeypatch):
    version = make_version(owner)
    monkeypatch.setattr(runs, "_send", lambda run_id: None)
    run, _ = runs.start_run(owner, version.id, engine="analytic")
    max_attempts = app.config["SDC_SETTINGS"].run_max_attempts
    stale = utcnow() - timedelta(hours=1)
    db.session.execute(
        update(SimulationRun)
        .where(SimulationRun.id == run.id)
        .values(status="running", attempts=max_attempts, updated_at=stale)
    )
    db.session.commit()
    assert runs.reap_stuck_runs()["failed"] == 1
    db.session.refresh(run)
    assert run.status == "failed" and f"after {max_attempts} attempts" in run.error


def test_failure_run_reuses_baseline_snapshot_and_seed(app, owner):
    version = make_version(owner)
    baseline, _ = runs.start_run(owner, version.id, engine="des", seed=7)
    version.design["components"][2]["replicas"] = 1  # edits after the baseline do not leak in
    db.session.commit()
    failure = {"mode": "node-down", "component_id": "api", "replicas": 1, "at_s": 5, "for_s": 5}
    run, _ = runs.start_run(owner, None, baseline_run_id=baseline.id, failures=[failure])
    db.session.refresh(run)
    assert run.status == "completed", run.error
    assert run.seed == 7 and run.input_snapshot == baseline.input_snapshot
    assert run.result["blast_radius"] is not None
    assert runs.failure_runs_of(baseline)[0].id == run.id


def test_bad_failure_spec_is_refused_with_its_path(app, owner):
    version = make_version(owner)
    baseline, _ = runs.start_run(owner, version.id, engine="analytic")
    with pytest.raises(runs.RunRefused) as info:
        runs.start_run(
            owner,
            None,
            baseline_run_id=baseline.id,
            failures=[{"mode": "node-down", "component_id": "ghost"}],
        )
    assert info.value.message.startswith("failures[0]")


def test_verdict_against_slos():
    slos = {"p95_ms": 100, "p99_ms": 200, "max_error_rate": 0.01}
    met = runs.verdict({"metrics": {"p95_ms": 50, "p99_ms": 120, "error_rate": 0.0}}, slos)
    assert met["overall"] == "met"
    missed = runs.verdict({"metrics": {"p95_ms": 150, "p99_ms": 120, "error_rate": 0.0}}, slos)
    assert missed["overall"] == "missed"
    assert "50 ms (50%) over the 100 ms target" in missed["checks"][0]["detail"]
    close = runs.verdict(
        {"metrics": {"p95_ms": 98, "p95_ms_ci": [90, 104], "p99_ms": 120, "error_rate": 0}}, slos
    )
    assert close["overall"] == "too-close"


# --- the SLO threshold of the timeline and blast radius ------------------------------------------

SLOW_TRAFFIC = {**TRAFFIC, "baseline_rps": 100, "peak_multiplier": 1, "duration_s": 15}


def _slo_events(result):
    return [(e["t_s"], e["title"]) for e in result["timeline"] if "SLO" in e["title"]]


def test_run_judges_timeline_and_blast_radius_against_the_scenario_p95_target(app, owner):
    version = make_version(owner, factories.SLOW_DESIGN, SLOW_TRAFFIC)
    target = version.project.scenario.slos["p95_ms"]
    assert target < 150  # the premise: the design misses the scenario's target

    run, _ = runs.start_run(owner, version.id, engine="des")
    db.session.refresh(run)
    assert run.status == "completed", run.error
    assert run.input_snapshot[runs.SNAPSHOT_SLO_KEY] == target
    m = run.result["metrics"]
    assert m["p95_ms"] > target and m["slo_ms"] == target and m["slo_source"] == "given"
    assert _slo_events(run.result) == [(0.0, "p95 latency above the SLO")]
    assert runs.slo_threshold(run) == {
        "ms": target,
        "source": "scenario",
        "note": "the scenario's p95 target",
    }

    # the failure lab judges against the baseline's threshold
    fail = [{"mode": "traffic-surge", "multiplier": 1.5, "at_s": 3, "for_s": 5}]
    fr, _ = runs.start_run(owner, None, baseline_run_id=run.id, failures=fail)
    db.session.refresh(fr)
    assert fr.status == "completed", fr.error
    assert fr.input_snapshot == run.input_snapshot
    blast = fr.result["blast_radius"]
    assert blast["slo_ms"] == target and blast["slow_share"] == 1.0

    # a later change of the scenario's target does not change the recorded one
    scenario = version.project.scenario
    scenario.slos = {**scenario.slos, "p95_ms": 400}
    db.session.commit()
    db.session.refresh(run)
    assert run.input_snapshot[runs.SNAPSHOT_SLO_KEY] == target


def test_identical_runs_still_deduplicate_with_the_slo_in_the_snapshot(app, owner):
    version = make_version(owner, factories.SLOW_DESIGN, SLOW_TRAFFIC)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runs, "_send", lambda run_id: None)
        first, created1 = runs.start_run(owner, version.id, engine="des")
        second, created2 = runs.start_run(owner, version.id, engine="des")
        # a different target is a different input: not the same run
        scenario = version.project.scenario
        scenario.slos = {**scenario.slos, "p95_ms": 400}
        db.session.commit()
        third, created3 = runs.start_run(owner, version.id, engine="des")
    assert created1 and not created2 and first.id == second.id
    assert created3 and third.id != first.id and third.input_hash != first.input_hash


def test_run_started_before_the_target_was_recorded_uses_the_default_and_says_so(app, owner):
    version = make_version(owner, factories.SLOW_DESIGN, SLOW_TRAFFIC)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runs, "_send", lambda run_id: None)
        run, _ = runs.start_run(owner, version.id, engine="des")
    legacy = {k: v for k, v in run.input_snapshot.items() if k != runs.SNAPSHOT_SLO_KEY}
    db.session.execute(
        update(SimulationRun).where(SimulationRun.id == run.id).values(input_snapshot=legacy)
    )
    db.session.commit()
    assert runs.execute_run(run.id) == "completed"
    db.session.refresh(run)
    assert run.result["metrics"]["slo_ms"] == 500
    assert run.result["metrics"]["slo_source"] == "default"
    assert _slo_events(run.result) == []
    threshold = runs.slo_threshold(run)
    assert threshold["ms"] == 500 and threshold["source"] == "legacy"
    assert "before runs recorded the scenario's target" in threshold["note"]


def test_scenario_without_a_p95_target_uses_the_default():
    assert runs.slo_target({"p99_ms": 300}) is None
    assert runs.slo_target({"p95_ms": True}) is None and runs.slo_target({"p95_ms": 0}) is None
    assert runs.slo_target({"p95_ms": 80}) == 80.0
    assert runs.slo_target(None) is None
