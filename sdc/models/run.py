"""Simulation runs and grade reports: durable job rows, the source of truth for their Huey jobs."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    select,
    text,
)
from sqlalchemy.orm import (
    Mapped,
    aliased,
    defer,
    mapped_column,
    relationship,
    validates,
)

from sdc.extensions import db
from sdc.models.base import created_at, updated_at, uuid_pk
from sdc.models.project import Version
from sdc.models.user import User

JOB_STATES = ("pending", "running", "completed", "failed")
ACTIVE_STATES = ("pending", "running")
# The partial index's predicate, spelled as the admission query spells its filter (PostgreSQL
# uses a partial index only when it can prove the query's WHERE implies the index's).
ACTIVE_SQL = "status IN ('pending', 'running')"


def job_indexes(table: str) -> tuple[Index, Index]:
    """A user's jobs by creation time (the per-minute limit reads the last minute's, and it
    serves every other ``user_id`` lookup, foreign-key cascades included), and a partial index
    of a user's active jobs (the concurrency limit): run start reads a few index entries
    however many jobs the user has finished. Migration 0010 creates both."""
    return (
        Index(f"ix_{table}_user_created", "user_id", "created_at"),
        Index(
            f"ix_{table}_user_active",
            "user_id",
            postgresql_where=text(ACTIVE_SQL),
            sqlite_where=text(ACTIVE_SQL),
        ),
    )


def run_metrics(result: dict | None) -> dict | None:
    """The summary metrics of a run ``result`` (``sdc-result/1``), None without them: what every
    verdict reads of a run, stored beside the result (``SimulationRun.metrics``)."""
    metrics = result.get("metrics") if isinstance(result, dict) else None
    return metrics if isinstance(metrics, dict) else None


def category_scores(report: dict | None) -> list[dict] | None:
    """The category scores of a grade ``report``, ``[{"key", "title", "score"}]`` for each
    category that has a key and a score (None without a report): what the dashboard's progress
    reads of a grade, stored beside the report (``GradeReport.category_scores``)."""
    if not isinstance(report, dict):
        return None
    cats = report.get("categories")
    return [
        {"key": c["key"], "title": c.get("title", c["key"]), "score": float(c["score"])}
        for c in (cats if isinstance(cats, list) else [])
        if isinstance(c, dict) and "key" in c and isinstance(c.get("score"), int | float)
    ]


def newest_job_id(cls, version_id, condition=None):
    """SQL: the id of the newest ``cls`` job (by ``created_at``) of ``version_id`` (a column,
    to correlate with an enclosing query's versions, or a value) that meets ``condition(job)``,
    NULL when none does. One backward probe of ``(version_id, created_at)``, however many jobs
    the version has."""
    job = aliased(cls)  # its own FROM: the enclosing query may select jobs too
    where = [job.version_id == version_id]
    if condition is not None:
        where.append(condition(job))
    return (
        select(job.id)
        .where(*where)
        .order_by(job.created_at.desc())
        .limit(1)
        .correlate_except(job)
        .scalar_subquery()
    )


class SimulationRun(db.Model):
    __tablename__ = "simulation_runs"
    # A version's runs newest first (its newest run: one index probe, however many it has);
    # a user's active and recent runs for the per-user limits (``job_indexes``).
    __table_args__ = (
        Index("ix_simulation_runs_version_created", "version_id", "created_at"),
        *job_indexes("simulation_runs"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    version_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("versions.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    baseline_run_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("simulation_runs.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True, nullable=False)
    engine: Mapped[str] = mapped_column(String(16), default="des", nullable=False)
    engine_version: Mapped[str] = mapped_column(String(32), nullable=False)
    seed: Mapped[int] = mapped_column(Integer, nullable=False)
    # Snapshot of what was simulated: later edits to the version never change this run.
    input_snapshot: Mapped[dict] = mapped_column(JSON, nullable=False)
    input_hash: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    failures: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    result: Mapped[dict | None] = mapped_column(JSON)
    # ``run_metrics(result)``, written with the result (an ORM write of ``result`` sets it; the
    # worker writes both in Core): all a verdict reads, ~0.6 KB where the result is 15-30 KB
    # (migration 0012). None until the run has a result.
    metrics: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    version: Mapped[Version] = relationship()
    user: Mapped[User] = relationship()

    # What the queue and the consumers change after the row is inserted (sdc.services.jobs):
    # the attributes worth reloading once a run is enqueued. Its input never changes.
    JOB_STATE = (
        "status",
        "progress",
        "attempts",
        "error",
        "result",
        "metrics",
        "enqueued_at",
        "started_at",
        "finished_at",
        "updated_at",
    )

    @validates("result")
    def _summarise(self, _key, result):
        self.metrics = run_metrics(result)
        return result

    @classmethod
    def newest_baseline_id(cls, version_id):
        """SQL: the id of the newest baseline run (no injected failure) of ``version_id`` (a
        column or value), NULL when the version has none."""
        return newest_job_id(cls, version_id, lambda run: run.baseline_run_id.is_(None))


@functools.cache
def run_summary_options() -> tuple:
    """Loader options for runs shown by their status and verdict (the run button, the project
    page's versions): the input snapshot and the result stay in the database; the ``metrics``
    column is all a verdict reads. A DES result is 15-30 KB of JSON (its time series), parsed on
    every view of a workspace whose version has run; the input snapshot is a copy of the design.
    Reading ``result`` on such a run still works (one more query). Built once, so a statement
    cached with it is built once too."""
    return (defer(SimulationRun.input_snapshot), defer(SimulationRun.result))


class GradeReport(db.Model):
    __tablename__ = "grade_reports"
    __table_args__ = (
        Index("ix_grade_reports_version_created", "version_id", "created_at"),
        *job_indexes("grade_reports"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    version_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("versions.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True, nullable=False)
    rubric_version: Mapped[str | None] = mapped_column(String(32))
    input_snapshot: Mapped[dict] = mapped_column(JSON, nullable=False)
    input_hash: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    overall_score: Mapped[float | None] = mapped_column(Float)
    report: Mapped[dict | None] = mapped_column(JSON)
    ai_summary: Mapped[dict | None] = mapped_column(JSON)
    # ``category_scores(report)``, kept with the report: the dashboard reads these for up to 200
    # grades, where each whole report is ~28 KB of JSON to parse (migration 0011). An ORM write
    # of ``report`` sets it (``_summarise``); a Core write must pass both.
    category_scores: Mapped[list | None] = mapped_column(JSON)
    ai_provider: Mapped[str | None] = mapped_column(String(40))
    ai_model: Mapped[str | None] = mapped_column(String(120))
    error: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    version: Mapped[Version] = relationship()
    user: Mapped[User] = relationship()

    @validates("report")
    def _summarise(self, _key, report):
        self.category_scores = category_scores(report)
        return report


@functools.cache
def grade_summary_options() -> tuple:
    """Loader options for grades shown by their status and score (the project page's versions,
    the grade status poll): the input snapshot, the report (~28 KB of JSON) and the AI summary
    stay in the database. Reading one still works (one more query). Built once."""
    return (
        defer(GradeReport.input_snapshot),
        defer(GradeReport.report),
        defer(GradeReport.ai_summary),
    )
