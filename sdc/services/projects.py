"""Projects: start one from a scenario, list a user's projects, branch a new version.

Access lives in ``sdc.services.policy``: every lookup filters by ``visible_to(user)`` (owned or
shared with the user), anything the user may not see raises NotFound exactly as if it did not
exist, and actions beyond reading go through ``policy.require``.
"""

from __future__ import annotations

import copy
import functools
import uuid

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from sdc.core.design_ops import starter_design
from sdc.extensions import db
from sdc.models import Project, Scenario, User, Version, utcnow
from sdc.services import Conflict, NotFound, policy
from sdc.services.scenarios import get_scenario


def visible_to(user: User):
    """The SQL condition for projects ``user`` may see: owned, or shared with them."""
    return policy.visible_to(user)


def start_project(user: User, slug: str) -> tuple[Project, Version]:
    """Create a project for scenario ``slug`` with version 1: the scenario's default traffic
    and a starter design holding only the users (a client)."""
    scenario = get_scenario(slug)
    project = Project(owner_id=user.id, scenario_id=scenario.id, title=scenario.title)
    version = Version(
        project=project,
        number=1,
        design=starter_design(),
        traffic=copy.deepcopy(scenario.traffic),
        notes="",
        revision=1,
    )
    db.session.add_all([project, version])
    db.session.commit()
    return project, version


def get_project_for(user: User, project_id: uuid.UUID, action: str = "read") -> Project:
    """The project with its scenario and versions (two queries), or NotFound; ``action``
    (a ``policy.ACTIONS`` name) beyond ``read`` raises Forbidden for members lacking it."""
    project = db.session.scalar(
        select(Project)
        .where(Project.id == project_id, visible_to(user))
        .options(joinedload(Project.scenario), selectinload(Project.versions))
    )
    if project is None:
        raise NotFound("No such project.")
    if action != "read":
        policy.require(user, action, project)
    return project


@functools.cache
def _recent_projects_stmt():
    """Projects owned by ``:user_id``, newest change first, ``:limit`` of them, each with its
    newest version's id and number and its version count: correlated subqueries (on the
    ``(project_id, number)`` unique index), so one statement. Built once: the dashboard runs
    it on every view."""
    of_project = Version.project_id == Project.id
    latest_id = (
        select(Version.id).where(of_project).order_by(Version.number.desc()).limit(1)
    ).scalar_subquery()
    latest_number = select(func.max(Version.number)).where(of_project).scalar_subquery()
    count = select(func.count()).select_from(Version).where(of_project).scalar_subquery()
    return (
        select(Project, latest_id, latest_number, count)
        .where(Project.owner_id == bindparam("user_id"))
        # What the dashboard shows and judges runs by; not the brief nor the traffic,
        # requirements and profile documents (three JSON decodes per project and view).
        .options(
            joinedload(Project.scenario).load_only(
                Scenario.slug, Scenario.title, Scenario.difficulty, Scenario.slos
            )
        )
        .order_by(Project.updated_at.desc())
        .limit(bindparam("limit"))
    )


def recent_projects(user: User, limit: int = 20) -> list[dict]:
    """The user's own projects, most recently changed first, each with its newest version
    (projects shared with the user are listed by ``sdc.services.members.shared_with``).

    Returns dicts ``{"project", "latest_version_id", "latest_number", "version_count"}``
    (None, None, 0 for a project without versions); one query whatever the count. Each
    project's scenario comes with its slug, title, difficulty and SLOs; its other attributes
    load on first use (a query each).
    """
    if not getattr(user, "is_authenticated", False):  # anonymous: owns nothing
        return []
    rows = db.session.execute(_recent_projects_stmt(), {"user_id": user.id, "limit": limit})
    return [
        {
            "project": project,
            "latest_version_id": latest_id,
            "latest_number": latest_number,
            "version_count": count,
        }
        for project, latest_id, latest_number, count in rows
    ]


def new_version_from(user: User, project_id: uuid.UUID, version_id: uuid.UUID) -> Version:
    """Copy version ``version_id`` into a new version numbered after the newest one.

    The source stays exactly as it was; the copy records it as its parent.
    """
    source = db.session.scalar(
        select(Version)
        .join(Project, Project.id == Version.project_id)
        .where(Version.id == version_id, Version.project_id == project_id, visible_to(user))
    )
    if source is None:
        raise NotFound("No such version.")
    policy.require(user, "edit", source.project, "version")
    for _attempt in range(3):
        number = (
            db.session.scalar(
                select(func.max(Version.number)).where(Version.project_id == project_id)
            )
            or 0
        ) + 1
        version = Version(
            project_id=project_id,
            number=number,
            parent_id=source.id,
            design=copy.deepcopy(source.design),
            traffic=copy.deepcopy(source.traffic),
            notes=source.notes,
            revision=1,
        )
        db.session.add(version)
        project = db.session.get(Project, project_id)
        project.updated_at = utcnow()
        try:
            db.session.commit()
            return version
        except IntegrityError:
            # Another request took this number at the same moment: take the next one.
            db.session.rollback()
    raise Conflict("Could not number the new version; try again.")


def lineage(project: Project) -> list[tuple[Version, int]]:
    """Versions in tree order (children after their parent) with their depth."""
    children: dict = {}
    ids = {v.id for v in project.versions}
    for v in project.versions:
        parent = v.parent_id if v.parent_id in ids else None
        children.setdefault(parent, []).append(v)
    out: list[tuple[Version, int]] = []
    stack = [(v, 0) for v in reversed(children.get(None, []))]
    while stack:
        v, depth = stack.pop()
        out.append((v, depth))
        stack.extend((c, depth + 1) for c in reversed(children.get(v.id, [])))
    return out
