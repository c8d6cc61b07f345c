"""Service status: worker heartbeats and the incident banner shown on ``/status``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from sdc.extensions import db
from sdc.models.base import created_at, updated_at, utcnow
from sdc.models.ops import BigId


class WorkerHeartbeat(db.Model):
    """One row per job consumer process, rewritten every few seconds while it runs."""

    __tablename__ = "worker_heartbeats"

    # "<host>:<pid>": unique per live process; a restarted consumer gets a new row.
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(160), nullable=False)
    pid: Mapped[int] = mapped_column(Integer, nullable=False)
    queue_backend: Mapped[str] = mapped_column(String(40), nullable=False)
    workers: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    started_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )
    last_seen: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True, nullable=False
    )
    # Set by a clean shutdown, so the page can say "stopped" rather than "not responding".
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Incident(db.Model):
    """An operator's message on the status page (the site banner); at most one is active."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    severity: Mapped[str] = mapped_column(String(16), default="warning", nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True, nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
