"""Account settings: password change, API token listing and account deletion."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash

from sdc.extensions import db
from sdc.models import ApiToken, Project, User
from sdc.services import ServiceError
from sdc.services.accounts import (
    clear_login_throttle,
    hash_password,
    normalise_email,
    password_problem,
)


def _audit(action: str, user: User, detail: dict, *, in_transaction: bool = False) -> None:
    try:
        from sdc.services import audit
    except ImportError:  # the operations issue's audit service has not landed yet
        return
    audit.record(action, "user", user.id, detail=detail, actor=user, in_transaction=in_transaction)


def change_password(user: User, current: str, new: str) -> None:
    """Check the current password and the policy, store the new hash and end every session
    (the caller signs the current one in again). Raises ServiceError(field=...)."""
    if not current or not check_password_hash(user.password_hash, current):
        raise ServiceError("That is not your current password.", field="current_password")
    if problem := password_problem(new, user.email):
        raise ServiceError(problem, field="new_password")
    if check_password_hash(user.password_hash, new):
        raise ServiceError(
            "Choose a password different from the current one.", field="new_password"
        )
    user.password_hash = hash_password(new)
    user.session_version += 1
    clear_login_throttle(user)  # a password change is the owner's way out of a hard stop
    db.session.commit()
    _audit("auth.password_changed", user, {"sessions_ended": True})


def tokens_of(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
        )
    )


def delete_account(user: User, confirm_email: str) -> None:
    """Delete the account and everything it owns (projects with their versions, runs, grades,
    reports and share links; tokens). The database cascades from ``projects`` and ``users``.
    The typed email must match; the audit row keeps who was deleted."""
    if normalise_email(confirm_email or "") != user.email:
        raise ServiceError(
            "Type your email address exactly as shown to confirm.", field="confirm_email"
        )
    user_id = user.id
    projects = db.session.scalar(
        select(func.count()).select_from(Project).where(Project.owner_id == user_id)
    )
    # Written in the same transaction: the row exists if and only if the account is gone.
    _audit(
        "account.deleted", user, {"email": user.email, "projects": projects}, in_transaction=True
    )
    db.session.execute(delete(Project).where(Project.owner_id == user_id))
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
    db.session.execute(delete(User).where(User.id == user_id))
    db.session.commit()
    db.session.expunge_all()
