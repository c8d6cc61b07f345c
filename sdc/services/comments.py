"""Comments on a version: on one component or on the whole design, with one level of replies.

Anyone who can read the project can comment (policy action ``comment``); only the author edits
or deletes a comment; anyone who can comment resolves and reopens threads. Deleting keeps the
row (``deleted_at``) so replies stay in place; the body is no longer shown. ``@name`` or
``@name@example.com`` mentioning a member (or the owner) notifies them. Bodies are plain text,
at most 5,000 characters, always rendered escaped. Every change writes an audit row in the
same transaction.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from sdc.extensions import db
from sdc.models import Comment, Project, ProjectMember, User, Version, utcnow
from sdc.services import NotFound, ServiceError, audit, notifications, policy
from sdc.services.versions import get_version_for

MAX_BODY = 5000
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9._%+-]+(?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?)")


class InvalidComment(ServiceError):
    status = 422


@dataclass
class Thread:
    comment: Comment
    replies: list[Comment] = field(default_factory=list)


def _body(raw: str) -> str:
    body = (raw or "").replace("\r\n", "\n").strip()
    if not body:
        raise InvalidComment("Write something first.", "body")
    if len(body) > MAX_BODY:
        raise InvalidComment(
            f"A comment can be at most {MAX_BODY:,} characters (this one has {len(body):,}).",
            "body",
        )
    return body


def _audit(action: str, comment: Comment, user: User, **extra) -> None:
    audit.record(
        action,
        "comment",
        comment.id,
        detail={
            "project_id": str(comment.project_id),
            "version_id": str(comment.version_id),
            "component": comment.component_id,
            **extra,
        },
        actor=user,
        in_transaction=True,
    )


def open_counts(version_id: uuid.UUID) -> dict[str | None, int]:
    """Open (unresolved, not deleted) threads per component id; None = the whole design."""
    rows = db.session.execute(
        select(Comment.component_id, func.count())
        .where(Comment.version_id == version_id, *Comment.open_thread())
        .group_by(Comment.component_id)
    ).all()
    return {cid: n for cid, n in rows}


def threads_of(version: Version, component_id: str | None = None, *, all_components=True):
    """Threads of ``version`` (oldest first), each with its replies. With ``all_components``
    false, only threads on ``component_id`` (None: the whole design)."""
    stmt = (
        select(Comment)
        .where(Comment.version_id == version.id)
        .options(joinedload(Comment.author))
        .order_by(Comment.created_at, Comment.id)
    )
    if not all_components:
        stmt = stmt.where(
            Comment.component_id.is_(None)
            if component_id is None
            else Comment.component_id == component_id
        )
    rows = list(db.session.scalars(stmt).unique())
    threads: dict[uuid.UUID, Thread] = {}
    for c in rows:
        if c.parent_id is None:
            threads[c.id] = Thread(c)
    for c in rows:
        if c.parent_id is not None and c.parent_id in threads:
            threads[c.parent_id].replies.append(c)
    # A deleted thread with no live replies has nothing left to show.
    return [
        t
        for t in threads.values()
        if t.comment.deleted_at is None or any(r.deleted_at is None for r in t.replies)
    ]


def mentioned_users(project: Project, body: str, author: User) -> list[User]:
    """Members (and the owner) of ``project`` mentioned in ``body``, never the author."""
    names = {m.lower() for m in MENTION.findall(body)}
    if not names:
        return []
    people = [project.owner] + list(
        db.session.scalars(
            select(User)
            .join(ProjectMember, ProjectMember.user_id == User.id)
            .where(ProjectMember.project_id == project.id)
        )
    )
    by_local: dict[str, list[User]] = {}
    for u in people:
        by_local.setdefault(u.email.split("@", 1)[0].lower(), []).append(u)
    found: dict[uuid.UUID, User] = {}
    for name in names:
        if "@" in name:
            for u in people:
                if u.email.lower() == name:
                    found[u.id] = u
        elif len(by_local.get(name, [])) == 1:  # an ambiguous local part notifies nobody
            found[by_local[name][0].id] = by_local[name][0]
    found.pop(author.id, None)
    return list(found.values())


def _notify_mentions(project: Project, version: Version, comment: Comment, user: User) -> None:
    for target in mentioned_users(project, comment.body, user):
        notifications.notify(
            target.id,
            "mention",
            {
                "project_id": str(project.id),
                "project_title": project.title,
                "version_id": str(version.id),
                "version_number": version.number,
                "comment_id": str(comment.id),
                "component": comment.component_id,
                "by": user.email,
                "excerpt": comment.body[:140],
            },
        )


def add_comment(
    user: User,
    project_id: uuid.UUID,
    version_id: uuid.UUID,
    body: str,
    component_id: str | None = None,
    parent_id: uuid.UUID | None = None,
) -> Comment:
    """A new thread on ``component_id`` (None: the whole design), or a reply to ``parent_id``."""
    version = get_version_for(user, project_id, version_id)
    project = version.project
    policy.require(user, "comment", project)
    body = _body(body)
    if parent_id is not None:
        parent = db.session.scalar(
            select(Comment).where(
                Comment.id == parent_id,
                Comment.version_id == version.id,
                Comment.parent_id.is_(None),
            )
        )
        if parent is None or parent.deleted_at is not None:
            raise InvalidComment("That comment no longer exists.", "parent_id")
        component_id = parent.component_id
    elif component_id:
        ids = {str(c.get("id")) for c in version.design.get("components", [])}
        if component_id not in ids:
            raise InvalidComment(
                f"There is no component {component_id[:64]!r} in this version.", "component"
            )
    comment = Comment(
        project_id=project.id,
        version_id=version.id,
        component_id=component_id or None,
        parent_id=parent_id,
        author_id=user.id,
        body=body,
    )
    db.session.add(comment)
    db.session.flush()
    _notify_mentions(project, version, comment, user)
    _audit(audit.COMMENT_CREATED, comment, user, reply_to=str(parent_id) if parent_id else None)
    db.session.commit()
    return comment


def get_comment_for(
    user: User,
    project_id: uuid.UUID,
    version_id: uuid.UUID,
    comment_id: uuid.UUID,
    action: str = "comment",
) -> Comment:
    """The comment, or NotFound for outsiders; Forbidden for members without ``action``."""
    comment = db.session.scalar(
        select(Comment)
        .join(Project, Project.id == Comment.project_id)
        .where(
            Comment.id == comment_id,
            Comment.project_id == project_id,
            Comment.version_id == version_id,
            Comment.deleted_at.is_(None),
            policy.visible_to(user),
        )
        .options(joinedload(Comment.version).joinedload(Version.project))
    )
    if comment is None:
        raise NotFound("No such comment.")
    policy.require(user, action, comment.version.project, "comment")
    return comment


def _own(comment: Comment, user: User) -> None:
    if comment.author_id != user.id:
        raise policy.Forbidden("Only the author can change or delete a comment.")


def edit_comment(user: User, project_id, version_id, comment_id, body: str) -> Comment:
    comment = get_comment_for(user, project_id, version_id, comment_id)
    _own(comment, user)
    body = _body(body)
    if body == comment.body:
        return comment
    comment.body = body
    comment.edited_at = utcnow()
    _audit(audit.COMMENT_EDITED, comment, user)
    db.session.commit()
    return comment


def delete_comment(user: User, project_id, version_id, comment_id) -> Comment:
    comment = get_comment_for(user, project_id, version_id, comment_id)
    _own(comment, user)
    comment.deleted_at = utcnow()
    _audit(audit.COMMENT_DELETED, comment, user)
    db.session.commit()
    return comment


def set_resolved(user: User, project_id, version_id, comment_id, resolved: bool) -> Comment:
    """Resolve (or reopen) a thread; replies follow their thread."""
    comment = get_comment_for(user, project_id, version_id, comment_id)
    if comment.parent_id is not None:
        raise InvalidComment("Resolve the thread, not a reply.", "comment")
    if (comment.resolved_at is not None) == resolved:
        return comment
    comment.resolved_at = utcnow() if resolved else None
    comment.resolved_by = user.id if resolved else None
    _audit(audit.COMMENT_RESOLVED if resolved else audit.COMMENT_REOPENED, comment, user)
    db.session.commit()
    return comment
