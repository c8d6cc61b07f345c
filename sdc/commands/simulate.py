"""`sdc simulate DESIGN.json`: run the simulator from the command line (contract section 7).

Exit status 0 on success, 2 on invalid input (problems on stderr, one per line).
"""

from __future__ import annotations

import json
import sys

import click

from sdc.core.simulation import (
    InvalidDesign,
    load_design_text,
    parse_failure_arg,
    simulate,
)


def _load(path: str, what: str) -> object:
    try:
        with open(path, "rb") as fh:
            data = fh.read(4_000_001)
    except OSError as exc:
        _fail([f"{what}: cannot read {path} ({exc.strerror or exc})"])
    doc, problems = load_design_text(data)
    if problems:
        _fail([f"{what}: {p}" for p in problems])
    return doc


def _fail(lines: list[str]) -> None:
    click.echo("invalid input:", err=True)
    for line in lines:
        click.echo(f"  {line}", err=True)
    sys.exit(2)


def _ms(x) -> str:
    return "-" if x is None else f"{x:,.1f}"


def _pct(x) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def summary(result: dict) -> str:
    """A readable summary of an sdc-result/1 dict."""
    m = result["metrics"]
    lines = [
        f"engine {result['engine']} (v{result.get('engine_version', '?')}), seed {result['seed']}"
    ]
    cap = m.get("capacity_rps")
    lines.append(
        f"offered {m['offered_rps']:,.0f} rps, throughput "
        f"{(m.get('throughput_rps') or 0):,.0f} rps, capacity "
        + (f"{cap:,.0f} rps" if cap else "unbounded")
        + (", SATURATED" if m.get("saturated") else "")
    )
    lat = (
        f"latency mean {_ms(m.get('mean_ms'))} ms, p50 {_ms(m.get('p50_ms'))}, "
        f"p95 {_ms(m.get('p95_ms'))}, p99 {_ms(m.get('p99_ms'))} ms, errors "
        f"{_pct(m.get('error_rate'))}"
    )
    lines.append(lat)
    if m.get("p95_ms_ci"):
        lo, hi = m["p95_ms_ci"]
        lines.append(f"p95 95% CI [{lo:,.1f}, {hi:,.1f}] ms")
    for k, why in (m.get("withheld") or {}).items():
        lines.append(f"  {k} withheld: {why}")
    if result["engine"] == "des" and m.get("slo_ms") is not None:
        source = " (default)" if m.get("slo_source") == "default" else ""
        lines.append(
            f"SLO threshold for the timeline and blast radius: p95 {m['slo_ms']:g} ms{source}"
        )
    lines.append("")
    head = f"{'component':<18}{'type':<15}{'rps':>10}{'util':>8}{'mean ms':>10}{'p95 ms':>10}{'err':>8}"
    lines.append(head)
    lines.append("-" * len(head))
    for c in result["components"]:
        lines.append(
            f"{c['id'][:17]:<18}{c['type']:<15}{c['arrival_rps']:>10,.0f}"
            f"{_pct(c['utilization']):>8}{_ms(c['mean_sojourn_ms']):>10}"
            f"{_ms(c['p95_sojourn_ms']):>10}{_pct(c['error_rate']):>8}"
        )
    if result["bottlenecks"]:
        lines.append("")
        lines.append("bottlenecks:")
        for b in result["bottlenecks"]:
            lines.append(f"  [{b['severity']}] {b['reason']}")
            lines.append(f"      suggestion: {b['suggestion']}")
    if result.get("timeline"):
        lines.append("")
        lines.append("timeline:")
        for e in result["timeline"][:20]:
            lines.append(
                f"  {e['t_s']:>6.1f}s  {e['title']}"
                + (f" ({e['detail']})" if e.get("detail") else "")
            )
    br = result.get("blast_radius")
    if br:
        lines.append("")
        lines.append(
            f"blast radius: {_pct(br['impacted_share'])} of requests failed or slower "
            f"than {br['slo_ms']:g} ms during the failure; impacted: "
            + (", ".join(c["component_id"] for c in br["impacted_components"]) or "none")
        )
        ttr = br.get("time_to_recover_s")
        lines.append(
            f"time to detect {br.get('time_to_detect_s')} s, time to recover "
            + (f"{ttr:g} s" if ttr is not None else "not within the run")
        )
    for w in result.get("warnings", []):
        lines.append(f"warning [{w['code']}]: {w['message']}")
    return "\n".join(lines)


class ProgressBar:
    """A one-line text progress bar on `stream` (stderr), fed fractions 0..1 by the engine
    (one step per component simulated). Never writes to stdout, so --json stays clean."""

    WIDTH = 30

    def __init__(self, stream) -> None:
        self.stream = stream
        self.shown = -1  # nothing written until the engine reports (invalid input: no bar)

    def update(self, frac: float) -> None:
        pct = int(max(0.0, min(1.0, frac)) * 100)
        if pct == self.shown:
            return
        self.shown = pct
        full = pct * self.WIDTH // 100
        self.stream.write(f"\rsimulating [{'#' * full}{' ' * (self.WIDTH - full)}] {pct:3d}%")
        self.stream.flush()

    def close(self) -> None:
        if self.shown >= 0:
            self.stream.write("\n")
            self.stream.flush()


@click.command("simulate")
@click.argument("design_file", metavar="DESIGN.json", type=click.Path(dir_okay=False))
@click.option(
    "--traffic",
    "traffic_file",
    type=click.Path(dir_okay=False),
    help="Traffic profile JSON (overrides the design's traffic).",
)
@click.option(
    "--engine", type=click.Choice(["analytic", "des"]), default="analytic", show_default=True
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True)
@click.option(
    "--failure",
    "failures",
    multiple=True,
    metavar="MODE:ARGS",
    help="e.g. node-down:api,replicas=1,at_s=10,for_s=20 (repeatable; needs des).",
)
@click.option(
    "--duration",
    "duration_s",
    type=float,
    default=None,
    help="Simulated seconds (des; default: the traffic's duration_s).",
)
@click.option(
    "--slo-ms",
    "slo_ms",
    type=float,
    default=None,
    metavar="MS",
    help="p95 SLO in ms that the des timeline ('p95 latency above the SLO') and blast radius "
    "('slower than the SLO') judge against (default: 500).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the sdc-result/1 JSON.")
@click.option(
    "--progress/--no-progress",
    "progress_flag",
    default=None,
    help="Progress bar on stderr for des runs (default: when stderr is a terminal).",
)
def simulate_command(
    design_file, traffic_file, engine, seed, failures, duration_s, slo_ms, as_json, progress_flag
):
    """Simulate DESIGN.json and print a summary (or the result JSON with --json)."""
    doc = _load(design_file, "design")
    traffic = _load(traffic_file, "traffic") if traffic_file else None
    specs = []
    errors = []
    for i, arg in enumerate(failures):
        try:
            specs.append(parse_failure_arg(arg))
        except ValueError as exc:
            errors.append(f"--failure #{i + 1} ({arg}): {exc}")
    if errors:
        _fail(errors)
    if specs and engine != "des":
        engine = "des"
        if not as_json:
            click.echo("failures need the des engine: using --engine des", err=True)
    show = progress_flag if progress_flag is not None else sys.stderr.isatty()
    bar = ProgressBar(sys.stderr) if engine == "des" and show else None
    try:
        result = simulate(
            doc,
            traffic,
            engine=engine,
            seed=seed,
            failures=specs or None,
            duration_s=duration_s,
            slo_ms=slo_ms,
            progress=bar.update if bar is not None else None,
        )
    except InvalidDesign as exc:
        _fail([str(p) for p in exc.problems])
    finally:
        if bar is not None:
            bar.close()
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=False, allow_nan=False))
    else:
        click.echo(summary(result))
