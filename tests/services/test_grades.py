"""Grades as durable jobs: snapshot, dedupe, idempotency, AI feedback stored, fix versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sdc.extensions import db
from sdc.models import GradeReport, User, Version
from sdc.services import NotFound, grades
from sdc.services.projects import start_project
from tests import factories

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "grading" / "url-shortener"


def load_example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def make_graded_version(user, example: str = "middling") -> Version:
    _project, version = start_project(user, "url-shortener")
    doc = load_example(example)
    version.design = {k: v for k, v in doc.items() if k not in ("traffic", "notes")}
    version.notes = doc.get("notes", "")
    db.session.commit()
    return version


@pytest.fixture
def owner(app):
    with app.app_context():
        yield db.session.get(User, factories.make_user().id)


def test_grade_completes_with_report_and_mock_ai(app, owner):
    version = make_graded_version(owner)
    row, created = grades.start_grade(owner, version.id)
    db.session.refresh(row)
    assert created and row.status == "completed", row.error
    assert 0 <= row.overall_score <= 100 and row.overall_score == row.report["overall_score"]
    assert {c["key"] for c in row.report["categories"]} >= {
        "scalability",
        "reliability-fault-tolerance",
    }
    assert row.ai_provider == "mock" and row.ai_summary["available"] is True
    known = {e["id"] for e in row.report["evidence"]}
    assert all(set(i["evidence"]) <= known for i in row.ai_summary["items"])
    assert row.input_snapshot["scenario"]["slug"] == "url-shortener"
    # What the dashboard reads is stored with the report (the worker writes both, in Core).
    assert row.category_scores == [
        {"key": c["key"], "title": c["title"], "score": c["score"]}
        for c in row.report["categories"]
    ]


def test_category_scores_follow_the_report_and_the_migration_fills_old_grades(app, owner):
    """An ORM write of ``report`` sets ``category_scores``; migration 0011 fills them for grades
    stored before it (run here on rows whose column is emptied, as they were)."""

    from sdc.models.run import category_scores

    report = {
        "categories": [
            {"key": "scalability", "title": "Scalability", "score": 72, "evidence": ["e1"]},
            {"key": "no-score", "title": "Unscored", "score": None},
            "not a category",
        ]
    }
    expected = [{"key": "scalability", "title": "Scalability", "score": 72.0}]
    assert category_scores(report) == expected
    assert category_scores(None) is None and category_scores({"categories": "x"}) == []

    version = make_graded_version(owner)

    def row(status: str, **values) -> GradeReport:
        return GradeReport(
            version_id=version.id,
            user_id=owner.id,
            status=status,
            input_snapshot={},
            input_hash=status,
            **values,
        )

    done, pending = row("completed", report=report), row("pending")
    db.session.add_all([done, pending])
    db.session.commit()
    assert done.category_scores == expected and pending.category_scores is None

    filename = "0011_grade_category_scores.py"
    assert factories.refill_by_migration(GradeReport, "category_scores", filename) == 1
    assert db.session.get(GradeReport, done.id).category_scores == expected
    assert db.session.get(GradeReport, pending.id).category_scores is None


def test_same_input_gives_the_same_report(app, owner):
    version = make_graded_version(owner)
    first, _ = grades.start_grade(owner, version.id)
    second, created = grades.start_grade(owner, version.id)  # first finished, so a new grade runs
    db.session.refresh(first)
    db.session.refresh(second)
    assert created and first.id != second.id
    assert json.dumps(first.report, sort_keys=True) == json.dumps(second.report, sort_keys=True)


def test_second_execution_does_nothing(app, owner):
    version = make_graded_version(owner)
    row, _ = grades.start_grade(owner, version.id)
    assert grades.execute_grade(row.id) == "skipped"
    db.session.refresh(row)
    assert row.attempts == 1


def test_ai_failure_still_ships_the_report(app, owner, monkeypatch):
    import dataclasses

    settings = app.config["SDC_SETTINGS"]
    app.config["SDC_SETTINGS"] = dataclasses.replace(
        settings,
        ai_provider="openai-compatible",
        ai_base_url="http://127.0.0.1:9",
        ai_timeout_s=0.5,
    )
    try:
        version = make_graded_version(owner)
        row, _ = grades.start_grade(owner, version.id)
    finally:
        app.config["SDC_SETTINGS"] = settings
    db.session.refresh(row)
    assert row.status == "completed" and row.report["overall_score"] is not None
    assert row.ai_summary["available"] is False and "unavailable" in row.ai_summary["reason"]
    assert row.ai_provider == "openai-compatible"


def test_fix_version_applies_the_fix_and_leaves_the_original(app, owner):
    version = make_graded_version(owner, "weak")
    row, _ = grades.start_grade(owner, version.id)
    db.session.refresh(row)
    action = next(a for a in row.report["action_items"] if a.get("fix"))
    original = json.dumps(version.design, sort_keys=True)
    new = grades.create_fix_version(owner, row.id, action["id"])
    db.session.refresh(version)
    assert json.dumps(version.design, sort_keys=True) == original
    assert new.parent_id == version.id and new.number == version.number + 1
    assert json.dumps(new.design, sort_keys=True) != original
    with pytest.raises(grades.GradeRefused):
        grades.create_fix_version(owner, row.id, "no-such-action")


def test_fix_version_improves_the_score(app, owner):
    """The grader's fix proof is measured: applying the top fix must not lower the score."""
    version = make_graded_version(owner, "weak")
    before, _ = grades.start_grade(owner, version.id)
    db.session.refresh(before)
    action = next(
        a
        for a in before.report["action_items"]
        if a.get("fix") and a.get("fix_proof", {}).get("improved")
    )
    fixed = grades.create_fix_version(owner, before.id, action["id"])
    after, _ = grades.start_grade(owner, fixed.id)
    db.session.refresh(after)
    assert after.overall_score >= before.overall_score


def test_strangers_get_404(app, owner):
    version = make_graded_version(owner)
    row, _ = grades.start_grade(owner, version.id)
    stranger = factories.make_user("other@example.com")
    with pytest.raises(NotFound):
        grades.get_grade_for(stranger, row.id)
    with pytest.raises(NotFound):
        grades.start_grade(stranger, version.id)


def test_engine_crash_fails_the_grade_with_reason(app, owner, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("grader exploded")

    monkeypatch.setattr(grades, "grade", boom)
    version = make_graded_version(owner)
    row, _ = grades.start_grade(owner, version.id)
    db.session.refresh(row)
    assert row.status == "failed" and "grader exploded" in row.error
    assert db.session.query(GradeReport).count() == 1


def test_identical_grade_in_flight_is_reused_and_per_user_limit_applies(app, owner, monkeypatch):
    from sdc.services import RateLimited

    monkeypatch.setattr(grades, "_send", lambda grade_id: None)  # the queue holds them
    versions = [make_graded_version(owner) for _ in range(4)]
    first, created = grades.start_grade(owner, versions[0].id)
    again, created_again = grades.start_grade(owner, versions[0].id)
    assert created and not created_again and again.id == first.id
    limit = app.config["SDC_SETTINGS"].runs_concurrent
    for version in versions[1:limit]:
        grades.start_grade(owner, version.id)
    with pytest.raises(RateLimited) as info:
        grades.start_grade(owner, versions[limit].id)
    assert f"grades queued or running (the limit is {limit})" in info.value.message
    assert db.session.query(GradeReport).count() == limit


def test_reaper_enqueues_a_grade_the_queue_never_got(app, owner, monkeypatch):
    def queue_down(grade_id):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    version = make_graded_version(owner)
    monkeypatch.setattr(grades, "_send", queue_down)
    row, created = grades.start_grade(owner, version.id)
    assert created and row.status == "pending" and row.enqueued_at is None
    monkeypatch.undo()  # the queue is back
    assert grades.reap_stuck_grades()["requeued"] == 1
    db.session.refresh(row)
    assert row.status == "completed" and row.report["overall_score"] is not None
