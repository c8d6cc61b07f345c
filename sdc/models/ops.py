"""Operational records: request telemetry, job telemetry and the append-only audit log.

Telemetry rows are written in bulk by an in-process buffer and purged after
``TELEMETRY_RETENTION_DAYS``; audit rows are never sampled, never updated and purged only after
``AUDIT_RETENTION_DAYS``. Ids are big integers: these tables are append-heavy and never
appear in URLs.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from sdc.extensions import db
from sdc.models.base import utcnow

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class RequestTelemetry(db.Model):
    __tablename__ = "request_telemetry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True, nullable=False
    )
    request_id: Mapped[str] = mapped_column(String(128), nullable=False)
    method: Mapped[str] = mapped_column(String(10), nullable=False)
    route: Mapped[str] = mapped_column(String(200), index=True, nullable=False)
    status: Mapped[int] = mapped_column(Integer, index=True, nullable=False)
    duration_ms: Mapped[float] = mapped_column(Float, nullable=False)
    response_bytes: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    htmx: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


class AuditLog(db.Model):
    __tablename__ = "audit_logs"
    __table_args__ = (
        # /admin/audit?status=N: the count, and the newest-first page, of one status.
        Index("ix_audit_logs_status_time", "status", "time"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True, nullable=False
    )
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    actor_email: Mapped[str | None] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(80), index=True, nullable=False)
    resource_type: Mapped[str | None] = mapped_column(String(40), index=True)
    resource_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[int | None] = mapped_column(Integer)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    request_id: Mapped[str | None] = mapped_column(String(128), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)


# /admin/audit?user=: a fragment anywhere in the actor's email (LIKE '%x%'), which no btree
# can serve. PostgreSQL gets a trigram index (pg_trgm, migration 0008); SQLite has none.
Index(
    "ix_audit_logs_actor_email_trgm",
    func.lower(AuditLog.actor_email).label("actor_email_lower"),
    postgresql_using="gin",
    postgresql_ops={"actor_email_lower": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")


class JobTelemetry(db.Model):
    __tablename__ = "job_telemetry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True, nullable=False
    )
    queue: Mapped[str] = mapped_column(String(40), nullable=False)
    job_type: Mapped[str] = mapped_column(String(60), index=True, nullable=False)
    job_id: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    event: Mapped[str] = mapped_column(String(20), index=True, nullable=False)
    attempt: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    wait_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
