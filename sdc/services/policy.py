"""Who may do what to a project: the one place roles and actions are decided.

Roles: the project's ``owner``; members added by invite as ``editor`` or ``viewer``.

| action              | viewer | editor | owner |
|---------------------|:------:|:------:|:-----:|
| read                |   x    |   x    |   x   |
| comment             |   x    |   x    |   x   |
| edit                |        |   x    |   x   |
| run                 |        |   x    |   x   |
| grade               |        |   x    |   x   |
| compare             |        |   x    |   x   |
| report              |        |   x    |   x   |
| manage_members      |        |        |   x   |
| manage_share_links  |        |        |   x   |
| delete              |        |        |   x   |
| leave               |   x    |   x    |       |

``read`` covers every page of the project, including the compare and report pages; the
``compare`` and ``report`` actions are the ones that create something (comparison runs, PDF
exports). ``edit`` covers versions (design, traffic, notes, undo, import, new versions).

Refusals (``require``):

- anyone who is not the owner or a member (and anonymous callers) gets ``NotFound`` (404),
  exactly as if the project did not exist: ids reveal nothing;
- a member whose role lacks the action gets ``Forbidden`` (403) with a message naming the
  role: they can see the project, so hiding it would only confuse them.

Membership is read from the database on every check, so removing a member or changing a role
takes effect on that member's very next request.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from sdc.extensions import db
from sdc.models import Project, ProjectMember
from sdc.services import NotFound, ServiceError

OWNER = "owner"
EDITOR = "editor"
VIEWER = "viewer"
ROLES = (OWNER, EDITOR, VIEWER)
MEMBER_ROLES = (EDITOR, VIEWER)  # roles an invite or a role change can give

ACTIONS = (
    "read",
    "comment",
    "edit",
    "run",
    "grade",
    "compare",
    "report",
    "manage_members",
    "manage_share_links",
    "delete",
    "leave",
)
_VIEWER = frozenset({"read", "comment", "leave"})
_EDITOR = _VIEWER | {"edit", "run", "grade", "compare", "report"}
ALLOWED: dict[str, frozenset[str]] = {
    VIEWER: _VIEWER,
    EDITOR: frozenset(_EDITOR),
    # The owner may do everything but leave: a project always has its one owner.
    OWNER: frozenset(ACTIONS) - {"leave"},
}

ROLE_LABELS = {OWNER: "Owner", EDITOR: "Editor", VIEWER: "Viewer"}
_VERBS = {
    "comment": "comment",
    "edit": "edit this project",
    "run": "start runs",
    "grade": "start grades",
    "compare": "start comparisons",
    "report": "export reports",
    "manage_members": "manage members",
    "manage_share_links": "manage share links",
    "delete": "delete this project",
    "leave": "leave it (a project always keeps its owner)",
}


_ARTICLE = {EDITOR: "an", VIEWER: "a"}


class Forbidden(ServiceError):
    """A member of the project asked for something their role does not allow."""

    status = 403


def user_id_of(user):
    """The signed-in user's id; None for anonymous callers (and for no user at all)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "id", None)


def visible_to(user):
    """The SQL condition (on ``Project``) for projects ``user`` may see: owned or a member of."""
    uid = user_id_of(user)
    if uid is None:
        return Project.id.is_(None)  # matches nothing
    return visible_to_user_id(uid)


def visible_to_user_id(user_id):
    """``visible_to`` for a user id given as a value or a bind parameter, for statements built
    once and run with the id as a parameter. A NULL id (anonymous) matches nothing."""
    member_of = select(ProjectMember.project_id).where(ProjectMember.user_id == user_id)
    return or_(Project.owner_id == user_id, Project.id.in_(member_of))


def owned_by(user):
    """The SQL condition for projects ``user`` owns (their own work, not shared projects)."""
    uid = user_id_of(user)
    return Project.id.is_(None) if uid is None else Project.owner_id == uid


def role_of(user, project: Project) -> str | None:
    """``owner``, ``editor``, ``viewer``, or None for outsiders and anonymous callers."""
    uid = user_id_of(user)
    if uid is None or project is None:
        return None
    if project.owner_id == uid:
        return OWNER
    return db.session.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project.id, ProjectMember.user_id == uid
        )
    )


def is_owner(user, project: Project) -> bool:
    """Whether ``user`` owns ``project`` (for facts about ownership, not permissions: an
    invite the owner cannot accept, the owner row of the members list)."""
    return role_of(user, project) == OWNER


def allows(role: str | None, action: str) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; use one of {ACTIONS}")
    return role is not None and action in ALLOWED.get(role, ())


def can(user, action: str, project: Project) -> bool:
    """Whether ``user`` may do ``action`` to ``project``."""
    return allows(role_of(user, project), action)


def require(user, action: str, project: Project, what: str = "project") -> str:
    """The caller's role if it allows ``action``; NotFound for outsiders, Forbidden (403) for
    members whose role does not allow it."""
    role = role_of(user, project)
    if role is None:
        raise NotFound(f"No such {what}.")
    if not allows(role, action):
        who = "the owner" if role == OWNER else f"{_ARTICLE[role]} {role}"
        raise Forbidden(
            f"You are {who} of this project: {who} cannot {_VERBS.get(action, action)}."
        )
    return role
