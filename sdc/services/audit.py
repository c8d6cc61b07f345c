"""The append-only audit log: who did what to which resource, with what outcome.

Two kinds of rows share ``audit_logs``:

- generic rows, one per state-changing request, written by ``sdc.web.hooks`` (action
  ``"<METHOD> <endpoint>"``, e.g. ``"DELETE workspace.remove_component"``);
- semantic rows, written by services where the meaning is known (action names below).

Audit rows are never sampled. Inside a request they are collected and written at the end of
that request on a dedicated connection, after the response status is known, so a business
transaction that rolls back still leaves its audit trail. ``in_transaction=True`` instead
joins the caller's transaction: the row exists if and only if the change it describes was
committed (e.g. "component removed"). The application has no update or delete path for audit
rows; ``purge_older_than`` (retention, run by a periodic task) is the only delete.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import g, has_request_context, request
from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.orm import Session

from sdc.db_events import single_statement
from sdc.extensions import db, ops_rows_engine
from sdc.models import AuditLog, utcnow

log = logging.getLogger(__name__)

# Semantic action names: later features use these constants rather than new spellings.
LOGIN_OK = "auth.login"
LOGIN_FAILED = "auth.login_failed"
LOCKOUT = "auth.lockout"
LOGOUT = "auth.logout"
SIGNUP = "auth.signup"
PASSWORD_CHANGED = "auth.password_changed"
SESSIONS_ENDED = "auth.sessions_ended"
TOKEN_CREATED = "token.created"
TOKEN_REVOKED = "token.revoked"
CSRF_FAILED = "security.csrf_failed"
RATE_LIMITED = "security.rate_limited"
ADMIN_VIEW = "admin.view"
ADMIN_EXPORT = "admin.export"
USER_DISABLED = "admin.user_disabled"
USER_ENABLED = "admin.user_enabled"
ADMIN_GRANTED = "admin.role_granted"
ADMIN_REVOKED = "admin.role_revoked"
JOB_REQUEUED = "admin.job_requeued"
COMPONENT_REMOVED = "design.component_removed"
MEMBER_ROLE_CHANGED = "project.member_role_changed"
SHARE_LINK_CREATED = "share_link.created"
SHARE_LINK_REVOKED = "share_link.revoked"
# Collaboration (issue 10): membership, invites and comments.
MEMBER_ADDED = "project.member_added"
MEMBER_REMOVED = "project.member_removed"
MEMBER_LEFT = "project.member_left"
INVITE_CREATED = "project.invite_created"
INVITE_REVOKED = "project.invite_revoked"
INVITE_ACCEPTED = "project.invite_accepted"
COMMENT_CREATED = "comment.created"
COMMENT_EDITED = "comment.edited"
COMMENT_DELETED = "comment.deleted"
COMMENT_RESOLVED = "comment.resolved"
COMMENT_REOPENED = "comment.reopened"

SECURITY_ACTIONS = (
    LOGIN_OK,
    LOGIN_FAILED,
    LOCKOUT,
    LOGOUT,
    SIGNUP,
    PASSWORD_CHANGED,
    SESSIONS_ENDED,
    TOKEN_CREATED,
    TOKEN_REVOKED,
    CSRF_FAILED,
    RATE_LIMITED,
    ADMIN_VIEW,
    ADMIN_EXPORT,
    USER_DISABLED,
    USER_ENABLED,
    ADMIN_GRANTED,
    ADMIN_REVOKED,
    JOB_REQUEUED,
    COMPONENT_REMOVED,
    MEMBER_ROLE_CHANGED,
    SHARE_LINK_CREATED,
    SHARE_LINK_REVOKED,
)

DETAIL_MAX = 2000
PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 200
EXPORT_MAX_ROWS = 50_000
PURGE_BATCH = 5000


def _clip(value, size: int) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text[:size]


def _detail(detail: dict | None) -> dict:
    if not detail:
        return {}
    # Keep detail small and JSON-safe: stringify values, cap the total size.
    out, used = {}, 0
    for key, value in detail.items():
        text = value if isinstance(value, (int, float, bool)) or value is None else str(value)
        size = len(str(text))
        if used + size > DETAIL_MAX:
            out["truncated"] = True
            break
        out[str(key)[:60]] = text
        used += size
    return out


def _actor(actor) -> tuple:
    if actor is not None:
        return getattr(actor, "id", None), getattr(actor, "email", None)
    if not has_request_context():
        return None, None
    from flask_login import current_user

    try:
        if current_user and current_user.is_authenticated:
            return current_user.id, current_user.email
    except Exception:  # a broken session must not stop the audit trail
        log.debug("no actor for audit row", exc_info=True)
    return None, None


def build_row(
    action: str,
    resource_type: str | None = None,
    resource_id=None,
    status: int | None = None,
    detail: dict | None = None,
    *,
    actor=None,
    actor_email: str | None = None,
) -> dict:
    """The column values of one audit row; request fields come from the current request."""
    actor_id, email = _actor(actor)
    row = {
        "time": utcnow(),
        "actor_id": actor_id,
        "actor_email": _clip(actor_email or email, 320),
        "action": _clip(action, 80),
        "resource_type": _clip(resource_type, 40),
        "resource_id": _clip(resource_id, 64),
        "status": status,
        "client_ip": None,
        "user_agent": None,
        "request_id": None,
        "detail": _detail(detail),
    }
    if has_request_context():
        from sdc.web.principal import client_ip

        row["client_ip"] = _clip(client_ip(), 64)
        row["user_agent"] = _clip(request.headers.get("User-Agent"), 300)
        row["request_id"] = _clip(g.get("request_id"), 128)
    return row


def record(
    action: str,
    resource_type: str | None = None,
    resource_id=None,
    status: int | None = None,
    detail: dict | None = None,
    *,
    actor=None,
    actor_email: str | None = None,
    in_transaction: bool = False,
) -> None:
    """Record a semantic audit event.

    ``actor`` defaults to the signed-in user; ``actor_email`` names an unauthenticated actor
    (e.g. the address a failed sign-in used). ``status`` defaults to the response status when
    called inside a request. With ``in_transaction=True`` the row is added to the caller's
    session and commits (or rolls back) with the change it describes. Otherwise, inside a
    request it is written when the request ends (never lost to a rollback); outside a request
    it is written at once.
    """
    row = build_row(
        action, resource_type, resource_id, status, detail, actor=actor, actor_email=actor_email
    )
    if in_transaction:
        db.session.add(AuditLog(**row))
        return
    if has_request_context():
        g.setdefault("audit_rows", []).append(row)
        return
    write_rows([row])


def write_rows(rows: list[dict]) -> None:
    """Insert audit rows in one short transaction of their own.

    On SQLite a second connection cannot write while this session holds the write lock, so
    when the session is mid-transaction the rows wait for that transaction to end (commit or
    rollback) and are written then (outside requests only; the request hook ends the
    session's transaction before writing).
    """
    if not rows:
        return
    session = db.session()
    if db.engine.dialect.name == "sqlite" and session.in_transaction():
        defer_until_transaction_end(session, AuditLog, rows)
        return
    with single_statement(ops_rows_engine()) as conn:
        conn.execute(insert(AuditLog), rows)


def defer_until_transaction_end(session, model, rows: list[dict]) -> None:
    """Insert ``rows`` into ``model``'s table on a connection of their own as soon as
    ``session``'s transaction ends (committed or rolled back)."""
    session.info.setdefault(_PENDING, []).append((model, rows))


_PENDING = "sdc_audit_pending"


@event.listens_for(Session, "after_transaction_end")
def _write_pending(session, transaction) -> None:
    """Rows held back while a SQLite session held the write lock: write them once its
    transaction ends, whether it committed or rolled back."""
    if transaction.parent is not None or not session.info.get(_PENDING):
        return
    for model, rows in session.info.pop(_PENDING):
        try:
            with session.get_bind().connect() as conn:
                conn.execute(insert(model), rows)
                conn.commit()
        except Exception:
            log.exception("could not write %d %s rows: %r", len(rows), model.__tablename__, rows)


def flush_request_rows(status: int | None) -> None:
    """Write the rows collected during this request (hooks call this once per request)."""
    rows = g.pop("audit_rows", None)
    if not rows:
        return
    for row in rows:
        if row["status"] is None:
            row["status"] = status
    try:
        if db.engine.dialect.name == "sqlite" and db.session().in_transaction():
            # Anything still uncommitted would be rolled back at teardown anyway; end it now
            # so the audit connection can take SQLite's write lock.
            db.session.rollback()
        with single_statement(ops_rows_engine()) as conn:
            conn.execute(insert(AuditLog), rows)
    except Exception:
        # The audit trail matters, but a response already computed is still sent; the failure
        # is logged loudly with the rows so they can be recovered from the log.
        log.exception("could not write %d audit rows: %r", len(rows), rows)


# ---- reading (admin pages) -------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    user: str = ""  # email fragment or exact actor id
    action: str = ""
    resource: str = ""  # "type" or "type:id" or an id
    status: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(query, f: AuditFilter):
    if f.user:
        query = query.where(func.lower(AuditLog.actor_email).contains(f.user.lower()))
    if f.action:
        query = query.where(AuditLog.action.contains(f.action))
    if f.resource:
        rtype, sep, rid = f.resource.partition(":")
        if sep:
            query = query.where(AuditLog.resource_type == rtype, AuditLog.resource_id == rid)
        else:
            query = query.where(
                (AuditLog.resource_type == f.resource) | (AuditLog.resource_id == f.resource)
            )
    if f.status is not None:
        query = query.where(AuditLog.status == f.status)
    if f.since is not None:
        query = query.where(AuditLog.time >= f.since)
    if f.until is not None:
        query = query.where(AuditLog.time < f.until)
    return query


def search(f: AuditFilter, page: int = 1, per_page: int = PAGE_SIZE_DEFAULT) -> dict:
    """One page of matching rows, newest first, with the total count. ``per_page`` is capped."""
    per_page = max(1, min(int(per_page), PAGE_SIZE_MAX))
    page = max(1, int(page))
    total = db.session.scalar(_filtered(select(func.count()).select_from(AuditLog), f))
    rows = db.session.scalars(
        _filtered(select(AuditLog), f)
        .order_by(AuditLog.time.desc(), AuditLog.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    pages = max(1, -(-total // per_page))
    return {"rows": rows, "total": total, "page": page, "per_page": per_page, "pages": pages}


CSV_COLUMNS = (
    "time",
    "actor_email",
    "actor_id",
    "action",
    "resource_type",
    "resource_id",
    "status",
    "client_ip",
    "user_agent",
    "request_id",
    "detail",
)


def csv_cell(value) -> str:
    """A cell a spreadsheet will not execute: formulas (=, +, -, @, tab, CR) get a quote prefix."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    if text and text[0] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def export_csv(f: AuditFilter) -> str:
    """Matching rows (newest first, at most ``EXPORT_MAX_ROWS``) as CSV text."""
    import json

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    rows = db.session.scalars(
        _filtered(select(AuditLog), f)
        .order_by(AuditLog.time.desc(), AuditLog.id.desc())
        .limit(EXPORT_MAX_ROWS)
    )
    for row in rows:
        values = []
        for col in CSV_COLUMNS:
            value = getattr(row, col)
            if col == "detail":
                value = json.dumps(value or {}, sort_keys=True)
            values.append(csv_cell(value))
        writer.writerow(values)
    return out.getvalue()


def purge_older_than(days: int, batch: int = PURGE_BATCH) -> int:
    """Delete audit rows older than ``days`` in batches; the only delete path for audit rows."""
    cutoff = utcnow() - timedelta(days=days)
    return purge_table(AuditLog, cutoff, batch)


def purge_table(model, cutoff: datetime, batch: int = PURGE_BATCH) -> int:
    """Delete rows of ``model`` with ``time < cutoff``, ``batch`` at a time, committing each."""
    total = 0
    while True:
        ids = select(model.id).where(model.time < cutoff).order_by(model.id).limit(batch)
        deleted = db.session.execute(
            delete(model).where(model.id.in_(ids.scalar_subquery()))
        ).rowcount
        db.session.commit()
        total += deleted
        if deleted < batch:
            return total
