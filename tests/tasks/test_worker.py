"""A real consumer process (`sdc worker`) on SQLite Huey and on Redis: runs complete, a consumer
killed with SIGKILL mid-run loses nothing, and forged queue messages are rejected."""

from __future__ import annotations

import copy
import dataclasses
import os
import signal
import subprocess
import sys
import time

import pytest

import tasks
from sdc.extensions import db
from sdc.models import SimulationRun, User
from sdc.services import runs
from sdc.settings import load_settings
from tests import factories
from tests.conftest import REDIS_URL, TEST_SECRET
from tests.services.test_runs import SMALL_DESIGN, TRAFFIC, make_version

pytestmark = pytest.mark.slow

# Big enough that a DES run takes a few seconds, so the consumer can be killed mid-run.
LONG_DESIGN = copy.deepcopy(SMALL_DESIGN)
LONG_DESIGN["components"][2]["replicas"] = 40
LONG_TRAFFIC = dict(TRAFFIC, baseline_rps=20000, peak_multiplier=3, duration_s=120)


def _redis_url(worker_id: str) -> str:
    # One Redis database per xdist worker so parallel tests never share a queue.
    index = int(worker_id.replace("gw", "") or 0) if worker_id != "master" else 0
    base = REDIS_URL.rsplit("/", 1)[0]
    return f"{base}/{8 + index}"


@pytest.fixture(params=["sqlite", "redis"])
def queue(request, app, tmp_path, worker_id, migrated):
    """A Huey backend shared by this test process and a real consumer subprocess."""
    env = {
        "SDC_ENV": "test",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": migrated,
        "SDC_INSTANCE_DIR": str(tmp_path / "instance"),
        "HUEY_SQLITE_PATH": str(tmp_path / "huey.db"),
        "RATELIMIT_ENABLED": "false",
        "REDIS_URL": "",  # the SQLite-queue variant must not inherit the suite's Redis
    }
    if request.param == "redis":
        if not REDIS_URL:
            pytest.skip("REDIS_URL unset: the Redis consumer test needs a reachable Redis")
        env["REDIS_URL"] = _redis_url(worker_id)
    huey = tasks.make_huey(load_settings(env))
    # Messages are built from the task registry of the process's own Huey instance.
    huey._registry = tasks.huey._registry
    huey.flush()
    sent = []

    def send(run_id: str) -> None:
        from tasks.simulation import run_simulation

        huey.enqueue(run_simulation.s(run_id))
        sent.append(run_id)

    original = runs._send
    runs._send = send
    settings = app.config["SDC_SETTINGS"]
    app.config["SDC_SETTINGS"] = dataclasses.replace(settings, run_timeout_s=2)
    procs: list[subprocess.Popen] = []

    log = open(tmp_path / "consumer.log", "ab")  # read it when a test fails

    def start_consumer() -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sdc.cli", "worker", "--workers", "1"],
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    yield {"huey": huey, "start_consumer": start_consumer, "sent": sent, "backend": request.param}
    runs._send = original
    app.config["SDC_SETTINGS"] = settings
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    huey.flush()
    log.close()
    print((tmp_path / "consumer.log").read_text(errors="replace")[-3000:])


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        # End the transaction before sleeping: see the consumer's writes, and never hold
        # SQLite's write lock while waiting.
        db.session.commit()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _status(run_id):
    return db.session.get(SimulationRun, run_id, populate_existing=True).status


def test_real_consumer_completes_a_run(app, queue):
    with app.app_context():
        owner = db.session.get(User, factories.make_user().id)
        version = make_version(owner)
        queue["start_consumer"]()
        run, _ = runs.start_run(owner, version.id, engine="analytic")
        assert run.status == "pending" and run.enqueued_at is not None
        _wait_for(lambda: _status(run.id) == "completed", 60, "the consumer to complete the run")


def test_consumer_killed_mid_run_loses_nothing(app, queue):
    with app.app_context():
        owner = db.session.get(User, factories.make_user().id)
        version = make_version(owner, design=LONG_DESIGN, traffic=LONG_TRAFFIC)
        consumer = queue["start_consumer"]()
        run, _ = runs.start_run(owner, version.id, engine="des")
        _wait_for(lambda: _status(run.id) == "running", 60, "the consumer to start the run")
        consumer.send_signal(signal.SIGKILL)
        consumer.wait(timeout=10)
        time.sleep(0.5)
        assert _status(run.id) == "running"  # stranded: nobody is working on it
        # the periodic reaper (called directly here) finds it once the heartbeat is stale
        counts = _wait_for(
            lambda: runs.reap_stuck_runs()["requeued"], 30, "the reaper to re-enqueue"
        )
        assert counts == 1
        queue["start_consumer"]()
        _wait_for(lambda: _status(run.id) == "completed", 120, "a new consumer to finish the run")
        finished = db.session.get(SimulationRun, run.id, populate_existing=True)
        assert finished.attempts == 2 and finished.result["engine"] == "des"


def test_forged_message_is_rejected():
    """A message not signed with SECRET_KEY is refused before any task code runs."""
    from huey.serializer import SignedSerializer

    from tasks.simulation import run_simulation

    task = run_simulation.s("00000000-0000-0000-0000-000000000000")
    genuine = tasks.huey.serialize_task(task)
    assert tasks.huey.deserialize_task(genuine).args == ("00000000-0000-0000-0000-000000000000",)
    message = tasks.huey._registry.create_message(task)
    forged = SignedSerializer(secret="attacker-guess", salt="sdc-huey").serialize(message)
    with pytest.raises(ValueError, match="(?i)signature"):
        tasks.huey.deserialize_task(forged)
    tampered = (
        genuine.replace(b"00000000-0000", b"11111111-0000")
        if b"00000000-0000" in genuine
        else genuine[:-1] + b"x"
    )
    with pytest.raises(ValueError):
        tasks.huey.deserialize_task(tampered)
