"""Versions: ownership-checked lookup, edits under optimistic locking, undo/redo, import.

Every mutation names the revision the caller loaded. It is applied only if the version is
still at that revision (checked again inside the UPDATE, so two processes racing cannot both
win); otherwise ``StaleRevision`` (409) and nothing changes. A design edit is applied to a
copy, validated, and refused (``InvalidEdit``, 422) with the stored design untouched when the
result would be invalid: the stored design is always a valid ``sdc-design/1`` document.
"""

from __future__ import annotations

import copy
import functools
import uuid
from collections.abc import Callable

from sqlalchemy import (
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from sdc.core import design_ops
from sdc.core.design_ops import EditError
from sdc.core.simulation import validate_design, validate_traffic
from sdc.extensions import commit_keeping_loaded, db
from sdc.models import Comment, Project, SimulationRun, User, Version, VersionHistory, utcnow
from sdc.models.base import as_utc
from sdc.models.history import REDO, UNDO
from sdc.models.run import run_summary_options
from sdc.services import Conflict, NotFound, ServiceError, audit, policy
from sdc.services.policy import visible_to_user_id

HISTORY_DEPTH = 50  # undo steps kept per version (the product promises at least 20)
# A project's ``updated_at`` follows its versions' edits to within this many seconds: an edit
# moves it only when it is older than that. The dashboard orders and dates projects by it (to
# the minute); touching it on every autosave cost an UPDATE, a round trip, per keystroke burst.
PROJECT_TOUCH_S = 60


class InvalidEdit(ServiceError):
    """The edit would make the document invalid; ``problems`` lists ``{path, message}``."""

    status = 422

    def __init__(self, message: str, field: str | None = None, problems: list | None = None):
        super().__init__(message, field)
        self.problems = problems or [{"path": field or "", "message": message}]


class StaleRevision(Conflict):
    """The version changed since the caller loaded it; ``current`` is its revision now and
    ``changed_by`` the email of whoever else made the latest change (None if it was you)."""

    def __init__(self, current: int, changed_by: str | None = None):
        where = f"by {changed_by}" if changed_by else "in another tab or by another client"
        super().__init__(f"This version was changed {where} since you loaded it.")
        self.current = current
        self.changed_by = changed_by


def _stale(version: Version, user: User | None = None) -> StaleRevision:
    editor = version.last_editor if version.last_editor_id else None
    by = editor.email if editor is not None and (user is None or editor.id != user.id) else None
    return StaleRevision(version.revision, by)


@functools.cache
def _version_stmt(*, by_project: bool = True, latest_run: bool = False, lock: bool = False):
    """The version with its project and scenario (and, with ``latest_run``, its newest baseline
    run or NULLs) if the user may see it. Parameters: ``:user_id`` (None: matches nothing),
    ``:version_id``, and ``:project_id`` when ``by_project``. ``lock``: ``FOR UPDATE`` of the
    version row (PostgreSQL only; SQLite locks the database on the first write).

    Built once per shape and run with parameters: on the workspace's hot paths, building these
    statements (the aliased subquery most of all) cost more CPU than running them.
    """
    where = [Version.id == bindparam("version_id"), visible_to_user_id(bindparam("user_id"))]
    if by_project:
        where.append(Version.project_id == bindparam("project_id"))
    entities = (SimulationRun,) if latest_run else ()
    stmt = (
        select(Version, *entities)
        .join(Project, Project.id == Version.project_id)
        .where(*where)
        .options(contains_eager(Version.project).joinedload(Project.scenario))
    )
    if latest_run:
        # The run as its button shows it (status and verdict), not its documents.
        stmt = stmt.outerjoin(
            SimulationRun, SimulationRun.id == SimulationRun.newest_baseline_id(Version.id)
        ).options(*run_summary_options())
    if lock:
        stmt = stmt.with_for_update(of=Version)
    return stmt


def _version_params(user: User, version_id: uuid.UUID, project_id: uuid.UUID | None = None):
    params = {"user_id": policy.user_id_of(user), "version_id": version_id}
    if project_id is not None:
        params["project_id"] = project_id
    return params


def get_version_for(
    user: User, project_id: uuid.UUID, version_id: uuid.UUID, *, write: bool = False
) -> Version:
    """The version with its project and scenario in one query, or NotFound.

    ``write`` is for callers about to mutate: the row is locked (``FOR UPDATE`` where the
    database supports it) for the rest of the transaction, and the caller must be allowed to
    edit (``policy``: a viewer gets Forbidden, 403).
    """
    lock = write and db.engine.dialect.name == "postgresql"
    version = db.session.scalar(
        _version_stmt(lock=lock), _version_params(user, version_id, project_id)
    )
    if version is None:
        raise NotFound("No such version.")
    if write:
        policy.require(user, "edit", version.project, "version")
    return version


def get_version_with_latest_run_for(
    user: User, project_id: uuid.UUID, version_id: uuid.UUID
) -> tuple[Version, SimulationRun | None]:
    """``get_version_for`` (reading) plus the version's newest baseline run, or None, in the
    same query: the workspace page shows both on every view."""
    row = db.session.execute(
        _version_stmt(latest_run=True), _version_params(user, version_id, project_id)
    ).first()
    if row is None:
        raise NotFound("No such version.")
    return row[0], row[1]


@functools.cache
def _workspace_counts_stmt():
    """Rows ``(kind, key, n)`` for ``:version_id``: ``("history", stack, steps)`` and
    ``("threads", component_id, open threads)``. Built once (see ``workspace_counts``)."""
    vid = bindparam("version_id")
    history = (
        select(literal_column("'history'"), VersionHistory.stack, func.count())
        .where(VersionHistory.version_id == vid)
        .group_by(VersionHistory.stack)
    )
    threads = (
        select(literal_column("'threads'"), Comment.component_id, func.count())
        .where(Comment.version_id == vid, *Comment.open_thread())
        .group_by(Comment.component_id)
    )
    return union_all(history, threads)


def workspace_counts(version_id: uuid.UUID) -> tuple[dict[str, int], dict[str | None, int]]:
    """What every workspace render counts, in one statement (it is on the autosave path):
    the undo and redo steps available, ``{"undo": n, "redo": m}``, and the open comment
    threads per component id (None: the whole design), as ``comments.open_counts`` gives."""
    history = {UNDO: 0, REDO: 0}
    threads: dict[str | None, int] = {}
    for kind, key, n in db.session.execute(_workspace_counts_stmt(), {"version_id": version_id}):
        if kind == "history":
            history[key] = n
        else:
            threads[key] = n
    return history, threads


def problem_field(path: str) -> str:
    """The input name for a document path: ``components[2].params.hit_ratio`` -> hit_ratio."""
    last = path.rsplit(".", 1)[-1] if path else ""
    if "[" in last:
        last = last.split("[", 1)[0]
    return last


def _humanise(field: str) -> str:
    return field.replace("_", " ").capitalize() if field else ""


def _problems_error(problems, fallback: str = "The design") -> InvalidEdit:
    items = [{"path": p.path, "message": p.message} for p in problems]
    first = problems[0]
    field = problem_field(first.path)
    label = _humanise(field) or fallback
    message = f"{label} {first.message}" if not first.message[:1].isupper() else first.message
    if len(items) > 1:
        message += f" (and {len(items) - 1} more problem{'s' if len(items) > 2 else ''})"
    return InvalidEdit(message, field or None, items)


# An edit validates the design it stores; it leaves the result on the instance so the answer
# to the same request does not validate it again (see ``validation_of``).
_VALIDATED = "_sdc_validated"


def validation_of(version: Version):
    """Validation (problems and warnings) of the version's design; the result an edit of this
    request computed for the design it stored when there is one (same revision)."""
    remembered = getattr(version, _VALIDATED, None)
    if remembered is not None and remembered[0] == version.revision:
        return remembered[1]
    return validate_design(version.design)


def _commit(
    version: Version,
    revision: int,
    label: str,
    *,
    design: dict | None = None,
    traffic: dict | None = None,
    notes: str | None = None,
    record: bool = True,
    force: bool = False,
    editor: User | None = None,
) -> Version:
    """Write the new state if the version is still at ``revision``; push an undo step."""
    if version.revision != revision:
        raise StaleRevision(version.revision)
    values: dict = {}
    if design is not None and design != version.design:
        values["design"] = design
    if traffic is not None and traffic != version.traffic:
        values["traffic"] = traffic
    if notes is not None and notes != version.notes:
        values["notes"] = notes
    if not values and not force:
        return version  # nothing changed: no new revision, no history step
    now = utcnow()
    if record and ("design" in values or "traffic" in values):
        # A Core INSERT, not an ORM object: nothing reads the step back in this request, and
        # the documents are serialised as it runs (no copy needed, no unit-of-work flush).
        db.session.execute(
            insert(VersionHistory),
            {
                "version_id": version.id,
                "stack": UNDO,
                "label": label[:200],
                "design": version.design,
                "traffic": version.traffic,
            },
        )
        _trim_history(version.id)
    result = db.session.execute(
        update(Version)
        .where(Version.id == version.id, Version.revision == revision)
        .values(
            **values,
            revision=revision + 1,
            updated_at=now,
            last_editor_id=editor.id if editor is not None else version.last_editor_id,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        current = db.session.scalar(select(Version.revision).where(Version.id == version.id))
        raise StaleRevision(current or revision)
    project_touched = _touch_project(version.project, now)
    if "design" in values:
        _audit_removed_components(version, values["design"], label)
    written = {
        **values,
        "revision": revision + 1,
        "updated_at": now,
        "last_editor_id": editor.id if editor is not None else version.last_editor_id,
    }
    _commit_written(version, written, project_touched)
    return version


def _touch_project(project: Project, now) -> bool:
    """Move ``project.updated_at`` to ``now`` unless it is newer than ``PROJECT_TOUCH_S``;
    returns whether it moved (committed with the caller's transaction)."""
    last = as_utc(project.updated_at)
    if last is not None and (now - last).total_seconds() < PROJECT_TOUCH_S:
        return False
    db.session.execute(
        update(Project)
        .where(Project.id == project.id)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return True


def _commit_written(version: Version, written: dict, project_touched: bool) -> None:
    """Commit, keeping the loaded objects: ``version`` takes the values just written (and its
    project the new ``updated_at`` when ``project_touched``).

    A plain commit expires everything in the session, so the response's first reads would
    load the version, its project and scenario, and the signed-in user again (three queries
    per autosave) although this transaction has just written the only values that changed.
    """
    editor_changed = written.get("last_editor_id") != version.last_editor_id
    for key, value in written.items():
        set_committed_value(version, key, value)
    if project_touched:
        set_committed_value(version.project, "updated_at", written["updated_at"])
    if editor_changed:
        db.session.expire(version, ["last_editor"])
    commit_keeping_loaded()


def _audit_removed_components(version: Version, new_design: dict, label: str) -> None:
    """One audit row per component that this change removes (commits with the change)."""
    kept = {c.get("id") for c in new_design.get("components", [])}
    for comp in version.design.get("components", []):
        if comp.get("id") not in kept:
            audit.record(
                audit.COMPONENT_REMOVED,
                "version",
                version.id,
                detail={
                    "project_id": str(version.project_id),
                    "component": comp.get("id"),
                    "type": comp.get("type"),
                    "label": comp.get("label"),
                    "change": label,
                },
                in_transaction=True,
            )


def _trim_history(version_id: uuid.UUID) -> None:
    """After a recorded edit: the redo stack goes, and the undo stack keeps its newest
    ``HISTORY_DEPTH`` steps (the one just added among them). One statement (it runs on every
    autosave), built once: ``_trim_history_stmt``."""
    db.session.execute(
        _trim_history_stmt(), {"version_id": version_id, "newer_kept": HISTORY_DEPTH - 1}
    )


@functools.cache
def _trim_history_stmt():
    """The trim of ``:version_id``'s history, keeping ``:newer_kept`` undo steps newer than the
    oldest kept. The id of the oldest step to keep comes from a subquery (NULL while the stack
    is shorter than the depth, and ``id < NULL`` deletes nothing). ``synchronize_session=False``:
    the only step this session holds is the new one, which is never deleted.
    """
    vid = bindparam("version_id")
    oldest_kept = (
        select(VersionHistory.id)
        .where(VersionHistory.version_id == vid, VersionHistory.stack == UNDO)
        .order_by(VersionHistory.id.desc())
        .offset(bindparam("newer_kept"))
        .limit(1)
        .scalar_subquery()
    )
    return (
        delete(VersionHistory)
        .where(
            VersionHistory.version_id == vid,
            or_(
                VersionHistory.stack == REDO,
                and_(VersionHistory.stack == UNDO, VersionHistory.id < oldest_kept),
            ),
        )
        .execution_options(synchronize_session=False)
    )


def edit_design(
    user: User,
    project_id: uuid.UUID,
    version_id: uuid.UUID,
    revision: int,
    label: str,
    edit: Callable[[dict], dict],
    *,
    version: Version | None = None,
) -> Version:
    """Apply ``edit`` (a pure function of the design, see ``sdc.core.design_ops``).

    ``edit`` gets the stored design itself and must return a new one without mutating it: the
    ``design_ops`` functions copy, so a second deep copy here would only cost time.

    ``version``: the caller's ``get_version_for(..., write=True)`` of this transaction, to save
    loading (and locking) it twice. Raises NotFound, StaleRevision (409), or InvalidEdit (422)
    naming the field; on any error the stored design is unchanged.
    """
    if version is None or version.id != version_id:
        version = get_version_for(user, project_id, version_id, write=True)
    if version.revision != revision:
        db.session.rollback()
        raise _stale(version, user)
    try:
        design = edit(version.design)
        design_ops.check_limits(design)
    except EditError as exc:
        db.session.rollback()
        raise InvalidEdit(exc.message, exc.field) from None
    result = validate_design(design)
    if not result.ok:
        db.session.rollback()
        raise _problems_error(result.problems)
    if design == version.design:
        return _unchanged(version)
    version = _commit(version, revision, label, design=design, editor=user)
    setattr(version, _VALIDATED, (version.revision, result))
    return version


def _unchanged(version: Version) -> Version:
    # Autosave sends the same form again (on input, then on change): a save that changes
    # nothing makes no new revision and no undo step.
    db.session.rollback()
    return version


def update_traffic(
    user: User, project_id: uuid.UUID, version_id: uuid.UUID, revision: int, traffic: dict
) -> Version:
    """Replace the traffic profile; InvalidEdit lists every problem (regions off by how much)."""
    version = get_version_for(user, project_id, version_id, write=True)
    if version.revision != revision:
        db.session.rollback()
        raise _stale(version, user)
    problems = validate_traffic(traffic)
    if problems:
        db.session.rollback()
        raise _problems_error(problems, "The traffic profile")
    if dict(traffic) == version.traffic:
        return _unchanged(version)
    return _commit(version, revision, "traffic profile", traffic=dict(traffic), editor=user)


def update_notes(
    user: User, project_id: uuid.UUID, version_id: uuid.UUID, revision: int, notes: str
) -> Version:
    """Replace the notes (Markdown, at most 20,000 characters). Notes have no undo steps."""
    notes = notes.replace("\r\n", "\n")
    if len(notes) > design_ops.MAX_NOTES:
        raise InvalidEdit(
            f"Notes can be at most {design_ops.MAX_NOTES:,} characters "
            f"(these have {len(notes):,}; remove {len(notes) - design_ops.MAX_NOTES:,}).",
            "notes",
        )
    version = get_version_for(user, project_id, version_id, write=True)
    if version.revision != revision:
        raise _stale(version, user)
    return _commit(version, revision, "notes", notes=notes, record=False, editor=user)


def import_document(
    user: User, project_id: uuid.UUID, version_id: uuid.UUID, revision: int, doc: object
) -> Version:
    """Replace the design (and traffic and notes when the document has them) with ``doc``.

    Nothing is saved unless the whole document is valid; InvalidEdit lists every problem.
    """
    version = get_version_for(user, project_id, version_id, write=True)
    if not isinstance(doc, dict):
        raise InvalidEdit(
            "The document must be a JSON object (an sdc-design/1 design).", "document"
        )
    try:
        design_ops.check_limits(doc)
    except EditError as exc:
        raise InvalidEdit(exc.message, "document") from None
    result = validate_design(doc)
    if not result.ok:
        error = _problems_error(result.problems)
        error.field = "document"
        raise error
    design, traffic, notes = design_ops.split_document(doc)
    if isinstance(notes, str) and len(notes) > design_ops.MAX_NOTES:
        raise InvalidEdit(f"Notes can be at most {design_ops.MAX_NOTES:,} characters.", "document")
    if version.revision != revision:
        raise _stale(version, user)
    return _commit(
        version,
        revision,
        "import",
        design=design,
        traffic=traffic,
        notes=notes,
        record=True,
        editor=user,
    )


def _step(user: User, project_id, version_id, revision: int, pop: str, push: str) -> Version:
    version = get_version_for(user, project_id, version_id, write=True)
    if version.revision != revision:
        db.session.rollback()
        raise _stale(version, user)
    row = db.session.scalar(
        select(VersionHistory)
        .where(VersionHistory.version_id == version.id, VersionHistory.stack == pop)
        .order_by(VersionHistory.id.desc())
        .limit(1)
    )
    if row is None:
        db.session.rollback()
        raise InvalidEdit(f"There is nothing to {pop}.", pop)
    db.session.add(
        VersionHistory(
            version_id=version.id,
            stack=push,
            label=row.label,
            design=copy.deepcopy(version.design),
            traffic=copy.deepcopy(version.traffic),
        )
    )
    design, traffic = copy.deepcopy(row.design), copy.deepcopy(row.traffic)
    db.session.delete(row)
    db.session.flush()
    return _commit(
        version,
        revision,
        row.label,
        design=design,
        traffic=traffic,
        record=False,
        force=True,
        editor=user,
    )


def undo(user: User, project_id, version_id, revision: int) -> Version:
    """Restore the design and traffic as they were before the last edit."""
    return _step(user, project_id, version_id, revision, UNDO, REDO)


def redo(user: User, project_id, version_id, revision: int) -> Version:
    """Re-apply the edit the last undo reverted."""
    return _step(user, project_id, version_id, revision, REDO, UNDO)


def describe(version: Version) -> dict:
    """The JSON form of a version (for ``Accept: application/json`` clients)."""
    result = validation_of(version)
    return {
        "id": str(version.id),
        "project_id": str(version.project_id),
        "number": version.number,
        "parent_id": str(version.parent_id) if version.parent_id else None,
        "revision": version.revision,
        "document": version.document(),
        "validation": result.to_dict(),
        "created_at": version.created_at.isoformat() if version.created_at else None,
        "updated_at": version.updated_at.isoformat() if version.updated_at else None,
    }


def version_by_id_for(user: User, version_id: uuid.UUID) -> Version:
    """Lookup by version id alone (for pages that only know the version), with its project and
    scenario (one query)."""
    version = db.session.scalar(_version_stmt(by_project=False), _version_params(user, version_id))
    if version is None:
        raise NotFound("No such version.")
    return version
