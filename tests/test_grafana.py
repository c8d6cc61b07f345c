"""Every Grafana panel's SQL runs against the migrated PostgreSQL as the read-only role, with
Grafana's macros substituted; the role can read the operations tables and nothing else."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from tests.conftest import requires_postgres

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "infra" / "grafana" / "dashboards" / "sdc.json"
PROVISIONING = ROOT / "infra" / "grafana" / "provisioning"
EXPECTED_PANELS = {
    "Requests/min",
    "p95 and p99 latency",
    "5xx rate",
    "Rate-limited requests/min",
    "Login failures and lockouts",
    "Job states (latest event per job)",
    "Failed jobs/min",
    "Queue wait time",
    "Top slow routes",
    "Recent audit events",
    "Mutating requests/min",
}


def panel_queries() -> list[tuple[str, str]]:
    spec = json.loads(DASHBOARD.read_text())
    return [(p["title"], t["rawSql"]) for p in spec["panels"] for t in p.get("targets", [])]


def _seconds(interval: str) -> int:
    number, unit = int(interval[:-1]), interval[-1]
    return number * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def expand_macros(sql: str, start: str, end: str) -> str:
    """The subset of Grafana's PostgreSQL macros the dashboard uses, expanded as Grafana does."""

    def group(match, alias: bool):
        column, interval = (part.strip() for part in match.group(1).split(","))
        seconds = _seconds(interval)
        expr = f"floor(extract(epoch from {column})/{seconds})*{seconds}"
        expr = f"to_timestamp({expr})"
        return f'{expr} AS "time"' if alias else expr

    sql = re.sub(r"\$__timeGroupAlias\(([^)]*)\)", lambda m: group(m, True), sql)
    sql = re.sub(r"\$__timeGroup\(([^)]*)\)", lambda m: group(m, False), sql)
    sql = re.sub(
        r"\$__timeFilter\(([^)]*)\)",
        lambda m: f"{m.group(1).strip()} BETWEEN '{start}' AND '{end}'",
        sql,
    )
    sql = sql.replace("$__timeFrom()", f"'{start}'").replace("$__timeTo()", f"'{end}'")
    sql = sql.replace("$__interval_ms", "60000").replace("$__interval", "1m")
    assert "$__" not in sql, f"unexpanded macro in {sql}"
    return sql


def test_dashboard_has_every_required_panel():
    titles = {title for title, _sql in panel_queries()}
    assert titles == EXPECTED_PANELS
    datasources = yaml.safe_load((PROVISIONING / "datasources" / "sdc.yml").read_text())
    (ds,) = datasources["datasources"]
    assert ds["user"] == "grafana_reader" and ds["uid"] == "sdc-postgres"
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "sdc.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    volumes = compose["services"]["grafana"]["volumes"]
    assert any(v.startswith("./infra/grafana/provisioning:") for v in volumes)
    assert any(v.startswith("./infra/grafana/dashboards:") for v in volumes)


def test_macro_expansion():
    sql = expand_macros("SELECT $__timeGroupAlias(time, 1m) WHERE $__timeFilter(time)", "a", "b")
    assert sql == (
        'SELECT to_timestamp(floor(extract(epoch from time)/60)*60) AS "time" '
        "WHERE time BETWEEN 'a' AND 'b'"
    )


@requires_postgres
def test_every_panel_query_runs_as_the_read_only_role(app, migrated):
    import psycopg
    from psycopg import errors
    from sqlalchemy.engine import make_url

    from sdc.extensions import db
    from sdc.models import AuditLog, JobTelemetry, RequestTelemetry, utcnow

    now = utcnow()
    with app.app_context():
        for i in range(40):
            db.session.add(
                RequestTelemetry(
                    time=now - timedelta(minutes=i % 10),
                    request_id=f"r{i}",
                    method="POST" if i % 4 == 0 else "GET",
                    route=f"/r/{i % 3}",
                    status=(500 if i % 10 == 0 else 429 if i % 7 == 0 else 200),
                    duration_ms=float(i),
                    htmx=False,
                )
            )
        for i, event in enumerate(["enqueued", "running", "completed", "running", "failed"]):
            db.session.add(
                JobTelemetry(
                    time=now - timedelta(minutes=i),
                    queue="redis",
                    job_type="simulation",
                    job_id=f"j{i // 3}",
                    event=event,
                    wait_ms=12.5 if event == "running" else None,
                )
            )
        for action in (
            "auth.login_failed",
            "auth.lockout",
            "security.rate_limited",
            "POST auth.login",
            "DELETE workspace.remove_component",
        ):
            db.session.add(AuditLog(time=now - timedelta(minutes=1), action=action, detail={}))
        db.session.commit()

    url = make_url(migrated).set(drivername="postgresql").render_as_string(hide_password=False)
    start = (now - timedelta(hours=1)).isoformat()
    end = (now + timedelta(minutes=1)).isoformat()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET ROLE grafana_reader")
        for title, raw in panel_queries():
            rows = conn.execute(expand_macros(raw, start, end)).fetchall()
            assert rows, f"{title}: no rows from seeded data"
        for table in ("users", "projects", "api_tokens", "simulation_runs"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(f"SELECT 1 FROM {table} LIMIT 1")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("DELETE FROM audit_logs")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO request_telemetry (time, request_id, method, route, status, "
                "duration_ms, htmx) VALUES (now(), 'x', 'GET', '/', 200, 1, false)"
            )
