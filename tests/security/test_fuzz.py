"""Hypothesis fuzzing of every state-changing route in ``app.url_map``.

Each route is its own test (so ``-n 2`` spreads them) with its own app and client, signed in as
the project owner (the admin for admin-only routes) with a valid CSRF token, and receives
``EXAMPLES`` generated bodies, form-encoded or JSON: plausible field names (the form parsers'
own names) with hostile values. Every answer must be free of 5xx and tracebacks, be a success
or one of the refusals in ``REFUSALS``, and a refusal must leave the version row unchanged.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sdc.extensions import db
from sdc.models import Version
from sdc.web.traffic.forms import FIELDS as TRAFFIC_FIELDS
from sdc.web.workspace.forms import PARAM_FIELDS
from tests.conftest import csrf_token
from tests.security._routes import mutating_rules, url_for_rule
from tests.security.test_principals import _sign_in, _world

# 2,000 generated bodies per route on every `make test` (CI runs it on both backends): about
# 114,000 requests, ~5 ms each, about 7 minutes on SQLite with `-n 2`. For a quick local
# iteration lower it: `SDC_FUZZ_EXAMPLES=50 pytest tests/security/test_fuzz.py`.
EXAMPLES = int(__import__("os").environ.get("SDC_FUZZ_EXAMPLES", "2000"))
REFUSALS = {400, 404, 409, 413, 422, 429}
# A wrong password is answered 401 by the sign-in routes (one sentence for every failure).
# The fuzzer signs in as the project's owner, and the policy refuses the owner leaving their own
# project with a 403 that says why (members.leave is a policy action).
AUTH_REFUSALS = {"auth.login": {401}, "auth.two_factor": {401}, "members.leave": {403}}
ADMIN_ROUTES = ("admin.", "status.")
# Routes whose success ends the session: the next example signs in again.
SESSION_ENDERS = {
    "auth.logout",
    "settings.end_sessions",
    "settings.change_password",
    "settings.delete_account",
}

# The names the form parsers read (sdc/web/*/forms.py and the views), and the sub-fields.
COMMON = [
    "revision",
    "label",
    "type",
    "x",
    "y",
    "notes",
    "document",
    "source",
    "target",
    "mode",
    "engine",
    "seed",
    "preset",
    "action",
    "action_id",
    "role",
    "email",
    "body",
    "name",
    "code",
    "password",
    "current_password",
    "new_password",
    "confirm_email",
    "expires_in_days",
    "message",
    "severity",
    "company",
    "display_name",
    "baseline",
    "candidate",
    "replicas",
    "azs",
    "service_time_ms",
    "concurrency",
    "tier",
    "region",
    "dispatch",
    "op",
    "burstiness",
    "parent_id",
    "version",
    "component",
    "field",
    "delta",
    "duration_s",
    "place",
    "q",
    "read_percent",
    "region-us-east",
    "region-eu-west",
    "queue_unbounded",
]
FIELD_NAMES = sorted(
    set(COMMON) | set(TRAFFIC_FIELDS) | {p[0] for params in PARAM_FIELDS.values() for p in params}
)

HOSTILE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "-0",
        "1e309",
        "-1e309",
        "NaN",
        "nan",
        "inf",
        "-Infinity",
        "1e-400",
        "9" * 400,
        "18446744073709551616",
        "-9223372036854775809",
        "0x10",
        "1_000",
        "١٢٣",
        "true",
        "null",
        "[]",
        "{}",
        "None",
        "\x00",
        "\r\n",
        "\u202e",
        "\ud7ff",
        "💥" * 50,
        "<script>alert(1)</script>",
        "'; DROP TABLE users;--",
        "../../etc/passwd",
        "%00",
        "a" * 70_000,
        "cache",
        "api",
        "lb",
        "db",
        "analytic",
        "des",
        "viewer",
        "editor",
        "owner",
        "a",
        "b",
        "c",
        "steady",
        "us-east",
        "x@example.com",
    ]
)
TEXT = st.one_of(HOSTILE_TEXT, st.text(max_size=60), st.text(max_size=3000))
NUMBER = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
)
FORM_VALUE = st.one_of(TEXT, NUMBER.map(str), st.lists(TEXT, max_size=3))
JSON_SCALAR = st.one_of(st.none(), st.booleans(), NUMBER, TEXT)
JSON_VALUE = st.recursive(
    JSON_SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(FIELD_NAMES), inner, max_size=4),
    ),
    max_leaves=12,
)
FIELD = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=20))
FORM_BODY = st.dictionaries(FIELD, FORM_VALUE, max_size=8)
JSON_BODY = st.one_of(
    st.dictionaries(FIELD, JSON_VALUE, max_size=8),
    JSON_VALUE,  # not an object at all
    st.just(
        {"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}
    ),
)
BODY = st.one_of(
    st.tuples(st.just("form"), FORM_BODY),
    st.tuples(st.just("json"), JSON_BODY),
    st.tuples(st.just("raw"), st.binary(max_size=200)),
)

RULES = mutating_rules()


def _version_state(app, version_id) -> tuple:
    with app.app_context():
        row = db.session.execute(
            select(Version.design, Version.traffic, Version.notes, Version.revision).where(
                Version.id == version_id
            )
        ).one_or_none()
        db.session.remove()
    return json.dumps(tuple(row) if row else None, sort_keys=True, default=str)


def _session(app, client, world, principal) -> str:
    from sdc.models import User

    with app.app_context():
        user = db.session.scalar(
            select(User).where(
                User.email == f"{'root' if principal == 'admin' else 'owner'}@example.com"
            )
        )
        key = user.get_id() if user else world["users"][principal]
        db.session.remove()
    client.cookie_jar.clear() if hasattr(client, "cookie_jar") else None
    _sign_in(app, client, key)
    return csrf_token(client, "/status")


@pytest.mark.parametrize(
    ("endpoint", "method", "rule"), RULES, ids=[f"{m} {e}" for e, m, _ in RULES]
)
def test_fuzz_route(app, endpoint, method, rule):
    world = _world(app)
    principal = "admin" if endpoint.startswith(ADMIN_ROUTES) else "owner"
    client = app.test_client()
    token = _session(app, client, world, principal)
    args = dict(world["args"])
    url = url_for_rule(rule, args)
    version_id = world["args"]["version_id"]
    allowed = REFUSALS | AUTH_REFUSALS.get(endpoint, set())
    state = {"token": token, "before": _version_state(app, version_id), "count": 0}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
        ],
    )
    @given(body=BODY, hx=st.booleans())
    def fuzz(body, hx):
        kind, payload = body
        headers = {"X-CSRFToken": state["token"]}
        if hx:
            headers["HX-Request"] = "true"
        if kind == "form":
            resp = client.open(url, method=method, data=payload, headers=headers)
        elif kind == "json":
            resp = client.open(url, method=method, json=payload, headers=headers)
        else:
            resp = client.open(
                url,
                method=method,
                data=payload,
                headers=headers,
                content_type="application/x-www-form-urlencoded",
            )
        state["count"] += 1
        status = resp.status_code
        text = resp.get_data(as_text=True)
        assert status < 500, (status, kind, payload, text[:2000])
        assert "Traceback" not in text, (kind, payload)
        assert status < 400 or status in allowed, (status, kind, payload, text[:500])
        after = _version_state(app, version_id)
        if status >= 400:
            assert after == state["before"], (
                "a refused request changed the version",
                status,
                kind,
                payload,
            )
        state["before"] = after
        if endpoint in SESSION_ENDERS and status < 400:
            state["token"] = _session(app, client, world, principal)

    started = time.perf_counter()
    fuzz()
    elapsed = time.perf_counter() - started
    assert state["count"] >= EXAMPLES
    # The report quotes these numbers.
    print(f"fuzz {method} {endpoint}: {state['count']} requests in {elapsed:.1f}s")


# --- regressions found by the fuzzer ------------------------------------------------------------


@pytest.mark.parametrize("body", [True, [1, 2], "7", 7, None])
def test_share_link_creation_refuses_a_json_body_that_is_not_an_object(app, body):
    world = _world(app)
    client = app.test_client()
    token = _session(app, client, world, "owner")
    url = f"/projects/{world['args']['project_id']}/share-links"
    resp = client.post(url, json=body, headers={"X-CSRFToken": token})
    # null is "no body": a link without expiry, as before
    assert resp.status_code == (201 if body is None else 400), resp.get_data(as_text=True)[:300]
