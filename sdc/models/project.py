"""Projects and their versions (the design document, traffic profile and notes)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sdc.extensions import db
from sdc.models.base import created_at, updated_at, uuid_pk
from sdc.models.scenario import Scenario
from sdc.models.user import User


class Project(db.Model):
    __tablename__ = "projects"

    id: Mapped[uuid.UUID] = uuid_pk()
    owner_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    scenario_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("scenarios.id"), index=True)
    title: Mapped[str] = mapped_column(String(160), nullable=False)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    owner: Mapped[User] = relationship()
    scenario: Mapped[Scenario] = relationship()
    versions: Mapped[list[Version]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="Version.number"
    )


class Version(db.Model):
    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("project_id", "number", name="uq_versions_project_number"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("versions.id", ondelete="SET NULL")
    )
    # The sdc-design/1 document without traffic and notes (those have their own columns).
    design: Mapped[dict] = mapped_column(JSON, nullable=False)
    traffic: Mapped[dict] = mapped_column(JSON, nullable=False)
    notes: Mapped[str] = mapped_column(Text, default="", nullable=False)
    # Optimistic lock: every mutation carries the revision it was loaded at.
    revision: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    # Who made the latest change (the "changed elsewhere" notice names them).
    last_editor_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    project: Mapped[Project] = relationship(back_populates="versions")
    parent: Mapped[Version | None] = relationship(remote_side="Version.id")
    last_editor: Mapped[User | None] = relationship(foreign_keys=[last_editor_id])

    def document(self) -> dict:
        """The full sdc-design/1 document: design plus traffic and notes."""
        doc = dict(self.design)
        doc["traffic"] = dict(self.traffic)
        if self.notes:
            doc["notes"] = self.notes
        return doc
