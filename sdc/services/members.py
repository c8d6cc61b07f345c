"""Project members and email invites.

An invite is bound to one email address and a role (editor or viewer). Its token (32 random
bytes, 256 bits) is shown once, in the link ``/invites/<token>``; only its SHA-256 is stored.
It can be accepted once, before it expires, unless revoked, and only by someone signed in
with that exact address. Every membership, invite and role change writes an audit row in the
same transaction as the change.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import joinedload

from sdc.extensions import db
from sdc.models import Invite, Presence, Project, ProjectMember, User, Version, utcnow
from sdc.models.base import as_utc
from sdc.services import Conflict, NotFound, ServiceError, audit, notifications, policy
from sdc.services.accounts import email_problem, normalise_email
from sdc.services.projects import get_project_for

INVITE_TTL = timedelta(days=7)
MAX_PENDING_INVITES = 50  # per project: a mailbomb guard


class InviteRefused(ServiceError):
    """The invite cannot be used (wrong account, expired, revoked, already used)."""

    status = 403


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _audit(action: str, project_id, detail: dict, actor=None) -> None:
    audit.record(
        action,
        "project",
        project_id,
        detail=detail,
        actor=actor,
        in_transaction=True,
    )


def _check_role(role: str) -> str:
    role = (role or "").strip().lower()
    if role not in policy.MEMBER_ROLES:
        raise ServiceError("Choose a role: editor or viewer.", "role")
    return role


def members_of(project: Project) -> list[ProjectMember]:
    return list(
        db.session.scalars(
            select(ProjectMember)
            .where(ProjectMember.project_id == project.id)
            .options(joinedload(ProjectMember.user))
            .order_by(ProjectMember.added_at)
        )
    )


def invites_of(project: Project) -> list[Invite]:
    """Invites not yet accepted (pending, expired or revoked), newest first."""
    return list(
        db.session.scalars(
            select(Invite)
            .where(Invite.project_id == project.id, Invite.accepted_at.is_(None))
            .order_by(Invite.created_at.desc())
            .limit(100)
        )
    )


def create_invite(
    user: User, project_id: uuid.UUID, email: str, role: str, ttl: timedelta = INVITE_TTL
) -> tuple[Invite, str]:
    """Invite ``email`` as ``role``; returns the invite and its token (shown once).

    A pending invite to the same address is revoked and replaced (re-sending an invite).
    """
    project = get_project_for(user, project_id, "manage_members")
    email = normalise_email(email or "")
    if problem := email_problem(email):
        raise ServiceError(problem, "email")
    role = _check_role(role)
    if email == normalise_email(project.owner.email):
        raise ServiceError("That is the owner's address: the owner already has access.", "email")
    member = db.session.scalar(
        select(ProjectMember)
        .join(User, User.id == ProjectMember.user_id)
        .where(ProjectMember.project_id == project.id, func.lower(User.email) == email)
    )
    if member is not None:
        raise ServiceError(
            f"{email} is already a {member.role} here; change their role below instead.", "email"
        )
    now = utcnow()
    pending = db.session.scalars(
        select(Invite).where(
            Invite.project_id == project.id,
            Invite.accepted_at.is_(None),
            Invite.revoked_at.is_(None),
            Invite.expires_at > now,
        )
    ).all()
    if len(pending) >= MAX_PENDING_INVITES:
        raise ServiceError("Too many pending invites: revoke some first.", "email")
    for old in pending:
        if old.email == email:
            old.revoked_at = now
    token = secrets.token_urlsafe(32)
    invite = Invite(
        project_id=project.id,
        email=email,
        role=role,
        token_hash=token_hash(token),
        invited_by=user.id,
        expires_at=now + ttl,
    )
    db.session.add(invite)
    db.session.flush()
    _audit(
        audit.INVITE_CREATED,
        project.id,
        {"invite_id": str(invite.id), "email": email, "role": role},
        actor=user,
    )
    db.session.commit()
    return invite, token


def revoke_invite(user: User, project_id: uuid.UUID, invite_id: uuid.UUID) -> Invite:
    project = get_project_for(user, project_id, "manage_members")
    invite = db.session.scalar(
        select(Invite).where(Invite.id == invite_id, Invite.project_id == project.id)
    )
    if invite is None:
        raise NotFound("No such invite.")
    if invite.state != "pending":
        raise Conflict(f"This invite is already {invite.state}.")
    invite.revoked_at = utcnow()
    _audit(
        audit.INVITE_REVOKED,
        project.id,
        {"invite_id": str(invite.id), "email": invite.email, "role": invite.role},
        actor=user,
    )
    db.session.commit()
    return invite


def invite_for_token(token: str) -> Invite:
    """The invite whose link is ``token`` (in any state), or NotFound."""
    if not token or len(token) > 100:
        raise NotFound("No such invite.")
    invite = db.session.scalar(
        select(Invite)
        .where(Invite.token_hash == token_hash(token))
        .options(joinedload(Invite.project).joinedload(Project.owner))
    )
    if invite is None:
        raise NotFound("No such invite.")
    return invite


def refusal(invite: Invite, user: User | None) -> str | None:
    """Why ``user`` cannot accept ``invite`` now (a sentence to show), or None if they can."""
    state = invite.state
    if state == "accepted":
        return "This invite has already been used. Ask the owner for a new one if you need it."
    if state == "revoked":
        return "This invite was withdrawn by the project's owner."
    if state == "expired":
        return "This invite has expired. Ask the project's owner to send a new one."
    if user is not None and getattr(user, "is_authenticated", False):
        if normalise_email(user.email) != invite.email:
            return (
                f"This invite was sent to {invite.email}, but you are signed in as "
                f"{user.email}. Sign out, then sign in or sign up with {invite.email}."
            )
    return None


def accept_invite(user: User, token: str) -> ProjectMember:
    """Make ``user`` a member with the invite's role. Single use, even under a race: the
    invite is claimed by a conditional UPDATE before the membership is written."""
    invite = invite_for_token(token)
    if reason := refusal(invite, user):
        raise InviteRefused(reason)
    project = invite.project
    if policy.is_owner(user, project):
        raise InviteRefused("You own this project already.")
    now = utcnow()
    claimed = db.session.execute(
        update(Invite)
        .where(
            Invite.id == invite.id,
            Invite.accepted_at.is_(None),
            Invite.revoked_at.is_(None),
            Invite.expires_at > now,
        )
        .values(accepted_at=now, accepted_by=user.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        raise InviteRefused("This invite has already been used or is no longer valid.")
    member = db.session.scalar(
        select(ProjectMember).where(
            ProjectMember.project_id == project.id, ProjectMember.user_id == user.id
        )
    )
    if member is None:
        member = ProjectMember(project_id=project.id, user_id=user.id, role=invite.role)
        db.session.add(member)
    else:
        member.role = invite.role
    detail = {"invite_id": str(invite.id), "email": user.email, "role": invite.role}
    _audit(audit.INVITE_ACCEPTED, project.id, detail, actor=user)
    _audit(audit.MEMBER_ADDED, project.id, {**detail, "user_id": str(user.id)}, actor=user)
    notifications.notify(
        project.owner_id,
        "invite_accepted",
        {
            "project_id": str(project.id),
            "project_title": project.title,
            "by": user.email,
            "role": invite.role,
        },
    )
    db.session.commit()
    return member


def _member(project: Project, member_user_id: uuid.UUID) -> ProjectMember:
    member = db.session.scalar(
        select(ProjectMember)
        .where(ProjectMember.project_id == project.id, ProjectMember.user_id == member_user_id)
        .options(joinedload(ProjectMember.user))
    )
    if member is None:
        raise NotFound("No such member.")
    return member


def change_role(
    user: User, project_id: uuid.UUID, member_user_id: uuid.UUID, role: str
) -> ProjectMember:
    project = get_project_for(user, project_id, "manage_members")
    role = _check_role(role)
    member = _member(project, member_user_id)
    if member.role == role:
        return member
    before = member.role
    member.role = role
    _audit(
        audit.MEMBER_ROLE_CHANGED,
        project.id,
        {"user_id": str(member.user_id), "email": member.user.email, "from": before, "to": role},
        actor=user,
    )
    db.session.commit()
    return member


def _end_membership(project: Project, member: ProjectMember) -> None:
    version_ids = select(Version.id).where(Version.project_id == project.id)
    db.session.execute(
        delete(Presence).where(
            Presence.user_id == member.user_id, Presence.version_id.in_(version_ids)
        )
    )
    db.session.delete(member)


def remove_member(user: User, project_id: uuid.UUID, member_user_id: uuid.UUID) -> None:
    """End the member's access at once (their next request gets 404)."""
    project = get_project_for(user, project_id, "manage_members")
    member = _member(project, member_user_id)
    detail = {"user_id": str(member.user_id), "email": member.user.email, "role": member.role}
    _end_membership(project, member)
    _audit(audit.MEMBER_REMOVED, project.id, detail, actor=user)
    db.session.commit()


def leave(user: User, project_id: uuid.UUID) -> None:
    """A member leaves the project. The owner cannot (policy: Forbidden, 403): a project
    always has its one owner."""
    project = get_project_for(user, project_id, "leave")
    member = _member(project, user.id)
    detail = {"user_id": str(user.id), "email": user.email, "role": member.role}
    _end_membership(project, member)
    _audit(audit.MEMBER_LEFT, project.id, detail, actor=user)
    db.session.commit()


def shared_with(user: User, limit: int = 50) -> list[dict]:
    """Projects shared with ``user``: ``{"project", "role", "owner_email", "last_activity",
    "latest_version_id", "latest_number"}``, most recently active first. Two queries."""
    rows = db.session.execute(
        select(Project, ProjectMember.role)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(ProjectMember.user_id == user.id)
        .options(joinedload(Project.owner), joinedload(Project.scenario))
        .order_by(Project.updated_at.desc())
        .limit(limit)
    ).all()
    if not rows:
        return []
    ids = [p.id for p, _ in rows]
    latest = {}
    for v_pid, v_id, v_num in db.session.execute(
        select(Version.project_id, Version.id, Version.number)
        .where(Version.project_id.in_(ids))
        .order_by(Version.number)
    ):
        latest[v_pid] = (v_id, v_num)
    return [
        {
            "project": p,
            "role": role,
            "owner_email": p.owner.email,
            "last_activity": as_utc(p.updated_at),
            "latest_version_id": latest.get(p.id, (None, None))[0],
            "latest_number": latest.get(p.id, (None, None))[1],
        }
        for p, role in rows
    ]


def pending_invites_for(user: User) -> list[Invite]:
    """Live invites addressed to ``user``'s email (shown on the dashboard)."""
    return list(
        db.session.scalars(
            select(Invite)
            .where(
                Invite.email == normalise_email(user.email),
                Invite.accepted_at.is_(None),
                Invite.revoked_at.is_(None),
                Invite.expires_at > utcnow(),
            )
            .options(joinedload(Invite.project).joinedload(Project.owner))
            .order_by(Invite.created_at.desc())
            .limit(20)
        )
    )
