"""Members page, invite links (sign-in, sign-up, wrong account), comments panel, presence,
notifications and the dashboard's "Shared with me", through the browser-facing HTML."""

from __future__ import annotations

import re

from sdc.extensions import db
from sdc.services import comments, members
from tests import factories
from tests.conftest import AuthActions, HtmxClient, csrf_token


def _setup(app):
    with app.app_context():
        owner = factories.make_user("owner@example.com")
        project, version = factories.make_project(owner)
        return owner.id, project.id, version.id


def test_owner_invites_invitee_signs_up_and_accepts(app, client):
    _owner, pid, vid = _setup(app)
    AuthActions(client).login("owner@example.com")
    token = csrf_token(client, f"/projects/{pid}/members")
    resp = client.post(
        f"/projects/{pid}/members/invites",
        data={"email": "friend@example.com", "role": "editor", "csrf_token": token},
    )
    assert resp.status_code == 201
    link = re.search(r'value="(http://localhost/invites/[^"]+)"', resp.get_data(as_text=True))
    assert link, "the invite link is shown once"
    path = link.group(1).replace("http://localhost", "")
    AuthActions(client).logout()

    page = client.get(path)
    assert page.status_code == 200 and "friend@example.com" in page.get_data(as_text=True)
    assert '<meta name="referrer" content="no-referrer">' in page.get_data(as_text=True)
    # sign up with that address from the invite page: back to the invite afterwards
    signup_token = csrf_token(client, f"/auth/signup?next={path}")
    resp = client.post(
        "/auth/signup",
        data={
            "email": "friend@example.com",
            "password": factories.PASSWORD,
            "csrf_token": signup_token,
            "next": path,
        },
    )
    assert resp.status_code == 303 and resp.headers["Location"].endswith(path)
    token = csrf_token(client, path)
    resp = client.post(path, data={"csrf_token": token})
    assert resp.status_code == 303 and f"/projects/{pid}" in resp.headers["Location"]
    assert client.get(f"/projects/{pid}/versions/{vid}").status_code == 200
    assert client.post(path, data={"csrf_token": token}).status_code == 403  # single use
    shared = client.get("/shared").get_data(as_text=True)
    assert "URL shortener" in shared and "Editor" in shared and "owner@example.com" in shared


def test_wrong_account_is_refused_with_a_clear_message(app, client):
    owner_id, pid, _vid = _setup(app)
    with app.app_context():
        from sdc.models import User

        owner = db.session.get(User, owner_id)
        _i, token = members.create_invite(owner, pid, "right@example.com", "viewer")
        factories.make_user("wrong@example.com")
    AuthActions(client).login("wrong@example.com")
    page = client.get(f"/invites/{token}")
    body = page.get_data(as_text=True)
    assert page.status_code == 403
    assert "sent to right@example.com" in body and "signed in as wrong@example.com" in body
    resp = client.post(f"/invites/{token}", data={"csrf_token": csrf_token(client, "/")})
    assert resp.status_code == 403
    assert client.get(f"/projects/{pid}").status_code == 404
    assert client.get("/invites/nonsense").status_code == 404


def test_viewer_sees_banner_comments_and_presence_but_cannot_edit(app, client):
    owner_id, pid, vid = _setup(app)
    with app.app_context():
        from sdc.models import User

        owner = db.session.get(User, owner_id)
        viewer = factories.make_user("vi@example.com")
        _i, token = members.create_invite(owner, pid, viewer.email, "viewer")
        members.accept_invite(viewer, token)
        comments.add_comment(owner, pid, vid, "@vi what do you think?", "users")
    AuthActions(client).login("vi@example.com")
    hx = HtmxClient(client)
    page = client.get(f"/projects/{pid}/versions/{vid}").get_data(as_text=True)
    assert 'id="viewer-banner"' in page and "inert" in page
    assert 'class="comment-badge"' in page  # the open comment on the users node
    panel = hx.get(f"/projects/{pid}/versions/{vid}/comments").get_data(as_text=True)
    assert "@vi what do you think?" in panel and 'id="comment-form"' in panel
    resp = hx.post(
        f"/projects/{pid}/versions/{vid}/comments",
        data={"body": "<script>x</script> fine", "component": "users"},
    )
    assert resp.status_code == 201 and "&lt;script&gt;" in resp.get_data(as_text=True)
    resp = hx.patch(f"/projects/{pid}/versions/{vid}/notes", data={"notes": "x", "revision": "1"})
    assert resp.status_code == 403
    count = client.get("/dashboard").get_data(as_text=True)
    assert 'id="unread-count">1<' in count
    assert "owner@example.com" in client.get("/notifications").get_data(as_text=True)
    # presence: the owner polls, the viewer sees them
    other = app.test_client()
    AuthActions(other).login("owner@example.com")
    HtmxClient(other).get(f"/projects/{pid}/versions/{vid}/presence")
    seen = hx.get(f"/projects/{pid}/versions/{vid}/presence").get_data(as_text=True)
    assert 'data-email="owner@example.com"' in seen and "every 5s" in seen


def test_owner_changes_role_removes_and_member_leaves(app, client):
    owner_id, pid, vid = _setup(app)
    with app.app_context():
        from sdc.models import User

        owner = db.session.get(User, owner_id)
        ids = {}
        for email in ("a@example.com", "b@example.com"):
            u = factories.make_user(email)
            ids[email] = u.id
            _i, token = members.create_invite(owner, pid, email, "viewer")
            members.accept_invite(u, token)
    AuthActions(client).login("owner@example.com")
    hx = HtmxClient(client)
    resp = hx.patch(f"/projects/{pid}/members/{ids['a@example.com']}", data={"role": "editor"})
    assert resp.status_code == 200 and 'value="editor" selected' in resp.get_data(as_text=True)
    resp = hx.delete(f"/projects/{pid}/members/{ids['b@example.com']}")
    assert resp.status_code == 200 and "b@example.com" not in resp.get_data(as_text=True)
    assert hx.post(f"/projects/{pid}/members/leave").status_code == 403  # the owner stays
    member = app.test_client()
    AuthActions(member).login("a@example.com")
    token = csrf_token(member, f"/projects/{pid}/members")
    assert (
        member.post(f"/projects/{pid}/members/leave", data={"csrf_token": token}).status_code == 303
    )
    assert member.get(f"/projects/{pid}/versions/{vid}").status_code == 404


def test_comment_counts_list_components_and_the_whole_design_together(app, client):
    owner_id, pid, vid = _setup(app)
    with app.app_context():
        from sdc.models import User

        owner = db.session.get(User, owner_id)
        comments.add_comment(owner, pid, vid, "On the whole design", None)
        comments.add_comment(owner, pid, vid, "On the users node", "users")
    AuthActions(client).login("owner@example.com")
    resp = HtmxClient(client).get(f"/projects/{pid}/versions/{vid}/comments")
    panel = resp.get_data(as_text=True)
    assert resp.status_code == 200, panel[:500]
    assert 'id="comments-open-count">(2 open)' in panel
    assert 'data-component-id="users">' in panel and "Whole design: 1 open" in panel


def test_conflict_names_the_member_who_changed_the_version(app, client):
    """Two editors on one version: the stale save is refused (409), the fragment names who
    saved first and offers reload; the first save is kept and the second is kept in the form."""
    owner_id, pid, vid = _setup(app)
    with app.app_context():
        from sdc.models import User, Version

        owner = db.session.get(User, owner_id)
        editor = factories.make_user("ed@example.com")
        _i, token = members.create_invite(owner, pid, editor.email, "editor")
        members.accept_invite(editor, token)
        rev = db.session.get(Version, vid).revision
    AuthActions(client).login("owner@example.com")
    mine = HtmxClient(client)
    other = app.test_client()
    AuthActions(other).login("ed@example.com")
    theirs = HtmxClient(other)
    url = f"/projects/{pid}/versions/{vid}/notes"
    assert theirs.patch(url, data={"notes": "editor first", "revision": rev}).status_code == 200
    resp = mine.patch(url, data={"notes": "owner second", "revision": rev})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 409 and resp.headers["HX-Retarget"] == "#conflict"
    assert 'id="conflict-title">Changed by ed@example.com<' in body
    assert 'id="conflict-reload"' in body and 'value="owner second"' in body
    with app.app_context():
        assert db.session.get(Version, vid).notes == "editor first"
    data = mine.patch(
        url, data={"notes": "owner second", "revision": rev}, headers={"Accept": "application/json"}
    )
    assert data.status_code == 409 and data.get_json()["error"]["changed_by"] == "ed@example.com"
