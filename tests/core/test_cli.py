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
