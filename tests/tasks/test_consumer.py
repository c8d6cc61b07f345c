"""The consumer ``sdc worker`` runs: how it polls each kind of queue."""

from __future__ import annotations

import tasks
from sdc.settings import load_settings
from tests.conftest import TEST_SECRET


def _huey(tmp_path, **env):
    base = {
        "SDC_ENV": "test",
        "SECRET_KEY": TEST_SECRET,
        "SDC_INSTANCE_DIR": str(tmp_path),
        "HUEY_SQLITE_PATH": str(tmp_path / "huey.db"),
        "REDIS_URL": "",
    }
    return tasks.make_huey(load_settings({**base, **env}))


def test_idle_sqlite_consumer_polls_at_least_every_half_second(tmp_path):
    # Huey's default lets an idle consumer sleep 10 s between polls: a run pressed after a
    # minute's pause would wait up to that long before any worker looked at the queue.
    huey = _huey(tmp_path)
    assert not huey.storage.blocking
    consumer = tasks.make_consumer(huey, workers=2)
    assert consumer.max_delay == tasks.POLL_MAX_DELAY_S <= 0.5
    assert consumer.periodic  # the reaper runs in every consumer
    workers = [w for w, _t in consumer.worker_threads]
    assert len(workers) == 2 and all(w.max_delay <= 0.5 for w in workers)


def test_redis_consumer_blocks_on_the_queue(tmp_path):
    # No connection is made until the consumer reads; BRPOP wakes it when a job arrives.
    huey = _huey(tmp_path, REDIS_URL="redis://127.0.0.1:1/0")
    assert huey.storage.blocking
    consumer = tasks.make_consumer(huey, workers=1)
    assert consumer.periodic and consumer.max_delay == 10.0


def test_the_reaper_is_scheduled_every_minute_and_recovers_stranded_runs(app, monkeypatch):
    """The consumer's periodic task (not only the service function) re-enqueues a run that never
    reached the queue; in immediate mode the re-enqueued job then runs to completion."""
    from datetime import datetime

    from sdc.extensions import db
    from sdc.models import SimulationRun, User
    from sdc.services import runs
    from tasks.simulation import reap_stuck_jobs
    from tests import factories
    from tests.services.test_runs import make_version

    for minute in (0, 17, 59):
        due = tasks.huey.read_periodic(datetime(2026, 12, 2, 9, minute))
        assert reap_stuck_jobs.s().name in {t.name for t in due}

    with app.app_context():
        owner = db.session.get(User, factories.make_user().id)
        version = make_version(owner)

        def queue_down(run_id):
            raise ConnectionError("Connection refused")

        original = runs._send
        monkeypatch.setattr(runs, "_send", queue_down)
        run, _ = runs.start_run(owner, version.id, engine="analytic")
        assert run.status == "pending" and run.enqueued_at is None
        monkeypatch.setattr(runs, "_send", original)
        run_id = run.id
        db.session.commit()

    counts = reap_stuck_jobs.call_local()
    assert counts["runs"]["requeued"] == 1
    with app.app_context():
        assert db.session.get(SimulationRun, run_id).status == "completed"
