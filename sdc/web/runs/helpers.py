"""Jinja globals for pages of other blueprints that show runs (workspace, traffic, lineage).

``latest_run_of`` answers from one query per request: the first call loads the latest run of
every version passed as ``siblings`` (e.g. all versions of the project), later calls hit ``g``.
"""

from __future__ import annotations

from flask import Flask, g

from sdc.services import runs as run_service


def latest_run_of(version, siblings=None):
    cache = g.setdefault("_latest_runs", {})
    if version.id not in cache:
        ids = [v.id for v in siblings] if siblings else [version.id]
        if version.id not in ids:
            ids.append(version.id)
        found = run_service.latest_runs(ids)
        for vid in ids:
            cache[vid] = found.get(vid)
    return cache[version.id]


def remember_latest_run(version, run) -> None:
    """Seed ``latest_run_of`` with a run the view already loaded (None: the version has none)."""
    g.setdefault("_latest_runs", {})[version.id] = run


def verdict_of(run, slos):
    """The verdict of a completed run (None for any other), from its ``metrics`` column alone:
    a run loaded as a summary (``run_summary_options``) never reads its result. A run without
    metrics is judged "unknown", as ``run_service.verdict`` judges a result without them."""
    if run is None or run.status != "completed":
        return None
    return run_service.verdict({"metrics": run.metrics} if run.metrics else None, slos or {})


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(latest_run_of=latest_run_of, verdict_of=verdict_of)
