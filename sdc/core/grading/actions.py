"""Action items: what to change, why (evidence), how much it is worth (impact), and for the
changes the grader can make itself a measured before/after on a fixed copy ("fix proof")."""

from __future__ import annotations

import math

from . import followups, rubric
from .categories import STORE_TYPES
from .evidence import pct, rnd
from .fixes import apply_fix
from .measure import sweep_rows
from .score import lost_points
from .sweep import degrade, share_within

MAX_PROOFS = 8
PRIORITY_ORDER = {"P0": 0, "P1": 1, "P2": 2}
REL = [
    ("reliability-fault-tolerance", k) for k in ("sweep-mean", "sweep-worst", "az-down", "no-spof")
]
SCALE = [
    ("scalability", k)
    for k in (
        "p95-at-peak",
        "p99-at-peak",
        "errors-at-peak",
        "queueing-at-peak",
        "errors-at-surge",
        "latency-at-surge",
        "knee-headroom",
        "des-corroboration",
    )
]
HEAD = [
    ("bottleneck-identification", "headroom-at-peak"),
    ("bottleneck-identification", "headroom-at-surge"),
    ("data-model-access-patterns", "store-headroom-peak"),
    ("data-model-access-patterns", "store-headroom-surge"),
]
STRUCT = [("high-level-architecture", "structural-requirements")]


def _next_azs(comp) -> list[str]:
    azs = list(comp.azs)
    for z in "abcdef":
        if len(azs) >= 2:
            break
        if z not in azs:
            azs.append(z)
    return azs


def _item(iid, priority, title, detail, evidence, links, severity=1.0, fix=None, metric=None):
    return {
        "id": iid,
        "priority": priority,
        "title": title,
        "detail": detail,
        "evidence": evidence,
        "links": links,
        "severity": severity,
        "fix": fix,
        "metric": metric,
    }


def candidates(ctx) -> list[dict]:
    out = []
    design, meas = ctx.paths.design, ctx.meas
    rows = {r["id"]: r for r in meas["sweep"]}
    for cid in ctx.spofs:
        c = design.component(cid)
        row = rows.get(f"fail-node-{cid}")
        out.append(
            _item(
                f"spof-{cid}",
                "P0",
                f"Remove the single point of failure at {cid}",
                f"{cid} has one instance on a request path: losing it leaves "
                f"{pct(row['good_share']) if row else '0%'} of requests succeeding. Run at least 2 "
                f"replicas in different AZs.",
                [f"spof-{cid}"] + ([row["id"]] if row else []),
                REL,
                1.0 - (row["good_share"] if row else 0.0),
                {
                    "kind": "add-replicas",
                    "params": {"component_id": cid, "replicas": 2, "azs": _next_azs(c)},
                },
                ("failure", f"fail-node-{cid}"),
            )
        )
    for cid in ctx.paths.on_path():
        c = design.component(cid)
        if cid in ctx.spofs or len(ctx.paths.az_spread(cid)) >= 2:
            continue
        azs = _next_azs(c)
        out.append(
            _item(
                f"single-az-{cid}",
                "P1",
                f"Spread {cid} over two availability zones",
                f"All instances of {cid} are in {c.region}-{c.azs[0]}; losing that zone takes "
                f"{cid} down with it.",
                ["path-multi-az"] if "path-multi-az" in ctx.ev else [],
                REL + STRUCT,
                0.6,
                {"kind": "spread-azs", "params": {"component_id": cid, "azs": azs}},
                ("zone", (cid, c.region, c.azs[0])),
            )
        )
    out += _capacity(ctx)
    out += _requirement_items(ctx)
    out += _notes_items(ctx)
    return out


def _capacity(ctx) -> list[dict]:
    out = []
    design = ctx.paths.design
    peak = {r["id"]: r for r in ctx.meas["peak_components"]}
    reads = ctx.paths.visited_by(0)
    for r in ctx.meas["surge_components"]:
        if r["type"] == "client" or not r.get("arrival_rps"):
            continue
        us, up = r.get("offered_utilization") or 0.0, peak[r["id"]].get("offered_utilization") or 0
        if us < 1.0 and up < rubric.UTIL_COMFORT:
            continue
        c = design.component(r["id"])
        prio = "P0" if up >= 1.0 else "P1" if us >= 1.0 else "P2"
        total = c.instance_count if c.type == "database" else c.replicas
        need = max(total + 1, math.ceil(total * us / 0.8))
        if c.type == "database" and c.id in reads and ctx.traffic["read_ratio"] >= 0.5:
            rr = min(100, need - c.replicas)
            fix = {
                "kind": "add-read-replicas",
                "params": {"component_id": c.id, "read_replicas": rr},
            }
            how = f"add read replicas (to {rr})"
        else:
            n = min(
                1000,
                need
                if c.type != "database"
                else max(c.replicas + 1, math.ceil(c.replicas * us / 0.8)),
            )
            fix = {"kind": "add-replicas", "params": {"component_id": c.id, "replicas": n}}
            how = f"scale it to {n} replicas"
        out.append(
            _item(
                f"capacity-{c.id}",
                prio,
                f"Add capacity at {c.id}",
                f"{c.id} runs at utilisation {up:.2f} at peak and {us:.2f} at a 2x surge; {how} "
                f"to keep it under 0.8 during the surge.",
                [f"util-{c.id}", "sim-surge"],
                SCALE + HEAD,
                min(1.0, us / 2),
                fix,
                ("capacity", c.id),
            )
        )
        ctx.ev.add(
            f"util-{c.id}",
            "simulation",
            f"{c.id}: utilisation {up:.2f} at peak, {us:.2f} at 2x",
            component_id=c.id,
            measured=True,
            utilization_peak=up,
            utilization_surge=us,
        )
    return out


def _requirement_items(ctx) -> list[dict]:
    out = []
    design = ctx.paths.design
    store_readers = _store_readers(ctx)
    for req in ctx.requirements:
        if req["passed"]:
            continue
        check = next(r["check"] for r in ctx.scenario["requirements"] if r["id"] == req["id"])
        t = check.get("type")
        fix = metric = None
        prio, links = "P1", STRUCT
        if t == "read-cache":
            types = check.get("component_types") or ["cache", "cdn"]
            h = min(0.95, max(0.9, float(check.get("min_hit_ratio", 0.8)) + 0.05))
            if "cache" in types and store_readers:
                fix = {
                    "kind": "add-cache",
                    "params": {"service_id": store_readers[0], "hit_ratio": h},
                }
            elif "cdn" in types:
                fix = {"kind": "add-cdn", "params": {"hit_ratio": h}}
            metric = ("read-answer", tuple(types))
            links = STRUCT + HEAD + SCALE
        elif t == "async-write":
            pair = _sync_write_edge(ctx)
            if pair:
                fix = {"kind": "make-async", "params": {"source": pair[0], "target": pair[1]}}
            metric, links = ("async", None), STRUCT + SCALE
        elif t == "read-replicas":
            dbs = [
                c.id
                for c in design.components
                if c.type == "database" and c.id in ctx.paths.visited_by(0)
            ]
            if dbs:
                fix = {
                    "kind": "add-read-replicas",
                    "params": {"component_id": dbs[0], "read_replicas": int(check.get("min", 1))},
                }
            metric, links = ("capacity", dbs[0] if dbs else None), STRUCT + HEAD
        elif t == "entry-router":
            fix, metric = {"kind": "add-load-balancer", "params": {}}, ("entry", None)
        elif t in ("write-reaches", "read-reaches"):
            prio = "P0"
        elif t in (
            "latency-slo",
            "surge",
            "survives-az-down",
            "no-spof",
            "multi-az",
            "notes-estimate",
            "notes-sections",
        ):
            continue  # covered by the capacity, reliability and notes items
        out.append(
            _item(
                f"req-{req['id']}",
                prio,
                f"Meet: {req['text']}",
                req["detail"],
                req["evidence"],
                links,
                0.8,
                fix,
                metric,
            )
        )
    floor = ctx.meas["floor"].get("p95_ms")
    if (
        floor is not None
        and floor > ctx.slos["p95_ms"]
        and not any(c.type == "cdn" for c in design.components)
        and ctx.traffic["read_ratio"] >= 0.5
    ):
        out.append(
            _item(
                "latency-floor",
                "P1",
                "Serve reads from the edge",
                f"Even at a trickle p95 is {floor:,.0f} ms, above the {ctx.slos['p95_ms']}"
                " ms SLO: far-away users pay the network round trip. A CDN answers "
                "cacheable reads near them.",
                ["sim-floor"],
                SCALE,
                0.7,
                {"kind": "add-cdn", "params": {"hit_ratio": 0.9}},
                ("latency", None),
            )
        )
    return out


def _store_readers(ctx) -> list[str]:
    """Non-router components that read a store synchronously with no cache in front."""
    d = ctx.paths.design
    reads = ctx.paths.visited_by(0)
    out = []
    for e in d.edges:
        s, t = d.component(e.source), d.component(e.target)
        if (
            s.type in ("service", "worker")
            and t.type in STORE_TYPES
            and e.matches("read")
            and s.id in reads
            and s.id not in out
        ):
            out.append(s.id)
    return out


def _sync_write_edge(ctx):
    d = ctx.paths.design
    writes = ctx.paths.visited_by(1)
    for e in d.edges:
        s, t = d.component(e.source), d.component(e.target)
        if (
            s.type in ("service", "api-gateway")
            and e.matches("write")
            and e.mode == "sync"
            and s.id in writes
            and t.type in ("database", "worker", "service", "object-store", "search")
        ):
            return s.id, t.id
    return None


def _notes_items(ctx) -> list[dict]:
    f, out = ctx.facts, []
    missing = [
        s
        for s in ("requirements", "estimates", "api", "data model", "trade-offs")
        if f.sections.get(s, 0.0) < 0.5
    ]
    if missing:
        out.append(
            _item(
                "notes-sections",
                "P2",
                "Complete the written answer",
                "Missing or thin: " + ", ".join(missing) + ". Each section earns credit "
                "for its own structure (numbers, endpoints, fields, both-sided "
                "trade-offs), not for length.",
                ["notes-sections"],
                [
                    ("requirements-estimation", "requirements-section"),
                    ("requirements-estimation", "estimates-section"),
                    ("data-model-access-patterns", "data-model-section"),
                    ("data-model-access-patterns", "api-section"),
                    ("trade-off-reasoning", "both-sides"),
                ],
            )
        )
    got, peak = f.stated_peak_rps, ctx.peak_rps
    if got is None or not peak / rubric.ESTIMATE_FACTOR <= got <= peak * rubric.ESTIMATE_FACTOR:
        out.append(
            _item(
                "notes-estimate",
                "P2",
                "State the peak load you design for",
                f"The scenario's peak is {peak:,.0f} rps; the notes state "
                + (f"{got:,.0f} rps." if got is not None else "no request rate."),
                ["notes-estimate"],
                [("requirements-estimation", "estimate-accuracy")],
            )
        )
    if ctx.notes_bottleneck[1] < 1.0:
        lim = (ctx.meas.get("knee") or {}).get("limited_by")
        out.append(
            _item(
                "notes-bottleneck",
                "P2",
                "Name the component that limits throughput",
                "The simulation's knee is limited by "
                + (lim or "nothing measurable")
                + "; say which component saturates first and what you would do.",
                ["notes-bottleneck", "knee"],
                [("bottleneck-identification", "names-the-bottleneck")],
            )
        )
    return out


def build(ctx, categories: list[dict], risks: list[dict] = ()) -> list[dict]:
    """Action items sorted by impact (overall points at stake), with fix proofs.

    Every risk (see followups) is addressed by at least one item; each item says in
    `proof_note` why it has no fix proof, or whether its proof reaches a latency target."""
    items, seen = [], set()
    for it in candidates(ctx):
        key = repr(it["fix"]) if it["fix"] else it["id"]
        if key in seen:
            continue
        seen.add(key)
        it["addresses"] = followups.addresses(ctx, it)
        items.append(it)
    items += followups.missing(ctx, items, list(risks), _item)
    for it in items:
        it["impact"] = round(lost_points(categories, it["links"]) * it["severity"], 2)
    items.sort(key=lambda i: (-i["impact"], PRIORITY_ORDER[i["priority"]], i["id"]))
    proofs = 0
    for it in items:
        it["fix_proof"] = None
        if it["fix"] and proofs < MAX_PROOFS:
            it["fix_proof"] = proof(ctx, it)
            proofs += 1
        it["proof_note"] = followups.proof_note(ctx, it)
        del it["links"], it["severity"], it["metric"]
    return items


def _metrics(ctx, doc, metric) -> dict:
    r = ctx.runner
    peak, surge = r.run(doc)["metrics"], r.run(doc, rubric.SURGE_MULTIPLIER)["metrics"]
    out = {
        "peak_p95_ms": peak.get("p95_ms"),
        "peak_error_rate": peak.get("error_rate"),
        "surge_error_rate": surge.get("error_rate"),
        "surge_p95_ms": surge.get("p95_ms"),
    }
    kind, arg = metric
    thr = ctx.meas["good_share_threshold_ms"]
    if kind == "failure":
        f = {"mode": "node-down", "component_id": arg[len("fail-node-") :], "replicas": 1}
        out["good_share_under_failure"] = sweep_rows(r, doc, thr, [f])[0]["good_share"]
    elif kind == "zone":
        cid, region, az = arg  # the component's own zone fails (its instances there are lost)
        paths = r.paths(doc)
        c = paths.design.component(cid)
        lost = {cid: [j for j in range(c.instance_count) if c.instance_az(j) == az]}
        bad, _ = degrade(doc, paths, lost)
        out["good_share_when_its_zone_fails"] = share_within(_metrics_of(r.run(bad)), thr)
    elif kind == "capacity" and arg:
        rows = {c["id"]: c for c in r.run(doc, rubric.SURGE_MULTIPLIER)["components"]}
        out["surge_utilization"] = rows.get(arg, {}).get("offered_utilization")
    elif kind == "read-answer":
        out["reads_answered_share"] = r.paths(doc).read_answer_share(arg)
    elif kind == "async":
        out["writes_async_share"] = r.paths(doc).reach_share(
            1, lambda c: c.type == "queue", sync_only=True
        )
    elif kind == "entry":
        out["entry_share"] = r.paths(doc).entry_share()
    return out


def _metrics_of(result: dict) -> dict:
    return result["metrics"]


_BETTER_LOW = {
    "peak_p95_ms",
    "peak_error_rate",
    "surge_error_rate",
    "surge_p95_ms",
    "surge_utilization",
}


def proof(ctx, item) -> dict:
    """Apply the fix to a copy, re-simulate, and report the measured before/after."""
    after_doc = apply_fix(ctx.doc, item["fix"])
    before = _metrics(ctx, ctx.doc, item["metric"])
    after = _metrics(ctx, after_doc, item["metric"])
    primary = [
        k
        for k in before
        if k not in ("peak_p95_ms", "peak_error_rate", "surge_error_rate", "surge_p95_ms")
    ]
    keys = primary or ["surge_error_rate", "peak_p95_ms"]

    def better(k):
        b, a = before.get(k), after.get(k)
        if b is None:
            return a is not None
        if a is None:
            return False
        return a < b - 1e-9 if k in _BETTER_LOW else a > b + 1e-9

    return {
        "before": rnd(before),
        "after": rnd(after),
        "primary": keys,
        "improved": any(better(k) for k in keys),
    }
