"""Scenario requirement checks (catalog CHECK_TYPES), each evaluated on measured evidence.

Only components on a request path count: every check reads the routing plan or a simulation,
so an unwired box can never pass a requirement.
"""

from __future__ import annotations

from sdc.core.simulation import single_points_of_failure

from .evidence import Evidence, ms, pct, rps
from .notes import NotesFacts
from .paths import Paths

REQUIRED_SHARE = 0.999  # "all requests" with room for float error


def evaluate(
    requirements: list,
    slos: dict,
    peak_rps: float,
    paths: Paths,
    meas: dict,
    facts: NotesFacts,
    ev: Evidence,
    doc: dict,
) -> list[dict]:
    """One row per requirement: {id, kind, text, passed, detail, evidence}."""
    out = []
    for req in requirements:
        check = req.get("check", {})
        fn = _CHECKS.get(check.get("type"))
        if fn is None:
            passed, detail, ids = False, f"unknown check type {check.get('type')!r}", []
        else:
            passed, detail, ids = fn(check, slos, peak_rps, paths, meas, facts, ev, doc)
        out.append(
            {
                "id": req["id"],
                "kind": req.get("kind", "functional"),
                "text": req["text"],
                "check": check.get("type"),
                "passed": bool(passed),
                "detail": detail,
                "evidence": ids,
            }
        )
    return out


def _types_on(paths: Paths, types, op: int) -> list[str]:
    vis = paths.visited_by(op, sync_only=op == 0)
    return [c.id for c in paths.comps if c.type in types and c.id in vis]


def read_cache(check, slos, peak, paths, meas, facts, ev, doc):
    types = check.get("component_types") or ["cache", "cdn"]
    need = float(check.get("min_hit_ratio", 0.8))
    share = paths.read_answer_share(types)
    on = _types_on(paths, types, 0)
    eid = ev.add(
        f"path-reads-answered-{'-'.join(types)}",
        "path",
        f"{pct(share)} of reads are answered by {'/'.join(types)} on the read path"
        + (f" ({', '.join(on)})" if on else " (none on the read path)"),
        share=share,
        components=on,
        required=need,
    )
    return share >= need - 1e-9, f"{pct(share)} of reads answered (need {pct(need)})", [eid]


def _reach(op: int):
    def check_fn(check, slos, peak, paths, meas, facts, ev, doc):
        t = check.get("component_type", "database")
        share = paths.reach_share(op, lambda c: c.type == t, sync_only=op == 0)
        on = _types_on(paths, {t}, op)
        word = ("reads", "writes")[op]
        eid = ev.add(
            f"path-{word}-reach-{t}",
            "path",
            f"{pct(share)} of {word} reach {_article(t)} {t}"
            + (f" ({', '.join(on)})" if on else ""),
            share=share,
            components=on,
        )
        return share >= REQUIRED_SHARE, f"{pct(share)} of {word} reach {_article(t)} {t}", [eid]

    return check_fn


def async_write(check, slos, peak, paths, meas, facts, ev, doc):
    queues = paths.has_queue_boundary(1)
    share = paths.reach_share(1, lambda c: c.type == "queue", sync_only=True)
    rows = {c["id"]: c for c in meas["peak_components"]}
    growing = [q for q in queues if rows.get(q, {}).get("backlog_note")]
    eid = ev.add(
        "path-async-write",
        "path",
        (
            f"{pct(share)} of writes cross a queue ({', '.join(queues)})"
            if queues
            else "no queue with a consumer on the write path"
        )
        + (f"; backlog grows without bound at {', '.join(growing)}" if growing else ""),
        share=share,
        queues=queues,
        backlog_growing=growing,
        measured=True,
    )
    ok = bool(queues) and share >= 0.5 and not growing
    return (
        ok,
        (
            "writes are made asynchronous by " + ", ".join(queues)
            if ok
            else "no keep-up queue on at least half of the write path"
        ),
        [eid],
    )


def read_replicas(check, slos, peak, paths, meas, facts, ev, doc):
    need = int(check.get("min", 1))
    reads = paths.visited_by(0)
    dbs = [c for c in paths.comps if c.type == "database" and c.id in reads]
    have = {c.id: int(c.params.get("read_replicas", 0)) for c in dbs}
    eid = ev.add(
        "path-read-replicas",
        "path",
        "read-path databases: "
        + (", ".join(f"{k} has {v} read replicas" for k, v in have.items()) or "none"),
        read_replicas=have,
        required=need,
    )
    ok = bool(have) and all(v >= need for v in have.values())
    return ok, f"read replicas {have or 'none'} (need {need})", [eid]


def entry_router(check, slos, peak, paths, meas, facts, ev, doc):
    share = paths.entry_share()
    eid = ev.add(
        "path-entry",
        "path",
        f"{pct(share)} of requests enter through a load balancer, API gateway or CDN",
        share=share,
    )
    return share >= REQUIRED_SHARE, f"{pct(share)} enter through a router", [eid]


def multi_az(check, slos, peak, paths, meas, facts, ev, doc):
    single = [cid for cid in paths.on_path() if len(paths.az_spread(cid)) < 2]
    eid = ev.add(
        "path-multi-az",
        "path",
        "every request-path component spans at least 2 AZs"
        if not single
        else f"single-AZ on a request path: {', '.join(single)}",
        single_az=single,
    )
    return (
        not single,
        ("all span 2+ AZs" if not single else f"{len(single)} component(s) in one AZ"),
        [eid],
    )


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def serves_nothing(meas) -> bool:
    """True when not one request completes at a trickle (1% of peak)."""
    err = meas["floor"]["error_rate"]
    return err is None or err >= 1.0


def no_spof(check, slos, peak, paths, meas, facts, ev, doc):
    """Passes when no component's loss cuts a request path - and requests do complete: a
    design that serves nothing (no path past the client) has no redundancy to credit."""
    spofs = single_points_of_failure(doc)
    if not spofs and serves_nothing(meas):
        ids = [ev.add("spof-none", "path", "no request completes, so no path can be redundant")]
        return False, "no request completes even at a trickle: nothing to be redundant", ids
    ids = [spof_evidence(ev, paths, c) for c in spofs] or [
        ev.add("spof-none", "path", "no single point of failure on any request path")
    ]
    return (
        not spofs,
        (
            "no single point of failure"
            if not spofs
            else f"single points of failure: {', '.join(spofs)}"
        ),
        ids,
    )


def spof_evidence(ev: Evidence, paths: Paths, cid: str) -> str:
    return ev.add(
        f"spof-{cid}",
        "path",
        f"{cid} has one instance and its loss cuts a request path",
        component_id=cid,
        replicas=paths.design.component(cid).replicas,
    )


def survives_az(check, slos, peak, paths, meas, facts, ev, doc):
    budget = float(check.get("max_error_rate", slos["max_error_rate"]))
    rows = [r for r in meas["sweep"] if r["failure"]["mode"] == "az-down"]
    bad = [r for r in rows if r["error_rate"] is None or r["error_rate"] > budget]
    ids = [r["id"] for r in rows]
    if not rows:
        return False, "no AZ on a request path", ids
    worst = max(rows, key=lambda r: (1.0 if r["error_rate"] is None else r["error_rate"], r["id"]))
    return (
        not bad,
        (
            f"worst AZ loss ({worst['id'][8:]}): error rate "
            f"{pct(worst['error_rate']) if worst['error_rate'] is not None else 'overload'}"
            f" (budget {pct(budget)})"
        ),
        ids,
    )


def latency(check, slos, peak, paths, meas, facts, ev, doc):
    p = check.get("percentile", "p95")
    key = f"{p}_ms"
    got, slo = meas["peak"].get(key), float(check.get("ms", slos[key]))
    ok = got is not None and got <= slo and (meas["peak"]["error_rate"] or 0) <= 0.01
    return ok, f"{p} at peak {ms(got)} (SLO {ms(slo)})", ["sim-peak"]


def surge(check, slos, peak, paths, meas, facts, ev, doc):
    mult = float(check.get("multiplier", 2))
    budget = float(check.get("max_error_rate", slos["max_error_rate"]))
    m = meas["surge"] if abs(mult - 2.0) < 1e-9 else meas["extra_surges"][str(mult)]
    err = m["error_rate"]
    ok = err is not None and err <= budget
    return (
        ok,
        (
            f"error rate at {mult:g}x peak ({rps(m['offered_rps'])}): "
            f"{pct(err) if err is not None else 'overloaded'} (budget {pct(budget)})"
        ),
        ["sim-surge" if abs(mult - 2.0) < 1e-9 else f"sim-surge-{mult:g}x"],
    )


def notes_estimate(check, slos, peak, paths, meas, facts, ev, doc):
    factor = float(check.get("factor", 2.0))
    got = facts.stated_peak_rps
    ok = got is not None and peak / factor <= got <= peak * factor
    return (
        ok,
        (
            f"stated {rps(got)} vs required peak {rps(peak)}"
            if got is not None
            else "no request rate stated in the notes"
        ),
        ["notes-estimate"],
    )


def notes_sections(check, slos, peak, paths, meas, facts, ev, doc):
    need = check.get("sections", [])
    missing = [s for s in need if facts.sections.get(s, 0.0) < 0.5]
    return (
        not missing,
        (
            "all sections present with substance"
            if not missing
            else f"missing or thin: {', '.join(missing)}"
        ),
        ["notes-sections"],
    )


_CHECKS = {
    "read-cache": read_cache,
    "write-reaches": _reach(1),
    "read-reaches": _reach(0),
    "async-write": async_write,
    "read-replicas": read_replicas,
    "entry-router": entry_router,
    "multi-az": multi_az,
    "no-spof": no_spof,
    "survives-az-down": survives_az,
    "latency-slo": latency,
    "surge": surge,
    "notes-estimate": notes_estimate,
    "notes-sections": notes_sections,
}
