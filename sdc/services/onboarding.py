"""Onboarding answers (kept in ``users.profile``) and the scenarios recommended from them.

Profile keys: ``display_name``, ``role``, ``level`` (a catalog difficulty), ``target_companies``
(list of names), ``preferred_domains`` (catalog domains) and ``onboarding`` ("completed" or
"skipped"; absent until the user has seen the onboarding page).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select

from sdc.core.catalog import DIFFICULTIES
from sdc.extensions import db
from sdc.models import Project, Scenario, User
from sdc.services import ServiceError

ROLES = (
    "student",
    "backend engineer",
    "full-stack engineer",
    "frontend engineer",
    "SRE / platform engineer",
    "data engineer",
    "engineering manager",
    "other",
)
COMPANIES_MAX = 10
COMPANY_CHARS = 60
NAME_CHARS = 80
RECOMMENDATIONS = 3


@dataclass
class Answers:
    display_name: str = ""
    role: str = ""
    level: str = ""
    target_companies: list[str] = field(default_factory=list)
    preferred_domains: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def to_profile(self) -> dict:
        return {
            "display_name": self.display_name,
            "role": self.role,
            "level": self.level,
            "target_companies": self.target_companies,
            "preferred_domains": self.preferred_domains,
        }


def parse_answers(form, domains: list[str]) -> Answers:
    """Validate the onboarding/profile form; every problem is reported at once."""
    a = Answers()
    a.display_name = " ".join(form.get("display_name", "").split())
    if len(a.display_name) > NAME_CHARS:
        a.errors["display_name"] = f"Keep your name under {NAME_CHARS} characters."
    a.role = form.get("role", "").strip()
    if a.role and a.role not in ROLES:
        a.errors["role"] = "Choose one of the listed roles (or 'other')."
    a.level = form.get("level", "").strip()
    if a.level and a.level not in DIFFICULTIES:
        a.errors["level"] = "Choose beginner, intermediate or advanced."
    raw = form.get("target_companies", "")
    names = [" ".join(n.split()) for n in re.split(r"[,\n]", raw)]
    names = list(dict.fromkeys(n for n in names if n))
    if len(names) > COMPANIES_MAX:
        a.errors["target_companies"] = (
            f"List at most {COMPANIES_MAX} companies (you listed {len(names)})."
        )
    elif any(len(n) > COMPANY_CHARS for n in names):
        a.errors["target_companies"] = (
            f"Each company name can be at most {COMPANY_CHARS} characters."
        )
    a.target_companies = names[:COMPANIES_MAX]
    chosen = form.getlist("preferred_domains") if hasattr(form, "getlist") else []
    unknown = [d for d in chosen if d not in domains]
    if unknown:
        a.errors["preferred_domains"] = "Choose domains from the list."
    a.preferred_domains = [d for d in dict.fromkeys(chosen) if d in domains]
    return a


def save_answers(user: User, answers: Answers) -> None:
    if answers.errors:
        raise ServiceError(next(iter(answers.errors.values())))
    profile = dict(user.profile or {})
    profile.update(answers.to_profile())
    profile["onboarding"] = "completed"
    user.profile = profile  # a new dict, so the JSON column is seen as changed
    db.session.commit()


def skip(user: User) -> None:
    profile = dict(user.profile or {})
    profile.setdefault("onboarding", "skipped")
    user.profile = profile
    db.session.commit()


def needs_onboarding(user: User) -> bool:
    return not (user.profile or {}).get("onboarding")


def recommend(
    profile: dict, scenarios: list[Scenario], tried: set[str] | frozenset = frozenset()
) -> list[dict]:
    """Three scenarios for this profile, each with the reason it was picked.

    The level decides first: scenarios at the user's level, then at most one step harder (a
    stretch), then easier ones; a scenario more than one step above the level is never
    recommended. Within a level, preferred domains come first, then scenarios not yet tried.
    """
    order = {d: i for i, d in enumerate(DIFFICULTIES)}
    level = profile.get("level") if profile.get("level") in order else DIFFICULTIES[0]
    target = order[level]
    preferred = set(profile.get("preferred_domains") or [])

    def distance(s: Scenario) -> int:
        step = order.get(s.difficulty, 0) - target
        return 0 if step == 0 else 1 if step == 1 else 2

    pool = [s for s in scenarios if order.get(s.difficulty, 0) - target <= 1]
    pool.sort(key=lambda s: (distance(s), s.domain not in preferred, s.slug in tried, s.title))
    out = []
    for s in pool[:RECOMMENDATIONS]:
        reasons = []
        if distance(s) == 0:
            reasons.append(f"matches your level ({level})")
        elif distance(s) == 1:
            reasons.append(f"a step up from {level}")
        else:
            reasons.append("a quick warm-up below your level")
        if s.domain in preferred:
            reasons.append(f"in a domain you chose ({s.domain})")
        if s.slug in tried:
            reasons.append("you have started it before")
        out.append({"scenario": s, "reasons": reasons})
    return out


def recommendations_for(user: User) -> list[dict]:
    scenarios = list(db.session.scalars(select(Scenario)))
    tried = set(
        db.session.scalars(
            select(Scenario.slug)
            .join(Project, Project.scenario_id == Scenario.id)
            .where(Project.owner_id == user.id)
        )
    )
    return recommend(user.profile or {}, scenarios, tried)


def domains() -> list[str]:
    return sorted(set(db.session.scalars(select(Scenario.domain))))
