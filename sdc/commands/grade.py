"""`sdc grade DESIGN.json --scenario SLUG`: grade a design against a catalog scenario.

Prints a readable summary, or the full report with `--json`. Exit status 0 on success, 2 on
an unreadable file, an invalid design or an unknown scenario (the reason on stderr).
"""

from __future__ import annotations

import json
import sys

import click

from sdc.core.catalog import load_catalog
from sdc.core.grading import grade
from sdc.core.simulation import InvalidDesign, load_design_text


def _fail(lines: list[str]) -> None:
    click.echo("cannot grade:", err=True)
    for line in lines:
        click.echo(f"  {line}", err=True)
    sys.exit(2)


def _bar(score: float, width: int = 20) -> str:
    n = int(round(score / 100 * width))
    return "#" * n + "." * (width - n)


def summary(report: dict) -> str:
    """A readable summary of a grading report."""
    out = [
        f"{report['scenario']}: {report['overall_score']:.1f} / 100   (rubric "
        f"{report['rubric_version']}, engine {report['engine_version']}, "
        f"{report['measured_share'] * 100:.0f}% of the score measured)",
        "",
    ]
    for c in report["categories"]:
        out.append(
            f"  {c['title']:<30} {_bar(c['score'])} {c['score']:5.1f}  (weight {c['weight']})"
        )
        out.append(f"      {c['rationale']}")
    out += ["", "Requirements:"]
    for r in report["requirements"]:
        out.append(f"  [{'x' if r['passed'] else ' '}] {r['text']}  -- {r['detail']}")
    if report["action_items"]:
        out += ["", "Action items (by impact):"]
        for a in report["action_items"]:
            out.append(f"  {a['priority']} {a['title']}  (+{a['impact']:.1f} pts at stake)")
            out.append(f"      {a['detail']}")
            p = a.get("fix_proof")
            if p:
                diff = ", ".join(
                    f"{k} {p['before'].get(k)} -> {p['after'].get(k)}" for k in p["primary"]
                )
                out.append(
                    f"      fix {a['fix']['kind']}: {diff}"
                    + ("" if p["improved"] else " (no measured improvement)")
                )
            if a.get("proof_note"):
                out.append(f"      {a['proof_note']}")
    elif report["risks"] or not all(r["passed"] for r in report["requirements"]):
        out += ["", "Action items: none listed for the unmet requirements and risks below."]
    else:
        out += ["", "Action items: none; every requirement is met and no risk was found."]
    for title, key in (("Strengths", "strengths"), ("Risks", "risks")):
        if report[key]:
            out += ["", f"{title}:"] + [f"  - {s['text']}" for s in report[key]]
    return "\n".join(out)


@click.command("grade")
@click.argument("design", type=click.Path(dir_okay=False))
@click.option("--scenario", "slug", required=True, help="Scenario slug from the catalog.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
def grade_command(design: str, slug: str, seed: int, as_json: bool) -> None:
    """Grade DESIGN.json (sdc-design/1) against a scenario of the catalog."""
    scenarios = {s.slug: s for s in load_catalog()}
    if slug not in scenarios:
        _fail([f"unknown scenario {slug!r}; choose one of {', '.join(sorted(scenarios))}"])
    try:
        with open(design, "rb") as fh:
            data = fh.read(4_000_001)
    except OSError as exc:
        _fail([f"cannot read {design} ({exc.strerror or exc})"])
    doc, problems = load_design_text(data)
    if problems:
        _fail([str(p) for p in problems])
    if not isinstance(doc, dict):
        _fail(["the design must be a JSON object"])
    try:
        report = grade(doc, scenarios[slug], seed=seed)
    except InvalidDesign as exc:
        _fail([str(p) for p in exc.problems])
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True))
    else:
        click.echo(summary(report))
