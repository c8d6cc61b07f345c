"""Share links: create (owner only), open without signing in, read-only, revoke, expiry,
audit, fork into my projects."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from sdc.extensions import db
from sdc.models import AuditLog, Project, ShareLink, User, utcnow
from tests import factories
from tests.conftest import AuthActions, csrf_token
from tests.web._compare_helpers import add_cache, pair_ids

JSON = {"Accept": "application/json"}


def _create(client, ids, token, **form):
    return client.post(f"/projects/{ids.project}/share-links", data={"csrf_token": token, **form})


def _link_url(resp) -> str:
    match = re.search(r'value="([^"]+)" id="new-link-url"', resp.get_data(as_text=True))
    assert match, resp.get_data(as_text=True)[:2000]
    return match.group(1)


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


@pytest.fixture
def shared(app, logged_in, hx, user):
    ids = pair_ids(app, user, add_cache, run=True, title="My design")
    resp = _create(logged_in, ids, hx.token)
    assert resp.status_code == 201
    ids.url = _link_url(resp)
    ids.path = _path(ids.url)
    ids.token = ids.path.rsplit("/", 1)[1]
    return ids


def test_token_is_long_random_and_stored_only_as_a_hash(app, shared):
    assert len(shared.token) >= 43  # 32 random bytes, base64url: 256 bits
    with app.app_context():
        link = db.session.scalar(select(ShareLink))
        assert link.token_hash != shared.token and shared.token not in link.token_hash
        import hashlib

        assert link.token_hash == hashlib.sha256(shared.token.encode()).hexdigest()


def test_anyone_with_the_link_reads_the_report_without_signing_in(app, shared):
    anon = app.test_client()
    resp = anon.get(shared.path)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "My design: report on version 2" in page and 'id="shared-banner"' in page
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in resp.headers["Cache-Control"]
    # Read-only: no owner controls, no forms that change the project.
    assert 'id="share-links"' not in page and 'id="create-link-form"' not in page
    assert "/versions/" not in page or 'method="post"' not in page.split('id="report"')[1]
    assert 'id="fork-button"' not in page  # signed-out viewers are asked to sign in
    data = anon.get(shared.path, headers=JSON).get_json()
    assert data["version"] == 2 and data["run"]["seed"] == 1
    with app.app_context():
        link = db.session.scalar(select(ShareLink))
        assert link.view_count == 2 and link.last_viewed_at is not None


def test_holder_cannot_write(app, shared):
    anon = app.test_client()
    assert anon.get(shared.path).status_code == 200
    token = csrf_token(anon, shared.path)
    base = f"/projects/{shared.project}"
    attempts = [
        anon.post(f"{base}/versions/{shared.v2}/copy", data={"csrf_token": token}),
        anon.post(f"{base}/share-links", data={"csrf_token": token}),
        anon.post(f"{base}/compare/runs", data={"csrf_token": token}),
        anon.get(f"{base}/report"),
        anon.get(f"{base}/versions/{shared.v2}"),
        anon.post(f"{shared.path}/fork", data={"csrf_token": token}),
    ]
    for resp in attempts:
        assert resp.status_code in (302, 303, 401)
        assert "/auth/login" in resp.headers.get("Location", "/auth/login")
    with app.app_context():
        assert db.session.query(Project).count() == 1


def test_revoked_link_is_404_on_the_next_request(app, logged_in, hx, shared):
    anon = app.test_client()
    assert anon.get(shared.path).status_code == 200
    with app.app_context():
        link_id = db.session.scalar(select(ShareLink.id))
    resp = logged_in.post(
        f"/projects/{shared.project}/share-links/{link_id}",
        data={"csrf_token": hx.token, "_method": "DELETE"},
    )
    assert resp.status_code == 303
    gone = anon.get(shared.path)
    assert gone.status_code == 404
    assert gone.headers["Referrer-Policy"] == "no-referrer"
    assert anon.get(shared.path, headers=JSON).status_code == 404
    page = logged_in.get(f"/projects/{shared.project}/share-links", headers=JSON).get_json()
    assert [link["state"] for link in page["links"]] == ["revoked"]


def test_htmx_create_and_revoke_swap_the_links_section(app, hx, user):
    ids = pair_ids(app, user)
    resp = hx.post(f"/projects/{ids.project}/share-links", data={"expires_in_days": "7"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 201 and body.lstrip().startswith('<section id="share-links"')
    assert 'id="new-link-url"' in body and "<html" not in body
    with app.app_context():
        link = db.session.scalar(select(ShareLink))
        assert link.expires_at is not None
        link_id = link.id
    resp = hx.delete(f"/projects/{ids.project}/share-links/{link_id}")
    assert resp.status_code == 200 and 'data-state="revoked"' in resp.get_data(as_text=True)


def test_expired_link_is_404(app, shared):
    with app.app_context():
        link = db.session.scalar(select(ShareLink))
        link.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert app.test_client().get(shared.path).status_code == 404


def test_bad_expiry_is_refused(app, logged_in, hx, user):
    ids = pair_ids(app, user)
    resp = _create(logged_in, ids, hx.token, expires_in_days="9999")
    assert resp.status_code == 422 and "between 1 and 365 days" in resp.get_data(as_text=True)
    resp = logged_in.post(
        f"/projects/{ids.project}/share-links", json={"expires_in_days": 0}, headers=JSON
    )
    assert resp.status_code in (400, 422)


def test_unknown_token_is_404(app):
    anon = app.test_client()
    assert anon.get("/shared/not-a-real-token").status_code == 404
    assert anon.get("/shared/" + "x" * 500).status_code == 404


def test_only_the_owner_manages_links(app, shared, logged_in, hx):
    with app.app_context():
        factories.make_user("other@example.com")
        link_id = db.session.scalar(select(ShareLink.id))
    other = app.test_client()
    AuthActions(other).login("other@example.com")
    token = csrf_token(other, "/")
    base = f"/projects/{shared.project}/share-links"
    assert other.get(base).status_code == 404
    assert other.post(base, data={"csrf_token": token}).status_code == 404
    resp = other.post(f"{base}/{link_id}", data={"csrf_token": token, "_method": "DELETE"})
    assert resp.status_code == 404
    assert app.test_client().get(shared.path).status_code == 200  # still live


def test_signed_in_viewer_forks_into_their_projects(app, shared):
    with app.app_context():
        other_id = factories.make_user("other@example.com").id
    other = app.test_client()
    AuthActions(other).login("other@example.com")
    page = other.get(shared.path).get_data(as_text=True)
    assert 'id="fork-button"' in page
    token = csrf_token(other, shared.path)
    resp = other.post(f"{shared.path}/fork", data={"csrf_token": token})
    assert resp.status_code == 303 and "/versions/" in resp.headers["Location"]
    with app.app_context():
        forked = db.session.scalar(select(Project).where(Project.owner_id == other_id))
        original = db.session.get(Project, shared.project)
        assert forked is not None and forked.title == "My design (fork)"
        assert [v.number for v in forked.versions] == [1]
        assert forked.versions[0].design == original.versions[1].design
    assert other.get(resp.headers["Location"]).status_code == 200


def test_create_view_revoke_are_audited(app, logged_in, hx, shared, user):
    app.test_client().get(shared.path)
    with app.app_context():
        link_id = db.session.scalar(select(ShareLink.id))
    logged_in.post(
        f"/projects/{shared.project}/share-links/{link_id}",
        data={"csrf_token": hx.token, "_method": "DELETE"},
    )
    with app.app_context():
        rows = db.session.scalars(
            select(AuditLog).where(AuditLog.resource_type == "share_link")
        ).all()
        actions = sorted(r.action for r in rows)
        assert actions == ["share_link.created", "share_link.revoked", "share_link.viewed"]
        assert all(r.resource_id == str(link_id) for r in rows)
        created = next(r for r in rows if r.action == "share_link.created")
        assert created.actor_id == db.session.get(User, user.id).id
