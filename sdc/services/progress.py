"""A user's progress: recent projects with their latest verdict and score, the score trend
across graded versions, per-category strengths and weaknesses, and activity counts.

``dashboard(user)`` runs a fixed number of queries whatever the amount of data (no N+1):
projects with their newest version (1), their latest runs and grades (1), the grade history
(1), counts (1) and, when suggestions are due, the catalog (1). Scores are 0-100; the trend is oldest first.
"""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict

from sqlalchemy import (
    JSON,
    Float,
    String,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)

from sdc.core.catalog import DIFFICULTIES
from sdc.extensions import db
from sdc.models import GradeReport, Project, Scenario, SimulationRun, User, Version
from sdc.models.base import as_utc
from sdc.models.run import newest_job_id
from sdc.services.jobs import NEWEST
from sdc.services.projects import recent_projects
from sdc.services.runs import verdict

RECENT_PROJECTS = 8
TREND_MAX_GRADES = 200
WEAK_BELOW = 70.0  # a category scoring under this is worth practising
RECENT_WINDOW = 3  # a category's current level: the mean of its last few grades

# The rubric categories (sdc.core.grading.rubric) and the requirement checks that exercise them:
# a scenario whose good answer needs these checks is the practice suggested for that category.
CATEGORY_CHECKS = {
    "requirements-estimation": ("notes-estimate", "notes-sections"),
    "high-level-architecture": ("entry-router", "read-reaches", "write-reaches"),
    "data-model-access-patterns": ("read-replicas", "write-reaches", "read-cache"),
    "scalability": ("read-cache", "read-replicas", "surge"),
    "reliability-fault-tolerance": ("multi-az", "survives-az-down", "no-spof"),
    "bottleneck-identification": ("latency-slo", "surge", "read-replicas"),
    "trade-off-reasoning": ("async-write", "multi-az", "read-cache"),
}


def _newest_of_each_version(model, newest_id, *columns):
    """For every version of the projects in ``:project_ids``, the ``model`` row ``newest_id``
    names (a ``newest_job_id`` of ``Version.id``), with project id, version number and
    ``created_at``.

    Each version's newest is one backward probe of ``(version_id, created_at)``, so the
    statement reads about one row per version however many jobs a project has run (ranking
    every job of the projects read them all: 2,000 rows for a project with 2,000 runs).
    """
    ids = (
        select(newest_id)
        .where(Version.project_id.in_(bindparam("project_ids", expanding=True)))
        .correlate(None)  # its own versions, not the outer query's
    )
    return (
        select(
            Version.project_id.label("project_id"),
            Version.number.label("version_number"),
            model.id.label("job_id"),
            model.created_at.label("created_at"),
            *columns,
        )
        .join(Version, Version.id == model.version_id)
        .where(model.id.in_(ids))
    )


@functools.cache
def _latest_per_version_stmt():
    """The newest baseline run and the newest completed grade of each version of the projects
    in ``:project_ids``, in one statement (the dashboard is a hot page): rows with ``kind``
    ("run" or "grade"), project_id, version_number, job_id, created_at, status and metrics
    (runs), score (grades); the columns a kind does not have are NULL.

    Built once and reused: constructing the subqueries costs more Python than running them,
    and a reused statement keeps its SQL cache key.
    """
    runs = _newest_of_each_version(
        SimulationRun,
        newest_job_id(SimulationRun, Version.id, NEWEST["baseline"]),
        literal_column("'run'").label("kind"),
        SimulationRun.status.label("status"),
        SimulationRun.metrics.label("metrics"),
        cast(null(), Float).label("score"),
    )
    grades = _newest_of_each_version(
        GradeReport,
        newest_job_id(GradeReport, Version.id, NEWEST["completed"]),
        literal_column("'grade'").label("kind"),
        cast(null(), String).label("status"),
        cast(null(), JSON).label("metrics"),
        GradeReport.overall_score.label("score"),
    )
    return union_all(runs, grades)


def _latest_per_project(project_ids) -> tuple[dict, dict]:
    """``({project_id: run row}, {project_id: grade row})``, the newest of each per project:
    the newest of its versions' newest (ties in ``created_at`` go to the higher version)."""
    latest: dict[str, dict] = {"run": {}, "grade": {}}
    if project_ids:
        rows = db.session.execute(_latest_per_version_stmt(), {"project_ids": project_ids})
        for r in rows.mappings():
            newest = latest[r["kind"]]
            held = newest.get(r["project_id"])
            key = (as_utc(r["created_at"]), r["version_number"])
            if held is None or key > (as_utc(held["created_at"]), held["version_number"]):
                newest[r["project_id"]] = r
    return latest["run"], latest["grade"]


def recent_with_outcomes(user: User, limit: int = RECENT_PROJECTS) -> list[dict]:
    """Recent projects, each with the verdict of its latest run (on any of its versions) and
    the score of its latest completed grade (None when there is none)."""
    items = recent_projects(user, limit)
    project_ids = [i["project"].id for i in items]
    runs, grades = _latest_per_project(project_ids)
    for item in items:
        pid = item["project"].id
        run, grade = runs.get(pid), grades.get(pid)
        item["run"] = None
        if run is not None:
            result = {"metrics": run["metrics"]} if run["metrics"] else None
            item["run"] = {
                "id": run["job_id"],
                "status": run["status"],
                "version_number": run["version_number"],
                "verdict": verdict(result, item["project"].scenario.slos)["overall"]
                if run["status"] == "completed"
                else None,
            }
        item["grade"] = (
            {
                "id": grade["job_id"],
                "score": grade["score"],
                "version_number": grade["version_number"],
            }
            if grade is not None
            else None
        )
    return items


@functools.cache
def _grade_history_stmt():
    """Completed grades of projects owned by ``:user_id``, newest first, ``:limit`` of them."""
    return (
        select(
            GradeReport.id,
            GradeReport.version_id,
            GradeReport.overall_score,
            GradeReport.finished_at,
            GradeReport.created_at,
            GradeReport.category_scores,
            Version.number,
            Project.id.label("project_id"),
            Project.title,
        )
        .join(Version, Version.id == GradeReport.version_id)
        .join(Project, Project.id == Version.project_id)
        # The user's own practice: projects shared with them do not move their trend.
        .where(Project.owner_id == bindparam("user_id"), GradeReport.status == "completed")
        .order_by(GradeReport.created_at.desc())
        .limit(bindparam("limit"))
    )


def grade_history(user: User, limit: int = TREND_MAX_GRADES) -> list[dict]:
    """Completed grades of the user's projects, oldest first (the newest ``limit``), with their
    category scores (``GradeReport.category_scores``: the reports themselves are large)."""
    rows = db.session.execute(_grade_history_stmt(), {"user_id": user.id, "limit": limit}).all()
    out = []
    for r in reversed(rows):
        out.append(
            {
                "grade_id": r.id,
                "version_id": r.version_id,
                "version_number": r.number,
                "project_id": r.project_id,
                "project_title": r.title,
                "score": float(r.overall_score) if r.overall_score is not None else None,
                "at": as_utc(r.finished_at or r.created_at),
                "categories": {
                    c["key"]: {"title": c["title"], "score": c["score"]}
                    for c in r.category_scores or []
                },
            }
        )
    return out


def trend(history: list[dict]) -> dict:
    """One point per graded version (its latest grade), in the order they were graded.

    Returns ``{"points": [...], "first", "last", "best", "change"}``; ``change`` is last minus
    first (None with fewer than two points).
    """
    latest: dict[uuid.UUID, dict] = {}
    for h in history:  # oldest first: a regrade replaces the version's earlier grade
        if h["score"] is not None:
            latest.pop(h["version_id"], None)
            latest[h["version_id"]] = h
    points = [
        {
            "label": f"{h['project_title']} v{h['version_number']}",
            "score": h["score"],
            "grade_id": h["grade_id"],
            "at": h["at"],
        }
        for h in sorted(latest.values(), key=lambda h: h["at"])
    ]
    if not points:
        return {"points": [], "first": None, "last": None, "best": None, "change": None}
    first, last = points[0]["score"], points[-1]["score"]
    return {
        "points": points,
        "first": first,
        "last": last,
        "best": max(p["score"] for p in points),
        "change": round(last - first, 1) if len(points) > 1 else None,
    }


def category_progress(history: list[dict]) -> list[dict]:
    """Each rubric category across the user's grades: the current level (mean of the last
    ``RECENT_WINDOW`` grades), the first and the latest score, sorted weakest first."""
    series: dict[str, list[float]] = defaultdict(list)
    titles: dict[str, str] = {}
    for h in history:
        for key, cat in h["categories"].items():
            series[key].append(cat["score"])
            titles[key] = cat["title"]
    out = []
    for key, scores in series.items():
        recent = scores[-RECENT_WINDOW:]
        level = round(sum(recent) / len(recent), 1)
        out.append(
            {
                "key": key,
                "title": titles[key],
                "level": level,
                "first": scores[0],
                "latest": scores[-1],
                "change": round(scores[-1] - scores[0], 1) if len(scores) > 1 else None,
                "grades": len(scores),
            }
        )
    out.sort(key=lambda c: (c["level"], c["key"]))
    weak = [c for c in out if c["level"] < WEAK_BELOW][:2]
    for c in out:
        c["weak"] = c in weak
    return out


def suggest_scenario(
    category_key: str, scenarios: list[Scenario], *, level: str | None = None, tried=()
) -> Scenario | None:
    """The scenario whose requirements exercise ``category_key`` most, preferring the user's
    level (or the easiest) and scenarios not tried yet."""
    wanted = CATEGORY_CHECKS.get(category_key, ())
    if not wanted or not scenarios:
        return None
    order = {d: i for i, d in enumerate(DIFFICULTIES)}
    target = order.get(level, 0)

    def rank(s: Scenario):
        checks = [r.get("check", {}).get("type") for r in s.requirements or []]
        hits = sum(checks.count(w) for w in wanted)
        return (-hits, s.slug in tried, abs(order.get(s.difficulty, 0) - target), s.title)

    best = min(scenarios, key=rank)
    return best


@functools.cache
def _counts_stmt():
    """Runs, failure drills and completed grades started by ``:user_id``, one row; the two run
    counts come from one pass over the user's runs (two subqueries read them twice)."""
    user_runs = (
        select(
            func.count().filter(SimulationRun.baseline_run_id.is_(None)).label("runs"),
            func.count().filter(SimulationRun.baseline_run_id.is_not(None)).label("drills"),
        )
        .where(SimulationRun.user_id == bindparam("user_id"))
        .subquery()
    )
    completed_grades = (
        select(func.count())
        .select_from(GradeReport)
        .where(GradeReport.user_id == bindparam("user_id"), GradeReport.status == "completed")
        .scalar_subquery()
    )
    return select(user_runs.c.runs, user_runs.c.drills, completed_grades)


def counts(user: User) -> dict:
    """Runs, failure drills and completed grades the user has started (one query)."""
    row = db.session.execute(_counts_stmt(), {"user_id": user.id}).one()
    return {"runs": row[0], "failure_drills": row[1], "grades": row[2]}


def dashboard(user: User) -> dict:
    """Everything the dashboard shows, in a fixed number of queries."""
    projects = recent_with_outcomes(user)
    history = grade_history(user)
    categories = category_progress(history)
    # The catalog is needed only for suggestions (weak categories) and a new user's picks.
    needed = not projects or any(c["weak"] for c in categories)
    scenarios = list(db.session.scalars(select(Scenario))) if needed else []
    level = (user.profile or {}).get("level")
    tried = {p["project"].scenario.slug for p in projects}
    for c in categories:
        c["suggestion"] = (
            suggest_scenario(c["key"], scenarios, level=level, tried=tried) if c["weak"] else None
        )
    return {
        "projects": projects,
        "trend": trend(history),
        "categories": categories,
        "counts": counts(user),
        "scenarios": scenarios,
    }
