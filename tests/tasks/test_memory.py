"""The heap a job freed goes back to the OS (tasks/memory.py)."""

from __future__ import annotations

import gc
import platform

import psutil
import pytest

from sdc.extensions import db
from tasks import memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_release_free_heap_returns_freed_pages_to_the_os():
    # 200 MB in 2,000-byte blocks (malloc's heap, below its mmap threshold); keep one block in
    # 32, so the freed space is holes glibc cannot give back by shrinking the heap's top.
    blocks = [bytearray(2000) for _ in range(100_000)]
    kept = blocks[::32]
    del blocks
    gc.collect()
    before = psutil.Process().memory_info().rss
    assert memory.release_free_heap() is True
    after = psutil.Process().memory_info().rss
    assert before - after > 100 * 2**20, (before / 2**20, after / 2**20)
    del kept  # alive until the measurement, so the freed space stayed in holes


def test_every_simulation_job_ends_with_a_trim_and_housekeeping_does_not(app, user, monkeypatch):
    from sdc.services import runs
    from tasks.simulation import reap_stuck_jobs
    from tests.services.test_runs import SMALL_DESIGN, TRAFFIC, make_version

    calls = []
    monkeypatch.setattr(memory, "release_free_heap", lambda: calls.append(1) or True)
    with app.app_context():
        owner = db.session.merge(user)
        version = make_version(owner, SMALL_DESIGN, TRAFFIC)
        run, _ = runs.start_run(owner, version.id, engine="analytic")
        db.session.refresh(run)
        assert run.status == "completed"
    assert calls == [1]
    with app.app_context():
        reap_stuck_jobs()  # housekeeping: no trim
    assert calls == [1]
