"""Category scores from criteria: each criterion is 0..1, weighted inside its category, and
tagged `measured` when it comes from a simulation (the report states the measured share)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import rubric
from .evidence import rnd


@dataclass
class Criterion:
    key: str
    weight: float  # within the category (a category's weights sum to 1)
    score: float  # 0..1
    measured: bool
    evidence: list[str] = field(default_factory=list)
    note: str = ""


def clamp(x: float) -> float:
    return 0.0 if x != x else max(0.0, min(1.0, x))


def linear(x: float | None, good: float, bad: float) -> float:
    """1 at or below `good`, 0 at or above `bad` (or the reverse when good > bad)."""
    if x is None:
        return 0.0
    return clamp((bad - x) / (bad - good))


def latency_score(x: float | None, slo: float) -> float:
    """1 within the SLO, falling to 0 at twice the SLO; None (overloaded) scores 0."""
    return linear(x, slo, 2 * slo)


def error_score(err: float | None, budget: float) -> float:
    """1 within the error budget, 0 at 20x the budget or above (log scale); None scores 0."""
    if err is None:
        return 0.0
    if err <= budget:
        return 1.0
    return clamp(1.0 - math.log(err / budget) / math.log(20.0))


def good_score(good: float, base: float) -> float:
    """A failure scenario's good share relative to the no-failure share, mapped to 0..1."""
    rel = good / base if base > 0 else 0.0
    return linear(rel, rubric.GOOD_FULL, rubric.GOOD_ZERO)


def category(key: str, title: str, criteria: list[Criterion], rationale: str) -> dict:
    tot = sum(c.weight for c in criteria) or 1.0
    s = sum(c.weight * clamp(c.score) for c in criteria) / tot
    ev = []
    for c in criteria:
        for e in c.evidence:
            if e not in ev:
                ev.append(e)
    return {
        "key": key,
        "title": title,
        "weight": rubric.CATEGORY_WEIGHTS[key],
        "score": round(100 * s, 1),
        "rationale": rationale,
        "evidence": ev,
        "criteria": [
            {
                "key": c.key,
                "weight": rnd(c.weight / tot),
                "score": round(clamp(c.score), 3),
                "measured": c.measured,
                "evidence": c.evidence,
                "note": c.note,
            }
            for c in criteria
        ],
    }


def overall(categories: list[dict]) -> float:
    return round(sum(c["weight"] * c["score"] / 100.0 for c in categories), 1)


def measured_share(categories: list[dict]) -> float:
    """Share of the maximum overall score that comes from measured criteria."""
    return round(
        sum(
            c["weight"] * cr["weight"] for c in categories for cr in c["criteria"] if cr["measured"]
        )
        / 100.0,
        3,
    )


def lost_points(categories: list[dict], links: list[tuple[str, str]]) -> float:
    """Overall points the linked (category, criterion) pairs currently lose."""
    pts = 0.0
    for c in categories:
        for cr in c["criteria"]:
            if (c["key"], cr["key"]) in links:
                pts += c["weight"] * cr["weight"] * (1.0 - cr["score"])
    return round(pts, 2)
