"""Request names shared by the locustfile and the report (no locust import here: importing
locust monkey-patches the process with gevent)."""

HELLO = "GET hello"
FLOOR = "GET /healthz (signed in)"
LOGIN_FORM = "GET /auth/login"
LOGIN = "POST /auth/login"
DASHBOARD = "GET /dashboard"
# The dashboard a sign-in lands on, named apart: in the mixed journey most users sign in at
# once, and each sign-in holds a worker for ~0.4 s of scrypt, so these queue behind the others'
# sign-ins; under the plain name they made the steady dashboard's p95 look like 400 ms.
DASHBOARD_AFTER_SIGN_IN = "GET /dashboard (after sign-in)"
SCENARIOS = "GET /scenarios/"
WORKSPACE = "GET workspace"
WORKSPACE_JSON = "GET workspace (JSON)"
COMPONENT = "PATCH component (autosave)"
COMPONENT_JSON = "PATCH component (JSON, token)"
POSITION = "PATCH component position (autosave)"
NOTES = "PATCH notes (autosave)"
TRAFFIC = "PATCH traffic"
RUN = "POST runs"
RUN_JSON = "POST runs (JSON, token)"
RUN_STATUS = "GET /runs/<id>/status"
RESULTS = "GET /runs/<id>"
GRADE = "POST grades"
GRADE_STATUS = "GET /grades/<id> (JSON)"
EXPORT = "GET design.json"
START = "POST /projects/start/<slug> (token)"
IMPORT = "POST design import (token)"
AUDIT = "GET /admin/audit"
AUTOSAVE_NAMES = (COMPONENT, POSITION, NOTES)
OPS_OFF = " [ops off]"  # suffix of requests served by the app without telemetry and audit
OPS_OFF_HEADER = "X-SDC-Ops"  # that app answers every request with this header set to "off"
