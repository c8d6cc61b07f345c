"""Members, invites, roles, comments, mentions, notifications, presence and their audit rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from sdc.extensions import db
from sdc.models import AuditLog, Invite, Presence, utcnow
from sdc.services import NotFound, ServiceError, audit, comments, members, notifications, policy
from sdc.services import presence as presence_service
from sdc.services.members import InviteRefused
from sdc.services.versions import edit_design, get_version_for, update_notes
from tests import factories


@pytest.fixture
def team(app):
    with app.app_context():
        owner = factories.make_user("owner@example.com")
        editor = factories.make_user("ed@example.com")
        viewer = factories.make_user("vi@example.com")
        outsider = factories.make_user("out@example.com")
        project, version = factories.make_project(owner)
        for user, role in ((editor, "editor"), (viewer, "viewer")):
            _invite, token = members.create_invite(owner, project.id, user.email, role)
            members.accept_invite(user, token)
        yield dict(
            owner=owner,
            editor=editor,
            viewer=viewer,
            outsider=outsider,
            project=project,
            version=version,
        )


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def test_policy_table_is_the_documented_one():
    assert policy.ALLOWED["viewer"] == {"read", "comment", "leave"}
    assert policy.ALLOWED["editor"] == {
        "read",
        "comment",
        "leave",
        "edit",
        "run",
        "grade",
        "compare",
        "report",
    }
    assert policy.ALLOWED["owner"] == set(policy.ACTIONS) - {"leave"}
    with pytest.raises(ValueError):
        policy.allows("owner", "fly")


def test_roles_and_require(team):
    p = team["project"]
    assert [policy.role_of(team[k], p) for k in ("owner", "editor", "viewer", "outsider")] == [
        "owner",
        "editor",
        "viewer",
        None,
    ]
    assert policy.role_of(None, p) is None
    with pytest.raises(NotFound):
        policy.require(team["outsider"], "read", p)
    with pytest.raises(policy.Forbidden) as exc:
        policy.require(team["viewer"], "edit", p)
    assert exc.value.status == 403 and "viewer" in exc.value.message
    with pytest.raises(policy.Forbidden):
        policy.require(team["editor"], "manage_members", p)
    assert policy.require(team["owner"], "delete", p) == "owner"


def test_viewer_reads_but_cannot_edit_editor_can(team):
    p, v = team["project"], team["version"]
    assert get_version_for(team["viewer"], p.id, v.id).id == v.id
    with pytest.raises(policy.Forbidden):
        update_notes(team["viewer"], p.id, v.id, v.revision, "mine")
    with pytest.raises(NotFound):
        update_notes(team["outsider"], p.id, v.id, v.revision, "mine")
    updated = update_notes(team["editor"], p.id, v.id, v.revision, "ours")
    assert updated.notes == "ours" and updated.last_editor_id == team["editor"].id


def test_stale_revision_names_who_changed_it(team):
    p, v = team["project"], team["version"]
    rev = v.revision
    update_notes(team["editor"], p.id, v.id, rev, "editor wins")
    from sdc.services.versions import StaleRevision

    with pytest.raises(StaleRevision) as exc:
        edit_design(team["owner"], p.id, v.id, rev, "x", lambda d: d)
    assert exc.value.changed_by == "ed@example.com"
    assert "ed@example.com" in exc.value.message


def test_invite_lifecycle_audited(team):
    owner, p = team["owner"], team["project"]
    newbie = factories.make_user("new@example.com")
    invite, token = members.create_invite(owner, p.id, "New@Example.com ", "viewer")
    assert invite.email == "new@example.com" and len(token) >= 43  # 256-bit token
    stored = db.session.get(Invite, invite.id)
    assert stored.token_hash != token and members.token_hash(token) == stored.token_hash
    with pytest.raises(InviteRefused) as exc:
        members.accept_invite(team["outsider"], token)  # wrong email
    assert "new@example.com" in exc.value.message and "out@example.com" in exc.value.message
    member = members.accept_invite(newbie, token)
    assert member.role == "viewer"
    with pytest.raises(InviteRefused):
        members.accept_invite(newbie, token)  # single use
    actions = _actions()
    assert audit.INVITE_CREATED in actions and audit.INVITE_ACCEPTED in actions
    assert audit.MEMBER_ADDED in actions
    # the owner heard about it
    assert any(n.kind == "invite_accepted" for n in notifications.list_for(owner))


def test_invite_expiry_revoke_and_guards(team):
    owner, p = team["owner"], team["project"]
    target = factories.make_user("late@example.com")
    _inv, token = members.create_invite(
        owner, p.id, target.email, "editor", ttl=timedelta(seconds=-1)
    )
    with pytest.raises(InviteRefused) as exc:
        members.accept_invite(target, token)
    assert "expired" in exc.value.message
    inv, token = members.create_invite(owner, p.id, target.email, "editor")
    members.revoke_invite(owner, p.id, inv.id)
    with pytest.raises(InviteRefused) as exc:
        members.accept_invite(target, token)
    assert "withdrawn" in exc.value.message
    assert audit.INVITE_REVOKED in _actions()
    with pytest.raises(NotFound):
        members.invite_for_token("not-a-token")
    # re-sending replaces the pending invite to the same address
    first, t1 = members.create_invite(owner, p.id, target.email, "editor")
    _second, t2 = members.create_invite(owner, p.id, target.email, "viewer")
    db.session.refresh(first)
    assert first.state == "revoked"
    with pytest.raises(InviteRefused):
        members.accept_invite(target, t1)
    assert members.accept_invite(target, t2).role == "viewer"
    # only the owner invites; no inviting the owner or an existing member; bad input
    with pytest.raises(policy.Forbidden):
        members.create_invite(team["editor"], p.id, "x@example.com", "viewer")
    with pytest.raises(NotFound):
        members.create_invite(team["outsider"], p.id, "x@example.com", "viewer")
    for email, role in (
        ("owner@example.com", "viewer"),
        ("ed@example.com", "viewer"),
        ("nope", "viewer"),
        ("x@example.com", "owner"),
    ):
        with pytest.raises(ServiceError):
            members.create_invite(owner, p.id, email, role)


def test_role_change_removal_and_leave_end_access_at_once(team):
    owner, p, v = team["owner"], team["project"], team["version"]
    editor, viewer = team["editor"], team["viewer"]
    members.change_role(owner, p.id, viewer.id, "editor")
    assert policy.role_of(viewer, p) == "editor"
    presence_service.heartbeat(editor, p.id, v.id)
    members.remove_member(owner, p.id, editor.id)
    with pytest.raises(NotFound):
        get_version_for(editor, p.id, v.id)
    assert db.session.get(Presence, (v.id, editor.id)) is None
    members.leave(viewer, p.id)
    with pytest.raises(NotFound):
        get_version_for(viewer, p.id, v.id)
    with pytest.raises(policy.Forbidden) as exc:
        members.leave(owner, p.id)
    assert exc.value.message == (
        "You are the owner of this project: the owner cannot leave it "
        "(a project always keeps its owner)."
    )
    actions = _actions()
    for name in (audit.MEMBER_ROLE_CHANGED, audit.MEMBER_REMOVED, audit.MEMBER_LEFT):
        assert name in actions
    with pytest.raises(NotFound):
        members.change_role(owner, p.id, editor.id, "viewer")


def test_shared_with_and_pending_invites(team):
    rows = members.shared_with(team["viewer"])
    assert [(r["project"].id, r["role"], r["owner_email"]) for r in rows] == [
        (team["project"].id, "viewer", "owner@example.com")
    ]
    assert members.shared_with(team["outsider"]) == []
    members.create_invite(team["owner"], team["project"].id, "out@example.com", "viewer")
    assert [i.role for i in members.pending_invites_for(team["outsider"])] == ["viewer"]


def test_comment_crud_resolution_and_audit(team):
    p, v = team["project"], team["version"]
    cid = v.design["components"][0]["id"]
    c = comments.add_comment(team["viewer"], p.id, v.id, "  Why one <b>node</b>?  ", cid)
    assert c.body == "Why one <b>node</b>?" and c.component_id == cid
    reply = comments.add_comment(team["editor"], p.id, v.id, "Will fix", parent_id=c.id)
    assert reply.component_id == cid
    assert comments.open_counts(v.id) == {cid: 1}
    with pytest.raises(policy.Forbidden):
        comments.edit_comment(team["editor"], p.id, v.id, c.id, "hijack")
    comments.edit_comment(team["viewer"], p.id, v.id, c.id, "Why one node?")
    comments.set_resolved(team["editor"], p.id, v.id, c.id, True)
    assert comments.open_counts(v.id) == {}
    comments.set_resolved(team["viewer"], p.id, v.id, c.id, False)
    assert comments.open_counts(v.id) == {cid: 1}
    comments.delete_comment(team["viewer"], p.id, v.id, c.id)
    threads = comments.threads_of(v)
    assert len(threads) == 1 and threads[0].comment.deleted_at is not None  # reply lives on
    whole = comments.add_comment(team["owner"], p.id, v.id, "Overall fine")
    assert comments.open_counts(v.id) == {None: 1}
    with pytest.raises(NotFound):
        comments.add_comment(team["outsider"], p.id, v.id, "hi")
    with pytest.raises(comments.InvalidComment):
        comments.add_comment(team["owner"], p.id, v.id, "x" * 5001)
    with pytest.raises(comments.InvalidComment):
        comments.add_comment(team["owner"], p.id, v.id, "   ")
    with pytest.raises(comments.InvalidComment):
        comments.add_comment(team["owner"], p.id, v.id, "hi", "no-such-node")
    with pytest.raises(NotFound):
        comments.edit_comment(team["outsider"], p.id, v.id, whole.id, "x")
    actions = _actions()
    for name in (
        audit.COMMENT_CREATED,
        audit.COMMENT_EDITED,
        audit.COMMENT_RESOLVED,
        audit.COMMENT_REOPENED,
        audit.COMMENT_DELETED,
    ):
        assert name in actions


def test_mentions_notify_members_only(team):
    p, v = team["project"], team["version"]
    comments.add_comment(
        team["owner"],
        p.id,
        v.id,
        "@ed and @vi@example.com please look; @out and @owner are ignored",
    )
    assert [n.kind for n in notifications.list_for(team["editor"])] == ["mention"]
    assert notifications.unread_count(team["viewer"]) == 1
    assert notifications.list_for(team["outsider"]) == []
    owner_kinds = [n.kind for n in notifications.list_for(team["owner"])]
    assert "mention" not in owner_kinds  # no self-notification
    n = notifications.list_for(team["editor"])[0]
    assert n.payload["by"] == "owner@example.com" and n.payload["version_id"] == str(v.id)
    notifications.mark_read(team["editor"])
    assert notifications.unread_count(team["editor"]) == 0


def test_presence_expires(team):
    p, v = team["project"], team["version"]
    presence_service.heartbeat(team["owner"], p.id, v.id)
    presence_service.heartbeat(team["viewer"], p.id, v.id)
    assert [u.email for u in presence_service.present(v.id, exclude=team["owner"])] == [
        "vi@example.com"
    ]
    row = db.session.get(Presence, (v.id, team["viewer"].id))
    row.last_seen = utcnow() - presence_service.TIMEOUT - timedelta(seconds=1)
    db.session.commit()
    assert presence_service.present(v.id, exclude=team["owner"]) == []
    presence_service.heartbeat(team["owner"], p.id, v.id)  # sweeps the stale row
    assert db.session.get(Presence, (v.id, team["viewer"].id)) is None
    with pytest.raises(NotFound):
        presence_service.heartbeat(team["outsider"], p.id, v.id)


def test_shared_projects_stay_out_of_my_own_trend_and_recent_list(team):
    from sdc.models import GradeReport
    from sdc.services import progress
    from sdc.services.projects import recent_projects

    v = team["version"]
    db.session.add(
        GradeReport(
            version_id=v.id,
            user_id=team["owner"].id,
            status="completed",
            rubric_version="t",
            input_snapshot={},
            input_hash="h",
            overall_score=70,
            report={"categories": []},
        )
    )
    db.session.commit()
    assert len(progress.grade_history(team["owner"])) == 1
    assert progress.grade_history(team["editor"]) == []
    assert recent_projects(team["editor"]) == []


def test_jobs_ask_the_policy_again_when_they_run(app):
    """A run or grade queued by an editor who is removed (or made a viewer) before a worker
    takes it is not executed in their name; the owner's queued job still runs."""
    with app.app_context():
        _jobs_ask_the_policy_again()


def _jobs_ask_the_policy_again():
    import tasks
    from sdc.models import GradeReport, SimulationRun
    from sdc.services import grades, runs

    owner = factories.make_user("owner@example.com")
    editor = factories.make_user("ed@example.com")
    demoted = factories.make_user("de@example.com")
    version = factories.make_runnable_version(owner)
    p = version.project
    for user in (editor, demoted):
        _invite, token = members.create_invite(owner, p.id, user.email, "editor")
        members.accept_invite(user, token)
    tasks.huey.immediate = False  # queued, not run: a worker takes them below
    try:
        run, _ = runs.start_run(editor, version.id, engine="analytic")
        grade, _ = grades.start_grade(demoted, version.id)
        own, _ = runs.start_run(owner, version.id, engine="des")
    finally:
        tasks.huey.immediate = True
    run_id, grade_id, own_id = run.id, grade.id, own.id
    members.remove_member(owner, p.id, editor.id)
    members.change_role(owner, p.id, demoted.id, "viewer")

    assert runs.execute_run(run_id) == "failed"
    assert grades.execute_grade(grade_id) == "failed"
    assert runs.execute_run(own_id) == "completed"
    refused_run = db.session.get(SimulationRun, run_id)
    assert refused_run.status == "failed" and refused_run.result is None
    assert refused_run.error.startswith("Not started: ed@example.com may no longer start runs")
    refused_grade = db.session.get(GradeReport, grade_id)
    assert refused_grade.status == "failed" and refused_grade.report is None
    assert "de@example.com may no longer start grades" in refused_grade.error
