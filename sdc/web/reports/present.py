"""Read-only shaping of a report for its one template (page, PDF and shared view)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from sdc.web.diagram import render_diagram
from sdc.web.notes import render_markdown
from sdc.web.xy_chart import Series, xy_chart

PRINT_CSS = "css/report_print.css"


def _overlay(result: dict | None) -> dict:
    return {
        c["id"]: {"utilization": c.get("utilization"), "error_rate": c.get("error_rate")}
        for c in (result or {}).get("components") or []
        if isinstance(c, dict) and "id" in c
    }


def kpi_rows(result: dict | None) -> list[dict]:
    m = (result or {}).get("metrics") or {}
    rows = [
        ("offered_rps", "Offered load", "rps"),
        ("throughput_rps", "Served throughput", "rps"),
        ("capacity_rps", "Capacity", "rps"),
        ("p50_ms", "p50 latency", "ms"),
        ("p95_ms", "p95 latency", "ms"),
        ("p99_ms", "p99 latency", "ms"),
        ("error_rate", "Error rate", "ratio"),
    ]
    return [
        {"key": k, "label": label, "kind": kind, "value": m.get(k), "ci": m.get(f"{k}_ci")}
        for k, label, kind in rows
    ]


def failure_text(spec: dict, labels: dict) -> str:
    mode = str(spec.get("mode", "?"))
    target = spec.get("component_id") or spec.get("az") or spec.get("region") or ""
    target = labels.get(target, target)
    extra = f" x{spec['multiplier']}" if spec.get("multiplier") else ""
    return f"{mode} {target}{extra}".strip()


def score_chart(history: list[dict], chart_id: str = "score-history"):
    points = [(h["version"].number, h["score"]) for h in history]
    return xy_chart(
        [Series("Overall score", points)],
        chart_id=chart_id,
        title="Overall grade by version",
        x_label="version",
        y_label="score",
        x_format=lambda v: f"v{v:.0f}",
        y_max=100.0,
        x_ticks=[h["version"].number for h in history],
        markers=True,
    )


def print_css() -> str:
    return (Path(current_app.static_folder) / PRINT_CSS).read_text(encoding="utf-8")


def context(data: dict, *, print_mode: bool = False, shared: bool = False) -> dict:
    """Template context of ``reports/show.html`` / ``reports/shared.html``."""
    design = data["design"]
    labels = {
        str(c.get("id")): str(c.get("label") or c.get("id"))
        for c in design.get("components") or []
        if isinstance(c, dict)
    }
    run = data["run"]
    ctx = {
        **data,
        "labels": labels,
        "print": print_mode,
        "shared": shared,
        "diagram": render_diagram(
            design, _overlay(run.result if run else None), svg_id="report-diagram"
        ),
        "kpis": kpi_rows(run.result if run else None),
        "score_chart": score_chart(data["history"])
        if any(h["score"] is not None for h in data["history"])
        else None,
        "notes_html": render_markdown(data["notes"]) if data["notes"] else None,
        "failure_text": lambda spec: failure_text(spec, labels),
        "components": [c for c in design.get("components") or [] if isinstance(c, dict)],
    }
    if print_mode:
        ctx["print_css"] = print_css()
    return ctx
