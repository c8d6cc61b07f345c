"""The scenario catalog in the database: seeding from the package data and browsing."""

from __future__ import annotations

from sqlalchemy import or_, select

from sdc.core.catalog import DIFFICULTIES, load_catalog
from sdc.extensions import db
from sdc.models import Scenario
from sdc.services import NotFound

FIELDS = (
    "title",
    "brief",
    "difficulty",
    "domain",
    "estimated_minutes",
    "traffic",
    "slos",
    "requirements",
)
SEARCH_MAX = 100


def seed_scenarios() -> tuple[int, int]:
    """Upsert every scenario file by slug. Returns (created, updated); idempotent."""
    created = updated = 0
    existing = {s.slug: s for s in db.session.scalars(select(Scenario))}
    for spec in load_catalog():
        row = existing.get(spec.slug)
        if row is None:
            db.session.add(Scenario(slug=spec.slug, **{f: getattr(spec, f) for f in FIELDS}))
            created += 1
            continue
        changed = False
        for f in FIELDS:
            if getattr(row, f) != getattr(spec, f):
                setattr(row, f, getattr(spec, f))
                changed = True
        updated += changed
    db.session.commit()
    return created, updated


def list_scenarios(difficulty: str = "", domain: str = "", q: str = "") -> list[Scenario]:
    """Filter by difficulty and domain and search title/brief (case-insensitive)."""
    stmt = select(Scenario)
    if difficulty in DIFFICULTIES:
        stmt = stmt.where(Scenario.difficulty == difficulty)
    if domain:
        stmt = stmt.where(Scenario.domain == domain)
    q = q.strip()[:SEARCH_MAX]
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                Scenario.title.ilike(pattern, escape="\\"),
                Scenario.brief.ilike(pattern, escape="\\"),
            )
        )
    order = {d: i for i, d in enumerate(DIFFICULTIES)}
    return sorted(db.session.scalars(stmt), key=lambda s: (order.get(s.difficulty, 9), s.title))


def domains() -> list[str]:
    return sorted(set(db.session.scalars(select(Scenario.domain))))


def get_scenario(slug: str) -> Scenario:
    row = db.session.scalar(select(Scenario).where(Scenario.slug == slug))
    if row is None:
        raise NotFound("No such scenario.")
    return row
