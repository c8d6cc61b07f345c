"""The scenario catalog, upserted from the data files in ``sdc/scenarios/`` by ``sdc seed``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sdc.extensions import db
from sdc.models.base import updated_at, uuid_pk


class Scenario(db.Model):
    __tablename__ = "scenarios"

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(String(64), unique=True, index=True, nullable=False)
    title: Mapped[str] = mapped_column(String(160), nullable=False)
    brief: Mapped[str] = mapped_column(Text, nullable=False)
    difficulty: Mapped[str] = mapped_column(String(16), index=True, nullable=False)
    domain: Mapped[str] = mapped_column(String(40), index=True, nullable=False)
    estimated_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    traffic: Mapped[dict] = mapped_column(JSON, nullable=False)
    slos: Mapped[dict] = mapped_column(JSON, nullable=False)
    requirements: Mapped[list] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = updated_at()
