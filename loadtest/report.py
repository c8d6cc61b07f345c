"""Budgets in, verdicts out: evaluate ``budgets.toml`` against a run's results and write the
results as JSON and Markdown (``docs/load-test-results.{json,md}``). ``python -m loadtest.report
FILE.json`` rewrites the Markdown beside a results file from its JSON.

Every budget key has an entry in ``MEASURES``: a function from the results to the measured
value, or None when this mode did not measure it (the fault budget outside fault mode, the soak
budget outside soak mode), which is reported as "not run" and neither passes nor fails.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from loadtest import names as lf

BUDGETS_PATH = Path(__file__).with_name("budgets.toml")


def load_budgets(path: Path = BUDGETS_PATH) -> dict[str, float]:
    """``{"section.key": value}`` from budgets.toml."""
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    return {
        f"{section}.{key}": value for section, keys in raw.items() for key, value in keys.items()
    }


def _endpoint(results: dict, phase: str, name: str) -> dict | None:
    return (results.get("phases", {}).get(phase) or {}).get("endpoints", {}).get(name)


def hello_phases(results: dict) -> list[str]:
    """The run's hello phases in order: ``hello``, ``hello-1``, ..."""
    return [p for p in results.get("phases", {}) if p == "hello" or p.startswith("hello-")]


def hello_rps(results: dict, phase: str | None = None) -> float | None:
    """hello's throughput to compare ``phase`` with: the mean of the hello phases measured just
    before and just after it (``results["hello_brackets"]``), else the mean of all of them."""
    labels = (results.get("hello_brackets") or {}).get(phase) or hello_phases(results)
    rows = [_endpoint(results, label, lf.HELLO) for label in labels]
    rates = [row["rps"] for row in rows if row]
    return sum(rates) / len(rates) if rates else None


def _ratio(results: dict, phase: str, names: tuple[str, ...]) -> float | None:
    base = hello_rps(results, phase)
    rows = [_endpoint(results, phase, n) for n in names]
    rows = [r for r in rows if r]
    if not base or not rows:
        return None
    return sum(r["rps"] for r in rows) / base


def _p99(results: dict, phase: str, names: tuple[str, ...]) -> float | None:
    """The worst p99 among ``names`` (percentiles of different endpoints cannot be merged)."""
    rows = [_endpoint(results, phase, n) for n in names]
    rows = [r for r in rows if r]
    return max(r["p99_ms"] for r in rows) if rows else None


def _get(results: dict, *path):
    node = results
    for key in path:
        if not isinstance(node, dict) or node.get(key) is None:
            return None
        node = node[key]
    return node


def _accepted_runs_per_s(results: dict) -> float | None:
    """Runs created in the enqueue phase per second (counted in the database, so a refused
    request never counts as accepted)."""
    return _get(results, "jobs", "enqueue_runs_per_s")


def _lost_updates(results: dict) -> int | None:
    tallies = [p.get("lost_updates") for p in results.get("phases", {}).values()]
    tallies = [t for t in tallies if t]
    if not tallies:
        return None
    return sum(t["lost_updates"] for t in tallies)


def _e2e_median_s(results: dict) -> float | None:
    """The mixed journey's enqueue-to-completed median, outside fault mode: there the faults
    hold runs back on purpose (a killed consumer's run waits for the reaper), and the mode is
    judged by lost jobs and the error rate; its report still lists the times."""
    if results.get("mode") == "fault":
        return None
    return _get(results, "jobs", "e2e", "mixed", "median_s")


MEASURES = {
    "dashboard.min_hello_ratio": lambda r: _ratio(r, "dashboard", (lf.DASHBOARD,)),
    "dashboard.max_p99_ms": lambda r: _p99(r, "dashboard", (lf.DASHBOARD,)),
    "workspace.min_hello_ratio": lambda r: _ratio(r, "workspace", (lf.WORKSPACE,)),
    "workspace.max_p99_ms": lambda r: _p99(r, "workspace", (lf.WORKSPACE,)),
    "autosave.min_hello_ratio": lambda r: _ratio(r, "autosave", lf.AUTOSAVE_NAMES),
    "autosave.max_p99_ms": lambda r: _p99(r, "autosave", lf.AUTOSAVE_NAMES),
    "autosave.max_lost_updates": _lost_updates,
    "enqueue.min_runs_per_s": _accepted_runs_per_s,
    "enqueue.max_e2e_median_s": _e2e_median_s,
    "ops.max_throughput_cost": lambda r: _get(r, "ops", "cost"),
    "mixed.max_failures": lambda r: _get(r, "phases", "mixed", "failures"),
    "fault.max_lost_jobs": lambda r: _get(r, "fault", "lost_jobs"),
    "soak.max_memory_growth": lambda r: _get(r, "soak", "max_memory_growth"),
}


def evaluate(results: dict, budgets: dict[str, float]) -> list[dict]:
    """One check per budget: measured, budget, and ``ok`` (True/False, None when not run)."""
    checks = []
    for key, budget in budgets.items():
        measure = MEASURES.get(key)
        if measure is None:
            raise KeyError(f"budgets.toml has {key!r} but loadtest/report.py cannot measure it")
        value = measure(results)
        if value is None:
            ok = None
        elif key.split(".", 1)[1].startswith("min_"):
            ok = value >= budget
        else:
            ok = value <= budget
        checks.append({"budget": key, "limit": budget, "measured": value, "ok": ok})
    return checks


def failed(checks: list[dict]) -> list[dict]:
    return [c for c in checks if c["ok"] is False]


# ---- writing ---------------------------------------------------------------------------------


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _verdict(ok) -> str:
    return {True: "pass", False: "**MISSED**", None: "not run"}[ok]


def budget_lines(checks: list[dict]) -> list[str]:
    lines = ["| Budget | Measured | Limit | Verdict |", "|---|---:|---:|---|"]
    for c in checks:
        lines.append(
            f"| `{c['budget']}` | {_fmt(c['measured'], 3)} | {_fmt(c['limit'], 3)} | "
            f"{_verdict(c['ok'])} |"
        )
    return lines


def _endpoint_lines(phase: str, data: dict, base: float | None) -> list[str]:
    lines = []
    for name, row in sorted(data.get("endpoints", {}).items()):
        if not row["requests"]:
            continue  # a sign-in request whose count the steady-state reset zeroed
        ratio = f"{row['rps'] / base:.3f}" if base else "n/a"
        lines.append(
            f"| {phase} | {name} | {row['requests']:,} | {row['failures']:,} | "
            f"{row['rps']:,.1f} | {ratio} | {_fmt(row['p50_ms'], 0)} | {_fmt(row['p95_ms'], 0)} | "
            f"{_fmt(row['p99_ms'], 0)} |"
        )
    return lines


def markdown(results: dict) -> str:
    m, c = results.get("machine", {}), results.get("config", {})
    out = [
        "# Load test results",
        "",
        f"Generated {results.get('generated_at')} by `make loadtest` (`loadtest/run.py`), "
        f"mode **{results.get('mode')}**. Rerun: `make loadtest` (see README, Load testing).",
        "",
        "## Machine and configuration",
        "",
        f"- Machine: {m.get('cpus')} CPUs ({m.get('cpu_model')}), {m.get('memory_gb')} GB RAM, "
        f"{m.get('platform')}, Python {m.get('python')}; load average at start "
        f"{m.get('load_average_start')}, at end {m.get('load_average_end')}.",
        f"- Stack: {c.get('database')}, queue {c.get('queue')}; gunicorn {c.get('gunicorn')}; "
        f"{c.get('consumers')}.",
        f"- Load: locust {c.get('locust')}, {c.get('users')} users, {c.get('phase_s')} s per "
        f"throughput phase, mixed journey {c.get('mixed_s')} s.",
    ]
    for note in results.get("notes", []):
        out.append(f"- {note}")
    out += ["", "## Budgets", ""] + budget_lines(results.get("budgets", []))
    out += [
        "",
        "## Endpoints",
        "",
        "Throughput ratios are against the bare Flask hello in the same run: a one-endpoint "
        "phase against the mean of the hello phases just before and just after it, the other "
        f"phases against the mean of all of them ({_fmt(hello_rps(results), 1)} req/s; "
        + ", ".join(
            f"{label} {_fmt((_endpoint(results, label, lf.HELLO) or {}).get('rps'), 1)}"
            for label in hello_phases(results)
        )
        + ").",
        "",
        "| Phase | Request | Requests | Failures | req/s | / hello | p50 ms | p95 ms | p99 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for phase, data in results.get("phases", {}).items():
        out += _endpoint_lines(phase, data, hello_rps(results, phase))
    ops = results.get("ops") or {}
    if ops:
        out += [
            "",
            "## Telemetry and audit cost",
            "",
            f"Same mix (dashboard, workspace, autosave), half of the users against the full app "
            f"and half against the app without the telemetry/audit hooks, at the same time for "
            f"{_fmt(ops.get('seconds'), 0)} s (phase `ops`; the requests marked `[ops off]`): "
            f"on {_fmt(ops.get('on_rps'), 1)} req/s, off {_fmt(ops.get('off_rps'), 1)} req/s, "
            f"cost {_fmt(ops.get('cost'), 3)}.",
        ]
    jobs = results.get("jobs") or {}
    if jobs:
        out += [
            "",
            "## Jobs",
            "",
            "| Runs | Created | Completed | Failed | Not finished | "
            "e2e median s | e2e p95 s | e2e max s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for label, row in (jobs.get("e2e") or {}).items():
            out.append(
                f"| {label} | {row.get('created')} | {row.get('completed')} | {row.get('failed')} "
                f"| {row.get('unfinished')} | {_fmt(row.get('median_s'))} | "
                f"{_fmt(row.get('p95_s'))} | {_fmt(row.get('max_s'))} |"
            )
        out += [
            "",
            f"Enqueue throughput (accepted runs/s in the enqueue phase): "
            f"{_fmt(jobs.get('enqueue_runs_per_s'), 1)}.",
        ]
    if results.get("mode") == "standard":
        out += cpu_lines(results)
    procs = results.get("processes") or {}
    if procs:
        out += [
            "",
            "## Processes",
            "",
            "| Process | CPU s | mean CPU % | RSS start MB | RSS end MB | RSS max MB |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, p in procs.items():
            out.append(
                f"| {name} | {_fmt(p.get('cpu_s'), 1)} | {_fmt(p.get('cpu_percent'), 0)} | "
                f"{_fmt(p.get('rss_mb_start'), 1)} | {_fmt(p.get('rss_mb_end'), 1)} | "
                f"{_fmt(p.get('rss_mb_max'), 1)} |"
            )
    if results.get("fault"):
        out += _fault_lines(results["fault"])
    if results.get("soak"):
        out += _soak_lines(results["soak"])
    if results.get("analysis"):
        out += ["", "## Analysis", ""] + [f"- {a}" for a in results["analysis"]]
    return "\n".join(out) + "\n"


CPU_COLUMNS = (  # (group in a phase's ``cpu_s``, column title)
    ("server", "server"),
    ("postgresql", "PostgreSQL"),
    ("redis", "Redis"),
    ("consumers", "consumers"),
    ("locust", "locust"),
    ("machine", "machine"),
)


def cpu_per_request(phase: dict) -> dict[str, float] | None:
    """CPU ms per request of a phase by group (``loadtest.run.cpu_seconds``), ``server``
    being the gunicorn that served it (hello's in a hello phase, both apps in the ops phase),
    or None when the phase recorded no CPU or no request."""
    cpu, requests = phase.get("cpu_s"), phase.get("requests")
    if not cpu or not requests:
        return None
    label = phase.get("label", "")
    servers = ("hello",) if label.startswith("hello") else ("app", "app-ops-off")
    used = dict(cpu, server=sum(cpu.get(s, 0.0) for s in servers))
    return {group: used.get(group, 0.0) * 1000 / requests for group, _ in CPU_COLUMNS}


def cpu_lines(results: dict) -> list[str]:
    """The "CPU per request" table: what each request of each phase cost each process."""
    rows = []
    for name, phase in results.get("phases", {}).items():
        per = cpu_per_request(phase)
        if per is None:
            continue
        cpus = (results.get("machine") or {}).get("cpus") or 1
        busy = 100 * phase["cpu_s"].get("machine", 0.0) / (max(phase.get("wall_s", 0), 1e-9) * cpus)
        cells = " | ".join(_fmt(per[g], 2) for g, _ in CPU_COLUMNS)
        rows.append(f"| {name} | {phase['requests']:,} | {cells} | {busy:.0f} |")
    if not rows:
        return []
    return [
        "",
        "## CPU per request",
        "",
        "CPU milliseconds each request of a phase cost, by process (user + system time over the "
        "phase, divided by its requests): `server` is the gunicorn that served the phase, "
        "`machine` every process on the machine (load generator and server included), and the "
        "last column how busy the machine's CPUs were. While a phase keeps the CPUs busy, a "
        "page's throughput ratio to hello is about hello's machine CPU per request over the "
        "page's. The `locust` column includes the load generator's start-up (not measured apart).",
        "",
        "| Phase | Requests | " + " | ".join(t for _, t in CPU_COLUMNS) + " | machine busy % |",
        "|---|---:|" + "---:|" * (len(CPU_COLUMNS) + 1),
        *rows,
    ]


def _percent(value) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"


def _fault_lines(fault: dict) -> list[str]:
    events = "; ".join(f"{e['event']} at {e['at_s']:.1f} s" for e in fault.get("events", []))
    return [
        "",
        "## Fault",
        "",
        f"During the mixed journey: {events or 'no events'}. Failed requests in the fault window "
        f"({_fmt(fault.get('window_s'), 1)} s, from the first event to 5 s after the last): "
        f"{_percent(fault.get('error_rate_during_fault'))}.",
        "",
        f"Runs created in the phase: {_fmt(fault.get('runs_created'))}; completed: "
        f"{_fmt(fault.get('runs_completed'))}; **lost: {_fmt(fault.get('lost_jobs'))}**. A run "
        f"the killed consumer held is re-queued by the reaper once it has been silent for "
        f"{_fmt(fault.get('reaper_timeout_s'))} s, so the longest end-to-end times under Jobs "
        f"include that wait.",
    ]


def _soak_lines(soak: dict) -> list[str]:
    out = [
        "",
        "## Soak",
        "",
        f"{_fmt(soak.get('seconds'), 0)} s of the mixed journey with {_fmt(soak.get('users'))} "
        f"users after an unmeasured {_fmt(soak.get('warmup_s'))} s warm-up: "
        f"{_fmt(soak.get('requests'))} requests, {_fmt(soak.get('failures'))} failed; p99 "
        f"{_fmt(soak.get('p99_ms_early'), 0)} ms in the first tenth and "
        f"{_fmt(soak.get('p99_ms_late'), 0)} ms in the last (medians of locust's "
        "once-a-second p99 samples).",
        "",
    ]
    memory = soak.get("memory_mb") or {}
    if any(isinstance(m, (list, tuple)) for marks in memory.values() for m in marks):
        out += [
            "Memory growth is the lowest RSS of the last minute against the lowest of the "
            "first: a consumer's RSS rises while a job's arrays are alive and falls back after "
            "it, and a leak raises the floor it falls back to.",
            "",
            "| Process | memory growth | RSS each minute, lowest-highest (MB) |",
        ]
    else:  # results written before 2026-12-07: one sample a minute, judged by medians
        out += [
            "Memory growth is the median RSS of the last minute against that of the first "
            "(the rule of the run that wrote these results).",
            "",
            "| Process | memory growth | RSS each minute (MB) |",
        ]
    out.append("|---|---:|---|")
    growth = soak.get("memory_growth") or {}
    for name, marks in memory.items():
        out.append(f"| {name} | {_percent(growth.get(name))} | {_minute_marks(marks)} |")
    return out


def _minute_marks(marks: list) -> str:
    """Each minute's ``[lowest, highest]`` RSS as ``lo-hi`` (one number when they agree).
    Results written before 2026-12-07 kept one sample a minute: those print as they are."""
    out = []
    for mark in marks:
        if isinstance(mark, (list, tuple)):
            lo, hi = mark
            out.append(f"{lo}" if lo == hi else f"{lo}-{hi}")
        else:
            out.append(str(mark))
    return ", ".join(out)


def write(results: dict, json_path: Path, md_path: Path) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    md_path.write_text(markdown(results), encoding="utf-8")


def print_budgets(checks: list[dict]) -> None:
    width = max((len(c["budget"]) for c in checks), default=10)
    for c in checks:
        print(
            f"  {c['budget']:<{width}}  measured {_fmt(c['measured'], 3):>12}  "
            f"limit {_fmt(c['limit'], 3):>10}  {_verdict(c['ok']).strip('*')}"
        )


def main(argv: list[str]) -> int:
    """``python -m loadtest.report docs/load-test-results.json ...``: rewrite the Markdown beside
    each results file from its JSON (after a change to this renderer; the figures are
    untouched). Returns the exit status: 2 for a missing or unreadable file, named."""
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m loadtest.report RESULTS.json [RESULTS.json ...]")
        return 0 if argv else 2
    for arg in argv:
        source = Path(arg)
        try:
            results = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"{arg}: not a readable results file ({exc})")
            return 2
        source.with_suffix(".md").write_text(markdown(results), encoding="utf-8")
        print(f"wrote {source.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
