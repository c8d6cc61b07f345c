"""Undo/redo snapshots of a version (design and traffic), one stack row per step."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from sdc.extensions import db
from sdc.models.base import created_at

UNDO = "undo"
REDO = "redo"


class VersionHistory(db.Model):
    """A state of a version before (``undo``) or after (``redo``) an edit.

    Undo pops the newest ``undo`` row and pushes the current state as ``redo``; a new edit
    clears the ``redo`` stack. Notes are not part of history (the text area has its own undo).
    """

    __tablename__ = "version_history"
    __table_args__ = (Index("ix_version_history_version_stack", "version_id", "stack", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("versions.id", ondelete="CASCADE"), nullable=False
    )
    stack: Mapped[str] = mapped_column(String(8), nullable=False)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    design: Mapped[dict] = mapped_column(JSON, nullable=False)
    traffic: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = created_at()
