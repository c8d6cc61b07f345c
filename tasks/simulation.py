"""Simulation jobs and the reaper that keeps them from getting lost."""

from __future__ import annotations

import uuid

from huey import crontab

from tasks import flask_app, huey


@huey.task(retries=2, retry_delay=10, context=False)
def run_simulation(run_id: str) -> str:
    """Simulate run ``run_id`` (ids only; the row is the source of truth; idempotent)."""
    from sdc.services.runs import execute_run

    with flask_app().app_context():
        return execute_run(uuid.UUID(run_id))


@huey.periodic_task(crontab(minute="*"))
def reap_stuck_jobs() -> dict:
    """Every minute: re-enqueue jobs whose worker died or that never reached the queue."""
    from sdc.services.grades import reap_stuck_grades
    from sdc.services.runs import reap_stuck_runs

    with flask_app().app_context():
        return {"runs": reap_stuck_runs(), "grades": reap_stuck_grades()}
