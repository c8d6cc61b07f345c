"""In-app notifications: mentions in comments, accepted invites. Listed newest first.

``users.unread_notifications`` mirrors the number of unread rows (incremented with each new
notification in the same transaction, recounted when some are marked read), so the nav badge
on every page needs no query of its own."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update

from sdc.extensions import db
from sdc.models import Notification, User, utcnow

LIST_LIMIT = 50


def notify(user_id: uuid.UUID, kind: str, payload: dict) -> Notification:
    """Add a notification for ``user_id`` to the caller's transaction (commits with it)."""
    row = Notification(user_id=user_id, kind=kind, payload=payload)
    db.session.add(row)
    db.session.execute(
        update(User)
        .where(User.id == user_id)
        .values(unread_notifications=User.unread_notifications + 1)
        .execution_options(synchronize_session=False)
    )
    return row


def unread_count(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def list_for(user: User, limit: int = LIST_LIMIT) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc())
            .limit(limit)
        )
    )


def mark_read(user: User, notification_id: uuid.UUID | None = None) -> int:
    """Mark one (or, without an id, every) unread notification of ``user`` read."""
    stmt = update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    count = db.session.execute(
        stmt.values(read_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount
    left = (
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(unread_notifications=left.scalar_subquery())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return count
