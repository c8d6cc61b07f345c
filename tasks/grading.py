"""Grading jobs (the reaper in tasks/simulation.py covers them too)."""

from __future__ import annotations

import uuid

from tasks import flask_app, huey


@huey.task(retries=2, retry_delay=10, context=False)
def run_grade(grade_id: str) -> str:
    """Grade report ``grade_id`` (ids only; idempotent)."""
    from sdc.services.grades import execute_grade

    with flask_app().app_context():
        return execute_grade(uuid.UUID(grade_id))
