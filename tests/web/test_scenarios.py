"""The scenario catalog: data files, seeding, filters and search."""

import json

import pytest

from sdc.core.catalog import load_catalog, validate_scenario
from sdc.extensions import db
from sdc.models import Scenario
from sdc.services.scenarios import seed_scenarios

REQUIRED = {
    "url-shortener",
    "twitter-feed",
    "realtime-chat",
    "video-upload-processing",
    "ride-matching",
}


def test_catalog_has_required_scenarios_each_fully_specified():
    specs = load_catalog()
    assert len(specs) >= 10
    assert REQUIRED <= {s.slug for s in specs}
    for s in specs:
        assert len(s.requirements) >= 8, s.slug
        assert {"p95_ms", "p99_ms", "availability", "max_error_rate"} <= set(s.slos)
        assert abs(sum(s.traffic["regions"].values()) - 1) < 1e-9


def test_invalid_scenario_lists_every_problem():
    problems = validate_scenario(
        {
            "slug": "x",
            "title": "t",
            "brief": "b",
            "difficulty": "easy",
            "domain": "d",
            "estimated_minutes": 5,
            "traffic": {"baseline_rps": -1},
            "slos": {},
            "requirements": [],
        }
    )
    text = "\n".join(problems)
    assert "difficulty: must be one of" in text
    assert "traffic.baseline_rps" in text and "slos.p95_ms" in text and "at least 8 checks" in text


def _valid_doc() -> dict:
    from importlib import resources

    text = resources.files("sdc").joinpath("scenarios/url-shortener.json").read_text("utf-8")
    return json.loads(text)


def test_a_shipped_scenario_validates_cleanly():
    assert validate_scenario(_valid_doc()) == []


def _set(path: str, value):
    def change(doc):
        *parents, last = path.split(".")
        target = doc
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return change


def _only_kind(kind: str):
    def change(doc):
        doc["requirements"] = [dict(r, kind=kind) for r in doc["requirements"]]

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("title", ""), "title: must be a non-empty string"),
        (_set("brief", None), "brief: must be a non-empty string"),
        (_set("domain", 7), "domain: must be a non-empty string"),
        (_set("estimated_minutes", 0), "estimated_minutes: must be a whole number"),
        (_set("estimated_minutes", "45"), "estimated_minutes: must be a whole number"),
        (_set("estimated_minutes", True), "estimated_minutes: must be a whole number"),
        (_set("traffic.duration_s", -5), "traffic.duration_s: must be a number of seconds"),
        (_set("traffic.peak_multiplier", 51), "traffic.peak_multiplier: must be between 1 and 50"),
        (_set("slos.p95_ms", 900), "slos.p95_ms: must be above 0 and at most slos.p99_ms"),
        (_set("slos.availability", 99.9), "slos.availability: must be a fraction"),
        (_set("slos.max_error_rate", -0.1), "slos.max_error_rate: must be a fraction"),
        (_set("slos", []), "slos: must be an object"),
        (_set("requirements.0.kind", "nice-to-have"), "requirements[0].kind: must be one of"),
        (_set("requirements.0.text", " "), "requirements[0].text: must be a non-empty"),
        (_set("requirements.0.check", "cache"), "requirements[0].check.type: unknown"),
        (_only_kind("non-functional"), "needs at least one functional check"),
        (_only_kind("functional"), "needs at least one non-functional check"),
    ],
)
def test_each_malformed_field_is_named(change, message):
    doc = _valid_doc()
    change(doc)
    problems = validate_scenario(doc, "url-shortener.json")
    assert any(message in p for p in problems), problems
    assert all(p.startswith("url-shortener.json: ") for p in problems)


def test_seed_is_idempotent(app):
    with app.app_context():
        assert seed_scenarios() == (0, 0)  # the fixture already seeded
        row = db.session.query(Scenario).filter_by(slug="url-shortener").one()
        row.title = "changed"
        db.session.commit()
        assert seed_scenarios() == (0, 1)
        assert db.session.query(Scenario).count() == len(load_catalog())


def test_sdc_seed_command(runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "0 created" in result.output


def test_catalog_requires_sign_in(client):
    resp = client.get("/scenarios/")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


@pytest.mark.parametrize(
    ("query", "expected", "absent"),
    [
        ("?difficulty=beginner", {"URL shortener", "Pastebin"}, {"Ride matching"}),
        ("?domain=messaging", {"Real-time chat", "Notification service"}, {"URL shortener"}),
        ("?q=transcod", {"Video upload and processing"}, {"URL shortener"}),
        ("?q=%25", set(), {"URL shortener"}),  # a literal % matches nothing, not everything
    ],
)
def test_filters_and_search(logged_in, query, expected, absent):
    body = logged_in.get("/scenarios/" + query).get_data(as_text=True)
    for title in expected:
        assert title in body
    for title in absent:
        assert title not in body


def test_partial_for_htmx(hx):
    resp = hx.get("/scenarios/?q=chat")
    assert resp.status_code == 200
    assert resp.get_data(as_text=True).startswith('<section id="scenario-list"')
    assert "HX-Request" in resp.headers["Vary"]


def test_json(logged_in):
    data = json.loads(
        logged_in.get(
            "/scenarios/?difficulty=advanced", headers={"Accept": "application/json"}
        ).data
    )
    assert {s["difficulty"] for s in data["scenarios"]} == {"advanced"}
