"""The dashboard's arithmetic on plain data: the score trend (one point per graded version, a
regrade replacing the earlier grade), per-category levels and the weakest categories, and the
scenario suggested to practise a weak category. Expectations are worked out by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sdc.services import progress

T0 = datetime(2026, 1, 1, tzinfo=UTC)
V1, V2, V3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def grade(version, number, minutes, score, **cats):
    return {
        "grade_id": uuid.uuid4(),
        "version_id": version,
        "version_number": number,
        "project_id": None,
        "project_title": "Shortener",
        "score": score,
        "at": T0 + timedelta(minutes=minutes),
        "categories": {k.replace("_", "-"): {"title": k, "score": v} for k, v in cats.items()},
    }


def test_trend_is_one_point_per_version_in_grading_order_with_regrades_replacing():
    history = [
        grade(V1, 1, 0, 40.0),
        grade(V2, 2, 10, 55.0),
        grade(V1, 1, 20, 45.0),  # v1 regraded later: replaces 40 and moves after v2
        grade(V3, 3, 30, None),  # a grade without a score is no point
    ]
    out = progress.trend(history)
    assert [(p["label"], p["score"]) for p in out["points"]] == [
        ("Shortener v2", 55.0),
        ("Shortener v1", 45.0),
    ]
    assert (out["first"], out["last"], out["best"], out["change"]) == (55.0, 45.0, 55.0, -10.0)


def test_trend_of_one_or_no_grades():
    assert progress.trend([])["points"] == [] and progress.trend([])["change"] is None
    one = progress.trend([grade(V1, 1, 0, 62.5)])
    assert one["first"] == one["last"] == one["best"] == 62.5 and one["change"] is None


def test_category_levels_use_the_last_three_grades_and_the_two_weakest_are_flagged():
    history = [
        grade(V1, 1, 0, 50, scalability=20, reliability_fault_tolerance=90, trade_off_reasoning=60),
        grade(
            V2, 2, 10, 60, scalability=40, reliability_fault_tolerance=80, trade_off_reasoning=65
        ),
        grade(V2, 2, 20, 60, scalability=60, reliability_fault_tolerance=70),
        grade(V3, 3, 30, 70, scalability=80, reliability_fault_tolerance=60),
    ]
    cats = {c["key"]: c for c in progress.category_progress(history)}
    # scalability: last three 40, 60, 80 -> 60; first 20, latest 80, change +60
    assert cats["scalability"]["level"] == 60.0
    assert (cats["scalability"]["first"], cats["scalability"]["latest"]) == (20, 80)
    assert cats["scalability"]["change"] == 60 and cats["scalability"]["grades"] == 4
    # reliability: 80, 70, 60 -> 70 (not under 70: not weak); trade-offs: 60, 65 -> 62.5
    assert cats["reliability-fault-tolerance"]["level"] == 70.0
    assert cats["trade-off-reasoning"]["level"] == 62.5
    order = [c["key"] for c in progress.category_progress(history)]
    assert order == ["scalability", "trade-off-reasoning", "reliability-fault-tolerance"]
    assert {k for k, c in cats.items() if c["weak"]} == {"scalability", "trade-off-reasoning"}


def scenario(slug, difficulty, *checks):
    return SimpleNamespace(
        slug=slug,
        title=slug,
        difficulty=difficulty,
        requirements=[{"check": {"type": c}} for c in checks],
    )


def test_suggestion_exercises_the_category_then_prefers_untried_and_the_users_level():
    az = ("multi-az", "survives-az-down", "no-spof")  # the reliability checks
    catalog = [
        scenario("cache-only", "beginner", "read-cache", "read-cache"),
        scenario("resilient-hard", "advanced", *az),
        scenario("resilient-easy", "beginner", *az),
        scenario("half", "beginner", "multi-az"),
    ]
    pick = progress.suggest_scenario
    key = "reliability-fault-tolerance"
    assert pick(key, catalog, level="beginner").slug == "resilient-easy"
    assert pick(key, catalog, level="advanced").slug == "resilient-hard"
    assert pick(key, catalog, level="beginner", tried={"resilient-easy"}).slug == "resilient-hard"
    assert pick("no-such-category", catalog) is None and pick(key, []) is None
