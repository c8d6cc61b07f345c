"""Who else has a version open: a heartbeat upserts (version, user, last_seen); anyone not
seen for ``TIMEOUT`` is gone. Stale rows are deleted lazily on each heartbeat."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload

from sdc.extensions import db
from sdc.models import Presence, User, Version, utcnow
from sdc.services.versions import get_version_for

HEARTBEAT_SECONDS = 5
TIMEOUT = timedelta(seconds=20)


def heartbeat(user: User, project_id: uuid.UUID, version_id: uuid.UUID) -> Version:
    """Record that ``user`` has the version open now (NotFound if they may not see it).

    Best effort: a heartbeat that loses a race is simply skipped (the next one lands).
    """
    version = get_version_for(user, project_id, version_id)
    version_pk, user_pk = version.id, user.id
    # End the read transaction first: on SQLite a transaction that has read and then writes
    # cannot wait for the write lock (SQLITE_BUSY at once); one that starts by writing can.
    db.session.commit()
    now = utcnow()
    try:
        updated = db.session.execute(
            update(Presence)
            .where(Presence.version_id == version_pk, Presence.user_id == user_pk)
            .values(last_seen=now)
        ).rowcount
        if not updated:
            db.session.add(Presence(version_id=version_pk, user_id=user_pk, last_seen=now))
        db.session.execute(delete(Presence).where(Presence.last_seen < now - TIMEOUT))
        db.session.commit()
    except (IntegrityError, OperationalError):
        # Two tabs of one user inserting the same row, or a busy database: harmless.
        db.session.rollback()
    return db.session.get(Version, version_pk) or version


def present(version_id: uuid.UUID, exclude: User | None = None) -> list[User]:
    """Users seen on the version within ``TIMEOUT``, by email."""
    stmt = (
        select(Presence)
        .where(Presence.version_id == version_id, Presence.last_seen >= utcnow() - TIMEOUT)
        .options(joinedload(Presence.user))
    )
    if exclude is not None:
        stmt = stmt.where(Presence.user_id != exclude.id)
    return sorted((p.user for p in db.session.scalars(stmt)), key=lambda u: u.email)


def leave(user: User, version_id: uuid.UUID) -> None:
    db.session.execute(
        delete(Presence).where(Presence.version_id == version_id, Presence.user_id == user.id)
    )
    db.session.commit()
