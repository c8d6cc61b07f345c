"""``make loadtest``: start the stack on loopback, run the locust phases, write the results.

    python -m loadtest.run                 # standard run (about 4 minutes)
    python -m loadtest.run --soak 600      # 10 minutes of the mixed journey at a moderate rate
    python -m loadtest.run --fault         # mixed journey; kill a consumer and restart Redis
    python -m loadtest.run --phase-s 5 --mixed-s 10 --no-write   # a quick smoke run

Budgets (``loadtest/budgets.toml``) are checked at the end. Exit status: 0 every budget held,
1 a budget missed, 3 the run itself failed (its traceback is printed; no results are judged),
130 interrupted. Whatever happens (error, Ctrl-C, SIGTERM), every process the run started is
stopped and its scratch database dropped (``loadtest.stack.Stack.close``).
"""

from __future__ import annotations

import argparse
import atexit
import csv
import json
import os
import platform
import signal
import sys
import threading
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from loadtest import report
from loadtest.stack import BIN, ROOT, Stack
from sdc.cli import WORKER_NICE

DOCS = ROOT / "docs"
USERS = 16
DATA_USERS = 8  # two clients per version: autosave conflicts (409) and lost-update checks
RUN_FAILED = 3  # exit status of a run that broke (1 is a missed budget)


def now_utc() -> datetime:
    return datetime.now(UTC)


# ---- process metrics -------------------------------------------------------------------------


class Sampler(threading.Thread):
    """CPU seconds and RSS of each named process group, sampled every second."""

    def __init__(self, stack: Stack, extra: dict):
        super().__init__(daemon=True, name="loadtest-sampler")
        self.stack, self.extra = stack, extra
        self.stats: dict[str, dict] = {}
        self.series: dict[str, list[tuple[float, float]]] = {}
        self._stop_event = threading.Event()
        self._t0 = time.monotonic()

    def sample(self) -> None:
        import psutil

        pids = dict(self.stack.pids())
        pids.update({k: v for k, v in self.extra.items() if v})
        for name, pid in pids.items():
            try:
                root = psutil.Process(pid)
                procs = [root, *root.children(recursive=True)]
                cpu = rss = 0.0
                for p in procs:
                    try:
                        t = p.cpu_times()
                        cpu += t.user + t.system
                        rss += p.memory_info().rss / 2**20
                    except psutil.Error:
                        pass
            except psutil.Error:
                continue
            key = "locust" if name.startswith("locust") else name
            s = self.stats.setdefault(key, {"cpu_s": 0.0, "rss_mb_start": rss, "rss_mb_max": rss})
            last = s.get("_last", {}).get(pid)
            if last is not None and cpu >= last:
                s["cpu_s"] += cpu - last
            s.setdefault("_last", {})[pid] = cpu
            s["rss_mb_end"] = rss
            s["rss_mb_max"] = max(s["rss_mb_max"], rss)
            self.series.setdefault(key, []).append((self.elapsed(), rss))

    def elapsed(self) -> float:
        """Seconds since the sampler started: the clock of ``series``."""
        return time.monotonic() - self._t0

    def run(self) -> None:
        while not self._stop_event.wait(1.0):
            try:
                self.sample()
            except Exception:
                pass

    def stop(self) -> dict:
        self._stop_event.set()
        wall = max(1e-9, self.elapsed())
        out = {}
        for name, s in self.stats.items():
            out[name] = {k: v for k, v in s.items() if not k.startswith("_")}
            out[name]["cpu_percent"] = 100.0 * s["cpu_s"] / wall
        return out


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """Cumulative CPU seconds (user + system) spent so far, keyed ``"<who>:<pid>"``:

    - each process the stack runs, under its group's name (``app``, ``hello``, ``app-ops-off``,
      ``redis``; ``consumers`` for both consumers), with its children (gunicorn's workers);
    - ``postgresql``: the server processes connected to the scratch database (none on the
      embedded stack, or when the server is not this machine's);
    - ``locust``: this runner's children that have exited and been reaped, as one counter
      (``RUSAGE_CHILDREN``). During a phase that is the phase's locust, reaped when it ends;
      in fault mode the consumer and Redis it kills count there too, which is why the report
      shows this split for standard runs only;
    - ``machine``: every CPU's busy time (all but idle, iowait and steal), whoever spent it.

    ``cpu_used(before, after)`` turns two of these into seconds per group.
    """
    import resource

    import psutil

    out: dict[str, float] = {}
    for name, pid in stack.pids().items():
        if name.startswith("locust"):
            continue
        group = "consumers" if name.startswith("consumer") else name
        try:
            root = psutil.Process(pid)
            for p in (root, *root.children(recursive=True)):
                t = p.cpu_times()
                out[f"{group}:{p.pid}"] = t.user + t.system
        except psutil.Error:
            continue
    for pid in stack.database_backend_pids():
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        out[f"postgresql:{pid}"] = t.user + t.system
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["locust:"] = children.ru_utime + children.ru_stime
    t = psutil.cpu_times()
    out["machine:"] = sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "steal", 0.0)
    # ``guest`` time is already counted in ``user`` (Linux), so it must not count twice.
    out["machine:"] -= getattr(t, "guest", 0.0) + getattr(t, "guest_nice", 0.0)
    return out


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds per group between two ``cpu_seconds`` snapshots. A process that started in
    between counts from zero; one that ended in between is lost (its last reading is gone), so
    the figures are a floor; for the servers, which live through every phase, they are exact."""
    used: dict[str, float] = {}
    for key, now in after.items():
        group = key.split(":", 1)[0]
        used[group] = used.get(group, 0.0) + max(0.0, now - before.get(key, 0.0))
    return {k: round(v, 3) for k, v in used.items()}


# ---- locust ----------------------------------------------------------------------------------


def run_locust(
    stack: Stack,
    label: str,
    port: int,
    classes: list[str],
    seconds: float,
    users: int,
    data: Path,
    extra_env: dict | None = None,
) -> dict:
    """One headless locust phase; returns its per-request stats (and lost-update tally)."""
    prefix = stack.tmp / f"locust-{label}"
    extra_out = stack.tmp / f"extra-{label}.json"
    env = dict(
        os.environ,
        LOADTEST_DATA=str(data),
        LOADTEST_EXTRA_OUT=str(extra_out),
        PYTHONPATH=str(ROOT),
        **(extra_env or {}),
    )
    cmd = [
        str(BIN / "locust"),
        "-f",
        str(ROOT / "loadtest" / "locustfile.py"),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{int(seconds)}s",
        "--stop-timeout",
        "10",
        "--host",
        f"http://127.0.0.1:{port}",
        "--csv",
        str(prefix),
        "--only-summary",
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
        *classes,
    ]
    started = now_utc()
    proc = stack.spawn(f"locust-{label}", cmd, env=env)
    t0 = time.monotonic()
    while proc.popen.poll() is None:
        elapsed = time.monotonic() - t0
        rps, fails = _live(prefix)
        print(
            f"\r  [{label}] {elapsed:5.0f}/{seconds:.0f} s  {rps:8.1f} req/s  {fails} failures   ",
            end="",
            flush=True,
        )
        if elapsed > seconds + 120:
            stack.stop(proc.name)
            raise RuntimeError(f"locust phase {label} did not finish")
        time.sleep(1.0)
    print()
    stack.stop(proc.name)
    result = parse_stats(prefix, time.monotonic() - t0)
    result.update(label=label, started=started.isoformat(), ended=now_utc().isoformat())
    result["history"] = history(prefix)
    if extra_out.exists():
        result["lost_updates"] = json.loads(extra_out.read_text())
    if not result["endpoints"]:
        raise RuntimeError(
            f"locust phase {label} recorded nothing:\n{proc.log.read_text()[-3000:]}"
        )
    return result


def _live(prefix: Path) -> tuple[float, int]:
    rows = history(prefix)
    return (rows[-1]["rps"], rows[-1]["failures_total"]) if rows else (0.0, 0)


def _ms(value: str) -> float | None:
    return None if value in ("", "N/A") else float(value)


def parse_stats(prefix: Path, wall_s: float) -> dict:
    endpoints, failures, requests = {}, 0, 0
    path = Path(f"{prefix}_stats.csv")
    if path.exists():
        with open(path, newline="") as fh:
            for row in csv.DictReader(fh):
                if row["Name"] == "Aggregated":
                    failures, requests = int(row["Failure Count"]), int(row["Request Count"])
                    continue
                endpoints[row["Name"]] = {
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "rps": float(row["Requests/s"]),
                    "p50_ms": _ms(row["50%"]),
                    "p95_ms": _ms(row["95%"]),
                    "p99_ms": _ms(row["99%"]),
                }
    fail_path = Path(f"{prefix}_failures.csv")
    samples = []
    if fail_path.exists():
        with open(fail_path, newline="") as fh:
            samples = [dict(r) for r in csv.DictReader(fh)][:10]
    return {
        "endpoints": endpoints,
        "requests": requests,
        "failures": failures,
        "wall_s": wall_s,
        "failure_samples": samples,
    }


def history(prefix: Path) -> list[dict]:
    path = Path(f"{prefix}_stats_history.csv")
    if not path.exists():
        return []
    rows = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("Name") != "Aggregated":
                continue
            rows.append(
                {
                    "t": int(row["Timestamp"]),
                    "rps": float(row["Requests/s"] or 0),
                    "fps": float(row["Failures/s"] or 0),
                    "p99_ms": _ms(row["99%"]),
                    "requests_total": int(row["Total Request Count"]),
                    "failures_total": int(row["Total Failure Count"]),
                }
            )
    return rows


# ---- jobs ------------------------------------------------------------------------------------


def runs_between(stack: Stack, start: str, end: str) -> list[tuple]:
    """``(status, created_at, finished_at)`` of the runs created in [start, end) (ISO 8601
    times, UTC when they name no zone). The times are bound and read as DateTime, not compared
    as text: SQLite stores "2026-12-07 06:45:12.3", which sorts before any
    "2026-12-07T..." string, so a text comparison found no run of the day there."""
    from sqlalchemy import DateTime, String, bindparam, create_engine, text

    from sdc.settings import load_settings

    when = DateTime(timezone=True)
    stmt = (
        text(
            "SELECT status, created_at, finished_at FROM simulation_runs "
            "WHERE created_at >= :a AND created_at < :b"
        )
        .bindparams(bindparam("a", type_=when), bindparam("b", type_=when))
        .columns(status=String, created_at=when, finished_at=when)
    )
    settings = load_settings(stack.env)
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(stmt, {"a": _utc(start), "b": _utc(end)}))
    finally:
        engine.dispose()


def _utc(iso: str) -> datetime:
    moment = datetime.fromisoformat(iso)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def drain(stack: Stack, timeout_s: float) -> float:
    """Wait until no run is pending or running (or the timeout); returns the seconds waited."""
    t0 = time.monotonic()
    far = "9999-01-01"
    while time.monotonic() - t0 < timeout_s:
        rows = runs_between(stack, "2000-01-01", far)
        active = sum(1 for r in rows if r[0] in ("pending", "running"))
        print(
            f"\r  [drain] {time.monotonic() - t0:5.0f} s, {active} runs pending or running   ",
            end="",
            flush=True,
        )
        if active == 0:
            break
        time.sleep(2.0)
    print()
    return time.monotonic() - t0


def job_stats(rows: list[tuple]) -> dict:
    def secs(a, b):
        if a.tzinfo is None:
            a = a.replace(tzinfo=UTC)
        if b.tzinfo is None:
            b = b.replace(tzinfo=UTC)
        return (b - a).total_seconds()

    lat = sorted(secs(r[1], r[2]) for r in rows if r[0] == "completed" and r[2])
    pick = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]) if lat else (lambda q: None)
    return {
        "created": len(rows),
        "completed": sum(1 for r in rows if r[0] == "completed"),
        "failed": sum(1 for r in rows if r[0] == "failed"),
        "unfinished": sum(1 for r in rows if r[0] in ("pending", "running")),
        "median_s": pick(0.5),
        "p95_s": pick(0.95),
        "max_s": lat[-1] if lat else None,
    }


# ---- the run ---------------------------------------------------------------------------------


def machine() -> dict:
    import psutil

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }


def version_of(module: str) -> str:
    from importlib.metadata import version

    try:
        return version(module)
    except Exception:
        return "?"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--phase-s", type=float, default=float(os.environ.get("PHASE_S", 20)))
    p.add_argument("--mixed-s", type=float, default=float(os.environ.get("MIXED_S", 60)))
    p.add_argument("--users", type=int, default=USERS)
    p.add_argument("--soak", type=float, default=0, help="soak seconds (mixed journey only)")
    p.add_argument("--fault", action="store_true", help="kill a consumer, restart Redis")
    p.add_argument("--embedded", action="store_true", help="SQLite + SQLite Huey even if PG/Redis")
    p.add_argument("--drain-s", type=float, default=180)
    p.add_argument("--no-write", action="store_true", help="do not write docs/load-test-results.*")
    p.add_argument("--out-dir", type=Path, default=DOCS)
    args = p.parse_args(argv)
    mode = "soak" if args.soak else "fault" if args.fault else "standard"

    stack = Stack(
        backend="embedded" if args.embedded else "auto", run_timeout_s=20 if args.fault else 300
    )
    atexit.register(stack.close)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    try:
        return execute(stack, args, mode)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping everything the run started", file=sys.stderr)
        return 130
    except Exception as exc:  # not 1, which means a budget missed
        traceback.print_exc()
        print(f"\nthe load test failed: {exc}; stopping everything it started", file=sys.stderr)
        return RUN_FAILED
    finally:
        stack.close()


def execute(stack: Stack, args, mode: str) -> int:
    from loadtest import phases

    results: dict = {
        "generated_at": now_utc().isoformat(timespec="seconds"),
        "mode": mode,
        "machine": machine(),
        "phases": {},
        "notes": [],
    }
    print(f"load test ({mode}); scratch directory {stack.tmp}")
    stack.prepare()
    print(f"  database: {stack.database}\n  queue: {stack.queue}")
    if "SQLite" in stack.database:
        results["notes"].append(
            "PostgreSQL was not reachable: the embedded default (SQLite) "
            "was measured; the budgets are written for PostgreSQL + Redis."
        )
    data = stack.seed(DATA_USERS)
    ports = {
        "hello": stack.gunicorn("hello", "loadtest.hello_app:create_app()"),
        "app": stack.gunicorn("app", "sdc:create_app()"),
    }
    if mode == "standard":
        ports["app-ops-off"] = stack.gunicorn("app-ops-off", "loadtest.ops_off_app:create_app()")
    for i in (1, 2):
        stack.consumer(i)
    results["config"] = {
        "database": stack.database,
        "queue": stack.queue,
        "gunicorn": f"{version_of('gunicorn')}, {2} sync workers, production config "
        "(Talisman, Limiter with limits raised, CSRF, telemetry, audit)",
        "consumers": f"2 x `sdc worker --workers {stack.consumer_threads}` (nice {WORKER_NICE})",
        "locust": version_of("locust"),
        "users": args.users,
        "phase_s": args.phase_s,
        "mixed_s": args.soak or args.mixed_s,
        "environment": {
            k: v
            for k, v in stack.env.items()
            if k
            in (
                "SDC_ENV",
                "PROXY_FIX_HOPS",
                "SESSION_COOKIE_SECURE",
                "RATELIMIT_DEFAULT",
                "RUNS_PER_MINUTE",
                "RUNS_CONCURRENT",
                "RUN_TIMEOUT_S",
            )
        },
    }
    sampler = Sampler(stack, {})
    sampler.start()
    ctx = phases.Context(stack, args, ports, data, results, sampler)
    try:
        if mode == "standard":
            phases.standard(ctx)
        elif mode == "soak":
            phases.soak(ctx)
        else:
            phases.fault(ctx)
    finally:
        results["processes"] = sampler.stop()
    results["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    budgets = report.load_budgets()
    results["budgets"] = report.evaluate(results, budgets)
    for phase in results["phases"].values():
        phase.pop("history", None)
    if not args.no_write:
        # One pair of files per mode, so a soak or fault run keeps the standard run's figures.
        stem = "load-test-results" if mode == "standard" else f"load-test-results-{mode}"
        report.write(results, args.out_dir / f"{stem}.json", args.out_dir / f"{stem}.md")
        print(f"wrote {args.out_dir / stem}.md and .json")
    print("budgets:")
    report.print_budgets(results["budgets"])
    missed = report.failed(results["budgets"])
    if missed:
        print(f"{len(missed)} budget(s) missed: " + ", ".join(c["budget"] for c in missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
