"""`sdc grade`: summary, --json, exit status 2 on bad input."""

from __future__ import annotations

import json

from click.testing import CliRunner

from sdc.commands.grade import grade_command

from .helpers import EXAMPLES

DESIGN = str(EXAMPLES / "url-shortener" / "weak.json")


def _run(*args):
    return CliRunner().invoke(grade_command, list(args))


def test_summary_and_json():
    r = _run(DESIGN, "--scenario", "url-shortener")
    assert r.exit_code == 0, r.output
    assert "url-shortener:" in r.output and "Action items" in r.output
    r = _run(DESIGN, "--scenario", "url-shortener", "--json", "--seed", "0")
    assert r.exit_code == 0
    report = json.loads(r.output)
    assert {
        "overall_score",
        "categories",
        "action_items",
        "strengths",
        "risks",
        "rubric_version",
    } <= set(report)


def test_exit_2_on_bad_input(tmp_path):
    r = _run(DESIGN, "--scenario", "no-such-scenario")
    assert r.exit_code == 2 and "unknown scenario" in r.output
    r = _run(str(tmp_path / "missing.json"), "--scenario", "url-shortener")
    assert r.exit_code == 2 and "cannot read" in r.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = _run(str(bad), "--scenario", "url-shortener")
    assert r.exit_code == 2 and "not valid JSON" in r.output
    invalid = tmp_path / "invalid.json"
    invalid.write_text(
        json.dumps(
            {
                "format": "sdc-design/1",
                "components": [{"id": "a", "type": "service", "replicas": 0}],
                "edges": [],
            }
        )
    )
    r = _run(str(invalid), "--scenario", "url-shortener")
    assert r.exit_code == 2 and "replicas" in r.output
    arr = tmp_path / "arr.json"
    arr.write_text("[]")
    assert _run(str(arr), "--scenario", "url-shortener").exit_code == 2
