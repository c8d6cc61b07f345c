"""Which action item addresses which problem, and items for the problems nothing else covers.

Contract: every risk of a report (each unmet requirement is one, id ``req-<requirement id>``,
plus ``latency-floor`` and ``az-detection``) is listed in the ``addresses`` of at least one
action item. Where the grader has no change of its own to re-simulate, the item says what to
do and ``proof_note`` says plainly that no fix proof is available and why.
"""

from __future__ import annotations

from . import rubric
from .evidence import ms, pct

SCALE_LATENCY = [("scalability", "p95-at-peak"), ("scalability", "p99-at-peak")]
REL_LINKS = [
    ("reliability-fault-tolerance", k) for k in ("sweep-mean", "sweep-worst", "az-down", "no-spof")
]
# Which categories a requirement check speaks about (a category is no strength while one of
# its requirements is unmet).
CHECK_CATEGORIES = {
    "latency-slo": ("scalability",),
    "surge": ("scalability",),
    "no-spof": ("reliability-fault-tolerance",),
    "survives-az-down": ("reliability-fault-tolerance",),
    "multi-az": ("reliability-fault-tolerance", "high-level-architecture"),
    "read-cache": ("high-level-architecture",),
    "write-reaches": ("high-level-architecture", "data-model-access-patterns"),
    "read-reaches": ("high-level-architecture", "data-model-access-patterns"),
    "async-write": ("high-level-architecture",),
    "entry-router": ("high-level-architecture",),
    "read-replicas": ("high-level-architecture", "data-model-access-patterns"),
    "notes-estimate": ("requirements-estimation",),
    "notes-sections": ("requirements-estimation", "data-model-access-patterns"),
}
RISK_CATEGORIES = {"latency-floor": ("scalability",)}
NO_PROOF_DISTANCE = (
    "No fix proof: the simulator sends users from every region along the same weighted paths, "
    "so it cannot show far-away users reaching a nearer origin; the grader has no change of its "
    "own that it could re-simulate here."
)


def latency_target(ctx, rid: str) -> tuple[str, float]:
    """(percentile key like 'p95_ms', target ms) of a latency-slo requirement."""
    check = next(r["check"] for r in ctx.scenario["requirements"] if r["id"] == rid)
    key = f"{check.get('percentile', 'p95')}_ms"
    return key, float(check.get("ms", ctx.slos[key]))


def floor_bound(ctx, rid: str) -> bool:
    """A latency requirement missed even at a trickle: network distance, not load."""
    key, target = latency_target(ctx, rid)
    f = ctx.meas["floor"].get(key)
    return f is not None and f > target


def weak_categories(ctx, risks: list[dict]) -> set[str]:
    """Categories about which the report also states an unmet requirement or a risk."""
    out = set()
    for r in ctx.requirements:
        if not r["passed"]:
            out.update(CHECK_CATEGORIES.get(r["check"], ()))
    for r in risks:
        out.update(RISK_CATEGORIES.get(r["id"], ()))
    return out


def _unmet(ctx) -> dict[str, dict]:
    return {r["id"]: r for r in ctx.requirements if not r["passed"]}


def addresses(ctx, item: dict) -> list[str]:
    """Risk ids the (candidate) action item speaks to, from its kind and the measurements."""
    iid, out = item["id"], []
    unmet = _unmet(ctx)
    surge_u = {r["id"]: r.get("offered_utilization") or 0.0 for r in ctx.meas["surge_components"]}
    peak_u = {r["id"]: r.get("offered_utilization") or 0.0 for r in ctx.meas["peak_components"]}
    for rid, r in unmet.items():
        t = r["check"]
        if iid == f"req-{rid}":
            out.append(f"req-{rid}")
        elif iid.startswith("spof-") and t == "no-spof":
            out.append(f"req-{rid}")
        elif iid.startswith("single-az-") and t in ("multi-az", "survives-az-down"):
            out.append(f"req-{rid}")
        elif iid.startswith("capacity-"):
            cid = iid[len("capacity-") :]
            if t == "surge" and surge_u.get(cid, 0.0) >= 1.0:
                out.append(f"req-{rid}")
            elif (
                t == "latency-slo"
                and not floor_bound(ctx, rid)
                and peak_u.get(cid, 0.0) >= rubric.UTIL_COMFORT
            ):
                out.append(f"req-{rid}")
        elif iid == "latency-floor" and t == "latency-slo" and floor_bound(ctx, rid):
            out.append(f"req-{rid}")
        elif iid == t and t in ("notes-sections", "notes-estimate"):
            out.append(f"req-{rid}")
    if iid == "latency-floor":
        out.append("latency-floor")
    return out


def missing(ctx, items: list[dict], risks: list[dict], make) -> list[dict]:
    """Items for the risks no candidate addresses (`make` is actions._item)."""
    covered = {a for it in items for a in it["addresses"]}
    todo = [r for r in risks if r["id"] not in covered]
    unmet = _unmet(ctx)
    out = []
    distance = [
        r
        for r in todo
        if r["id"] == "latency-floor"
        or (
            r["id"].startswith("req-")
            and unmet.get(r["id"][4:], {}).get("check") == "latency-slo"
            and floor_bound(ctx, r["id"][4:])
        )
    ]
    if distance:
        out.append(_distance_item(ctx, [r["id"] for r in distance], make))
    for r in todo:
        if r in distance:
            continue
        if r["id"] == "az-detection":
            out.append(_detection_item(ctx, make))
        elif r["id"].startswith("req-") and r["id"][4:] in unmet:
            out.append(_requirement_item(ctx, unmet[r["id"][4:]], make))
    return out


def _origin(ctx) -> str:
    """Regions of the request path behind the edge (clients and CDNs sit near the users)."""
    d = ctx.paths.design
    comps = [d.component(c) for c in ctx.paths.on_path()]
    regs = sorted({c.region for c in comps if c.type not in ("client", "cdn")})
    return ", ".join(regs) or "one region"


def _distance_item(ctx, risk_ids: list[str], make) -> dict:
    peak, floor = ctx.meas["peak"], ctx.meas["floor"]
    origin = _origin(ctx)
    far = {
        reg: share
        for reg, share in sorted(ctx.traffic.get("regions", {}).items())
        if share > 0 and reg not in origin.split(", ")
    }
    parts = [f"{reg} ({pct(s)})" for reg, s in far.items()]
    who = (
        " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)
        or "far-away regions"
    )
    it = make(
        "network-distance",
        "P1",
        "Bring far-away users within the latency SLO",
        f"p95 at peak is {ms(peak['p95_ms'])} against the {ms(ctx.slos['p95_ms'])} SLO, and "
        f"at a trickle ({rubric.FLOOR_FRACTION:.0%} of peak) it is already {ms(floor['p95_ms'])}: "
        f"the time is network distance between users in {who} and the request path in "
        f"{origin}, not queueing. Serve those users from an origin in their region (with "
        "geographic routing) and answer more of their reads at the edge (a CDN, or a higher "
        "CDN hit ratio for cacheable reads).",
        ["sim-peak", "sim-floor"],
        SCALE_LATENCY,
        1.0,
    )
    it["addresses"] = list(risk_ids)
    it["proof_note"] = NO_PROOF_DISTANCE
    return it


def _detection_item(ctx, make) -> dict:
    from sdc.core.simulation.constants import DETECTION_DELAY_S

    d = ctx.meas["des_az_down"]
    f = d["failure"]
    it = make(
        "az-detection",
        "P2",
        "Fail over faster when an availability zone is lost",
        f"When AZ {f['region']}-{f['az']} is lost, {pct(d['failed_share'])} of requests in "
        "the failure window fail until health checks take its instances out of rotation. "
        "Retry a failed request once against another zone, and detect a dead zone sooner "
        "(shorter health-check intervals, outlier ejection at the load balancer).",
        ["des-az-down"],
        REL_LINKS,
        0.5,
    )
    it["addresses"] = ["az-detection"]
    it["proof_note"] = (
        f"No fix proof: the simulator's detection delay is fixed ({DETECTION_DELAY_S:g} s) and it "
        "does not model retries, so the grader cannot re-simulate this change."
    )
    return it


def _requirement_item(ctx, req: dict, make) -> dict:
    t = req["check"]
    if t == "latency-slo":
        key, target = latency_target(ctx, req["id"])
        p = key[:3]
        hot = max(
            (r for r in ctx.meas["peak_components"] if r["type"] != "client"),
            key=lambda r: (r.get("offered_utilization") or 0.0, r["id"]),
            default=None,
        )
        detail = (
            f"{p} at peak is {ms(ctx.meas['peak'].get(key))} against {ms(target)}, and "
            f"{ms(ctx.meas['floor'].get(key))} at a trickle: the extra time comes with load. "
            + (
                f"The busiest component is {hot['id']} at utilisation "
                f"{hot.get('offered_utilization') or 0:.2f}; shorten the synchronous path or the "
                "service time of its slowest hops."
                if hot
                else "Shorten the synchronous path."
            )
        )
        links = SCALE_LATENCY
    else:
        detail = f"{req['detail']}."
        links = [
            (c, k)
            for c in CHECK_CATEGORIES.get(t, ())
            for k in ("structural-requirements", "az-down", "sweep-worst", "errors-at-surge")
        ]
    it = make(
        f"req-{req['id']}",
        "P1",
        f"Meet: {req['text']}",
        detail,
        req["evidence"],
        links,
        0.8,
    )
    it["addresses"] = [f"req-{req['id']}"]
    it["proof_note"] = "No fix proof: the grader has no change of its own for this requirement."
    return it


def proof_note(ctx, item: dict) -> str | None:
    """What the report says about the item's proof: why there is none, or (for a latency
    requirement) whether the proven change is enough."""
    if item.get("proof_note"):
        return item["proof_note"]
    p = item.get("fix_proof")
    if p is None:
        if item.get("fix"):
            return (
                "No fix proof: only the highest-impact changes are re-simulated "
                "(create the fix version and run it to measure this one)."
            )
        if item["id"].startswith("notes-"):
            return "No fix proof: this is a change to the written answer, nothing to simulate."
        return "No fix proof: the grader has no change of its own to re-simulate here."
    lat = [
        a[4:]
        for a in item.get("addresses", [])
        if a.startswith("req-") and _unmet(ctx).get(a[4:], {}).get("check") == "latency-slo"
    ]
    if lat and p["after"].get("peak_p95_ms") is not None:
        key, target = latency_target(ctx, lat[0])
        if key == "p95_ms":
            after = p["after"]["peak_p95_ms"]
            verdict = "within" if after <= target else "still above"
            return (
                f"Measured on a copy: p95 at peak {ms(p['before'].get('peak_p95_ms'))} -> "
                f"{ms(after)}, {verdict} the {ms(target)} target."
            )
    return None


def strengths(ctx, cats: list[dict], risks: list[dict]) -> list[dict]:
    """Categories at 80+ and passed key requirements; a category about which the report also
    states an unmet requirement or a risk is not listed (a strength never restates a failure)."""
    out = []
    weak = weak_categories(ctx, risks)
    for c in cats:
        if c["score"] >= 80 and c["key"] not in weak:
            out.append({"text": f"{c['title']}: {c['rationale']}", "evidence": c["evidence"][:6]})
    for r in ctx.requirements:
        if r["passed"] and r["check"] in ("survives-az-down", "surge", "no-spof", "latency-slo"):
            out.append({"text": f"{r['text']} ({r['detail']})", "evidence": r["evidence"][:6]})
    return out


def risks(ctx) -> list[dict]:
    """Unmet requirements (id `req-<id>`), a latency floor above the SLO (`latency-floor`) and
    requests lost before a lost AZ is detected (`az-detection`); each has an action item."""
    out = []
    for r in ctx.requirements:
        if not r["passed"]:
            out.append(
                {
                    "id": f"req-{r['id']}",
                    "text": f"Not met: {r['text']} ({r['detail']})",
                    "evidence": r["evidence"][:6],
                }
            )
    floor = ctx.meas["floor"].get("p95_ms")
    if floor is not None and floor > ctx.slos["p95_ms"]:
        out.append(
            {
                "id": "latency-floor",
                "text": f"Even at a trickle p95 is {ms(floor)}, above the "
                f"{ms(ctx.slos['p95_ms'])} SLO (network distance to far regions); "
                "capacity was scored against "
                f"{ms(ctx.meas['effective_slo']['p95_ms'])} instead",
                "evidence": ["sim-floor"],
            }
        )
    d = ctx.meas.get("des_az_down")
    if d and not d.get("skipped") and (d.get("failed_share") or 0) > ctx.slos["max_error_rate"]:
        out.append(
            {
                "id": "az-detection",
                "text": f"Before health checks notice a lost AZ, {pct(d['failed_share'])} "
                "of requests in the failure window fail",
                "evidence": ["des-az-down"],
            }
        )
    return out
