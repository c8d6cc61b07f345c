"""Read-only views of a run for the templates: KPIs, verdict, tables, charts, deltas.

Nothing here touches the database; it reshapes ``run.result`` (``sdc-result/1``) and the run's
design snapshot into what the pages show.
"""

from __future__ import annotations

from sdc.core.simulation import DEFAULT_TRAFFIC
from sdc.services import runs as run_service
from sdc.web.charts import run_charts
from sdc.web.diagram import render_diagram

ACTIVE = ("pending", "running")


def design_of(run) -> dict:
    return (run.input_snapshot or {}).get("design") or {}


def labels_of(design: dict) -> dict[str, str]:
    return {
        str(c.get("id")): str(c.get("label") or c.get("id"))
        for c in design.get("components") or []
        if isinstance(c, dict)
    }


def duration_s(run) -> float:
    traffic = design_of(run).get("traffic") or {}
    try:
        return float(traffic.get("duration_s") or DEFAULT_TRAFFIC.get("duration_s", 60))
    except (TypeError, ValueError):
        return 60.0


def slos_of(run) -> dict:
    return dict(run.version.project.scenario.slos or {})


def kpis(result: dict) -> dict:
    m = (result or {}).get("metrics") or {}
    withheld = m.get("withheld") if isinstance(m.get("withheld"), dict) else {}
    latency = []
    for key, name in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99"), ("mean_ms", "mean")):
        ci = m.get(f"{key}_ci")
        latency.append(
            {
                "key": key,
                "name": name,
                "value": m.get(key),
                "ci": ci if ci and None not in ci else None,
                "withheld": withheld.get(key),
            }
        )
    flow = m.get("flow") or {}
    return {
        "offered_rps": m.get("offered_rps"),
        "throughput_rps": m.get("throughput_rps"),
        "capacity_rps": m.get("capacity_rps"),
        "error_rate": m.get("error_rate"),
        "saturated": m.get("saturated"),
        "latency": latency,
        "flow": flow,
        "littles_law": m.get("littles_law"),
    }


def bottlenecks(result: dict) -> list[dict]:
    rows = list((result or {}).get("bottlenecks") or [])
    return sorted(rows, key=lambda b: -(b.get("offered_utilization") or b.get("utilization") or 0))


def overlay(result: dict) -> dict:
    return {
        c["id"]: {"utilization": c.get("utilization"), "error_rate": c.get("error_rate")}
        for c in (result or {}).get("components") or []
        if isinstance(c, dict) and "id" in c
    }


def page_context(run, *, chart_prefix: str = "chart") -> dict:
    """Everything the results page shows for ``run``."""
    design = design_of(run)
    labels = labels_of(design)
    result = run.result or {}
    slos = slos_of(run)
    done = run.status == "completed" and bool(result)
    ctx = {
        "run": run,
        "version": run.version,
        "project": run.version.project,
        "scenario": run.version.project.scenario,
        "labels": labels,
        "slos": slos,
        "slo_threshold": run_service.slo_threshold(run),
        "done": done,
        "active": run.status in ACTIVE,
    }
    if done:
        ctx.update(
            kpis=kpis(result),
            verdict=run_service.verdict(result, slos),
            bottlenecks=bottlenecks(result),
            timeline=sorted(result.get("timeline") or [], key=lambda e: e.get("t_s") or 0),
            components=result.get("components") or [],
            charts=run_charts(result, labels, slos.get("p95_ms"), prefix=chart_prefix),
            diagram=render_diagram(design, overlay(result), svg_id=f"{chart_prefix}-diagram"),
            warnings=result.get("warnings") or [],
            blast=result.get("blast_radius"),
        )
    else:
        ctx["diagram"] = render_diagram(design, svg_id=f"{chart_prefix}-diagram")
    return ctx


def _delta(after, before):
    if after is None or before is None:
        return None
    return after - before


def comparison(baseline, failure_run) -> dict:
    """Before/after KPIs of a failure run against its baseline (same seed and snapshot)."""
    b = (baseline.result or {}).get("metrics") or {}
    a = (failure_run.result or {}).get("metrics") or {}
    rows = []
    for key, name, kind in (
        ("throughput_rps", "Served rps", "rps"),
        ("p95_ms", "p95 latency", "ms"),
        ("p99_ms", "p99 latency", "ms"),
        ("error_rate", "Error rate", "ratio"),
    ):
        rows.append(
            {
                "key": key,
                "name": name,
                "kind": kind,
                "before": b.get(key),
                "after": a.get(key),
                "delta": _delta(a.get(key), b.get(key)),
            }
        )
    return {
        "run": failure_run,
        "rows": rows,
        "blast": (failure_run.result or {}).get("blast_radius"),
    }


def failure_summary(spec: dict, labels: dict[str, str]) -> str:
    """One line for a failure spec: ``az-down us-east/a at 10 s for 20 s``."""
    mode = spec.get("mode", "?")
    target = {
        "node-down": lambda: (
            labels.get(spec.get("component_id"), spec.get("component_id"))
            + (f" ({spec['replicas']} replicas)" if spec.get("replicas") else " (all replicas)")
        ),
        "az-down": lambda: f"{spec.get('region')}/{spec.get('az')}",
        "region-down": lambda: str(spec.get("region")),
        "dependency-lag": lambda: (
            f"{labels.get(spec.get('component_id'), spec.get('component_id'))}"
            f" +{spec.get('lag_ms')} ms"
        ),
        "traffic-surge": lambda: f"× {spec.get('multiplier')}",
        "cache-cold": lambda: str(labels.get(spec.get("component_id"), spec.get("component_id"))),
    }.get(mode, lambda: "")()
    when = f" at {spec.get('at_s', 10):g} s"
    if spec.get("for_s"):
        when += f" for {spec['for_s']:g} s"
    return f"{mode} {target}{when}".strip()


def regions_and_azs(design: dict) -> tuple[list[str], list[str]]:
    regions, azs = [], []
    for c in design.get("components") or []:
        if not isinstance(c, dict) or c.get("type") == "client":
            continue
        region = c.get("region") or "us-east"
        if region not in regions:
            regions.append(region)
        for az in c.get("azs") or ["a"]:
            if az not in azs:
                azs.append(str(az))
    return regions, sorted(azs)
