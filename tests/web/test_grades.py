"""The grading pages: start, self-polling status, report page, JSON, fix version, regrade."""

from __future__ import annotations

import re
import uuid

from sdc.extensions import db
from sdc.models import GradeReport, User, Version
from tests import factories
from tests.services.test_grades import make_graded_version


def _version(app, email="user@example.com", example="middling"):
    with app.app_context():
        user = (
            db.session.get(User, factories.make_user(email).id)
            if email != "user@example.com"
            else db.session.scalar(db.select(User).where(User.email == email))
        )
        version = make_graded_version(user, example)
        return version.project_id, version.id


def _grade_url(project_id, version_id):
    return f"/projects/{project_id}/versions/{version_id}/grades"


def test_plain_post_redirects_to_report(app, logged_in, hx):
    pid, vid = _version(app)
    resp = logged_in.post(_grade_url(pid, vid), data={"csrf_token": hx.token})
    assert resp.status_code == 303
    page = logged_in.get(resp.headers["Location"])
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Overall score" in body and "Categories" in body and "Action items" in body
    assert "Coach&#39;s summary" in body or "Coach's summary" in body


def test_htmx_post_returns_finished_widget_without_polling(app, hx):
    pid, vid = _version(app)
    resp = hx.post(_grade_url(pid, vid))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 202
    assert body.startswith('<div id="grade-status"') and "hx-trigger" not in body
    assert "Open the report" in body


def test_pending_widget_polls(app, hx, monkeypatch):
    from sdc.services import grades

    monkeypatch.setattr(grades, "_send", lambda grade_id: None)
    pid, vid = _version(app)
    body = hx.post(_grade_url(pid, vid)).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in body and "queued" in body


def test_json_and_bearer_token(app, client, user):
    pid, vid = _version(app)
    with app.app_context():
        token = factories.make_token(db.session.get(User, user.id))
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    resp = client.post(_grade_url(pid, vid), headers=headers)
    assert resp.status_code == 202
    data = resp.get_json()
    assert data["status"] == "completed" and data["report"]["rubric_version"]
    again = client.get(f"/grades/{data['id']}", headers=headers).get_json()
    assert again["overall_score"] == data["overall_score"]


def test_fix_version_button_creates_version_and_opens_workspace(app, logged_in, hx):
    pid, vid = _version(app, example="weak")
    location = logged_in.post(_grade_url(pid, vid), data={"csrf_token": hx.token}).headers[
        "Location"
    ]
    page = logged_in.get(location).get_data(as_text=True)
    action_id = re.search(r'name="action_id" value="([^"]+)"', page).group(1)
    grade_id = location.rsplit("/", 1)[1]
    resp = logged_in.post(
        f"/grades/{grade_id}/fix-version", data={"csrf_token": hx.token, "action_id": action_id}
    )
    assert resp.status_code == 303 and f"/projects/{pid}/versions/" in resp.headers["Location"]
    with app.app_context():
        assert db.session.query(Version).filter_by(project_id=pid).count() == 2


def test_fix_version_with_unknown_action_is_refused(app, logged_in, hx):
    pid, vid = _version(app)
    location = logged_in.post(_grade_url(pid, vid), data={"csrf_token": hx.token}).headers[
        "Location"
    ]
    grade_id = location.rsplit("/", 1)[1]
    resp = hx.post(f"/grades/{grade_id}/fix-version", data={"action_id": "nope"})
    assert resp.status_code == 422 and "no automatic fix" in resp.get_data(as_text=True)


def test_regrade_starts_a_new_grade(app, logged_in, hx):
    pid, vid = _version(app)
    location = logged_in.post(_grade_url(pid, vid), data={"csrf_token": hx.token}).headers[
        "Location"
    ]
    grade_id = location.rsplit("/", 1)[1]
    resp = logged_in.post(f"/grades/{grade_id}/regrade", data={"csrf_token": hx.token})
    assert resp.status_code == 303 and resp.headers["Location"] != location
    with app.app_context():
        assert db.session.query(GradeReport).count() == 2


def test_other_users_and_bad_ids_get_404(app, client, logged_in, hx):
    pid, vid = _version(app, email="owner2@example.com")
    assert hx.post(_grade_url(pid, vid)).status_code == 404
    assert logged_in.get(f"/grades/{uuid.uuid4()}").status_code == 404
    assert logged_in.get("/grades/not-a-uuid").status_code == 404


def test_user_text_is_escaped_in_report(app, logged_in, hx):
    pid, vid = _version(app)
    with app.app_context():
        version = db.session.get(Version, vid)
        design = dict(version.design)
        design["components"] = [dict(c) for c in design["components"]]
        design["components"][0]["label"] = "<script>alert(1)</script>"
        version.design = design
        db.session.commit()
    location = logged_in.post(_grade_url(pid, vid), data={"csrf_token": hx.token}).headers[
        "Location"
    ]
    body = logged_in.get(location).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body


def test_project_page_shows_latest_score_per_version_and_trend(app, logged_in, hx):
    pid, vid = _version(app, example="weak")
    location = logged_in.post(_grade_url(pid, vid), data={"csrf_token": hx.token}).headers[
        "Location"
    ]
    grade_id = location.rsplit("/", 1)[1]
    page = logged_in.get(location).get_data(as_text=True)
    action_id = re.search(r'name="action_id" value="([^"]+)"', page).group(1)
    fix = logged_in.post(
        f"/grades/{grade_id}/fix-version", data={"csrf_token": hx.token, "action_id": action_id}
    )
    new_vid = fix.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    logged_in.post(_grade_url(pid, new_vid), data={"csrf_token": hx.token})
    with app.app_context():
        scores = [
            g.overall_score for g in db.session.query(GradeReport).order_by(GradeReport.created_at)
        ]
    body = logged_in.get(f"/projects/{pid}").get_data(as_text=True)
    for score in scores:
        assert f"{round(score, 1)}/100" in body
    assert 'id="project-score-trend"' in body and "across 2 graded versions" in body
