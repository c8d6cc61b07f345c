"""`sdc simulate` through click's CliRunner (no app)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sdc.commands.simulate import simulate_command

EXAMPLES = sorted((Path(__file__).parents[2] / "docs" / "examples").glob("*.json"))


@pytest.fixture
def design_file(tmp_path):
    doc = {
        "format": "sdc-design/1",
        "components": [
            {"id": "u", "type": "client"},
            {"id": "api", "type": "service", "replicas": 2},
        ],
        "edges": [{"id": "e", "source": "u", "target": "api"}],
        "traffic": {"baseline_rps": 200, "duration_s": 10},
    }
    p = tmp_path / "d.json"
    p.write_text(json.dumps(doc))
    return p


def test_summary_exit_0(design_file):
    r = CliRunner().invoke(simulate_command, [str(design_file)])
    assert r.exit_code == 0, r.output
    assert "p95" in r.output and "api" in r.output


def test_json_des_with_failure(design_file):
    r = CliRunner().invoke(
        simulate_command,
        [
            str(design_file),
            "--engine",
            "des",
            "--seed",
            "3",
            "--failure",
            "node-down:api,replicas=1,at_s=2",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert res["format"] == "sdc-result/1" and res["engine"] == "des" and res["seed"] == 3
    assert res["blast_radius"] is not None


def test_traffic_file_overrides(design_file, tmp_path):
    t = tmp_path / "t.json"
    t.write_text(json.dumps({"baseline_rps": 50}))
    r = CliRunner().invoke(simulate_command, [str(design_file), "--traffic", str(t), "--json"])
    assert json.loads(r.output)["metrics"]["offered_rps"] == 50


@pytest.mark.parametrize(
    "content,needle",
    [
        ("{not json", "not valid JSON"),
        (
            json.dumps(
                {
                    "format": "sdc-design/1",
                    "components": [{"id": "x", "type": "service"}],
                    "edges": [],
                }
            ),
            "needs at least one client",
        ),
        (json.dumps([1]), "must be a JSON object"),
    ],
)
def test_invalid_input_exit_2(tmp_path, content, needle):
    p = tmp_path / "bad.json"
    p.write_text(content)
    r = CliRunner().invoke(simulate_command, [str(p)])
    assert r.exit_code == 2
    assert needle in r.stderr


def test_missing_file_and_bad_failure_exit_2(design_file, tmp_path):
    r = CliRunner().invoke(simulate_command, [str(tmp_path / "nope.json")])
    assert r.exit_code == 2 and "cannot read" in r.stderr
    r = CliRunner().invoke(simulate_command, [str(design_file), "--failure", "meteor:api"])
    assert r.exit_code == 2 and "unknown failure mode" in r.stderr
    r = CliRunner().invoke(
        simulate_command, [str(design_file), "--engine", "des", "--failure", "node-down:ghost"]
    )
    assert r.exit_code == 2 and "ghost" in r.stderr


def test_examples_exist():
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_run(path):
    r = CliRunner().invoke(simulate_command, [str(path), "--json"])
    assert r.exit_code == 0, r.stderr
    res = json.loads(r.output)
    assert res["warnings"] is not None


def test_summary_is_a_table_with_one_row_per_component(design_file):
    r = CliRunner().invoke(simulate_command, [str(design_file), "--engine", "des", "--seed", "1"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("component"))
    assert lines[head].split() == [
        "component",
        "type",
        "rps",
        "util",
        "mean",
        "ms",
        "p95",
        "ms",
        "err",
    ]
    assert set(lines[head + 1]) == {"-"}
    body = [line.split()[0] for line in lines[head + 2 : head + 4]]
    assert body == ["u", "api"]
    # 200 rps over 2 replicas of 16 servers x 10 ms: about 6% busy
    util = float(lines[head + 3].split()[3].rstrip("%"))
    assert util == pytest.approx(200 * 0.010 / 32 * 100, abs=1.0)
    assert "95% CI" in r.output  # the DES confidence interval is printed


def test_progress_bar_on_stderr_for_des_and_json_stays_clean(design_file):
    r = CliRunner().invoke(
        simulate_command, [str(design_file), "--engine", "des", "--progress", "--json"]
    )
    assert r.exit_code == 0, r.stderr
    assert "simulating [" in r.stderr and r.stderr.rstrip().endswith("100%")
    json.loads(r.stdout)  # stdout is only the JSON
    # analytic runs are instant: no bar; off by default when stderr is not a terminal
    r = CliRunner().invoke(simulate_command, [str(design_file), "--progress"])
    assert "simulating" not in r.stderr
    r = CliRunner().invoke(simulate_command, [str(design_file), "--engine", "des"])
    assert "simulating" not in r.stderr


def test_invalid_design_prints_every_problem_on_stderr_and_no_bar(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text(
        json.dumps(
            {
                "format": "sdc-design/1",
                "components": [
                    {"id": "u", "type": "client"},
                    {"id": "api", "type": "service", "replicas": 0, "tier": "huge"},
                ],
                "edges": [{"id": "e", "source": "u", "target": "ghost"}],
            }
        )
    )
    r = CliRunner().invoke(simulate_command, [str(p), "--engine", "des", "--progress"])
    assert r.exit_code == 2 and r.stdout == ""
    for needle in ("components[1].replicas", "components[1].tier", "edges[0].target"):
        assert needle in r.stderr
    assert "simulating" not in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_run_des_with_a_failure(path):
    doc = json.loads(path.read_text())
    target = next(c["id"] for c in doc["components"] if c["type"] not in ("client", "cdn"))
    r = CliRunner().invoke(
        simulate_command,
        [str(path), "--engine", "des", "--duration", "3", "--seed", "1", "--json"]
        + ["--failure", f"node-down:{target},replicas=1,at_s=1"],
    )
    assert r.exit_code == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["metrics"]["flow"]["conserved"] is True
    assert res["blast_radius"] is not None and res["timeline"]


def test_one_example_per_scenario_domain():
    domains = {
        json.loads(p.read_text())["domain"]
        for p in (Path(__file__).parents[2] / "sdc" / "scenarios").glob("*.json")
    }
    # every example is named for the scenario it answers (overloaded-checkout: e-commerce)
    slug = {"overloaded-checkout": "e-commerce-checkout"}
    covered = {
        json.loads(
            (
                Path(__file__).parents[2] / "sdc" / "scenarios" / f"{slug.get(p.stem, p.stem)}.json"
            ).read_text()
        )["domain"]
        for p in EXAMPLES
    }
    assert covered == domains


def test_slo_ms_option_sets_the_threshold_of_timeline_and_blast_radius(tmp_path):
    from tests.core.helpers import single_station

    # every response takes a little over 100 ms (deterministic service, 20% busy)
    doc = single_station(c=50, service_ms=100.0, dist="deterministic", rps=100.0)
    doc["traffic"]["duration_s"] = 10
    p = tmp_path / "slow.json"
    p.write_text(json.dumps(doc))
    base = [
        str(p),
        "--engine",
        "des",
        "--seed",
        "2",
        "--failure",
        "traffic-surge:multiplier=1.5,at_s=2,for_s=5",
    ]

    r = CliRunner().invoke(simulate_command, [*base, "--slo-ms", "80", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert res["metrics"]["slo_ms"] == 80 and res["metrics"]["slo_source"] == "given"
    breaches = [e for e in res["timeline"] if e["title"] == "p95 latency above the SLO"]
    assert [e["t_s"] for e in breaches] == [0.0]
    assert res["blast_radius"]["slo_ms"] == 80 and res["blast_radius"]["slow_share"] == 1.0

    r = CliRunner().invoke(simulate_command, [*base, "--json"])
    res = json.loads(r.output)
    assert res["metrics"]["slo_ms"] == 500 and res["metrics"]["slo_source"] == "default"
    assert not [e for e in res["timeline"] if e["title"].startswith("p95 latency")]
    assert res["blast_radius"]["slow_share"] == 0.0

    r = CliRunner().invoke(simulate_command, [*base, "--slo-ms", "80"])
    assert r.exit_code == 0, r.output
    assert "SLO threshold for the timeline and blast radius: p95 80 ms" in r.output
    assert "slower than 80 ms" in r.output and "p95 latency above the SLO" in r.output

    for bad in ("0", "-3", "nan"):
        r = CliRunner().invoke(simulate_command, [*base, "--slo-ms", bad])
        assert r.exit_code == 2 and "slo_ms: must be a positive number" in r.output, r.output


def test_slo_ms_is_in_the_help():
    r = CliRunner().invoke(simulate_command, ["--help"])
    assert "--slo-ms" in r.output and "default: 500" in r.output
