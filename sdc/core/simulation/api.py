"""Public entry points: simulate() and knee()."""

from __future__ import annotations

import math
from collections.abc import Callable

from .constants import DEFAULT_SLO_MS, DEFAULT_TRAFFIC, LIMITS
from .failures import normalise_failure, validate_failure
from .model import InvalidDesign, Problem, Traffic
from .report import bottlenecks, clean, empty_result, input_hash
from .validation import Validation, _Checker, _traffic, validate_design

ENGINES = ("analytic", "des")


def _prepare(doc, traffic, failures=None, engine="analytic", seed=0, duration_s=None, slo_ms=None):
    v: Validation = validate_design(doc)
    problems = list(v.problems)
    t: Traffic | None = None
    if traffic is not None:
        ck = _Checker()
        t = _traffic(ck, traffic, "traffic")
        problems += ck.problems
    elif v.design is not None:
        t = v.design.traffic
        if t is None:
            t = _traffic(_Checker(), dict(DEFAULT_TRAFFIC), "traffic")
    if engine not in ENGINES:
        problems.append(Problem("engine", f"must be one of {', '.join(ENGINES)}"))
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        problems.append(Problem("seed", "must be a whole number between 0 and 2^63-1"))
    if duration_s is not None:
        if (
            isinstance(duration_s, bool)
            or not isinstance(duration_s, (int, float))
            or not 1 <= duration_s <= LIMITS["max_duration_s"]
        ):
            problems.append(Problem("duration_s", "must be between 1 and 3600 seconds"))
    if slo_ms is not None and (
        isinstance(slo_ms, bool)
        or not isinstance(slo_ms, (int, float))
        or not math.isfinite(slo_ms)
        or not 0 < slo_ms <= LIMITS["max_slo_ms"]
    ):
        problems.append(
            Problem(
                "slo_ms",
                f"must be a positive number of milliseconds, at most {LIMITS['max_slo_ms']:g}",
            )
        )
    fails = []
    if failures is not None:
        if not isinstance(failures, list):
            problems.append(Problem("failures", "must be a list"))
        else:
            for i, f in enumerate(failures):
                fp = validate_failure(f, v.design, f"failures[{i}]")
                problems += fp
                if not fp:
                    fails.append(normalise_failure(f))
            if fails and engine == "analytic":
                problems.append(Problem("failures", "failure injection needs the des engine"))
    if problems:
        raise InvalidDesign(problems)
    return v, t, fails


def simulate(
    doc: dict,
    traffic: dict | None = None,
    *,
    engine: str = "analytic",
    seed: int = 0,
    failures: list[dict] | None = None,
    duration_s: float | None = None,
    progress: Callable[[float], None] | None = None,
    slo_ms: float | None = None,
) -> dict:
    """Run one simulation and return an `sdc-result/1` dict (JSON-safe, no NaN/inf).

    `traffic` overrides `doc["traffic"]`; failures need `engine="des"`. `slo_ms` is the p95
    threshold (milliseconds) the DES timeline ("p95 latency above the SLO") and the blast
    radius ("slower than the SLO") judge against; None means DEFAULT_SLO_MS (500). The
    threshold used is echoed as `metrics.slo_ms`, with `metrics.slo_source` "given" or
    "default"; it enters `input_hash` only when given. Raises InvalidDesign (with
    `.problems`) for an invalid design, traffic, failure or option.
    """
    v, t, fails = _prepare(doc, traffic, failures, engine, seed, duration_s, slo_ms)
    slo_used = float(slo_ms) if slo_ms is not None else DEFAULT_SLO_MS
    design = v.design
    result = empty_result(engine, seed)
    if engine == "analytic":
        from .analytic import run_analytic

        out = run_analytic(design, t, seed)
        result["metrics"] = out["metrics"]
        result["components"] = out["components"]
        flow_in = t.peak_rps
        err = out["metrics"]["error_rate"]
        if err is not None:  # steady state: nothing accumulates
            done, rejected, growing = flow_in * (1 - err), flow_in * err, 0.0
        else:  # over capacity: what is not served piles up in an unbounded queue
            done, rejected = out["metrics"]["throughput_rps"], 0.0
            growing = flow_in - done
        result["metrics"]["flow"] = {
            "arrived": flow_in,
            "completed": done,
            "rejected": rejected,
            "in_flight": growing,  # rps by which the backlog grows
            "conserved": abs(flow_in - done - rejected - growing) <= 1e-9 * max(flow_in, 1.0),
            "unit": "rps",
        }
        result["series"]["note"] = "the analytic engine is stationary: no time series"
    else:
        from .des import run_des

        dur = float(duration_s) if duration_s is not None else t.duration_s
        out = run_des(
            design,
            t,
            seed=seed,
            failures=fails,
            duration_s=dur,
            progress=progress,
            slo_ms=slo_used,
        )
        result.update(
            {k: out[k] for k in ("metrics", "components", "series", "timeline", "blast_radius")}
        )
    result["metrics"]["slo_ms"] = slo_used
    result["metrics"]["slo_source"] = "given" if slo_ms is not None else "default"
    result["bottlenecks"] = bottlenecks(design, result["components"], t.peak_rps)
    result["warnings"] = [w.to_dict() for w in v.warnings]
    result["traffic"] = t.to_dict()
    result["failures"] = fails
    result["input_hash"] = input_hash(design, t, engine, seed, fails, duration_s, slo_ms)
    return clean(result)


def knee(doc: dict, traffic: dict | None, slo: dict) -> dict:
    """Highest offered rps whose analytic p95/p99 meet `slo` (keys p95_ms, p99_ms).

    Returns {knee_rps, capacity_rps, limited_by, slo, points: [{offered_rps, p95_ms, p99_ms,
    error_rate}]}; knee_rps is None when even a trickle misses the SLO.
    """
    from .analytic import knee_curve

    v, t, _ = _prepare(doc, traffic)
    problems = []
    if not isinstance(slo, dict) or not any(k in slo for k in ("p95_ms", "p99_ms")):
        problems.append(Problem("slo", "must give p95_ms and/or p99_ms"))
    else:
        for k in ("p95_ms", "p99_ms"):
            x = slo.get(k)
            if x is not None and (
                isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 < x < 1e7
            ):
                problems.append(Problem(f"slo.{k}", "must be a positive number of milliseconds"))
    if problems:
        raise InvalidDesign(problems)
    return clean(knee_curve(v.design, t, slo))
