"""Onboarding: after sign-up, skippable, saved in the profile, three recommendations by level."""

from __future__ import annotations

from sqlalchemy import select

from sdc.extensions import db
from sdc.models import Scenario, User
from sdc.services import onboarding
from tests import factories
from tests.conftest import csrf_token

ORDER = {"beginner": 0, "intermediate": 1, "advanced": 2}


def _scenarios():
    return list(db.session.scalars(select(Scenario)))


def test_signup_lands_on_onboarding(client, auth):
    resp = auth.signup("fresh@example.com")
    assert resp.headers["Location"].endswith("/onboarding")
    page = client.get("/onboarding").get_data(as_text=True)
    assert "Your system-design level" in page and "Skip for now" in page


def test_onboarding_requires_sign_in(client):
    assert client.get("/onboarding").status_code == 302


def test_skip_goes_to_scenarios_and_is_remembered(app, logged_in, user):
    token = csrf_token(logged_in, "/onboarding")
    resp = logged_in.post("/onboarding/skip", data={"csrf_token": token})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/scenarios/")
    with app.app_context():
        assert db.session.get(User, user.id).profile["onboarding"] == "skipped"
    assert "set up your practice plan" not in logged_in.get("/dashboard").get_data(as_text=True)


def test_answers_are_saved_and_three_recommendations_shown(app, logged_in, user):
    token = csrf_token(logged_in, "/onboarding")
    resp = logged_in.post(
        "/onboarding",
        data={
            "csrf_token": token,
            "role": "backend engineer",
            "level": "beginner",
            "target_companies": "Stripe, Netflix,  Stripe ,\nShopify",
            "preferred_domains": ["messaging"],
        },
    )
    assert resp.status_code == 303 and resp.headers["Location"].endswith(
        "/onboarding#recommendations"
    )
    with app.app_context():
        profile = db.session.get(User, user.id).profile
    assert profile["level"] == "beginner" and profile["role"] == "backend engineer"
    assert profile["target_companies"] == ["Stripe", "Netflix", "Shopify"]
    assert profile["preferred_domains"] == ["messaging"] and profile["onboarding"] == "completed"
    page = logged_in.get("/onboarding").get_data(as_text=True)
    assert page.count('id="recommended-') == 3
    assert "matches your level (beginner)" in page
    assert "Update your answers" in page and "Skip for now" not in page
    # The form keeps the answers for editing.
    assert 'value="Stripe, Netflix, Shopify"' in page
    assert 'id="level-beginner" name="level" value="beginner" checked' in page


def test_invalid_answers_are_all_reported(logged_in):
    token = csrf_token(logged_in, "/onboarding")
    resp = logged_in.post(
        "/onboarding",
        data={
            "csrf_token": token,
            "role": "wizard",
            "level": "guru",
            "target_companies": ",".join(f"Company {i}" for i in range(12)),
            "preferred_domains": ["astrology"],
        },
    )
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    for message in (
        "Choose one of the listed roles",
        "Choose beginner, intermediate or advanced",
        "List at most 10 companies (you listed 12)",
        "Choose domains from the list",
    ):
        assert message in body


def test_recommendations_respect_level(app):
    with app.app_context():
        scenarios = _scenarios()
        for level in ("beginner", "intermediate", "advanced"):
            picks = onboarding.recommend({"level": level}, scenarios)
            assert len(picks) == 3
            got = [ORDER[p["scenario"].difficulty] for p in picks]
            # Never more than one step above the level; the level itself comes first.
            assert max(got) <= ORDER[level] + 1
            assert got[0] == ORDER[level]
            assert got == sorted(
                got, key=lambda d: 0 if d == ORDER[level] else 1 if d > ORDER[level] else 2
            )
        beginner = onboarding.recommend({"level": "beginner"}, scenarios)
        assert {p["scenario"].difficulty for p in beginner} <= {"beginner", "intermediate"}
        advanced = onboarding.recommend({"level": "advanced"}, scenarios)
        assert all(p["scenario"].difficulty == "advanced" for p in advanced)


def test_recommendations_prefer_chosen_domains_and_untried(app):
    with app.app_context():
        scenarios = _scenarios()
        picks = onboarding.recommend(
            {"level": "intermediate", "preferred_domains": ["messaging"]}, scenarios
        )
        domains = [p["scenario"].domain for p in picks]
        assert domains[:2] == ["messaging", "messaging"]
        assert "in a domain you chose (messaging)" in picks[0]["reasons"]
        tried = {picks[0]["scenario"].slug}
        again = onboarding.recommend(
            {"level": "intermediate", "preferred_domains": ["messaging"]}, scenarios, tried
        )
        assert again[0]["scenario"].slug != picks[0]["scenario"].slug


def test_no_level_means_beginner_recommendations(app):
    with app.app_context():
        picks = onboarding.recommend({}, _scenarios())
        assert picks[0]["scenario"].difficulty == "beginner"


def test_tried_scenarios_come_from_the_users_projects(app, user):
    with app.app_context():
        u = db.session.get(User, user.id)
        factories.make_project(u, "url-shortener")
        u.profile = {"level": "beginner", "onboarding": "completed"}
        db.session.commit()
        picks = onboarding.recommendations_for(u)
        assert picks[0]["scenario"].slug == "pastebin"
        started = [p for p in picks if p["scenario"].slug == "url-shortener"]
        assert started and "you have started it before" in started[0]["reasons"]


def test_dashboard_uses_the_level_for_recommendations(app, logged_in, user):
    with app.app_context():
        u = db.session.get(User, user.id)
        u.profile = {"level": "advanced", "onboarding": "completed"}
        db.session.commit()
    body = logged_in.get("/dashboard").get_data(as_text=True)
    assert "matches your level (advanced)" in body and "badge-beginner" not in body
