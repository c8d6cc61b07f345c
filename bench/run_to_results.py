"""Time from pressing "Run simulation" to seeing the results page, on the embedded default.

    python -m bench.run_to_results                 # 15 runs, 3 s apart
    python -m bench.run_to_results -n 20 --idle 70 # a user who pauses a minute between runs
    python -m bench.run_to_results --poll 0.05     # without the widget's 1 s polling cadence

What it starts: a scratch instance directory (SQLite database + SQLite Huey queue, no other
service), ``sdc db upgrade``, ``sdc seed``, then ``sdc serve`` on a free port: the web server and
a real ``sdc worker`` consumer process, exactly what ``make run`` starts.

What it does, over HTTP as the browser does (session cookie, CSRF token, ``HX-Request``): signs
in as the demo account, starts a url-shortener project, imports the example design
``docs/examples/url-shortener.json`` (its traffic: 4,000 rps x 3 peak, 60 s), then N times:
presses Run in the workspace (the htmx POST of the Run form, default des engine, seed 1), polls
the status widget the way htmx does (``hx-trigger="every 1s"`` on a widget swapped by
outerHTML: the next poll one second after each answer), and once the widget says completed
follows "View results" and loads ``/runs/<id>``. The figure is the wall time from sending the
POST to having the whole results page. It also prints, from the run's JSON, the queue wait
(created -> started) and the worker's time (started -> finished), so the total can be read as
queue wait + simulation + the polling cadence + page render.

Rate limits on runs are raised for the scratch instance (they would refuse N runs a minute);
nothing else differs from the embedded default.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
DESIGN = ROOT / "docs" / "examples" / "url-shortener.json"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
REVISION = re.compile(r'name="revision" value="(\d+)"')
STATUS_URL = re.compile(r'hx-get="(/runs/([0-9a-f-]{36})/status\?place=control)"')
DATA_STATUS = re.compile(r'data-status="(\w+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sdc(*args: str, env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sdc.cli", *args], env=env, check=True, capture_output=True, **kw
    )


def _wait_up(base: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/auth/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server at {base} did not answer within {timeout_s} s")


def _csrf(html: str) -> str:
    match = CSRF.search(html)
    if not match:
        raise SystemExit("no CSRF token on the page")
    return match.group(1)


def _prepare(client: httpx.Client, email: str, password: str) -> tuple[str, str]:
    """Sign in, start a url-shortener project, import the example design; the workspace URL
    and a CSRF token."""
    token = _csrf(client.get("/auth/login").text)
    resp = client.post(
        "/auth/login", data={"email": email, "password": password, "csrf_token": token}
    )
    if resp.status_code != 303:
        raise SystemExit(f"sign-in failed: HTTP {resp.status_code}")
    token = _csrf(client.get("/scenarios/").text)
    resp = client.post("/projects/start/url-shortener", data={"csrf_token": token})
    workspace = resp.headers.get("Location", "")
    if resp.status_code != 303 or "/versions/" not in workspace:
        raise SystemExit(f"starting a project failed: HTTP {resp.status_code}")
    page = client.get(workspace).text
    token, revision = _csrf(page), REVISION.search(page).group(1)
    resp = client.post(
        workspace + "/design",
        data={"csrf_token": token, "revision": revision, "document": DESIGN.read_text()},
    )
    if resp.status_code not in (200, 303):
        raise SystemExit(f"importing the design failed: HTTP {resp.status_code}: {resp.text[:300]}")
    return workspace, _csrf(client.get(workspace).text)


def _one_run(client: httpx.Client, workspace: str, token: str, poll_s: float) -> dict:
    """Press Run, poll like htmx, open the results; seconds from the POST to the results page."""
    start = time.perf_counter()
    resp = client.post(
        workspace + "/runs",
        data={"csrf_token": token},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    if resp.status_code not in (200, 201):
        raise SystemExit(f"Run refused: HTTP {resp.status_code}: {resp.text[:300]}")
    match = STATUS_URL.search(resp.text)
    if not match:
        raise SystemExit("the Run answer has no polling status widget")
    status_url, run_id = match.groups()
    polls = 0
    while True:
        time.sleep(poll_s)
        widget = client.get(status_url, headers={"HX-Request": "true"}).text
        polls += 1
        status = DATA_STATUS.search(widget).group(1)
        if status in ("completed", "failed"):
            break
    page = client.get(f"/runs/{run_id}")
    total = time.perf_counter() - start
    if status != "completed" or 'id="run-results"' not in page.text:
        raise SystemExit(f"run {run_id} ended {status}; the results page has no results")
    meta = client.get(f"/runs/{run_id}", headers={"Accept": "application/json"}).json()

    def ts(key):
        from datetime import datetime

        return datetime.fromisoformat(meta[key]).timestamp()

    return {
        "total_s": total,
        "queue_s": ts("started_at") - ts("created_at"),
        "worker_s": ts("finished_at") - ts("started_at"),
        "polls": polls,
        "page_kb": len(page.content) / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=15, help="runs to time (default 15)")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds between runs")
    parser.add_argument("--poll", type=float, default=1.0, help="status poll interval, s")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="sdc-bench-") as tmp:
        port = _free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "HUEY_SQLITE_PATH", "HUEY_IMMEDIATE")
        }
        env.update(
            SDC_ENV="development",
            SDC_INSTANCE_DIR=str(Path(tmp) / "instance"),
            PORT=str(port),
            RATELIMIT_RUNS="100000 per minute",
            RUNS_PER_MINUTE="100000",
            PYTHONUNBUFFERED="1",
        )
        _sdc("db", "upgrade", env=env, cwd=ROOT)
        _sdc("seed", env=env, cwd=ROOT)
        log = open(Path(tmp) / "serve.log", "wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "sdc.cli", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        rows = []
        try:
            _wait_up(base)
            email = "demo@example.com"
            password = "practise-system-design"
            with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client:
                workspace, token = _prepare(client, email, password)
                time.sleep(args.idle)
                for i in range(args.n):
                    row = _one_run(client, workspace, token, args.poll)
                    rows.append(row)
                    print(
                        f"run {i + 1:2d}: {row['total_s']:6.2f} s to the results page "
                        f"(queue wait {row['queue_s']:5.2f} s, worker {row['worker_s']:5.2f} s, "
                        f"{row['polls']} polls, page {row['page_kb']:.0f} KB)",
                        flush=True,
                    )
                    time.sleep(args.idle)
        finally:
            server.send_signal(signal.SIGINT)  # sdc serve stops its consumer too
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
        if not rows:
            return 1

        def med(key):
            return statistics.median(r[key] for r in rows)

        print(
            json.dumps(
                {
                    "runs": len(rows),
                    "idle_s": args.idle,
                    "poll_s": args.poll,
                    "median_total_s": round(med("total_s"), 3),
                    "min_total_s": round(min(r["total_s"] for r in rows), 3),
                    "max_total_s": round(max(r["total_s"] for r in rows), 3),
                    "median_queue_wait_s": round(med("queue_s"), 3),
                    "median_worker_s": round(med("worker_s"), 3),
                }
            )
        )
        print(
            f"median time from pressing Run to the results page: {med('total_s'):.2f} s "
            f"over {len(rows)} runs (embedded default: SQLite + SQLite Huey, real sdc worker)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
