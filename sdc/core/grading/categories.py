"""The seven rubric categories, each built from weighted criteria on recorded evidence."""

from __future__ import annotations

from . import rubric
from .evidence import ms, pct
from .notes import mentions
from .score import Criterion, category, error_score, good_score, latency_score, linear

STRUCTURAL = (
    "read-cache",
    "write-reaches",
    "read-reaches",
    "async-write",
    "entry-router",
    "read-replicas",
    "multi-az",
)
STORE_TYPES = ("database", "object-store", "search")


def hottest(rows: list[dict], types=None) -> dict | None:
    rows = [
        r
        for r in rows
        if r["type"] != "client" and r.get("arrival_rps") and (types is None or r["type"] in types)
    ]
    return max(rows, key=lambda r: (r.get("offered_utilization") or 0.0, r["id"]), default=None)


def _u(row: dict | None) -> float | None:
    return None if row is None else row.get("offered_utilization") or 0.0


def build(ctx) -> list[dict]:
    out = []
    for key, _w, title in rubric.CATEGORIES:
        crits, why = _BUILDERS[key](ctx)
        out.append(category(key, title, crits, why))
    return out


def _requirements_estimation(ctx):
    f = ctx.facts
    peak = ctx.peak_rps
    got = f.stated_peak_rps
    if got is None:
        acc = 0.0
    else:
        ratio = max(got / peak, peak / got) if got > 0 else float("inf")
        acc = 1.0 if ratio <= rubric.ESTIMATE_FACTOR else 0.5 if ratio <= 4 else 0.0
    crit = [
        Criterion("estimate-accuracy", 0.4, acc, False, ["notes-estimate"]),
        Criterion(
            "requirements-section",
            0.3,
            f.sections.get("requirements", 0.0),
            False,
            ["notes-sections"],
        ),
        Criterion(
            "estimates-section", 0.3, f.sections.get("estimates", 0.0), False, ["notes-sections"]
        ),
    ]
    why = (
        "stated peak "
        + (f"{got:,.0f} rps" if got is not None else "missing")
        + f" vs required {peak:,.0f} rps; requirements {pct(f.sections.get('requirements', 0))}"
        f", estimates {pct(f.sections.get('estimates', 0))} of full credit"
    )
    return crit, why


def _architecture(ctx):
    reqs = [r for r in ctx.requirements if r["check"] in STRUCTURAL]
    share = sum(r["passed"] for r in reqs) / len(reqs) if reqs else 1.0
    ev = [e for r in reqs for e in r["evidence"]]
    floor_err = ctx.meas["floor"]["error_rate"]
    done = 1.0 - floor_err if floor_err is not None else 0.0
    hygiene = [
        w for w in ctx.meas["warnings"] if w["code"] in ("unreachable", "no-way-out", "sync-cycle")
    ]
    hy_ev = [f"warn-{w['code']}-{w.get('component_id') or 'design'}" for w in hygiene]
    crit = [
        Criterion("structural-requirements", 0.5, share, False, ev),
        Criterion("requests-complete", 0.3, linear(done, 0.999, 0.9), True, ["sim-floor"]),
        # hygiene of a design that completes nothing is no achievement: scaled by `done`
        Criterion("path-hygiene", 0.2, (1.0 - 0.25 * len(hygiene)) * done, False, hy_ev),
    ]
    passed = [r["id"] for r in reqs if r["passed"]]
    why = (
        f"{len(passed)}/{len(reqs)} structural requirements met; {pct(done)} of requests "
        f"complete at low load; {len(hygiene)} wiring warning(s)"
    )
    return crit, why


def _data(ctx):
    f = ctx.facts
    sp = hottest(ctx.meas["peak_components"], STORE_TYPES)
    ss = hottest(ctx.meas["surge_components"], STORE_TYPES)
    # a store looks idle when an overloaded tier in front of it rejects the traffic: scale its
    # headroom by the share of requests that complete at that load
    done_p = 1.0 - (
        ctx.meas["peak"]["error_rate"] if ctx.meas["peak"]["error_rate"] is not None else 1.0
    )
    done_s = 1.0 - (
        ctx.meas["surge"]["error_rate"] if ctx.meas["surge"]["error_rate"] is not None else 1.0
    )
    crit = [
        Criterion(
            "data-model-section", 0.3, f.sections.get("data model", 0.0), False, ["notes-sections"]
        ),
        Criterion("api-section", 0.2, f.sections.get("api", 0.0), False, ["notes-sections"]),
        Criterion(
            "store-headroom-peak",
            0.25,
            linear(_u(sp), 0.6, 1.0) * done_p if sp else 0.0,
            True,
            ["store-peak", "sim-peak"],
        ),
        Criterion(
            "store-headroom-surge",
            0.25,
            linear(_u(ss), 0.8, 1.2) * done_s if ss else 0.0,
            True,
            ["store-surge", "sim-surge"],
        ),
    ]
    why = (
        f"busiest store {sp['id']} at utilisation {_u(sp):.2f} at peak, {_u(ss):.2f} at 2x"
        if sp
        else "no data store on any request path"
    )
    why += (
        f"; data model {pct(f.sections.get('data model', 0))}, API "
        f"{pct(f.sections.get('api', 0))} of full credit"
    )
    return crit, why


def _gate(m: dict) -> float:
    """1 while at most 1% of requests fail, falling to 0 at 5% (overloaded: 0)."""
    return linear(m["error_rate"], 0.01, 0.05)


def _scalability(ctx):
    m, s, slo, eff = ctx.meas["peak"], ctx.meas["surge"], ctx.slos, ctx.meas["effective_slo"]
    b = float(slo["max_error_rate"])
    k = ctx.meas.get("knee") or {}
    ratio = k.get("ratio") or 0.0
    dp, ds = ctx.meas.get("des_peak"), ctx.meas.get("des_surge")
    gp, gs = _gate(m), _gate(s)  # fast answers only count when requests are not failing
    crit = [
        Criterion(
            "p95-at-peak", 0.15, gp * latency_score(m["p95_ms"], slo["p95_ms"]), True, ["sim-peak"]
        ),
        Criterion(
            "p99-at-peak", 0.05, gp * latency_score(m["p99_ms"], slo["p99_ms"]), True, ["sim-peak"]
        ),
        Criterion("errors-at-peak", 0.15, error_score(m["error_rate"], b), True, ["sim-peak"]),
        Criterion(
            "queueing-at-peak",
            0.1,
            gp * latency_score(m["p95_ms"], eff["p95_ms"]),
            True,
            ["sim-peak", "sim-floor"],
        ),
        Criterion("errors-at-surge", 0.2, error_score(s["error_rate"], b), True, ["sim-surge"]),
        Criterion(
            "latency-at-surge",
            0.1,
            gs * latency_score(s["p95_ms"], eff["p95_ms"]),
            True,
            ["sim-surge"],
        ),
        Criterion("knee-headroom", 0.15, linear(ratio, 2.0, 1.0), True, ["knee"]),
    ]
    if dp and ds:
        crit.append(
            Criterion(
                "des-corroboration",
                0.1,
                (error_score(dp["error_rate"], b) + error_score(ds["error_rate"], b)) / 2,
                True,
                ["des-peak", "des-surge"],
            )
        )
    tot = sum(c.weight for c in crit)
    p95c = crit[0]
    lost = 100 * p95c.weight * (1 - max(0.0, min(1.0, p95c.score))) / tot
    return crit, _scalability_why(ctx, m, s, slo, eff, k, lost)


def _scalability_why(ctx, m, s, slo, eff, k, lost: float) -> str:
    """Says what was measured: the knee is searched against the effective SLO, which is the
    scenario's SLO unless the latency floor alone exceeds it (then 1.25x the floor)."""
    ratio = k.get("ratio") or 0.0
    fl = ctx.meas["floor"]
    p95, target = m["p95_ms"], float(slo["p95_ms"])
    if p95 is None:
        head = f"at peak the design is overloaded (p95 SLO {ms(target)})"
    elif p95 <= target:
        head = f"at peak p95 {ms(p95)} meets the {ms(target)} SLO"
    elif fl.get("p95_ms") is not None and fl["p95_ms"] > target:
        head = (
            f"at peak p95 {ms(p95)} misses the {ms(target)} SLO, but at a trickle it is already "
            f"{ms(fl['p95_ms'])}: the miss is network distance, not load (it costs {lost:.1f} of "
            "this category's 100 points)"
        )
    else:
        head = (
            f"at peak p95 {ms(p95)} misses the {ms(target)} SLO (the p95 criterion alone costs "
            f"{lost:.1f} of this category's 100 points)"
        )
    head += f"; errors {pct(m['error_rate'])} at peak, {pct(s['error_rate'])} at 2x"
    raised = eff["p95_ms"] > float(slo["p95_ms"]) or eff["p99_ms"] > float(slo["p99_ms"])
    budget = (
        f"p95 {ms(eff['p95_ms'])} / p99 {ms(eff['p99_ms'])} ({rubric.FLOOR_HEADROOM:g}x the "
        "latency at a trickle where that exceeds the SLO, so that queueing is judged apart "
        "from network distance)"
        if raised
        else "the SLO"
    )
    if k.get("bound") == "none":
        tail = f"even a trickle misses {budget}"
    else:
        tail = (
            f"latency and errors stay within {budget} up to "
            f"{'at least ' if k.get('bound') == 'at-least' else ''}{ratio:.2f}x the peak"
        )
    return f"{head}; {tail}"


def _reliability(ctx):
    rows = ctx.meas["sweep"]
    base = ctx.meas["baseline_good_share"]
    scores = {r["id"]: good_score(r["good_share"], base) for r in rows}
    azs = [r["id"] for r in rows if r["failure"]["mode"] == "az-down"]
    mean = sum(scores.values()) / len(scores) if scores else 0.0
    worst = min(rows, key=lambda r: (scores[r["id"]], r["id"])) if rows else None
    az = sum(scores[i] for i in azs) / len(azs) if azs else 0.0
    spofs = ctx.spofs
    # no single point of failure only counts for a design that serves requests at all
    floor_err = ctx.meas["floor"]["error_rate"]
    done = 1.0 - floor_err if floor_err is not None else 0.0
    crit = [
        Criterion("sweep-mean", 0.3, mean, True, [r["id"] for r in rows]),
        Criterion(
            "sweep-worst",
            0.25,
            scores[worst["id"]] if worst else 0.0,
            True,
            [worst["id"]] if worst else [],
        ),
        Criterion("az-down", 0.25, az, True, azs),
        Criterion(
            "no-spof",
            0.2,
            max(0.0, 1.0 - len(spofs) / 3.0) * done,
            False,
            [f"spof-{c}" for c in spofs] or ["spof-none"],
        ),
    ]
    thr = ctx.meas["good_share_threshold_ms"]
    raised = thr > float(ctx.slos["p99_ms"])
    why = (
        f"{len(rows)} single failures simulated (steady state after failover); worst "
        + (
            f"{worst['id'][5:]} keeps {pct(worst['good_share'])} of requests within "
            f"{ms(thr)}"
            + (
                f" (the {ms(ctx.slos['p99_ms'])} p99 SLO raised to {rubric.FLOOR_HEADROOM:g}x "
                "the latency at a trickle)"
                if raised
                else ""
            )
            if worst
            else "n/a"
        )
        + f"; {len(spofs)} single point(s) of failure"
    )
    return crit, why


def _bottleneck(ctx):
    hp = hottest(ctx.meas["peak_components"])
    hs = hottest(ctx.meas["surge_components"])
    limiter = (ctx.meas.get("knee") or {}).get("limited_by") or (hp["id"] if hp else None)
    named, cred = ctx.notes_bottleneck
    crit = [
        Criterion(
            "headroom-at-peak", 0.35, linear(_u(hp), rubric.UTIL_COMFORT, 1.0), True, ["util-peak"]
        ),
        Criterion("headroom-at-surge", 0.25, linear(_u(hs), 0.95, 1.5), True, ["util-surge"]),
        Criterion("names-the-bottleneck", 0.4, cred, False, ["notes-bottleneck", "knee"]),
    ]
    why = (
        (f"hottest at peak: {hp['id']} at utilisation {_u(hp):.2f}; " if hp else "")
        + f"the knee is limited by {limiter or 'nothing'}; the notes name "
        + (", ".join(named) if named else "no bottleneck")
    )
    return crit, why


def _tradeoffs(ctx):
    t = ctx.facts.tradeoffs[: rubric.MAX_TRADEOFFS]
    comps = [ctx.paths.design.component(c) for c in ctx.paths.on_path()]
    grounded = [s for s in t if any(mentions(s, c) for c in comps)]
    crit = [
        Criterion("both-sides", 0.7, len(t) / rubric.MAX_TRADEOFFS, False, ["notes-tradeoffs"]),
        Criterion(
            "grounded-in-design", 0.3, min(1.0, len(grounded) / 2.0), False, ["notes-tradeoffs"]
        ),
    ]
    why = (
        f"{len(t)} trade-off(s) naming both sides (up to {rubric.MAX_TRADEOFFS} count), "
        f"{len(grounded)} about components of this design"
    )
    return crit, why


_BUILDERS = {
    "requirements-estimation": _requirements_estimation,
    "high-level-architecture": _architecture,
    "data-model-access-patterns": _data,
    "scalability": _scalability,
    "reliability-fault-tolerance": _reliability,
    "bottleneck-identification": _bottleneck,
    "trade-off-reasoning": _tradeoffs,
}
