"""Route rate limits read from settings when a request is checked (Flask-Limiter accepts a
callable), so an operator or the load test can change them without code: ``RATELIMIT_RUNS``
for starting simulations (create, re-run, inject) and ``RATELIMIT_GRADES`` for grades."""

from __future__ import annotations

from flask import current_app


def run_limit() -> str:
    return current_app.config["SDC_SETTINGS"].ratelimit_runs


def grade_limit() -> str:
    return current_app.config["SDC_SETTINGS"].ratelimit_grades
