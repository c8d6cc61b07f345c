"""Locust journeys for System Design Coach.

Run by ``loadtest/run.py`` (``make loadtest``), one phase at a time, by naming user classes:

- ``HelloUser``: the bare Flask hello app (the baseline every ratio is taken against);
- ``DashboardUser``, ``WorkspaceUser``, ``AutosaveUser``, ``EnqueueUser``: one endpoint family
  each, no think time, for throughput and p99 at 16 connections;
- ``CompareUser`` and ``CompareOffUser``: a fixed read/write mix, run at the same time against
  the app with and without telemetry and audit to measure what they cost;
- ``BrowserUser``, ``ApiUser``, ``AdminUser``: the mixed journey with think time (sign in,
  dashboard, workspace, autosave bursts, traffic, run and poll, results, grade and poll, export,
  admin audit page, API-token JSON clients).

Test data comes from ``sdc seed --load-test N --out FILE`` (path in ``LOADTEST_DATA``). The
stack runs the production config on loopback over plain HTTP, so every request says it came
through a TLS proxy (``X-Forwarded-Proto: https``, trusted with ``PROXY_FIX_HOPS=1``) and from
its own client address (``X-Forwarded-For``), as a real proxy would.

Lost updates: two clients share each version. Every accepted write (2xx) is counted per
version; at the end the version's revision must have advanced by exactly that count
(``LOADTEST_EXTRA_OUT`` receives the tally).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
import time
import urllib.request

from locust import FastHttpUser, between, constant, events, task

DATA_PATH = os.environ.get("LOADTEST_DATA", "instance/loadtest-data.json")
EXTRA_OUT = os.environ.get("LOADTEST_EXTRA_OUT")
RUN_ENGINE = os.environ.get("LOADTEST_RUN_ENGINE", "des")
ENQUEUE_ENGINE = os.environ.get("LOADTEST_ENQUEUE_ENGINE", "analytic")
POLL_S = 0.25
POLL_MAX_S = 60.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"|"X-CSRFToken": "([^"]+)"')
# The revision a 409's "overwrite" form re-submits with (workspace/_conflict.html).
CONFLICT_REVISION = re.compile(r'name="revision" value="(\d+)"')

from loadtest.names import (  # noqa: E402
    AUDIT,
    COMPONENT,
    COMPONENT_JSON,
    DASHBOARD,
    DASHBOARD_AFTER_SIGN_IN,
    EXPORT,
    FLOOR,
    GRADE,
    GRADE_STATUS,
    HELLO,
    IMPORT,
    LOGIN,
    LOGIN_FORM,
    NOTES,
    OPS_OFF,
    OPS_OFF_HEADER,
    POSITION,
    RESULTS,
    RUN,
    RUN_JSON,
    RUN_STATUS,
    SCENARIOS,
    START,
    TRAFFIC,
    WORKSPACE,
    WORKSPACE_JSON,
)

_data: dict | None = None
_data_lock = threading.Lock()
_counter = itertools.count(1)
_slots = itertools.count(0)
_writes: dict[str, int] = {}
_start_revisions: dict[str, int] = {}


def data() -> dict:
    """The seeded accounts (read once per locust process)."""
    global _data
    with _data_lock:
        if _data is None:
            with open(DATA_PATH, encoding="utf-8") as fh:
                _data = json.load(fh)
    return _data


def count_write(version_id: str) -> None:
    _writes[version_id] = _writes.get(version_id, 0) + 1


def _revision_now(host: str, account: dict) -> int | None:
    url = f"{host}/projects/{account['project_id']}/versions/{account['version_id']}"
    req = urllib.request.Request(
        url,
        headers={
            "Authorization": f"Bearer {account['token']}",
            "Accept": "application/json",
            "X-Forwarded-Proto": "https",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return int(json.load(resp)["revision"])
    except Exception:
        return None


@events.test_start.add_listener
def _remember_revisions(environment, **_kw) -> None:
    if not EXTRA_OUT or not os.path.exists(DATA_PATH):
        return
    for account in data()["users"]:
        rev = _revision_now(environment.host, account)
        if rev is not None:
            _start_revisions[account["version_id"]] = rev


@events.test_stop.add_listener
def _check_lost_updates(environment, **_kw) -> None:
    if not EXTRA_OUT or not _start_revisions:
        return
    time.sleep(1.0)  # let in-flight responses land
    report = {
        "versions": 0,
        "accepted_writes": 0,
        "revision_advance": 0,
        "lost_updates": 0,
        "unexplained_revisions": 0,
    }
    for account in data()["users"]:
        vid = account["version_id"]
        if vid not in _start_revisions:
            continue
        end = _revision_now(environment.host, account)
        if end is None:
            continue
        advance = end - _start_revisions[vid]
        accepted = _writes.get(vid, 0)
        report["versions"] += 1
        report["accepted_writes"] += accepted
        report["revision_advance"] += advance
        report["lost_updates"] += max(0, accepted - advance)
        report["unexplained_revisions"] += max(0, advance - accepted)
    with open(EXTRA_OUT, "w", encoding="utf-8") as fh:
        json.dump(report, fh)


class HelloUser(FastHttpUser):
    """The baseline: a bare Flask hello under the same gunicorn settings."""

    wait_time = constant(0)

    @task
    def hello(self):
        self.client.get("/", name=HELLO)


_ready = itertools.count(1)


class SdcUser(FastHttpUser):
    """Shared plumbing: the proxy headers, sign-in, CSRF token and the account's version.

    ``steady_state``: the phase is a throughput measurement, so its statistics restart once
    every user has signed in. A sign-in costs a deliberate ~0.4 s of scrypt CPU; 16 of them at
    the start would be charged to the measured endpoint (fewer requests in the phase, and its
    first requests queued behind them inflating p99). Sign-ins are measured in the mixed journey.
    """

    abstract = True
    wait_time = constant(0)
    uses_token = False
    steady_state = True

    def on_start(self) -> None:
        slot = next(_slots)
        users = data()["users"]
        self.account = users[slot % len(users)]
        self.ip = f"10.{(slot >> 16) & 255}.{(slot >> 8) & 255}.{slot & 255}"
        self.csrf = ""
        self.base = f"/projects/{self.account['project_id']}/versions/{self.account['version_id']}"
        self.revision = self.account["revision"]
        self.components = [c for c in self.account["component_ids"] if c != "users"]
        if not self.uses_token:
            self.sign_in(self.account["email"], self.account["password"])
        self.refresh_revision()
        if self.steady_state and next(_ready) == self.environment.runner.target_user_count:
            self.environment.stats.reset_all()  # the last user is ready: measure from here

    def headers(self, **extra) -> dict:
        # Behind TLS, Flask-WTF checks the Referer of unsafe requests, as browsers send it.
        referer = self.host.replace("http://", "https://", 1) + "/"
        h = {"X-Forwarded-Proto": "https", "X-Forwarded-For": self.ip, "Referer": referer}
        if self.uses_token:
            h["Authorization"] = f"Bearer {self.account['token']}"
            h["Accept"] = "application/json"
        elif self.csrf:
            h["X-CSRFToken"] = self.csrf
        h.update(extra)
        return h

    def remember_csrf(self, html: str) -> None:
        match = CSRF.search(html or "")
        if match:
            self.csrf = match.group(1) or match.group(2)

    def sign_in(self, email: str, password: str) -> None:
        resp = self.client.get("/auth/login", name=LOGIN_FORM, headers=self.headers())
        self.remember_csrf(resp.text)
        form = {"email": email, "password": password, "csrf_token": self.csrf}
        with self.client.post(
            "/auth/login",
            data=form,
            name=LOGIN,
            headers=self.headers(),
            allow_redirects=False,
            catch_response=True,
        ) as resp:
            if resp.status_code != 303:
                resp.failure(f"sign-in answered {resp.status_code}")
        self.dashboard(DASHBOARD_AFTER_SIGN_IN)

    def dashboard(self, name: str = DASHBOARD) -> None:
        resp = self.client.get("/dashboard", name=name, headers=self.headers())
        self.remember_csrf(resp.text)

    def refresh_revision(self) -> None:
        h = self.headers(Accept="application/json")
        resp = self.client.get(self.base, name=WORKSPACE_JSON, headers=h)
        try:
            self.revision = int(resp.json()["revision"])
        except Exception:
            pass

    def write(self, path: str, name: str, form: dict) -> None:
        """One autosave: 2xx advances our revision (counted), 409 reloads it (intended)."""
        form = dict(form, revision=str(self.revision))
        h = self.headers() if self.uses_token else self.headers(**{"HX-Request": "true"})
        with self.client.request(
            "PATCH", self.base + path, data=form, name=name, headers=h, catch_response=True
        ) as resp:
            if resp.status_code == 200:
                new = self._new_revision(resp)
                if new != self.revision:  # a no-op save (same value) keeps its revision
                    count_write(self.account["version_id"])
                self.revision = new
                resp.success()
            elif resp.status_code == 409:
                resp.success()  # intended: someone else saved first; nothing was overwritten
                self.resume_after_conflict(resp)
            elif resp.status_code == 429:
                resp.success()
            else:
                resp.failure(f"{resp.status_code}: {resp.text[:200]}")

    def resume_after_conflict(self, resp) -> None:
        """Go on from the revision the 409 names, as "Overwrite with my change" does: the JSON
        error's ``current_revision``, the htmx fragment's overwrite form. Re-reading the whole
        version for that one number is what a client without it has to do."""
        try:
            if self.uses_token:
                self.revision = int(resp.json()["error"]["current_revision"])
                return
            match = CONFLICT_REVISION.search(resp.text or "")
            if match:
                self.revision = int(match.group(1))
                return
        except Exception:
            pass
        self.refresh_revision()

    def _new_revision(self, resp) -> int:
        if self.uses_token:
            return int(resp.json()["revision"])
        trigger = resp.headers.get("HX-Trigger") or "{}"
        return int(json.loads(trigger)["sdc:revision"]["revision"])

    def edit_component(self) -> None:
        n = next(_counter)
        cid = random.choice(self.components)
        name = COMPONENT_JSON if self.uses_token else COMPONENT
        self.write(f"/components/{cid}", name, {"label": f"{cid} #{n}"})

    def move_component(self) -> None:
        n = next(_counter)
        cid = random.choice(self.components)
        self.write(f"/components/{cid}/position", POSITION, {"x": 40 + n % 600, "y": 40 + n % 400})

    def edit_notes(self) -> None:
        n = next(_counter)
        self.write("/notes", NOTES, {"notes": f"Capacity notes, draft {n}: cache hot keys."})

    def edit_traffic(self) -> None:
        n = next(_counter)
        form = {
            "baseline_rps": str(1000 + n % 5000),
            "peak_multiplier": "3",
            "read_percent": "90",
            "payload_kb": "1",
            "duration_s": "60",
            "burstiness": "steady",
            "region-us-east": "100",
        }
        self.write("/traffic", TRAFFIC, form)

    # In the mixed journey a 429 is an intended answer (the per-user run limits); the enqueue
    # phase measures accepted runs with the limits raised, so there a 429 is a failure.
    limits_expected = True

    def start_run(self, engine: str, name: str) -> str | None:
        body = {"engine": engine, "seed": str(random.randrange(2**31))}
        h = self.headers(Accept="application/json")
        with self.client.post(
            self.base + "/runs", data=body, name=name, headers=h, catch_response=True
        ) as resp:
            if resp.status_code in (200, 201):
                return resp.json()["id"]
            if resp.status_code == 429 and self.limits_expected:
                resp.success()  # intended: the per-user run limits
                return None
            resp.failure(f"{resp.status_code}: {resp.text[:200]}")
        return None

    def poll(self, url: str, name: str) -> str:
        deadline = time.monotonic() + POLL_MAX_S
        h = self.headers(Accept="application/json")
        status = "pending"
        while time.monotonic() < deadline:
            resp = self.client.get(url, name=name, headers=h)
            try:
                status = resp.json().get("status", status)
            except Exception:
                return "error"
            if status not in ("pending", "running"):
                return status
            time.sleep(POLL_S)
        return status


# --- one endpoint family each, no think time (throughput and p99 at 16 connections) --------


class FloorUser(SdcUser):
    """The app's floor: the cheapest signed-in route through every hook (session, CSRF,
    limits, Talisman, telemetry), so no page can be faster than this phase."""

    @task
    def healthz(self):
        self.client.get("/healthz", name=FLOOR, headers=self.headers())


class DashboardUser(SdcUser):
    @task
    def dashboard_page(self):
        self.dashboard()


class WorkspaceUser(SdcUser):
    @task
    def workspace_page(self):
        self.client.get(self.base, name=WORKSPACE, headers=self.headers())


class AutosaveUser(SdcUser):
    @task(3)
    def component(self):
        self.edit_component()

    @task(2)
    def position(self):
        self.move_component()

    @task(1)
    def notes(self):
        self.edit_notes()


class EnqueueUser(SdcUser):
    """Starts runs as fast as they are accepted (API tokens, JSON)."""

    uses_token = True
    limits_expected = False

    @task
    def enqueue(self):
        self.start_run(ENQUEUE_ENGINE, RUN_JSON)


class CompareUser(SdcUser):
    """Telemetry and audit cost, half of the users against the full app: a fixed read/write mix.

    ``CompareOffUser`` runs the same mix at the same time against the app without those hooks
    (``LOADTEST_OPS_OFF_HOST``). Both servers share the machine while they are measured, so
    whatever else it is doing slows both alike, and each server's throughput is what its
    per-request cost allows on an equal share of the CPU.
    """

    @task(2)
    def dashboard_page(self):
        self.dashboard()

    @task(2)
    def workspace_page(self):
        self.client.get(self.base, name=WORKSPACE, headers=self.headers())

    @task(2)
    def autosave(self):
        self.edit_component()


class CompareOffUser(CompareUser):
    """``CompareUser``'s mix against the app without telemetry and audit; its request names end
    in ``OPS_OFF`` so the two servers' figures stay apart."""

    def __init__(self, environment) -> None:
        # On the instance, before FastHttpUser builds its client from it: locust's --host
        # replaces every user class's ``host`` when it spawns users, which sent these requests
        # to the full app (the cost compared that app with itself).
        self.host = os.environ["LOADTEST_OPS_OFF_HOST"]
        super().__init__(environment)

    def on_start(self) -> None:
        request = self.client.request

        def tagged(method, url, name=None, catch_response=False, **kwargs):
            name = (name or url) + OPS_OFF
            if catch_response:  # the caller judges the answer itself
                return request(method, url, name=name, catch_response=True, **kwargs)
            with request(method, url, name=name, catch_response=True, **kwargs) as resp:
                if resp.headers.get(OPS_OFF_HEADER) != "off":
                    resp.failure(f"answered without {OPS_OFF_HEADER}: off, not by the ops-off app")
            return resp

        self.client.request = tagged  # get/post/... all go through request()
        super().on_start()


# --- the mixed journey (think time) ----------------------------------------------------------


class BrowserUser(SdcUser):
    """A signed-in person in the browser: htmx partials, CSRF header, think time."""

    steady_state = False  # the mixed journey counts everything, sign-ins included

    weight = 8
    wait_time = between(0.2, 1.0)

    @task(4)
    def dashboard_page(self):
        self.dashboard()

    @task(4)
    def open_workspace(self):
        resp = self.client.get(self.base, name=WORKSPACE, headers=self.headers())
        self.remember_csrf(resp.text)
        self.refresh_revision()

    @task(6)
    def autosave_burst(self):
        for _ in range(random.randint(3, 6)):
            random.choice((self.edit_component, self.edit_component, self.move_component))()
            time.sleep(random.uniform(0.05, 0.3))
        self.edit_notes()

    @task(2)
    def traffic(self):
        self.edit_traffic()

    @task(2)
    def run_and_read_results(self):
        run_id = self.start_run(RUN_ENGINE, RUN)
        if run_id is None:
            return
        self.poll(f"/runs/{run_id}/status", RUN_STATUS)
        self.client.get(f"/runs/{run_id}", name=RESULTS, headers=self.headers())

    @task(1)
    def grade(self):
        h = self.headers(Accept="application/json")
        with self.client.post(
            self.base + "/grades", name=GRADE, headers=h, catch_response=True
        ) as resp:
            if resp.status_code == 429:
                resp.success()  # intended: 20 grades per minute per client
                return
            if resp.status_code not in (200, 202):
                resp.failure(f"{resp.status_code}: {resp.text[:200]}")
                return
            grade_id = resp.json()["id"]
        self.poll(f"/grades/{grade_id}", GRADE_STATUS)

    @task(1)
    def scenarios(self):
        self.client.get("/scenarios/", name=SCENARIOS, headers=self.headers())

    @task(1)
    def export(self):
        self.client.get(self.base + "/design.json", name=EXPORT, headers=self.headers())


class ApiUser(SdcUser):
    """A script with a personal API token: JSON in, JSON out, no CSRF."""

    weight = 3
    uses_token = True
    wait_time = between(0.2, 1.0)
    steady_state = False

    @task(4)
    def read_version(self):
        self.refresh_revision()

    @task(3)
    def edit(self):
        self.edit_component()

    @task(2)
    def run_and_poll(self):
        run_id = self.start_run(RUN_ENGINE, RUN_JSON)
        if run_id is not None:
            self.poll(f"/runs/{run_id}/status", RUN_STATUS)

    @task(1)
    def start_and_import(self):
        h = self.headers()
        with self.client.post(
            f"/projects/start/{data()['slug']}", name=START, headers=h, catch_response=True
        ) as resp:
            if resp.status_code != 201:
                resp.failure(f"{resp.status_code}: {resp.text[:200]}")
                return
            body = resp.json()
        doc = {"document": data()["design"], "revision": 1}
        path = f"/projects/{body['project_id']}/versions/{body['version_id']}/design"
        self.client.post(path, json=doc, name=IMPORT, headers=h)


class AdminUser(SdcUser):
    """An operator reading the audit log."""

    weight = 1
    fixed_count = 1
    wait_time = between(1.0, 3.0)
    steady_state = False

    def on_start(self) -> None:
        self.account = data()["users"][0]
        self.ip = "10.255.255.1"
        self.csrf = ""
        admin = data()["admin"]
        self.sign_in(admin["email"], admin["password"])

    @task
    def audit_page(self):
        self.client.get("/admin/audit", name=AUDIT, headers=self.headers())
