"""Indexes for every query the main pages and the Grafana panels run, and no N+1 queries.

On PostgreSQL, every distinct statement the pages run (captured with a ``before_cursor_execute``
listener while a signed-in client GETs them) and every Grafana panel query is EXPLAINed with
``enable_seqscan = off``: the planner then picks a Seq Scan only when no index can serve the
query, so a Seq Scan left in a plan is a missing index. ``pytest -s`` prints which index each
statement uses.

On both backends, the dashboard and the project page run the same number of statements with
one project (or version) as with eight, each with runs and grades (no N+1).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import text

from sdc.extensions import db
from sdc.models import AuditLog, JobTelemetry, RequestTelemetry, User, utcnow
from sdc.services import audit, comments, grades, members, runs
from tests import factories
from tests.conftest import AuthActions, captured_sql, requires_postgres
from tests.test_grafana import expand_macros, panel_queries
from tests.web._compare_helpers import make_pair

# Tables a sequential scan is right for, whatever the load.
SEQ_SCAN_ALLOWED = {
    "scenarios": "the fixed catalog (about ten rows, seeded from sdc/scenarios), read whole",
    "alembic_version": "one row, read by migrations only",
}

EXPLAINABLE = ("SELECT", "WITH", "UPDATE", "DELETE")
INDEX_NODES = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")


# ---- capture --------------------------------------------------------------------------------


def _get(client, url: str, **kw) -> None:
    resp = client.get(url, **kw)
    assert resp.status_code == 200, f"{url}: {resp.status_code} {resp.get_data(as_text=True)[:300]}"


def statement_count(app, client, url: str) -> int:
    """Statements one GET of ``url`` runs (after a first GET has warmed anything lazy)."""
    _get(client, url)
    with app.app_context():
        engine = db.engine
    with captured_sql(engine) as statements:
        _get(client, url)
    return len(statements)


# ---- EXPLAIN --------------------------------------------------------------------------------


def _nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def plan_of(engine, sql: str, params, options: str = "FORMAT JSON", *setup: str) -> dict:
    """PostgreSQL's JSON plan of ``sql`` with ``params`` (as the driver got them), after the
    ``setup`` statements, in a transaction rolled back (``EXPLAIN ANALYZE`` runs the statement)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement in setup:
            cursor.execute(statement)
        cursor.execute(f"EXPLAIN ({options}) " + sql, params)
        (doc,) = cursor.fetchone()
        raw.rollback()
    finally:
        raw.close()
    doc = json.loads(doc) if isinstance(doc, str) else doc
    return doc[0]["Plan"]


def explain(engine, sql: str, params) -> dict:
    """The JSON plan of ``sql`` with ``params``, seq scans off."""
    return plan_of(engine, sql, params, "FORMAT JSON", "SET LOCAL enable_seqscan = off")


def describe_access(plan: dict) -> tuple[list[str], list[str]]:
    """(tables seq-scanned, "index on table" accesses) of a plan."""
    seq, used = [], []
    for node in _nodes(plan):
        kind = node["Node Type"]
        if kind == "Seq Scan":
            seq.append(node["Relation Name"])
        elif kind in INDEX_NODES:
            table = node.get("Relation Name")
            used.append(f"{node['Index Name']}" + (f" on {table}" if table else ""))
    return seq, sorted(set(used))


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def summary(sql: str, width: int = 150) -> str:
    """A statement on one line: column lists and casts elided, parameters as ``?``."""
    text = " ".join(sql.split())
    text = re.sub(r"%\(\w+\)s(::(TIMESTAMP WITH TIME ZONE|[A-Z]+))?", "?", text)
    text = text.replace("%%", "%")
    text = re.sub(r"\(\?(, \?)+\)", "(…)", text)
    text = re.sub(r"'\d{4}-\d\d-\d\dT[^']*'", "'…'", text)
    text = re.sub(r"SELECT (DISTINCT )?(.+?) FROM", r"SELECT \1… FROM", text)
    text = re.sub(r" AS anon_\d+\b", "", text)
    return text if len(text) <= width else text[: width - 1] + "…"


def page_label(url: str) -> str:
    return UUID.sub("<id>", url)


# ---- data -----------------------------------------------------------------------------------


def seed_workload(app) -> dict:
    """Several users with projects, versions, runs (plain and failure), grades, a shared project,
    comments, audit rows and telemetry: ids of what the pages below show."""
    from tests.services.test_grades import make_graded_version

    with app.app_context():
        owner = factories.make_user()
        other = factories.make_user("other@example.com")
        viewer = factories.make_user("viewer@example.com")
        admin = factories.make_user("root@example.com", role="admin")
        secret = factories.enrol_2fa(admin)

        project, v1, v2 = make_pair(owner, title="Shortener")
        run1, _ = runs.start_run(owner, v1.id)
        run2, _ = runs.start_run(owner, v2.id)
        failure, _ = runs.start_run(
            owner,
            None,
            baseline_run_id=run1.id,
            failures=[
                {"mode": "node-down", "component_id": "api", "replicas": 1, "at_s": 2, "for_s": 4}
            ],
        )
        grades.start_grade(owner, v1.id)
        grade2, _ = grades.start_grade(owner, v2.id)
        graded = make_graded_version(owner)
        grades.start_grade(owner, graded.id)
        _i, token = members.create_invite(owner, project.id, viewer.email, "viewer")
        members.accept_invite(viewer, token)
        comments.add_comment(owner, project.id, v2.id, "@viewer is the cache enough?", "api")
        comments.add_comment(owner, project.id, v2.id, "Two replicas?", "db")

        _other_project, _ov1, ov2 = make_pair(other, title="Other")
        runs.start_run(other, ov2.id)
        grades.start_grade(other, ov2.id)

        now = utcnow()
        for i in range(30):
            audit.record(audit.LOGIN_FAILED, "user", f"u{i}", 401, actor_email=f"p{i}@example.com")
        audit.record(audit.TOKEN_CREATED, "token", "t1", 200, actor_email="keep@example.com")
        for i in range(60):
            db.session.add(
                RequestTelemetry(
                    time=now - timedelta(minutes=i % 30),
                    request_id=f"r{i}",
                    method="POST" if i % 4 == 0 else "GET",
                    route=f"/r/{i % 5}",
                    status=500 if i % 10 == 0 else 429 if i % 7 == 0 else 200,
                    duration_ms=float(i),
                    htmx=i % 2 == 0,
                )
            )
        for i, ev in enumerate(["enqueued", "running", "completed", "running", "failed"] * 4):
            db.session.add(
                JobTelemetry(
                    time=now - timedelta(minutes=i),
                    queue="redis",
                    job_type="simulation" if i % 2 else "grading",
                    job_id=f"j{i // 3}",
                    event=ev,
                    wait_ms=12.5 if ev == "running" else None,
                    duration_ms=80.0 if ev in ("completed", "failed") else None,
                )
            )
        for action in ("auth.lockout", "security.rate_limited", "POST auth.login"):
            db.session.add(AuditLog(time=now - timedelta(minutes=1), action=action, detail={}))
        db.session.commit()
        return {
            "pid": project.id,
            "v1": v1.id,
            "v2": v2.id,
            "run": run2.id,
            "failure": failure.id,
            "grade": grade2.id,
            "secret": secret,
        }


HTMX = {"HX-Request": "true"}
JSON = {"Accept": "application/json"}


def user_pages(ids: dict) -> list[tuple[str, dict | None]]:
    """(url, headers): the owner's pages, the regions they load by htmx, the JSON pollers."""
    pid, v1, v2 = ids["pid"], ids["v1"], ids["v2"]
    base = f"/projects/{pid}/versions/{v2}"
    compare = f"/projects/{pid}/compare?baseline={v1}&candidate={v2}"
    return [
        ("/dashboard", None),
        ("/shared", HTMX),  # the dashboard's "shared with me" region
        ("/notifications", None),
        ("/scenarios/", None),
        (f"/projects/{pid}", None),
        (base, None),
        (f"{base}/comments", HTMX),  # the workspace's comments panel
        (f"{base}/presence", HTMX),  # the workspace's heartbeat
        (base, JSON),  # the editor reloading its revision
        (f"{base}/design.json", None),
        (f"/runs/{ids['run']}", None),
        (f"/runs/{ids['run']}/status", JSON),
        (f"/runs/{ids['failure']}", None),
        (f"/grades/{ids['grade']}", None),
        (f"/grades/{ids['grade']}/status", JSON),
        (compare, None),
        (compare.replace("/compare?", "/compare/curve?"), HTMX),
    ]


def admin_pages() -> list[tuple[str, dict | None]]:
    today = utcnow().date()
    urls = [
        "/admin/audit",
        "/admin/audit?action=login_failed",
        "/admin/audit?action=login_failed&per_page=10&page=2",
        "/admin/audit?user=keep@",
        "/admin/audit?resource=user:u7",
        "/admin/audit?resource=token",
        "/admin/audit?status=401",
        f"/admin/audit?since={today}&until={today + timedelta(days=1)}",
        "/admin/audit.csv?action=token",
        "/admin/requests",
        "/admin/requests?window=24h",
        "/admin/jobs",
        "/admin/users",
        "/admin/users?q=example",
    ]
    return [(url, None) for url in urls]


# ---- index coverage (PostgreSQL) --------------------------------------------------------------


@requires_postgres
def test_every_page_and_panel_query_is_served_by_an_index(app):
    ids = seed_workload(app)
    with app.app_context():
        engine = db.engine

    # (label, sql, params) in first-seen order, one per distinct SQL text.
    seen: dict[str, tuple[str, object]] = {}

    def visit(client, pages):
        for url, headers in pages:
            with captured_sql(engine) as statements:
                _get(client, url, headers=headers)
            for sql, params in statements:
                if sql.lstrip().upper().startswith(EXPLAINABLE):
                    seen.setdefault(sql, (page_label(url), params))

    owner = app.test_client()
    assert AuthActions(owner).login().status_code == 303
    visit(owner, user_pages(ids))
    viewer = app.test_client()
    assert AuthActions(viewer).login("viewer@example.com").status_code == 303
    shared = f"/projects/{ids['pid']}/versions/{ids['v2']}"
    visit(
        viewer,
        [("/dashboard", None), ("/shared", HTMX), (shared, None), (shared + "/presence", HTMX)],
    )
    admin = app.test_client()
    assert AuthActions(admin).login_2fa("root@example.com", ids["secret"]).status_code == 303
    visit(admin, admin_pages())

    now = utcnow()
    start, end = (now - timedelta(hours=1)).isoformat(), (now + timedelta(minutes=1)).isoformat()
    for title, raw in panel_queries():
        seen.setdefault(expand_macros(raw, start, end), (f"grafana: {title}", None))

    assert len(seen) > 40, "expected the pages to run more distinct statements"
    rows, missing = [], []
    for sql, (label, params) in seen.items():
        plan = explain(engine, sql, params)
        seq, used = describe_access(plan)
        bad = sorted({t for t in seq if t not in SEQ_SCAN_ALLOWED})
        missing.extend(f"{t}: [{label}] {summary(sql, 400)}" for t in bad)
        access = ", ".join(used + [f"Seq Scan on {t}" for t in sorted(set(seq))]) or "(no table)"
        rows.append((label, summary(sql), access))

    print(f"\n{len(rows)} distinct statements (seq scans off):")
    for label, sql, access in rows:
        print(f"- {label}\n    {sql}\n    -> {access}")
    assert not missing, "sequential scans with no usable index:\n" + "\n".join(missing)


# ---- no N+1 (both backends) -------------------------------------------------------------------


def _graded_projects(user: User, n_projects: int, n_versions: int) -> list:
    """``n_projects`` projects of ``user``, each with ``n_versions`` versions, every version
    with a completed run and a completed grade."""
    projects = []
    for _ in range(n_projects):
        version = factories.make_runnable_version(user)
        project = version.project
        for i in range(n_versions):
            if i:
                version = factories.make_version(user, project)
            run, _ = runs.start_run(user, version.id, engine="analytic")
            grade, _ = grades.start_grade(user, version.id)
            db.session.refresh(run)
            db.session.refresh(grade)
            assert run.status == grade.status == "completed", (run.error, grade.error)
        projects.append(project.id)
    return projects


@pytest.fixture
def sized_clients(app):
    """Clients of a user with one project of one version (``small``), one with eight projects
    (``many_projects``) and one with a project of eight versions (``many_versions``)."""
    # Test setup starts more runs in a minute than one user may.
    app.config["SDC_SETTINGS"] = dataclasses.replace(
        app.config["SDC_SETTINGS"], runs_per_minute=100
    )
    out = {}
    with app.app_context():
        for name, n_projects, n_versions in (
            ("small", 1, 1),
            ("many_projects", 8, 1),
            ("many_versions", 1, 8),
        ):
            user = factories.make_user(f"{name.replace('_', '-')}@example.com")
            out[name] = (user.email, _graded_projects(user, n_projects, n_versions))
    clients = {}
    for name, (email, project_ids) in out.items():
        client = app.test_client()
        assert AuthActions(client).login(email).status_code == 303
        clients[name] = (client, project_ids[0])
    return clients


def test_dashboard_and_project_page_run_a_fixed_number_of_statements(app, sized_clients):
    small, small_pid = sized_clients["small"]
    many_projects, _pid = sized_clients["many_projects"]
    many_versions, versions_pid = sized_clients["many_versions"]

    dashboard = {
        "small": statement_count(app, small, "/dashboard"),
        "many_projects": statement_count(app, many_projects, "/dashboard"),
        "many_versions": statement_count(app, many_versions, "/dashboard"),
    }
    project_page = {
        "small": statement_count(app, small, f"/projects/{small_pid}"),
        "many_versions": statement_count(app, many_versions, f"/projects/{versions_pid}"),
    }
    print(f"\nstatements per GET: /dashboard {dashboard}, project page {project_page}")
    assert len(set(dashboard.values())) == 1, dashboard
    assert len(set(project_page.values())) == 1, project_page


# ---- work bounded by what is asked, not by history (PostgreSQL) --------------------------------


def rows_read(engine, sql: str, params, table: str) -> int:
    """Rows the scans of ``table`` read when PostgreSQL ran ``sql`` (EXPLAIN ANALYZE, rolled
    back): each scan node's rows, those it returned and those its filter then dropped, times
    its loops, summed."""
    plan = plan_of(engine, sql, params, "ANALYZE, FORMAT JSON")
    return sum(
        (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"]
        for node in _nodes(plan)
        if node.get("Relation Name") == table and "Scan" in node["Node Type"]
    )


def _past_jobs(model, template, n: int, hours_ago: float) -> None:
    """``n`` finished copies of job row ``template``, created ``hours_ago`` hours ago."""
    from sqlalchemy import insert

    created = utcnow() - timedelta(hours=hours_ago)
    skip = {"id", "created_at", "status"}
    base = {c.key: getattr(template, c.key) for c in model.__table__.columns if c.key not in skip}
    db.session.execute(
        insert(model),
        [
            {**base, "input_hash": f"past-{i}", "status": "completed", "created_at": created}
            for i in range(n)
        ],
    )
    db.session.commit()


@requires_postgres
@pytest.mark.parametrize("kind", ["run", "grade"])
def test_starting_a_job_reads_active_and_recent_jobs_not_the_users_history(app, kind):
    """The per-user limits count jobs in flight and jobs of the last minute: a user with 400
    finished jobs must not make every start read all 400 (it did, through ``(user_id)``)."""
    from sdc.models import GradeReport, SimulationRun
    from tests.services.test_grades import make_graded_version

    model = SimulationRun if kind == "run" else GradeReport
    start = runs.start_run if kind == "run" else grades.start_grade
    table = model.__tablename__
    with app.app_context():
        user = factories.make_user()
        version = make_graded_version(user)
        first, _ = start(user, version.id)
        _past_jobs(model, first, 400, hours_ago=2)
        engine = db.engine
        with captured_sql(engine) as statements:
            job, created = start(user, version.id)
        assert created
        admission = [
            (sql, params)
            for sql, params in statements
            if "count(" in sql and f"FROM {table}" in sql
        ]
        assert len(admission) == 1, [summary(s) for s, _ in statements]
        read = rows_read(engine, *admission[0], table)
    # Two rows are within a minute (the first job and the one just started): anything near
    # 400 is the history being read.
    assert read <= 10, f"the admission query read {read} {table} rows"


@pytest.fixture
def long_history(app):
    """A signed-in client whose one project has 2,000 runs and 400 grades behind it, with the
    planner's statistics refreshed as autovacuum would; ``(client, engine, project_id)``."""
    from sdc.models import GradeReport, SimulationRun
    from tests.services.test_grades import make_graded_version

    with app.app_context():
        user = factories.make_user()
        version = make_graded_version(user)
        run, _ = runs.start_run(user, version.id)
        grade, _ = grades.start_grade(user, version.id)
        _past_jobs(SimulationRun, run, 2000, hours_ago=2)
        _past_jobs(GradeReport, grade, 400, hours_ago=2)
        db.session.execute(text("ANALYZE simulation_runs, grade_reports"))
        db.session.commit()
        engine, project_id = db.engine, version.project_id
    client = app.test_client()
    assert AuthActions(client).login().status_code == 303
    return client, engine, project_id


def _jobs_read(client, engine, url: str) -> list[tuple[str, int, int]]:
    """(sql, runs read, grades read) of each statement of a GET of ``url`` that reads jobs."""
    _get(client, url)
    with captured_sql(engine) as statements:
        _get(client, url)
    return [
        (
            sql,
            rows_read(engine, sql, params, "simulation_runs"),
            rows_read(engine, sql, params, "grade_reports"),
        )
        for sql, params in statements
        if "simulation_runs" in sql or "grade_reports" in sql
    ]


@requires_postgres
def test_the_dashboard_reads_a_projects_newest_jobs_not_all_of_them(long_history):
    """The newest run and grade per project come from a few rows (ranking every job read all
    2,401), and the activity counts read each run once (two counts read them twice)."""
    client, engine, _pid = long_history
    read = _jobs_read(client, engine, "/dashboard")
    shown = [(summary(sql, 90), r, g) for sql, r, g in read]
    newest = [(r, g) for sql, r, g in read if "UNION ALL" in sql]
    counts = [(r, g) for sql, r, g in read if "count(" in sql]
    assert len(newest) == 1 and len(counts) == 1, shown
    assert newest[0][0] <= 10 and newest[0][1] <= 10, shown
    assert counts[0][0] <= 2001 + 10, shown
    # The progress reads each grade's category scores, not its whole report (~28 KB of JSON
    # that PostgreSQL parsed for every grade: 90 ms for these 400).
    whole = [summary(sql, 300) for sql, _r, _g in read if "grade_reports.report" in sql]
    assert not whole, whole


@requires_postgres
@pytest.mark.parametrize("page", ["project", "report", "compare"])
def test_project_pages_read_each_versions_newest_jobs_not_all_of_them(long_history, page):
    """Every version's newest run and newest grade, as these pages show them: the queries
    loaded every job of the versions, results and reports whole, to keep one per version
    (2,001 runs and 401 grades; 1.2 s for the report page, test client)."""
    client, engine, project_id = long_history
    base = f"/projects/{project_id}"
    with engine.connect() as conn:
        (version_id,) = conn.execute(
            text("SELECT id FROM versions WHERE project_id = :p"), {"p": project_id}
        ).one()
    url = {
        "project": base,
        "report": f"{base}/report",
        "compare": f"{base}/compare?baseline={version_id}&candidate={version_id}",
    }[page]
    read = _jobs_read(client, engine, url)
    shown = [(summary(sql, 90), r, g) for sql, r, g in read]
    assert read and all(r <= 10 and g <= 10 for _sql, r, g in read), shown


def test_a_projects_latest_run_and_grade_are_the_newest_of_any_version(app):
    """The newest baseline run of any version (a failure drill does not count), and the newest
    completed grade (a later failed one does not count), on either backend."""
    from sdc.models import GradeReport, SimulationRun
    from sdc.services import progress
    from tests.services.test_grades import make_graded_version
    from tests.web._compare_helpers import make_pair

    with app.app_context():
        user = factories.make_user()
        project, v1, v2 = make_pair(user)
        other = make_graded_version(user)  # a second project: its jobs stay its own
        t0 = utcnow() - timedelta(hours=1)

        def at(job, minutes, **values):
            for key, value in {"created_at": t0 + timedelta(minutes=minutes), **values}.items():
                setattr(job, key, value)
            db.session.commit()
            return job

        old_on_v2 = at(runs.start_run(user, v2.id, engine="analytic")[0], 1)
        newest_on_v1 = at(runs.start_run(user, v1.id, engine="analytic")[0], 2)
        at(runs.start_run(user, None, baseline_run_id=newest_on_v1.id, failures=[])[0], 3)
        at(runs.start_run(user, other.id, engine="analytic")[0], 4)
        graded = at(grades.start_grade(user, v2.id)[0], 1, status="completed", overall_score=61.0)
        at(grades.start_grade(user, v1.id)[0], 2, status="failed", overall_score=None)
        assert db.session.query(SimulationRun).count() == 4
        assert db.session.query(GradeReport).count() == 2

        items = {i["project"].id: i for i in progress.recent_with_outcomes(user)}
        mine = items[project.id]
        assert mine["run"]["id"] == newest_on_v1.id != old_on_v2.id
        assert mine["run"]["version_number"] == 1
        assert mine["grade"] == {"id": graded.id, "score": 61.0, "version_number": 2}
        assert items[other.project_id]["grade"] is None
