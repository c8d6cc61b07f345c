"""Compare two versions of a project: architecture delta, KPI deltas, rubric deltas, load curves.

KPI deltas come from each version's latest completed baseline run (no failure injected). They
are comparable only when both runs used the same engine, seed and traffic; otherwise the page
offers to run both again with one click (``run_both``). Whether a difference is "real" or
"within noise" is decided from the runs' own uncertainty (see ``noise_halfwidth``). Runs of
one project share seed 1 by default and the simulator uses common random numbers, so the two
runs are paired: what differs between them is the design, not the luck of the draw.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import uuid
from collections import OrderedDict

from sdc.core.design_diff import diff_designs, merged_design
from sdc.core.simulation import ENGINE_VERSION, InvalidDesign, knee
from sdc.models import GradeReport, Project, SimulationRun, User, Version
from sdc.services import NotFound, ServiceError, jobs
from sdc.services import runs as run_service
from sdc.services.projects import get_project_for

Z95 = 1.959964
# Capacity and knee come from the analytic model: deterministic, so any difference beyond
# rounding is real.
EXACT_RTOL = 1e-6
# A score is a rounded number: a change smaller than this is not a change.
SCORE_EPS = 0.05

# (key, label, kind, higher_is_better)
KPIS = (
    ("throughput_rps", "Served throughput", "rps", True),
    ("p50_ms", "p50 latency", "ms", False),
    ("p95_ms", "p95 latency", "ms", False),
    ("p99_ms", "p99 latency", "ms", False),
    ("error_rate", "Error rate", "ratio", False),
    ("capacity_rps", "Capacity", "rps", True),
)


class CompareRefused(ServiceError):
    status = 422


def pick_versions(
    project: Project, baseline_id: uuid.UUID | None, candidate_id: uuid.UUID | None
) -> tuple[Version, Version]:
    """The two versions to compare. Defaults: the newest version, and its parent (or the
    version numbered just before it, or itself when the project has one version)."""
    by_id = {v.id: v for v in project.versions}
    ordered = sorted(project.versions, key=lambda v: v.number)
    if not ordered:
        raise NotFound("This project has no versions.")
    if candidate_id is not None and candidate_id not in by_id:
        raise NotFound("No such version in this project.")
    if baseline_id is not None and baseline_id not in by_id:
        raise NotFound("No such version in this project.")
    candidate = by_id[candidate_id] if candidate_id else ordered[-1]
    if baseline_id:
        return by_id[baseline_id], candidate
    if candidate.parent_id in by_id:
        return by_id[candidate.parent_id], candidate
    earlier = [v for v in ordered if v.number < candidate.number]
    return (earlier[-1] if earlier else candidate), candidate


def latest_completed_runs(version_ids: list[uuid.UUID]) -> dict[uuid.UUID, SimulationRun]:
    """The newest completed baseline run (no failure injected) per version, in one query."""
    return jobs.newest_per_version(SimulationRun, version_ids, "completed baseline")


def latest_completed_grades(version_ids: list[uuid.UUID]) -> dict[uuid.UUID, GradeReport]:
    """The newest completed grade per version, in one query."""
    return jobs.newest_per_version(GradeReport, version_ids, "completed")


def _traffic_of(run: SimulationRun) -> dict:
    return ((run.input_snapshot or {}).get("design") or {}).get("traffic") or {}


def is_stale(run: SimulationRun | None, version: Version) -> bool:
    """True when the version changed since the run took its snapshot."""
    if run is None:
        return True
    snap = (run.input_snapshot or {}).get("design") or {}
    return _comparable_doc(snap) != _comparable_doc(version.document())


def _comparable_doc(doc: dict) -> str:
    stripped = {k: v for k, v in doc.items() if k != "notes"}
    stripped["components"] = [
        {k: v for k, v in c.items() if k != "position"}
        for c in doc.get("components") or []
        if isinstance(c, dict)
    ]
    return json.dumps(stripped, sort_keys=True, default=str)


def run_pair_status(
    base_run: SimulationRun | None,
    cand_run: SimulationRun | None,
    baseline: Version,
    candidate: Version,
) -> dict:
    """Whether the two runs can be compared, and if not, why (each reason a sentence)."""
    reasons, mismatched = [], False
    if base_run is None:
        reasons.append(f"Version {baseline.number} has no completed run.")
    if cand_run is None and candidate.id != baseline.id:
        reasons.append(f"Version {candidate.number} has no completed run.")
    if base_run is not None and cand_run is not None:
        before = len(reasons)
        if base_run.seed != cand_run.seed:
            reasons.append(f"The runs used different seeds ({base_run.seed} and {cand_run.seed}).")
        if base_run.engine != cand_run.engine:
            reasons.append(
                f"The runs used different engines ({base_run.engine} and {cand_run.engine})."
            )
        if _traffic_of(base_run) != _traffic_of(cand_run):
            reasons.append("The runs simulated different traffic profiles.")
        if base_run.engine_version != cand_run.engine_version:
            reasons.append("The runs come from different simulator versions.")
        mismatched = len(reasons) > before
    stale = [
        v.number
        for v, r in ((baseline, base_run), (candidate, cand_run))
        if r is not None and is_stale(r, v)
    ]
    for number in sorted(set(stale)):
        reasons.append(f"Version {number} was edited after its latest run.")
    comparable = base_run is not None and cand_run is not None and not mismatched
    return {"comparable": comparable, "fresh": not reasons, "reasons": reasons}


def noise_halfwidth(result: dict | None, key: str) -> float | None:
    """The 95% half-width of one run's estimate of ``key`` (same units), or None if unknown.

    - latency percentiles and the mean: from the run's batch-means CI (p95 and mean carry
      one); p50 and p99 borrow the p95 interval's relative width, an approximation;
    - throughput: Poisson counting error of the completed requests over the measured window;
    - error rate: binomial error of the rejected share of arrivals;
    - capacity: analytic, exact (0).
    The analytic engine is deterministic: every half-width is 0.
    """
    if not result:
        return None
    m = result.get("metrics") or {}
    if result.get("engine") == "analytic" or key == "capacity_rps":
        return 0.0
    value = m.get(key)
    if value is None:
        return None
    ci = m.get(f"{key}_ci")
    if ci and None not in ci:
        return abs(ci[1] - ci[0]) / 2
    if key in ("p50_ms", "p99_ms"):
        ref, ref_ci = m.get("p95_ms"), m.get("p95_ms_ci")
        if ref and ref_ci and None not in ref_ci:
            return abs(ref_ci[1] - ref_ci[0]) / 2 / ref * value
        return None
    flow = m.get("flow") or {}
    duration = m.get("duration_s")
    if key == "throughput_rps" and flow.get("completed") is not None and duration:
        return Z95 * math.sqrt(max(flow["completed"], 1)) / duration
    if key == "error_rate" and flow.get("arrived"):
        p = min(max(value, 0.0), 1.0)
        n = flow["arrived"]
        # Wilson-style floor so a zero error rate is not "certain" from a finite run.
        return Z95 * math.sqrt(max(p * (1 - p), 1.0 / n) / n)
    return None


def kpi_rows(base_result: dict | None, cand_result: dict | None) -> list[dict]:
    """One row per KPI: values, absolute and percent delta, noise, verdict.

    ``significance`` is ``real`` when |delta| exceeds the 95% half-width of the difference
    (sqrt(hw_a^2 + hw_b^2), which treats the runs as independent: with common random numbers
    the paired difference varies less, so this errs towards "within noise"); ``within noise``
    otherwise; ``unknown`` without values. ``better`` is True/False/None (no change).
    """
    rows = []
    bm = (base_result or {}).get("metrics") or {}
    cm = (cand_result or {}).get("metrics") or {}
    for key, label, kind, higher_better in KPIS:
        before, after = bm.get(key), cm.get(key)
        row = {
            "key": key,
            "label": label,
            "kind": kind,
            "before": before,
            "after": after,
            "delta": None,
            "delta_pct": None,
            "noise": None,
            "significance": "unknown",
            "better": None,
        }
        if before is not None and after is not None:
            delta = after - before
            row["delta"] = delta
            row["delta_pct"] = (delta / before * 100) if before else (0.0 if delta == 0 else None)
            hw_a, hw_b = noise_halfwidth(base_result, key), noise_halfwidth(cand_result, key)
            if hw_a is not None and hw_b is not None:
                noise = math.sqrt(hw_a**2 + hw_b**2)
                tol = max(noise, EXACT_RTOL * max(abs(before), abs(after)))
                row["noise"] = noise
                row["significance"] = "real" if abs(delta) > tol else "within noise"
            elif delta == 0:
                row["significance"] = "within noise"
            if delta != 0:
                row["better"] = (delta > 0) == higher_better
        rows.append(row)
    return rows


def slo_regressions(base_verdict: dict, cand_verdict: dict, kpis: list[dict]) -> list[dict]:
    """SLO checks the candidate misses that the baseline did not, or misses by more (and the
    difference is real)."""
    before = {c["key"]: c for c in base_verdict.get("checks", [])}
    by_key = {r["key"]: r for r in kpis}
    out = []
    for check in cand_verdict.get("checks", []):
        if check["status"] != "missed":
            continue
        prev = before.get(check["key"])
        row = by_key.get(check["key"])
        worse_and_real = bool(row and row["better"] is False and row["significance"] == "real")
        if prev is None or prev["status"] != "missed" or worse_and_real:
            out.append({"key": check["key"], "label": check["label"], "detail": check["detail"]})
    return out


def rubric_rows(base: GradeReport | None, cand: GradeReport | None) -> dict:
    """Per-category and overall score deltas from two grade reports (either may be missing)."""
    b_rep, c_rep = (base.report if base else None) or {}, (cand.report if cand else None) or {}
    b_cat = {c["key"]: c for c in b_rep.get("categories") or []}
    c_cat = {c["key"]: c for c in c_rep.get("categories") or []}
    keys = list(c_cat) + [k for k in b_cat if k not in c_cat]
    rows = []
    for key in keys:
        b, c = b_cat.get(key, {}), c_cat.get(key, {})
        rows.append(
            _score_row(
                key,
                c.get("title") or b.get("title") or key,
                b.get("score"),
                c.get("score"),
                c.get("weight") or b.get("weight"),
            )
        )
    overall = _score_row(
        "overall", "Overall", b_rep.get("overall_score"), c_rep.get("overall_score"), None
    )
    return {"categories": rows, "overall": overall, "available": bool(b_rep and c_rep)}


def _score_row(key, title, before, after, weight) -> dict:
    delta = None if before is None or after is None else after - before
    change = None if delta is None or abs(delta) < SCORE_EPS else ("up" if delta > 0 else "down")
    return {
        "key": key,
        "title": title,
        "weight": weight,
        "before": before,
        "after": after,
        "delta": delta,
        "change": change,
    }


# --- load curves (analytic knee search), cached per process ----------------------------------

_CURVES: OrderedDict[str, dict] = OrderedDict()
_CURVES_LOCK = threading.Lock()
CURVE_CACHE_SIZE = 64


def load_curve(doc: dict, slos: dict) -> dict | None:
    """``knee()`` of the design under its traffic, cached by content (about 2 s uncached).

    Returns None when the design cannot be simulated or the scenario sets no latency SLO.
    """
    slo = {k: slos[k] for k in ("p95_ms", "p99_ms") if slos.get(k) is not None}
    if not slo:
        return None
    key = hashlib.sha256(
        json.dumps([_comparable_doc(doc), slo, ENGINE_VERSION], sort_keys=True).encode()
    ).hexdigest()
    with _CURVES_LOCK:
        if key in _CURVES:
            _CURVES.move_to_end(key)
            return _CURVES[key]
    try:
        curve = knee(doc, None, slo)
    except InvalidDesign:
        return None
    with _CURVES_LOCK:
        _CURVES[key] = curve
        while len(_CURVES) > CURVE_CACHE_SIZE:
            _CURVES.popitem(last=False)
    return curve


def knee_rows(base_curve: dict | None, cand_curve: dict | None) -> list[dict]:
    rows = []
    for key, label in (("knee_rps", "Knee (highest load meeting the SLO)"),):
        before = (base_curve or {}).get(key)
        after = (cand_curve or {}).get(key)
        delta = None if before is None or after is None else after - before
        tol = EXACT_RTOL * max(abs(before or 0), abs(after or 0))
        rows.append(
            {
                "key": key,
                "label": label,
                "kind": "rps",
                "before": before,
                "after": after,
                "delta": delta,
                "delta_pct": (delta / before * 100) if delta is not None and before else None,
                "noise": 0.0 if delta is not None else None,
                "significance": "unknown"
                if delta is None
                else ("real" if abs(delta) > tol else "within noise"),
                "better": None if not delta or abs(delta) <= tol else delta > 0,
            }
        )
    return rows


# --- the whole comparison ---------------------------------------------------------------------


def compare(
    user: User,
    project_id: uuid.UUID,
    baseline_id: uuid.UUID | None = None,
    candidate_id: uuid.UUID | None = None,
    *,
    with_curves: bool = False,
) -> dict:
    """Everything the compare page shows. NotFound for projects or versions the user may not
    see. ``with_curves`` adds the analytic load curves and knee deltas (slow: ~2 s each
    uncached)."""
    project = get_project_for(user, project_id)
    baseline, candidate = pick_versions(project, baseline_id, candidate_id)
    ids = [baseline.id, candidate.id]
    runs = latest_completed_runs(ids)
    base_run, cand_run = runs.get(baseline.id), runs.get(candidate.id)
    pair = run_pair_status(base_run, cand_run, baseline, candidate)
    slos = dict(project.scenario.slos or {})
    base_result = base_run.result if base_run else None
    cand_result = cand_run.result if cand_run else None
    kpis = kpi_rows(base_result, cand_result) if pair["comparable"] else []
    base_verdict = run_service.verdict(base_result, slos)
    cand_verdict = run_service.verdict(cand_result, slos)
    grades = latest_completed_grades(ids)
    rubric = rubric_rows(grades.get(baseline.id), grades.get(candidate.id))
    diff = diff_designs(baseline.design, candidate.design)
    merged, delta = merged_design(baseline.design, candidate.design, diff)

    regressions = []
    if pair["comparable"]:
        for r in slo_regressions(base_verdict, cand_verdict, kpis):
            regressions.append({**r, "section": "kpi-deltas", "kind": "slo"})
    if rubric["overall"]["change"] == "down":
        regressions.append(
            {
                "key": "overall",
                "label": "overall score",
                "detail": f"{rubric['overall']['before']:.1f} → {rubric['overall']['after']:.1f}",
                "section": "rubric-deltas",
                "kind": "score",
            }
        )
    out = {
        "project": project,
        "baseline": baseline,
        "candidate": candidate,
        "versions": sorted(project.versions, key=lambda v: v.number),
        "slos": slos,
        "diff": diff,
        "merged_design": merged,
        "delta": delta,
        "runs": {"baseline": base_run, "candidate": cand_run},
        "pair": pair,
        "kpis": kpis,
        "verdicts": {"baseline": base_verdict, "candidate": cand_verdict},
        "grades": {"baseline": grades.get(baseline.id), "candidate": grades.get(candidate.id)},
        "rubric": rubric,
        "regressions": regressions,
        "curves": None,
        "knee": [],
    }
    if with_curves:
        out.update(curves_for(baseline, candidate, slos))
    return out


def curves_for(baseline: Version, candidate: Version, slos: dict) -> dict:
    base_curve = load_curve(baseline.document(), slos)
    cand_curve = (
        base_curve if candidate.id == baseline.id else load_curve(candidate.document(), slos)
    )
    return {
        "curves": {"baseline": base_curve, "candidate": cand_curve},
        "knee": knee_rows(base_curve, cand_curve),
    }


def run_both(
    user: User, project_id: uuid.UUID, baseline_id: uuid.UUID, candidate_id: uuid.UUID
) -> list[tuple[SimulationRun, bool]]:
    """Start a fresh run of each version with the same engine and seed (one click on the
    compare page). Raises what ``start_run`` raises (422, 429)."""
    project = get_project_for(user, project_id, "compare")
    baseline, candidate = pick_versions(project, baseline_id, candidate_id)
    started = []
    for version in {baseline.id: baseline, candidate.id: candidate}.values():
        started.append(
            run_service.start_run(
                user, version.id, engine=run_service.DEFAULT_ENGINE, seed=run_service.DEFAULT_SEED
            )
        )
    return started


def describe(data: dict) -> dict:
    """The comparison as JSON."""

    def run_json(run):
        if run is None:
            return None
        return {
            "id": str(run.id),
            "engine": run.engine,
            "engine_version": run.engine_version,
            "seed": run.seed,
            "input_hash": run.input_hash,
        }

    def grade_json(row):
        return None if row is None else {"id": str(row.id), "overall_score": row.overall_score}

    return {
        "project_id": str(data["project"].id),
        "baseline": {
            "version_id": str(data["baseline"].id),
            "number": data["baseline"].number,
            "run": run_json(data["runs"]["baseline"]),
            "grade": grade_json(data["grades"]["baseline"]),
            "verdict": data["verdicts"]["baseline"],
        },
        "candidate": {
            "version_id": str(data["candidate"].id),
            "number": data["candidate"].number,
            "run": run_json(data["runs"]["candidate"]),
            "grade": grade_json(data["grades"]["candidate"]),
            "verdict": data["verdicts"]["candidate"],
        },
        "architecture": {
            "components": data["diff"]["components"],
            "edges": data["diff"]["edges"],
            "counts": data["diff"]["counts"],
            "identical": data["diff"]["identical"],
        },
        "runs_comparable": data["pair"]["comparable"],
        "runs_fresh": data["pair"]["fresh"],
        "reasons": data["pair"]["reasons"],
        "kpis": data["kpis"] + data["knee"],
        "rubric": data["rubric"],
        "regressions": data["regressions"],
        "curves": data["curves"],
    }
