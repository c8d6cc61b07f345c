"""In-process cost of the hot pages, side by side with a bare Flask hello, in one run.

    python -m bench.requests                     # SQLite scratch database
    DATABASE_URL=postgresql://... python -m bench.requests
    python -m bench.requests --profile dashboard # cProfile one page (top 40 by cumulative)
    python -m bench.requests --memory 2000       # RSS while every page is served N times
    python -m bench.requests --sql workspace     # every round trip one request of a page makes
    python -m bench.requests --calls             # Python function calls per request of each page

``--profile`` honours SDC_PROFILE_SORT (default cumulative), SDC_PROFILE_LINES (40),
SDC_PROFILE_CALLERS (a function name: also print who called it), SDC_PROFILE_CALLEES (what it
called) and SDC_PROFILE_DUMP (a file: the raw stats, for ``pstats`` or snakeviz).

The app runs with the production settings the load test uses (Talisman, Flask-Limiter with
limits raised, CSRF, telemetry and audit on), driven through Flask's test client, so the figures
are the server's CPU per request without gunicorn, sockets or a load generator. They are a
quick way to see where time goes; ``make loadtest`` measures the real stack. Prints ms per
request (median of 5 rounds) and the ratio to hello (hello ms / page ms).

``--calls`` counts the Python function calls one request of each page makes (cProfile's
count, the mean over ``-n`` requests). Unlike a timing it does not move with the machine's
load, so an A/B of two commits on a noisy VM compares these first; it does not see time spent
in C code or waiting on PostgreSQL and Redis (``--sql`` shows those round trips).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = 5
TRACE_FRAMES = 8  # --trace: stack depth kept per allocation (deeper is slower)


def _environment(database_url: str, instance: Path) -> dict:
    """The load test's production settings (loadtest/stack.py), for this process."""
    return {
        "SDC_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        "SDC_INSTANCE_DIR": str(instance),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "PROXY_FIX_HOPS": "1",
        "SESSION_COOKIE_SECURE": "0",
        "RATELIMIT_DEFAULT": "1000000 per minute",
        "RATELIMIT_RUNS": "1000000 per minute",
        "RATELIMIT_GRADES": "1000000 per minute",
        "RUNS_PER_MINUTE": "1000000",
        "RUNS_CONCURRENT": "1000000",
    }


def _hello():
    from flask import Flask

    app = Flask("hello")

    @app.get("/")
    def hello():
        return "Hello, World!"

    return app


def _time(fn, n: int, clock=time.perf_counter) -> float:
    """Median ms per call over ROUNDS rounds of n calls, by ``clock``."""
    per = []
    for _ in range(ROUNDS):
        started = clock()
        for _ in range(n):
            fn()
        per.append((clock() - started) * 1000 / n)
    return statistics.median(per)


def _print_round_trips(app, fn, repeat: int = 50) -> None:
    """Run ``fn`` ``repeat`` times; print each statement of one request with its mean wall ms.

    BEGIN, COMMIT and ROLLBACK are listed where psycopg sends them (its own round trip each),
    not where SQLAlchemy begins or ends a transaction: a request's plain reads run in
    autocommit (``sdc.db_events``), and no BEGIN or ROLLBACK goes with them. The list shows the
    request's own session; the count below it also includes the telemetry and audit writes on
    their own connections. The last line splits the request's wall time into time spent
    waiting on statements and the rest (Python: hooks, ORM, Jinja).
    """
    from sqlalchemy import event

    from sdc.extensions import db

    with app.app_context():
        engine = db.engine
    trips: list[list] = []
    clock = time.perf_counter

    pending: list = []  # the statement in flight: psycopg sends a BEGIN inside its execute

    def before(conn, cursor, sql, params, context, executemany):
        pending[:] = [[" ".join(sql.split())[:140], clock()]]
        trips.append(pending[0])

    def after(conn, cursor, sql, params, context, executemany):
        pending[0][1] = clock() - pending[0][1]
        pending.clear()

    def command(name: str) -> None:
        # Listed before the statement it went out with (a BEGIN ahead of the first write).
        at = trips.index(pending[0]) if pending else len(trips)
        trips.insert(at, [name, 0.0])

    hooks = {"before_cursor_execute": before, "after_cursor_execute": after}
    for name, hook in hooks.items():
        event.listen(engine, name, hook)
    waits = _count_round_trips(on_command=command)
    runs = []
    try:
        for _ in range(repeat):
            trips.clear()
            started = clock()
            fn()
            runs.append((clock() - started, list(trips), waits.pop()))
    finally:
        for name, hook in hooks.items():
            event.remove(engine, name, hook)
        _count_round_trips(stop=True)
    first = runs[0][1]
    for i, (sql, _) in enumerate(first):
        same = [r[1][i][1] for r in runs if len(r[1]) == len(first)]
        print(f"{i + 1:>3} {statistics.mean(same) * 1000:7.3f} ms  {sql}")
    total = statistics.median(r[0] for r in runs) * 1000
    waiting = statistics.median(sum(t for _, t in r[1]) for r in runs) * 1000
    print(f"request {total:.2f} ms: statements {waiting:.2f} ms, the rest {total - waiting:.2f} ms")
    pg, rd = (statistics.median(r[2][k] for r in runs) for k in ("postgresql", "redis"))
    print(f"round trips per request: PostgreSQL {pg:g}, Redis {rd:g}")


def _count_round_trips(stop: bool = False, on_command=None):
    """Count the commands sent to a server: psycopg statements (a cursor execute, the pool's
    ping included) and transaction commands it actually sends (BEGIN, COMMIT, ROLLBACK: its
    ``_exec_command``, which a ROLLBACK on an idle connection never reaches), and redis-py's
    ``execute_command``. ``pop()`` returns the counts so far and starts again; ``stop=True``
    restores the patched functions. ``on_command(name)`` is called with each transaction
    command psycopg sends ("BEGIN", "COMMIT", "ROLLBACK")."""
    import psycopg
    import redis
    from psycopg._connection_base import BaseConnection

    originals = _count_round_trips.__dict__.setdefault(
        "originals",
        (psycopg.Connection.wait, BaseConnection._exec_command, redis.Redis.execute_command),
    )
    if stop:
        (psycopg.Connection.wait, BaseConnection._exec_command, redis.Redis.execute_command) = (
            originals
        )
        return None
    counts = {"postgresql": 0, "redis": 0}

    def wait(self, gen, *args, **kwargs):
        if "_execute_gen" in getattr(gen, "__qualname__", ""):
            counts["postgresql"] += 1
        return originals[0](self, gen, *args, **kwargs)

    def exec_command(self, command, *args, **kwargs):
        counts["postgresql"] += 1
        if on_command is not None:
            text = command.decode() if isinstance(command, bytes | bytearray) else str(command)
            on_command(text.split()[0].upper() if text.strip() else text)
        return originals[1](self, command, *args, **kwargs)

    def execute_command(self, *args, **kwargs):
        counts["redis"] += 1
        return originals[2](self, *args, **kwargs)

    psycopg.Connection.wait = wait
    BaseConnection._exec_command = exec_command
    redis.Redis.execute_command = execute_command

    class Counts:
        def pop(self):
            now = dict(counts)
            counts.update(postgresql=0, redis=0)
            return now

    return Counts()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="requests per round (default 200)")
    parser.add_argument("--profile", help="cProfile this page instead of timing all")
    parser.add_argument(
        "--memory",
        type=int,
        metavar="N",
        help="instead of timing: N rounds of every page, printing this process's RSS (leaks)",
    )
    parser.add_argument("--page", help="with --memory: only this page")
    parser.add_argument(
        "--sql", metavar="PAGE", help="print the round trips one request of PAGE makes"
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="time by this process's CPU time instead of the wall clock (a busy machine)",
    )
    parser.add_argument(
        "--calls",
        action="store_true",
        help="count Python function calls per request instead of timing (stable on a busy machine)",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="with --memory: what tracemalloc saw grow from half way to the end",
    )
    parser.add_argument(
        "--ops-off",
        action="store_true",
        help="the app without its telemetry and audit hooks (loadtest.ops_off_app), to compare",
    )
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="sdc-bench-"))
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'sdc.db'}"
    if database_url.startswith("postgresql"):
        print("PostgreSQL: run against a scratch database you can drop", file=sys.stderr)

    # Set before the first import of ``tasks``: its Huey reads the environment (an embedded
    # SQLite queue under the scratch instance folder, or Redis when REDIS_URL is set).
    os.environ.update(_environment(database_url, tmp / "instance"))
    from flask_migrate import upgrade

    from sdc import create_app
    from sdc.services.load_test_data import seed_load_test
    from sdc.settings import load_settings

    app = create_app(settings=load_settings(dict(os.environ)))
    if args.ops_off:
        from loadtest.ops_off_app import without_ops

        without_ops(app)
    with app.app_context():
        upgrade()
        from sdc.services.scenarios import seed_scenarios

        seed_scenarios()
        account = seed_load_test(1)["users"][0]

    env = {"wsgi.url_scheme": "http"}
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.1"}
    client = app.test_client()
    client.environ_base.update(env)
    resp = client.get("/auth/login", headers=headers)
    import re

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', resp.get_data(as_text=True)).group(1)
    resp = client.post(
        "/auth/login",
        data={"email": account["email"], "password": account["password"], "csrf_token": csrf},
        headers={**headers, "Referer": "https://localhost/"},
    )
    assert resp.status_code == 303, resp.status_code
    page = client.get("/dashboard", headers=headers).get_data(as_text=True)
    csrf = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    base = f"/projects/{account['project_id']}/versions/{account['version_id']}"
    component = next(c for c in account["component_ids"] if c != "users")
    # Run seeds start at random: a run with a seed its design already ran with answers 200 with
    # that run (not 201), so a scratch database reused between bench runs must not repeat them.
    state = {"revision": account["revision"], "n": secrets.randbelow(2**30)}
    write_headers = {
        **headers,
        "X-CSRFToken": csrf,
        "HX-Request": "true",
        "Referer": "https://localhost/",
    }

    def ok(resp):
        assert resp.status_code == 200, (resp.status_code, resp.get_data(as_text=True)[:300])
        return resp

    def patch(path: str, field: str, value: str):
        """One htmx autosave of ``field`` (a new value each time), keeping the revision."""
        import json

        state["n"] += 1
        resp = ok(
            client.patch(
                f"{base}{path}",
                data={field: f"{value} {state['n']}", "revision": str(state["revision"])},
                headers=write_headers,
            )
        )
        state["revision"] = json.loads(resp.headers["HX-Trigger"])["sdc:revision"]["revision"]

    def autosave():
        patch(f"/components/{component}", "label", "api")

    def notes():
        patch("/notes", "notes", "## API\nPOST /links")

    def enqueue():
        resp = client.post(
            f"{base}/runs",
            json={"engine": "analytic", "seed": str(state["n"])},
            headers={
                **headers,
                "Authorization": f"Bearer {account['token']}",
                "Accept": "application/json",
            },
        )
        state["n"] += 1
        assert resp.status_code == 201, (resp.status_code, resp.get_data(as_text=True)[:300])
        state["run_id"] = resp.get_json()["id"]

    def status():
        # The htmx poll an open workspace sends every second while its run is queued (no
        # consumer runs here, so the run the enqueue page started last stays queued).
        if "run_id" not in state:
            enqueue()
        ok(client.get(f"/runs/{state['run_id']}/status?place=control", headers=write_headers))

    hello = _hello().test_client()
    pages = {
        "hello": lambda: hello.get("/"),
        # The floor: the cheapest signed-in route through every hook (session, CSRF, limits,
        # telemetry), so a page's own cost is its time minus this one's.
        "healthz": lambda: ok(client.get("/healthz", headers=headers)),
        "dashboard": lambda: ok(client.get("/dashboard", headers=headers)),
        "workspace": lambda: ok(client.get(base, headers=headers)),
        "autosave": autosave,
        "notes": notes,
        "enqueue": enqueue,
        "status": status,
    }
    for fn in pages.values():  # warm up: templates compiled, caches filled
        for _ in range(20):
            fn()
    # As a gunicorn worker does once the app is loaded (sdc.gunicorn_config): without it a full
    # collection walks every long-lived object, and its pauses land on whatever page allocates.
    from sdc.gunicorn_config import post_worker_init

    post_worker_init(None)

    if args.memory:
        import gc
        import tracemalloc

        import psutil

        first = None
        for i in range(args.memory + 1):
            if i % max(1, args.memory // 10) == 0:
                gc.collect()
                rss = psutil.Process().memory_info().rss / 2**20
                print(f"round {i:>6}: RSS {rss:7.1f} MB", flush=True)
            # tracemalloc sees only what is allocated once it runs, so a diff against the
            # moment it starts lists every bounded cache's whole content as growth (the version
            # memo's 512 diagrams, ~4 MB). It starts at a third, and the diff is from half way:
            # by then a cache that churns holds as much as at the end, and cancels out.
            if args.trace and i == args.memory // 3:
                tracemalloc.start(TRACE_FRAMES)
            if args.trace and i == args.memory // 2:
                gc.collect()
                first = tracemalloc.take_snapshot()
            for name, fn in pages.items():
                if name != "hello" and (not args.page or name == args.page):
                    fn()
        if first is not None:
            gc.collect()
            diff = tracemalloc.take_snapshot().compare_to(first, "traceback")
            for stat in diff[:8]:  # what grew most in the second half, with its stack
                print(f"{stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks")
                for line in stat.traceback.format()[-TRACE_FRAMES:]:
                    print("    " + line)
        return 0

    if args.sql:
        _print_round_trips(app, pages[args.sql])
        return 0

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.n):
            pages[args.profile]()
        profiler.disable()
        pstats.Stats(profiler).sort_stats(
            os.environ.get("SDC_PROFILE_SORT", "cumulative")
        ).print_stats(int(os.environ.get("SDC_PROFILE_LINES", "40")))
        if os.environ.get("SDC_PROFILE_CALLERS"):
            pstats.Stats(profiler).print_callers(os.environ["SDC_PROFILE_CALLERS"])
        if os.environ.get("SDC_PROFILE_CALLEES"):
            pstats.Stats(profiler).print_callees(os.environ["SDC_PROFILE_CALLEES"])
        if os.environ.get("SDC_PROFILE_DUMP"):
            profiler.dump_stats(os.environ["SDC_PROFILE_DUMP"])
        return 0

    if args.calls:
        print(f"{'page':<12}{'calls/request':>14}")
        for name, fn in pages.items():
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.n):
                fn()
            profiler.disable()
            calls = pstats.Stats(profiler).total_calls / args.n
            print(f"{name:<12}{calls:>14,.0f}")
        return 0

    clock = time.process_time if args.cpu else time.perf_counter
    results = {name: _time(fn, args.n, clock) for name, fn in pages.items()}
    hello_ms = results["hello"]
    print(f"{'page':<12}{'ms/request':>12}{'hello ratio':>14}")
    for name, ms in results.items():
        print(f"{name:<12}{ms:>12.3f}{hello_ms / ms:>14.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
