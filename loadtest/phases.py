"""The phases of each mode: standard (throughput, ops cost, enqueue, mixed), soak, fault."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from loadtest import names
from loadtest.run import (
    cpu_seconds,
    cpu_used,
    drain,
    job_stats,
    now_utc,
    run_locust,
    runs_between,
)

OPS_PHASE_FACTOR = 1.5  # the side-by-side ops phase runs 1.5 throughput phases (30 s)


VACUUM_NOTE = (
    "This PostgreSQL server runs with autovacuum off: the run vacuums and analyzes the "
    "scratch database before each phase of the app, as autovacuum keeps it in production."
)


@dataclass
class Context:
    stack: object
    args: object
    ports: dict
    data: Path
    results: dict
    sampler: object

    def locust(
        self,
        label: str,
        server: str,
        classes: list[str],
        seconds: float,
        users: int | None = None,
        extra_env: dict | None = None,
    ) -> dict:
        if server != "hello" and self.stack.vacuum() and VACUUM_NOTE not in self.results["notes"]:
            self.results["notes"].append(VACUUM_NOTE)
        before = cpu_seconds(self.stack)
        result = run_locust(
            self.stack,
            label,
            self.ports[server],
            classes,
            seconds,
            users or self.args.users,
            self.data,
            extra_env,
        )
        # Where the machine's CPU went while the phase ran (report: "CPU per request").
        result["cpu_s"] = cpu_used(before, cpu_seconds(self.stack))
        return result


def _rps(phase: dict, names_: tuple[str, ...] | None = None) -> float:
    rows = phase["endpoints"]
    keys = names_ or tuple(rows)
    return sum(rows[k]["rps"] for k in keys if k in rows)


# The one-endpoint phases, each measured between two hello phases (``hello_brackets``).
PAGE_PHASES = (
    ("floor", "FloorUser"),
    ("dashboard", "DashboardUser"),
    ("workspace", "WorkspaceUser"),
    ("autosave", "AutosaveUser"),
)


def standard(ctx: Context) -> None:
    a, r = ctx.args, ctx.results["phases"]
    throughput_phases(ctx)
    ops_cost(ctx)
    enqueue_start = now_utc().isoformat()
    r["enqueue"] = ctx.locust("enqueue", "app", ["EnqueueUser"], a.phase_s)
    enqueue_end = now_utc().isoformat()
    drained_enqueue = drain(ctx.stack, a.drain_s)
    mixed(ctx)
    jobs = ctx.results["jobs"]
    jobs["e2e"]["enqueue"] = job_stats(runs_between(ctx.stack, enqueue_start, enqueue_end))
    jobs["enqueue_drain_s"] = round(drained_enqueue, 1)
    # Runs the database holds from the phase, per second of the phase: only runs really
    # created count (a refused or failed request creates none).
    seconds = (
        datetime.fromisoformat(enqueue_end) - datetime.fromisoformat(enqueue_start)
    ).total_seconds()
    created = jobs["e2e"]["enqueue"]["created"]
    jobs["enqueue_runs_per_s"] = created / seconds if seconds > 0 else None


def throughput_phases(ctx: Context) -> None:
    """hello, then each of ``PAGE_PHASES`` followed by hello again: hello, floor, hello-1,
    dashboard, hello-2, workspace, hello-3, autosave, hello-4.

    A page's ratio is against the mean of the hello phases just before and just after it
    (``results["hello_brackets"]``, read by ``report.hello_rps``). This VM's speed drifts
    within minutes (the same code's enqueue phase gave 35 and then 60 req/s half an hour
    apart), so one hello measured at the start would put that drift into the later ratios.
    """
    a, r = ctx.args, ctx.results["phases"]
    brackets = ctx.results.setdefault("hello_brackets", {})
    before = "hello"
    r[before] = ctx.locust(before, "hello", ["HelloUser"], a.phase_s)
    for i, (phase, user_class) in enumerate(PAGE_PHASES, 1):
        r[phase] = ctx.locust(phase, "app", [user_class], a.phase_s)
        after = f"hello-{i}"
        r[after] = ctx.locust(after, "hello", ["HelloUser"], a.phase_s)
        brackets[phase] = [before, after]
        before = after


def ops_cost(ctx: Context) -> None:
    """The same mix against the app with and without telemetry and audit, at the same time.

    Half of the users load each server (``CompareUser``, ``CompareOffUser``) in one phase.
    Measuring them side by side rather than in turns matters on a shared 2-core machine: a
    noisy neighbour or a PostgreSQL checkpoint during one turn used to swing the result by
    more than the budget (0.000 in one run, 0.18 in the next, same code). Both are saturated
    and share the CPU, so each one's throughput is what its per-request cost allows.
    """
    a, r = ctx.args, ctx.results["phases"]
    seconds = max(10.0, a.phase_s * OPS_PHASE_FACTOR)
    off_host = f"http://127.0.0.1:{ctx.ports['app-ops-off']}"
    phase = ctx.locust(
        "ops",
        "app",
        ["CompareUser", "CompareOffUser"],
        seconds,
        extra_env={"LOADTEST_OPS_OFF_HOST": off_host},
    )
    r["ops"] = phase
    check_ops_off_served(phase)
    mix = (names.DASHBOARD, names.WORKSPACE, names.COMPONENT)
    on_rps = _rps(phase, mix)
    off_rps = _rps(phase, tuple(n + names.OPS_OFF for n in mix))
    ctx.results["ops"] = {
        "on_rps": on_rps,
        "off_rps": off_rps,
        "seconds": seconds,
        "cost": max(0.0, 1.0 - on_rps / off_rps) if off_rps else None,
    }


def check_ops_off_served(phase: dict) -> None:
    """Raise unless the ops phase's "ops off" requests reached the server without the hooks.

    Those requests are failures when an answer lacks ``names.OPS_OFF_HEADER``; a cost computed
    from them would compare the full app with itself, so the run stops here instead.
    """
    off = [row for name, row in phase["endpoints"].items() if name.endswith(names.OPS_OFF)]
    served = sum(row["requests"] - row["failures"] for row in off)
    failed = sum(row["failures"] for row in off)
    if not served or failed:
        samples = "; ".join(str(s.get("Error", s)) for s in phase.get("failure_samples") or [])
        raise RuntimeError(
            f"the ops phase's{names.OPS_OFF} requests did not all reach the app without "
            f"telemetry and audit ({served} answered by it, {failed} failed: {samples}); "
            "its cost would not be measured"
        )


def mixed(ctx: Context, seconds: float | None = None, label: str = "mixed", during=None) -> dict:
    a = ctx.args
    start = now_utc().isoformat()
    classes = ["BrowserUser", "ApiUser", "AdminUser"]
    worker = None
    if during is not None:
        worker = threading.Thread(target=during, daemon=True)
        worker.start()
    phase = ctx.locust(label, "app", classes, seconds or a.mixed_s)
    if worker is not None:
        worker.join()
    end = now_utc().isoformat()
    ctx.results["phases"][label] = phase
    drained = drain(ctx.stack, a.drain_s)
    rows = runs_between(ctx.stack, start, end)
    ctx.results["jobs"] = {"e2e": {"mixed": job_stats(rows)}, "drain_s": round(drained, 1)}
    return phase


SOAK_WARMUP_S = 120  # every job kind has reached both consumers (numba kernels compiled)


def memory_growth(samples: list[tuple[float, float]], window_s: float = 60.0) -> float | None:
    """A process's retained-memory growth over the soak from ``(seconds, MB)`` samples: the
    floor (lowest RSS) of its last ``window_s`` of samples against the floor of its first.

    The floor rather than a single sample or a median: a consumer's RSS rises by 70-150 MB
    while a simulation's arrays are alive and falls back when the job ends, so any one sample,
    and the median of a minute in which jobs happened to run longer, reads that sawtooth as
    growth (the 2026-12-07 soak: medians said +21% for a consumer whose RSS went 260.9 ->
    263.8 MB). Between jobs a process returns to what it retains; a leak raises that floor.
    A process busy for the whole last window reads high, which errs towards failing the budget.
    """
    if not samples:
        return None
    first_t, last_t = samples[0][0], samples[-1][0]
    start = min(mb for t, mb in samples if t - first_t < window_s)
    end = min(mb for t, mb in samples if last_t - t < window_s)
    return (end - start) / start if start else None


def per_minute_floor_and_peak(
    samples: list[tuple[float, float]], t_start: float
) -> list[tuple[float, float]]:
    """``(lowest, highest)`` RSS in MB of each minute since ``t_start``, for a reader to see
    whether the floor levels off while the peaks come and go."""
    minutes: dict[int, list[float]] = {}
    for t, mb in samples:
        minutes.setdefault(int((t - t_start) // 60), []).append(mb)
    return [(round(min(v), 1), round(max(v), 1)) for _, v in sorted(minutes.items())]


def soak(ctx: Context) -> None:
    """A steady moderate rate (half the users, think time) for ``--soak`` seconds, after an
    unmeasured warm-up of the same mix.

    Memory growth is each process's lowest RSS over the last minute against its lowest over
    the first minute of the measured soak (``memory_growth``), which starts after the warm-up:
    a consumer compiles simulator kernels the first time it meets each job kind (engine,
    failure mode, grading), which is warm-up, not a leak. ``memory_mb`` keeps each minute's
    lowest and highest RSS so a reader can see whether a process levels off.
    """
    a = ctx.args
    users = max(2, a.users // 2)
    warmup_s = min(SOAK_WARMUP_S, max(10.0, a.soak / 5))
    ctx.locust("soak-warmup", "app", ["BrowserUser", "ApiUser", "AdminUser"], warmup_s, users)
    t_start = ctx.sampler.elapsed()
    phase = ctx.locust("soak", "app", ["BrowserUser", "ApiUser", "AdminUser"], a.soak, users)
    ctx.results["phases"]["mixed"] = phase
    drain(ctx.stack, a.drain_s)
    hist = [h for h in phase["history"] if h["p99_ms"] is not None]
    tenth = max(1, len(hist) // 10)
    early = sorted(h["p99_ms"] for h in hist[:tenth]) or [None]
    late = sorted(h["p99_ms"] for h in hist[-tenth:]) or [None]
    growth, per_minute = {}, {}
    for name, series in ctx.sampler.series.items():
        measured = [(t, mb) for t, mb in series if t >= t_start]
        if name == "locust" or len(measured) < 10:
            continue
        growth[name] = memory_growth(measured)
        per_minute[name] = per_minute_floor_and_peak(measured, t_start)
    ctx.results["soak"] = {
        "seconds": a.soak,
        "warmup_s": warmup_s,
        "users": users,
        "requests": phase["requests"],
        "failures": phase["failures"],
        "p99_ms_early": early[len(early) // 2],
        "p99_ms_late": late[len(late) // 2],
        "memory_growth": {k: round(v, 4) for k, v in growth.items() if v is not None},
        "max_memory_growth": max((v for v in growth.values() if v is not None), default=None),
        "memory_mb": per_minute,
    }
    ctx.results["jobs"] = {
        "e2e": {"soak": job_stats(runs_between(ctx.stack, phase["started"], phase["ended"]))}
    }


def fault(ctx: Context) -> None:
    """The mixed journey while a consumer is killed and restarted and Redis restarts."""
    a, stack = ctx.args, ctx.stack
    seconds = max(a.mixed_s, 60.0)
    events: list[dict] = []

    def inject():
        time.sleep(seconds * 0.25)
        events.append({"event": "consumer-1 killed (SIGKILL)", "t": time.time()})
        stack.kill("consumer-1")
        time.sleep(3)
        stack.consumer(1)
        events.append({"event": "consumer-1 restarted", "t": time.time()})
        time.sleep(seconds * 0.25)
        events.append({"event": "redis stopped", "t": time.time()})
        stack.restart_redis(down_s=3)
        events.append({"event": "redis restarted", "t": time.time()})

    phase = mixed(ctx, seconds, "mixed", during=inject)
    first, last = events[0]["t"], events[-1]["t"] + 5
    window = [h for h in phase["history"] if first <= h["t"] <= last]
    req = sum(h["rps"] for h in window)
    fails = sum(h["fps"] for h in window)
    rows = runs_between(stack, phase["started"], now_utc().isoformat())
    stats = job_stats(rows)
    ctx.results["fault"] = {
        "events": [{"event": e["event"], "at_s": round(e["t"] - first, 1)} for e in events],
        "window_s": round(last - first, 1),
        "error_rate_during_fault": fails / req if req else None,
        "runs_created": stats["created"],
        "runs_completed": stats["completed"],
        "lost_jobs": stats["created"] - stats["completed"],
        "reaper_timeout_s": stack.run_timeout_s,
    }
