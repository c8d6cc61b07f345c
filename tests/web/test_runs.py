"""Runs in the web app: Run button, status widget, results, JSON/bearer, failure lab, limits."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import update

from sdc.extensions import db
from sdc.models import SimulationRun, User, Version
from sdc.services import runs as run_service
from sdc.web.charts import Line, line_chart
from tests import factories
from tests.conftest import csrf_token
from tests.web._versions import count_queries

RUN_URL = re.compile(r"/runs/([0-9a-f-]{36})")


@pytest.fixture
def version(app, user):
    with app.app_context():
        v = factories.make_runnable_version(db.session.get(User, user.id))
        return {"project_id": str(v.project_id), "version_id": str(v.id)}


def create_url(version) -> str:
    return f"/projects/{version['project_id']}/versions/{version['version_id']}/runs"


def workspace_url(version) -> str:
    return f"/projects/{version['project_id']}/versions/{version['version_id']}"


def post_run(client, version, **data):
    token = csrf_token(client, workspace_url(version))
    return client.post(create_url(version), data={"csrf_token": token, **data})


def start(client, version, **data) -> str:
    resp = post_run(client, version, **data)
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    return RUN_URL.search(resp.headers["Location"]).group(0)


def set_status(app, run_url: str, **values):
    run_id = run_url.rsplit("/", 1)[-1]
    with app.app_context():
        db.session.execute(
            update(SimulationRun).where(SimulationRun.id == _uuid(run_id)).values(**values)
        )
        db.session.commit()


def _uuid(s):
    import uuid

    return uuid.UUID(s)


def hold_runs(monkeypatch):
    """Runs stay pending (the job is 'sent' but no worker picks it up)."""
    monkeypatch.setattr(run_service, "_send", lambda run_id: None)


# --- the Run button and status widget ----------------------------------------------------------


def test_workspace_shows_its_newest_baseline_run(app, logged_in, user, version):
    """The run control and the project page show the newest run without injected failures:
    not an older run, and not a failure drill started after it."""
    with app.app_context():
        owner = db.session.get(User, user.id)
        older = factories.make_run(owner, db.session.get(Version, _uuid(version["version_id"])))
        newest = factories.make_run(owner, older.version, seed=7)
        drill = factories.make_run(
            owner,
            baseline=newest,
            failures=[
                {"mode": "node-down", "component_id": "api", "replicas": 1, "at_s": 5, "for_s": 5}
            ],
        )
        factories.make_version(owner, older.version.project)  # v2, never run
        ids = {"older": str(older.id), "newest": str(newest.id), "drill": str(drill.id)}
    for url in (workspace_url(version), workspace_url(version) + "/traffic"):
        body = logged_in.get(url).get_data(as_text=True)
        control = body.split('id="run-control"', 1)[1].split('id="run-status"', 1)[1]
        control = control.split("</div>", 1)[0]
        assert f"/runs/{ids['newest']}" in control, url
        assert ids["older"] not in body and ids["drill"] not in body, url
    # The project page: each version's newest baseline run (one query for all versions).
    body = logged_in.get(f"/projects/{version['project_id']}").get_data(as_text=True)
    v1 = body.split('id="version-run-1"', 1)[1].split("</p>", 1)[0]
    assert f"/runs/{ids['newest']}" in v1 and ids["older"] not in body and ids["drill"] not in v1
    assert "Not simulated yet." in body.split('id="version-run-2"', 1)[1].split("</p>", 1)[0]
    with app.app_context():  # a version without runs shows the button and no status
        other = factories.make_runnable_version(db.session.get(User, user.id))
        other_url = f"/projects/{other.project_id}/versions/{other.id}"
    body = logged_in.get(other_url).get_data(as_text=True)
    assert 'id="run-control"' in body and 'id="run-status"' not in body


def test_run_button_on_workspace_and_traffic(logged_in, version):
    for url in (workspace_url(version), workspace_url(version) + "/traffic"):
        body = logged_in.get(url).get_data(as_text=True)
        assert 'id="run-control"' in body and 'id="run-button"' in body
        assert (
            f'action="{create_url(version)}"' in body and f'hx-post="{create_url(version)}"' in body
        )
        assert 'name="engine"' in body and 'name="seed"' in body


def test_plain_post_redirects_to_filled_results_page(logged_in, version):
    run_url = start(logged_in, version)
    page = logged_in.get(run_url)
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    for region in (
        'id="verdict"',
        'id="kpi-offered"',
        'id="kpi-served"',
        'id="kpi-capacity"',
        'id="kpi-p95"',
        'id="kpi-errors"',
        'id="kpi-flow"',
        'id="bottlenecks"',
        'id="chart-throughput"',
        'id="chart-latency"',
        'id="chart-errors"',
        'id="chart-utilization"',
        'id="chart-diagram"',
        'id="component-stats-table"',
        'id="timeline',
        'id="manifest"',
        'id="rerun-button"',
        'id="new-version-button"',
        'id="failure-lab-link"',
    ):
        assert region in body, region
    assert "95% CI" in body and "conserved" in body
    assert "heat-" in body  # the diagram carries the heat overlay
    # done: no polling and no self-refresh
    assert "hx-trigger" not in body and 'http-equiv="refresh"' not in body


def test_htmx_post_swaps_in_status_widget_and_polling_stops_when_done(hx, version):
    resp = hx.post(create_url(version))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert body.lstrip().startswith('<div id="run-control"')
    assert 'data-status="completed"' in body and 'id="run-results-link"' in body
    assert "every 1s" not in body and "hx-trigger" not in body
    assert "<html" not in body


def test_status_widget_polls_only_while_pending_or_running(
    app, hx, logged_in, version, monkeypatch
):
    hold_runs(monkeypatch)
    resp = hx.post(create_url(version))
    body = resp.get_data(as_text=True)
    run_url = RUN_URL.search(body).group(0)
    assert 'hx-trigger="every 1s"' in body and "Queued: waiting for a worker" in body
    assert "disabled" in body.split('id="run-button"')[1].split(">")[0]
    status_url = run_url + "/status?place=control"
    # running, with progress
    set_status(app, run_url, status="running", progress=0.5)
    body = hx.get(status_url).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in body and '<progress value="0.500" max="1"' in body
    assert "Running… 50%" in body
    # the results page polls too, and refreshes itself without JavaScript
    page = logged_in.get(run_url).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert 'id="refresh-link"' in page
    # done: no trigger, the button is enabled again (out of band)
    set_status(app, run_url, status="failed", error="The simulator stopped with an error (boom).")
    resp = hx.get(status_url)
    body = resp.get_data(as_text=True)
    assert "hx-trigger" not in body and "every 1s" not in body
    assert "Simulation failed: The simulator stopped with an error (boom)." in body
    assert '<button type="submit" id="run-button" class="run-button" hx-swap-oob="true">' in body
    # on the results page the finished poll reloads the page
    resp = hx.get(run_url + "/status?place=page")
    assert resp.headers.get("HX-Refresh") == "true"
    page = logged_in.get(run_url).get_data(as_text=True)
    assert "http-equiv" not in page and 'id="run-failed"' in page
    # a plain GET of the status URL goes to the results page
    assert logged_in.get(status_url).status_code == 303


# What the status poll must not parse: the design, the scenario's documents, the run's input.
POLL_SKIPS = ("versions.design", "scenarios.requirements", "scenarios.traffic", "input_snapshot")


def test_the_status_poll_reads_the_run_s_state_not_its_documents(
    app, hx, logged_in, user, version, monkeypatch
):
    """An open workspace polls its run every second. Each poll reads the run's state and, once
    it completed, the verdict from its metrics: one statement, which selects neither the design,
    the scenario's documents, the run's input snapshot nor its whole result."""
    hold_runs(monkeypatch)
    run_url = RUN_URL.search(hx.post(create_url(version)).get_data(as_text=True)).group(0)
    status_url = run_url + "/status?place=control"
    metrics = {"p95_ms": 10_000_000.0, "p99_ms": 10_000_000.0, "throughput_rps": 1.0}
    result = {"metrics": metrics, "series": {"t": list(range(2000))}}
    api = {"Accept": "application/json"}
    for state in ({"status": "running", "progress": 0.25}, {"status": "completed"}):
        if state["status"] == "completed":
            set_status(
                app, run_url, status="completed", result=result, metrics=metrics, progress=1.0
            )
        else:
            set_status(app, run_url, **state)
        with count_queries(app) as q:
            body = hx.get(status_url).get_data(as_text=True)
            data = logged_in.get(run_url + "/status", headers=api).get_json()
        polls = [s for s in q if "users.password_hash" not in s]  # each poll loads its user
        assert len(polls) == 2, polls  # one statement per poll
        assert not [s for s in polls if WHOLE_RESULT.search(s)], polls
        assert not [s for s in polls for skip in POLL_SKIPS if skip in s], polls
        assert data["status"] == state["status"] and "result" not in data
    assert "verdict-missed" in body and "Simulation completed" in body
    assert "hx-trigger" not in body  # done: the poll stops


def test_queue_down_says_run_will_start_later(hx, version, monkeypatch):
    def queue_down(run_id):
        raise ConnectionError("Connection refused")

    monkeypatch.setattr(run_service, "_send", queue_down)
    body = hx.post(create_url(version)).get_data(as_text=True)
    assert "Queued, will start when the queue is back." in body
    assert 'hx-trigger="every 1s"' in body


def test_a_started_run_is_answered_as_inserted_without_reading_it_back(
    app, client, user, version, monkeypatch
):
    """With a real queue (not inline) the answer to starting a run describes the row just
    inserted, pending and queued: no statement reads the run back after the INSERT. When the
    queue is down the answer reads the row again and says it is not queued yet."""
    import tasks

    monkeypatch.setattr(tasks.huey, "immediate", False)
    monkeypatch.setattr(run_service, "_send", lambda run_id: None)  # accepted, nobody runs it
    with app.app_context():
        token = factories.make_token(db.session.get(User, user.id))
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with count_queries(app) as q:
        resp = client.post(create_url(version), json={"engine": "analytic"}, headers=headers)
    assert resp.status_code == 201, resp.get_data(as_text=True)[:300]
    data = resp.get_json()
    assert data["status"] == "pending" and data["queued"] is True and data["attempts"] == 0
    assert data["id"] in resp.headers["Location"] and data["created_at"]
    inserted = next(i for i, s in enumerate(q) if s.startswith("INSERT INTO simulation_runs"))
    assert not [s for s in q[inserted + 1 :] if "FROM simulation_runs" in s], q[inserted:]

    def queue_down(run_id):
        raise ConnectionError("Connection refused")

    monkeypatch.setattr(run_service, "_send", queue_down)
    resp = client.post(create_url(version), json={"engine": "analytic", "seed": 2}, headers=headers)
    assert resp.status_code == 201 and resp.get_json()["queued"] is False


def test_redis_refusing_connections_leaves_the_run_queued_and_pages_working(
    app, hx, logged_in, version, monkeypatch, tmp_path
):
    """A real Redis client against a port nobody listens on: the web says queued, every page
    still answers, and once the queue is back the reaper enqueues the run and it completes."""
    import tasks
    from sdc.settings import load_settings
    from tests.conftest import TEST_SECRET

    dead = tasks.make_huey(
        load_settings(
            {
                "SDC_ENV": "test",
                "SECRET_KEY": TEST_SECRET,
                "SDC_INSTANCE_DIR": str(tmp_path),
                "REDIS_URL": "redis://127.0.0.1:1/0",
            }
        )
    )
    dead._registry = tasks.huey._registry

    def send(run_id: str) -> None:
        from tasks.simulation import run_simulation

        dead.enqueue(run_simulation.s(run_id))

    original = run_service._send
    monkeypatch.setattr(run_service, "_send", send)
    resp = hx.post(create_url(version))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Queued, will start when the queue is back." in body
    run_url = RUN_URL.search(body).group(0)
    for url in (
        workspace_url(version),
        run_url,
        "/dashboard",
        f"/projects/{version['project_id']}",
    ):
        assert logged_in.get(url).status_code == 200, url
    data = logged_in.get(run_url, headers={"Accept": "application/json"}).get_json()
    assert data["status"] == "pending" and data["queued"] is False
    # Still pending on the next reaper pass while the queue is down: nothing lost, nothing failed.
    with app.app_context():
        assert run_service.reap_stuck_runs()["queue_down"] == 1
    monkeypatch.setattr(run_service, "_send", original)  # the queue is back
    with app.app_context():
        assert run_service.reap_stuck_runs()["requeued"] == 1
    data = logged_in.get(run_url, headers={"Accept": "application/json"}).get_json()
    assert data["status"] == "completed" and data["result"]["format"] == "sdc-result/1"


def test_double_click_starts_one_run(app, hx, logged_in, version, monkeypatch):
    hold_runs(monkeypatch)
    first = hx.post(create_url(version)).get_data(as_text=True)
    second = hx.post(create_url(version)).get_data(as_text=True)
    assert RUN_URL.search(first).group(0) == RUN_URL.search(second).group(0)
    assert 'id="run-deduped"' in second
    resp = logged_in.post(
        create_url(version), headers={"Accept": "application/json", "X-CSRFToken": hx.token}
    )
    assert resp.status_code == 200 and resp.get_json()["status"] == "pending"
    with app.app_context():
        assert db.session.query(SimulationRun).count() == 1
    # the workspace shows the run in flight with the button disabled
    page = logged_in.get(workspace_url(version)).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in page and "Simulation in progress" in page


def test_invalid_design_is_refused_with_the_reason(app, hx, logged_in, user, version):
    with app.app_context():
        from sdc.models import Version

        v = db.session.get(Version, _uuid(version["version_id"]))
        design = dict(v.design)
        design["edges"] = design["edges"] + [{"id": "bad", "source": "api", "target": "ghost"}]
        v.design = design
        db.session.commit()
    resp = hx.post(create_url(version))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="run-refusal"' in body and "Fix the design before running it" in body
    assert "ghost" in body
    resp = logged_in.post(
        create_url(version), headers={"Accept": "application/json", "X-CSRFToken": hx.token}
    )
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["problems"] and any("edges" in p["path"] for p in error["problems"])
    resp = post_run(logged_in, version)
    assert resp.status_code == 303
    page = logged_in.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Fix the design before running it" in page
    # a bad seed is a 422 too
    resp = hx.post(create_url(version), data={"seed": "abc"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "whole number" in body
    # ...and what was typed stays in the field, options open, to be corrected.
    assert '<details class="run-options" open>' in body and 'value="abc"' in body


def test_swapped_run_control_keeps_the_chosen_options(hx, version):
    body = hx.post(create_url(version), data={"engine": "analytic", "seed": "7"}).get_data(
        as_text=True
    )
    assert '<details class="run-options" open>' in body
    assert '<option value="analytic" selected>' in body and 'value="7"' in body
    # Defaults leave the options folded.
    body = hx.post(create_url(version)).get_data(as_text=True)
    assert '<details class="run-options">' in body and '<option value="des" selected>' in body


def test_limits_give_429_with_a_clear_message(hx, logged_in, version, monkeypatch):
    hold_runs(monkeypatch)
    for seed in range(3):
        assert hx.post(create_url(version), data={"seed": str(seed)}).status_code == 200
    resp = hx.post(create_url(version), data={"seed": "99"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "60"
    assert "the limit is 3" in body and 'id="run-refusal"' in body
    resp = logged_in.post(
        create_url(version),
        data={"seed": "98"},
        headers={"Accept": "application/json", "X-CSRFToken": hx.token},
    )
    assert resp.status_code == 429 and "limit is 3" in resp.get_json()["error"]["message"]
    resp = post_run(logged_in, version, seed="97")
    assert resp.status_code == 303
    assert "the limit is 3" in logged_in.get(resp.headers["Location"]).get_data(as_text=True)


# --- results: JSON, bearer tokens, authorisation ----------------------------------------------


def test_results_answer_json_and_bearer_tokens(app, client, logged_in, user, version):
    run_url = start(logged_in, version, engine="analytic")
    data = logged_in.get(run_url, headers={"Accept": "application/json"}).get_json()
    assert data["status"] == "completed" and data["engine"] == "analytic"
    assert data["result"]["format"] == "sdc-result/1" and data["verdict"]["overall"]
    assert data["input_hash"] and data["seed"] == 1
    with app.app_context():
        token = factories.make_token(db.session.get(User, user.id))
    api = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get(run_url, headers=auth).get_json()["id"] == data["id"]
    with count_queries(app) as q:
        resp = api.post(create_url(version), json={"engine": "analytic", "seed": 5}, headers=auth)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    new = resp.get_json()
    assert new["seed"] == 5 and resp.headers["Location"] == f"/runs/{new['id']}"
    # The answer shows the job as the queue left it (the test queue runs it at once), reloading
    # only the job's state after the insert: the design snapshot is not read back.
    assert new["status"] == "completed" and new["result"]["format"] == "sdc-result/1"
    assert new["created_at"] and new["started_at"] and new["finished_at"] and new["attempts"] == 1
    reload = [sql for sql in q if sql.startswith("SELECT") and "FROM simulation_runs" in sql][-1]
    columns = reload.split("FROM simulation_runs")[0]
    assert "simulation_runs.status" in columns and "simulation_runs.result" in columns, reload
    assert "input_snapshot" not in columns, reload
    status = api.get(f"/runs/{new['id']}/status", headers=auth).get_json()
    assert status["status"] == "completed" and "result" not in status
    # the analytic page explains why there are no charts
    body = logged_in.get(run_url).get_data(as_text=True)
    assert "no time series" in body and "<svg" in body


def test_other_users_runs_and_bad_ids_are_404(app, client, logged_in, version, auth):
    run_url = start(logged_in, version, engine="analytic")
    auth.logout()
    with app.app_context():
        factories.make_user("other@example.com")
    auth.login("other@example.com")
    for url in (run_url, run_url + "/failures", run_url + "/status"):
        assert client.get(url).status_code == 404
    token = csrf_token(client, "/dashboard")
    assert client.post(run_url + "/rerun", data={"csrf_token": token}).status_code == 404
    assert (
        client.post(
            run_url + "/failures", data={"csrf_token": token, "mode": "node-down"}
        ).status_code
        == 404
    )
    assert client.post(create_url(version), data={"csrf_token": token}).status_code == 404
    assert client.get("/runs/not-a-uuid").status_code == 404
    assert client.get("/runs/1234/failures").status_code == 404


def test_project_mismatch_is_404(app, logged_in, user, version):
    with app.app_context():
        other = factories.make_runnable_version(db.session.get(User, user.id))
        other_project = other.project_id
    token = csrf_token(logged_in, workspace_url(version))
    url = f"/projects/{other_project}/versions/{version['version_id']}/runs"
    assert logged_in.post(url, data={"csrf_token": token}).status_code == 404


def test_rerun_and_new_version_from_here(app, logged_in, version):
    run_url = start(logged_in, version, engine="analytic")
    token = csrf_token(logged_in, run_url)
    resp = logged_in.post(run_url + "/rerun", data={"csrf_token": token})
    assert resp.status_code == 303
    new_url = RUN_URL.search(resp.headers["Location"]).group(0)
    assert new_url != run_url
    body = logged_in.get(run_url).get_data(as_text=True)
    action = re.search(r'action="([^"]+/copy)"', body).group(1)
    assert version["version_id"] in action
    resp = logged_in.post(action, data={"csrf_token": token})
    assert resp.status_code == 303 and "/versions/" in resp.headers["Location"]


def test_user_text_is_escaped_in_svg_and_html(app, logged_in, version):
    evil = '<script>alert("x")</script> & "q"'
    with app.app_context():
        from sdc.models import Version

        v = db.session.get(Version, _uuid(version["version_id"]))
        design = dict(v.design)
        design["components"] = [
            dict(c, label=evil) if c["id"] == "api" else c for c in design["components"]
        ]
        v.design = design
        db.session.commit()
    body = logged_in.get(start(logged_in, version)).get_data(as_text=True)
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert" in body
    svgs = re.findall(r'<svg class="chart-svg".*?</svg>', body, re.S)
    assert len(svgs) == 4
    for svg in svgs:
        root = ET.fromstring(svg)  # well-formed XML
        assert root.tag.endswith("svg")
    util = ET.fromstring(svgs[3])
    titles = [el.text for el in util.iter("{http://www.w3.org/2000/svg}title")]
    assert any(t and t.startswith("<script>") for t in titles)  # escaped, then parsed back
    diagram = re.search(r'<svg id="chart-diagram".*?</svg>', body, re.S).group(0)
    ET.fromstring(diagram)


# --- the failure lab ---------------------------------------------------------------------------


def inject(client, run_url, **fields):
    token = csrf_token(client, run_url + "/failures")
    return client.post(run_url + "/failures", data={"csrf_token": token, **fields})


def test_failure_lab_az_down_shows_blast_radius(logged_in, version):
    run_url = start(logged_in, version)
    page = logged_in.get(run_url + "/failures").get_data(as_text=True)
    assert 'id="inject-form"' in page and 'id="failure-runs-table"' in page
    for option in (
        '<option value="az-down"',
        '<option value="api"',
        '<option value="us-east"',
        '<option value="b"',
    ):
        assert option in page
    assert '<option value="users"' not in page  # a client cannot fail
    resp = inject(logged_in, run_url, mode="az-down", region="us-east", az="a", at_s="5", for_s="8")
    assert resp.status_code == 303, resp.get_data(as_text=True)[:800]
    assert "selected=" in resp.headers["Location"]
    body = logged_in.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'id="blast-radius"' in body and 'id="blast-failed"' in body
    assert 'id="blast-detect"' in body and 'id="blast-recover"' in body
    assert 'id="impacted-components"' in body and "az-down us-east/a at 5 s for 8 s" in body
    assert 'id="comparison-table"' in body and 'id="timeline-baseline"' in body
    assert 'id="timeline-failure"' in body and "failure injected: az-down" in body
    # a second failure: node-down; both are compared in the table
    resp = inject(
        logged_in, run_url, mode="node-down", component_id="api", replicas="2", at_s="4", for_s=""
    )
    assert resp.status_code == 303
    body = logged_in.get(resp.headers["Location"]).get_data(as_text=True)
    table = body.split('id="failure-runs-table"')[1].split("</table>")[0]
    assert table.count("<tr data-run-id") == 2
    assert "node-down API (2 replicas) at 4 s" in table
    # the failure run's own results page links back and shows the blast radius
    failure_url = re.search(r'href="(/runs/[^"]+)" id="failure-results-link"', body).group(1)
    page = logged_in.get(failure_url).get_data(as_text=True)
    assert 'id="baseline-link"' in page and 'id="blast-radius"' in page
    # JSON view of the lab
    data = logged_in.get(run_url + "/failures", headers={"Accept": "application/json"}).get_json()
    assert len(data["failure_runs"]) == 2
    assert set(data["failure_runs"][0]["deltas"]) == {
        "throughput_rps",
        "p95_ms",
        "p99_ms",
        "error_rate",
    }


def test_failure_lab_validation_errors_beside_the_field(logged_in, version):
    run_url = start(logged_in, version)
    resp = inject(logged_in, run_url, mode="node-down", component_id="ghost")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="fail-component_id-error"' in body and "not a component of the design" in body
    assert 'aria-invalid="true" aria-describedby="fail-component_id-error"' in body
    resp = inject(logged_in, run_url, mode="traffic-surge", multiplier="2", at_s="25")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="fail-at_s-error"' in body
    assert "start the failure before 20 s" in body
    resp = inject(logged_in, run_url, mode="dependency-lag", component_id="db", lag_ms="x")
    assert resp.status_code == 422 and "Enter a number." in resp.get_data(as_text=True)
    resp = inject(logged_in, run_url, mode="dependency-lag", component_id="db")
    assert resp.status_code == 422 and 'id="fail-lag_ms-error"' in resp.get_data(as_text=True)
    resp = inject(logged_in, run_url, mode="melt")
    assert resp.status_code == 422 and 'id="fail-mode-error"' in resp.get_data(as_text=True)
    resp = logged_in.post(
        run_url + "/failures",
        json={"mode": "node-down", "component_id": "users"},
        headers={"Accept": "application/json", "X-CSRFToken": csrf_token(logged_in, run_url)},
    )
    assert resp.status_code == 422
    assert resp.get_json()["error"]["fields"]["component_id"] == "a client cannot fail"


# --- project page and dashboard ---------------------------------------------------------------


def test_project_page_shows_latest_run_and_verdict_in_one_query(app, logged_in, version):
    page = logged_in.get(f"/projects/{version['project_id']}").get_data(as_text=True)
    assert "Not simulated yet." in page
    start(logged_in, version, engine="analytic")
    token = csrf_token(logged_in, f"/projects/{version['project_id']}")
    for _ in range(2):  # two more versions
        logged_in.post(
            f"/projects/{version['project_id']}/versions/{version['version_id']}/copy",
            data={"csrf_token": token},
        )
    with count_queries(app) as q:
        page = logged_in.get(f"/projects/{version['project_id']}").get_data(as_text=True)
    runs_queries = [s for s in q if "simulation_runs" in s]
    assert len(runs_queries) == 1, runs_queries
    assert 'id="version-run-1"' in page and "Latest run:" in page and "SLOs" in page
    assert page.count("Not simulated yet.") == 2


# Any read of the result document, whole or a part of it (JSON_EXTRACT, ``->``): the database
# parses all of it either way.
WHOLE_RESULT = re.compile(r"simulation_runs\.result\b")


@pytest.mark.parametrize("p95_ms, shown", [(10_000_000.0, "missed"), (0.001, "met")])
def test_run_button_and_project_page_judge_a_run_by_its_metrics_not_its_documents(
    app, logged_in, version, p95_ms, shown
):
    """The workspace's run button, the project page and the dashboard show a completed run's
    verdict; they read its metrics column, not its result (a DES result is 15-30 KB of JSON,
    its series most of it, which the database parses whole even to take the metrics out of it)
    nor its input snapshot. The results page still reads the whole result."""
    run_url = start(logged_in, version, engine="analytic")
    series = {"t": list(range(2000)), "p95_ms": [p95_ms] * 2000}  # bulk no summary reads
    metrics = {"p95_ms": p95_ms, "p99_ms": p95_ms, "throughput_rps": 1.0}
    result = {"metrics": metrics, "series": series}
    set_status(app, run_url, status="completed", result=result, metrics=metrics)  # as finished
    pages = {
        "workspace": (workspace_url(version), 'id="run-control"'),
        "project": (f"/projects/{version['project_id']}", 'id="version-run-1"'),
        "dashboard": ("/dashboard", 'id="recent-projects"'),
    }
    for name, (url, region) in pages.items():
        with count_queries(app) as q:
            body = logged_in.get(url).get_data(as_text=True)
        part = body.split(region, 1)[1][:4000]
        assert f"verdict-{shown}" in part, (name, part[:1500])
        reads = [s for s in q if "simulation_runs" in s]
        assert reads and not [s for s in reads if WHOLE_RESULT.search(s)], (name, reads)
        assert not [s for s in reads if "input_snapshot" in s], (name, reads)
    with count_queries(app) as q:
        results = logged_in.get(run_url).get_data(as_text=True)
    assert f'class="verdict verdict-{shown}"' in results
    assert [s for s in q if WHOLE_RESULT.search(s)], q


# --- charts ------------------------------------------------------------------------------------


def test_chart_breaks_lines_on_missing_values_and_escapes_names():
    svg = str(
        line_chart(
            [0, 1, 2, 3],
            [Line('<b>"a"</b>', [1.0, None, 2.0, 3.0])],
            chart_id="c1",
            title="T & <t>",
            y_label="ms",
            threshold=2.5,
            threshold_label="SLO",
        )
    )
    root = ET.fromstring(re.search(r"<svg.*</svg>", svg, re.S).group(0))
    paths = [p for p in root.iter("{http://www.w3.org/2000/svg}path")]
    assert len(paths) == 2  # one run of known values on each side of the gap
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "T &amp; &lt;t&gt;" in svg
    empty = str(line_chart([], [], chart_id="c2", title="Nothing", y_label=""))
    assert "no time series" in empty


# --- the SLO threshold: the scenario's p95 target, not the simulator's 500 ms default ----------


def _text(markup: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup)))


def _region(body: str, start: str, end: str) -> str:
    return _text(body.split(start, 1)[1].split(end, 1)[0])


def test_run_from_the_app_judges_its_timeline_against_the_scenario_target(app, logged_in, user):
    with app.app_context():
        v = factories.make_runnable_version(
            db.session.get(User, user.id),
            factories.SLOW_DESIGN,
            {**factories.RUN_TRAFFIC, "baseline_rps": 100, "peak_multiplier": 1},
        )
        target = v.project.scenario.slos["p95_ms"]
        version = {"project_id": str(v.project_id), "version_id": str(v.id)}
    assert target == 120
    run_url = start(logged_in, version)
    body = logged_in.get(run_url).get_data(as_text=True)

    verdict = _region(body, 'id="verdict"', "</section>")
    assert "missed" in verdict
    timeline = _region(body, 'id="timeline-heading"', "</section>")
    assert "0 s p95 latency above the SLO" in timeline and "> 120 ms" in timeline
    assert "Nothing notable happened" not in timeline
    manifest = _region(body, 'id="manifest-slo"', "</dd>")
    assert "p95 120 ms, the scenario's p95 target" in manifest

    data = logged_in.get(run_url, headers={"Accept": "application/json"}).get_json()
    assert data["result"]["metrics"]["slo_ms"] == 120
    assert data["result"]["metrics"]["slo_source"] == "given"

    # the failure lab: same threshold as the baseline
    resp = inject(logged_in, run_url, mode="traffic-surge", multiplier="1.5", at_s="3", for_s="5")
    assert resp.status_code == 303, resp.get_data(as_text=True)[:800]
    lab = logged_in.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Slower than the 120 ms SLO" in _text(lab)
    assert _region(lab, 'id="blast-slow">', "</dd>").strip() == "100.00%"


def test_empty_timeline_claims_no_slo_breach_only_against_the_scenario_target(
    app, logged_in, version, monkeypatch
):
    run_url = start(logged_in, version)  # the small fast design: p95 well under 120 ms
    body = logged_in.get(run_url).get_data(as_text=True)
    with app.app_context():
        run = db.session.get(SimulationRun, _uuid(run_url.rsplit("/", 1)[-1]))
        assert run.result["timeline"] == [] and run.result["metrics"]["p95_ms"] < 120
    timeline = _region(body, 'id="timeline-heading"', "</section>")
    assert "p95 stayed within the scenario's 120 ms target every second" in timeline

    # a run started before runs recorded the target: judged against 500 ms, and it says so
    hold_runs(monkeypatch)
    old_url = start(logged_in, version, seed="7")
    with app.app_context():
        old = db.session.get(SimulationRun, _uuid(old_url.rsplit("/", 1)[-1]))
        legacy = {k: v for k, v in old.input_snapshot.items() if k != run_service.SNAPSHOT_SLO_KEY}
        old.input_snapshot = legacy
        db.session.commit()
        assert run_service.execute_run(old.id) == "completed"
    body = logged_in.get(old_url).get_data(as_text=True)
    timeline = _region(body, 'id="timeline-heading"', "</section>")
    assert "no SLO breach" not in timeline and "within the scenario's" not in timeline
    assert "p95 was only checked against 500 ms" in timeline
    manifest = _region(body, 'id="manifest-slo"', "</dd>")
    assert "p95 500 ms, the simulator's default" in manifest
