"""Admin pages: 404 for everyone but admins, every view audited, filters, CSV, stats, actions."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from sdc.extensions import db
from sdc.models import AuditLog, RequestTelemetry, SimulationRun, User, utcnow
from sdc.services import admin as admin_service
from sdc.services import audit, telemetry
from tests import factories
from tests.conftest import AuthActions, csrf_token

PAGES = [
    "/admin/",
    "/admin/audit",
    "/admin/audit.csv",
    "/admin/requests",
    "/admin/jobs",
    "/admin/users",
]


@pytest.fixture
def admin_client(app, client):
    with app.app_context():
        secret = factories.enrol_2fa(factories.make_user("root@example.com", role="admin"))
    assert AuthActions(client).login_2fa("root@example.com", secret).status_code == 303
    return client


@pytest.mark.parametrize("path", PAGES)
def test_non_admins_get_404(app, client, user, path):
    assert client.get(path).status_code == 404  # anonymous: no redirect to sign-in either
    AuthActions(client).login()
    assert client.get(path).status_code == 404


def test_non_admin_actions_get_404_and_change_nothing(app, logged_in, user):
    token = csrf_token(logged_in, "/scenarios/")
    resp = logged_in.post(
        f"/admin/users/{user.id}", data={"action": "grant_admin", "csrf_token": token}
    )
    assert resp.status_code == 404
    with app.app_context():
        assert db.session.get(User, user.id).role == "user"


@pytest.mark.parametrize("path", PAGES[1:])
def test_admin_pages_render_and_are_audited(app, admin_client, path):
    resp = admin_client.get(path)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == audit.ADMIN_VIEW)).all()
    assert rows and rows[-1].actor_email == "root@example.com"


def test_audit_filters_pagination_and_bad_input(app, admin_client):
    with app.app_context():
        for i in range(30):
            audit.record(audit.LOGIN_FAILED, "user", f"u{i}", 401, actor_email=f"p{i}@example.com")
        audit.record(audit.TOKEN_CREATED, "token", "t1", 200, actor_email="keep@example.com")
    body = admin_client.get("/admin/audit?action=token.created").get_data(as_text=True)
    assert "keep@example.com" in body and "p3@example.com" not in body
    body = admin_client.get("/admin/audit?action=login_failed&per_page=10&page=2").get_data(
        as_text=True
    )
    assert "page 2 of 3" in body
    assert "1 entries" in admin_client.get("/admin/audit?resource=user:u7").get_data(as_text=True)
    assert "30 entries" in admin_client.get("/admin/audit?status=401").get_data(as_text=True)
    today, tomorrow = utcnow().date(), utcnow().date() + timedelta(days=1)
    assert "30 entries" in admin_client.get(
        f"/admin/audit?since={today}&until={today}&action=login_failed"
    ).get_data(as_text=True)
    assert "0 entries" in admin_client.get(f"/admin/audit?since={tomorrow}").get_data(as_text=True)
    for bad in ("page=0", "page=abc", "status=99", "status=x", "since=yesterday", "per_page=-1"):
        assert admin_client.get(f"/admin/audit?{bad}").status_code == 400, bad
    # page size is capped
    with app.app_context():
        assert audit.search(audit.AuditFilter(), 1, 10_000)["per_page"] == audit.PAGE_SIZE_MAX


def test_csv_export_is_safe(app, admin_client):
    with app.app_context():
        audit.record("=cmd|' /C calc'!A0", "user", "@SUM(1)", 200, actor_email="+evil@example.com")
    resp = admin_client.get("/admin/audit.csv?user=evil")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="audit-') and disposition.endswith('.csv"')
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0][0] == "time" and len(rows) == 2
    cells = rows[1]
    assert cells[1] == "'+evil@example.com" and cells[3].startswith("'=") and cells[5] == "'@SUM(1)"
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == audit.ADMIN_EXPORT))


def test_request_stats_percentiles_and_window(app, admin_client):
    now = utcnow()
    with app.app_context():
        for i in range(100):
            db.session.add(
                RequestTelemetry(
                    time=now - timedelta(minutes=5),
                    request_id=f"r{i}",
                    method="GET",
                    route="/slow",
                    status=500 if i < 5 else 200,
                    duration_ms=float(i + 1),
                )
            )
        db.session.add(
            RequestTelemetry(
                time=now - timedelta(hours=3),
                request_id="old",
                method="GET",
                route="/old",
                status=200,
                duration_ms=1.0,
            )
        )
        db.session.commit()
        stats = admin_service.request_stats("1h", now=now)
    assert stats["total"] == 100
    (route,) = [r for r in stats["routes"] if r["route"] == "/slow"]
    assert route["p50_ms"] == pytest.approx(50.5) and route["p95_ms"] == pytest.approx(95.05)
    assert route["p99_ms"] == pytest.approx(99.01) and route["error_rate"] == pytest.approx(0.05)
    assert sum(stats["series"]) * stats["bucket_minutes"] == pytest.approx(100)
    telemetry.flush(app)
    body = admin_client.get("/admin/requests?window=6h").get_data(as_text=True)
    assert "/old" in body and "<polyline" in body
    assert admin_client.get("/admin/requests?window=1y").status_code == 400


def test_percentile_matches_percentile_cont():
    assert admin_service.percentile([], 0.5) is None
    assert admin_service.percentile([1, 2, 3, 4], 0.5) == 2.5
    assert admin_service.percentile([10], 0.99) == 10


def test_stuck_job_is_listed_and_requeued(app, admin_client, user, monkeypatch):
    from sdc.services import runs
    from tests.services.test_runs import SMALL_DESIGN, TRAFFIC, make_version

    sent = []
    monkeypatch.setattr(runs, "_send", lambda run_id: sent.append(run_id))
    with app.app_context():
        owner = db.session.get(User, user.id)
        version = make_version(owner, SMALL_DESIGN, TRAFFIC)
        run, _ = runs.start_run(owner, version.id, engine="analytic")
        run_id = run.id
        db.session.execute(
            SimulationRun.__table__.update()
            .where(SimulationRun.id == run_id)
            .values(status="running", attempts=1, updated_at=utcnow() - timedelta(hours=1))
        )
        db.session.commit()
    body = admin_client.get("/admin/jobs").get_data(as_text=True)
    assert str(run_id) in body and "Re-enqueue" in body
    token = csrf_token(admin_client, "/admin/jobs")
    resp = admin_client.post(f"/admin/jobs/simulation/{run_id}/requeue", data={"csrf_token": token})
    assert resp.status_code == 303
    assert sent == [str(run_id), str(run_id)]
    with app.app_context():
        row = db.session.get(SimulationRun, run_id)
        assert row.status == "pending" and row.enqueued_at is not None
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == audit.JOB_REQUEUED))
    # finished or unknown jobs cannot be re-enqueued
    assert (
        admin_client.post(
            f"/admin/jobs/bogus/{run_id}/requeue", data={"csrf_token": token}
        ).status_code
        == 404
    )


def test_user_actions(app, admin_client, user):
    token = csrf_token(admin_client, "/admin/users")
    body = admin_client.get("/admin/users?q=user@").get_data(as_text=True)
    assert "user@example.com" in body and "root@example.com" not in body

    def act(action, target=user.id):
        return admin_client.post(
            f"/admin/users/{target}", data={"action": action, "csrf_token": token}
        )

    with app.app_context():
        version_before = db.session.get(User, user.id).session_version
    assert act("disable").status_code == 303
    assert act("enable").status_code == 303
    assert act("end_sessions").status_code == 303
    assert act("grant_admin").status_code == 303
    assert act("revoke_admin").status_code == 303
    assert act("explode").status_code == 400
    with app.app_context():
        target = db.session.get(User, user.id)
        assert not target.disabled and target.role == "user"
        assert target.session_version == version_before + 2  # disable + end sessions
        root = db.session.scalar(select(User).where(User.email == "root@example.com"))
        actions = [
            r.action
            for r in db.session.scalars(
                select(AuditLog).where(AuditLog.resource_id == str(user.id)).order_by(AuditLog.id)
            )
        ]
    for expected in (
        audit.USER_DISABLED,
        audit.USER_ENABLED,
        audit.SESSIONS_ENDED,
        audit.ADMIN_GRANTED,
        audit.ADMIN_REVOKED,
    ):
        assert expected in actions
    # an admin cannot disable or demote themselves
    assert act("disable", root.id).status_code == 400
    assert act("revoke_admin", root.id).status_code == 400


def test_disabled_user_is_signed_out(app, admin_client, client, user):
    other = app.test_client()
    assert AuthActions(other).login().status_code == 303
    assert other.get("/dashboard").status_code == 200
    token = csrf_token(admin_client, "/admin/users")
    admin_client.post(f"/admin/users/{user.id}", data={"action": "disable", "csrf_token": token})
    assert other.get("/dashboard").status_code == 302
