"""The AI evidence guard and the prompt (pure functions)."""

from __future__ import annotations

import json

from sdc.core.grading import (
    AI_FEEDBACK_SCHEMA,
    PROMPT_VERSION,
    build_ai_prompt,
    guard_ai_feedback,
)

REPORT = {
    "scenario": "x",
    "overall_score": 50,
    "categories": [],
    "requirements": [],
    "action_items": [],
    "strengths": [],
    "risks": [],
    "evidence": [
        {"id": "sim-peak", "summary": "p95 40 ms"},
        {"id": "spof-db", "summary": "db is a SPOF"},
    ],
}


def test_valid_output_passes_through():
    out = {
        "summary": "Solid design.",
        "items": [
            {"text": "The database is a single point of failure.", "evidence": ["spof-db"]},
            {"text": "Fast at peak.", "evidence": ["sim-peak", "sim-peak"]},
        ],
    }
    g = guard_ai_feedback(REPORT, json.dumps(out))
    assert g["valid"] and g["dropped_items"] == 0 and g["problems"] == []
    assert g["summary"] == "Solid design."
    assert g["items"][1]["evidence"] == ["sim-peak"]


def test_items_without_real_evidence_are_dropped_and_counted():
    out = {
        "summary": "ok",
        "items": [
            {"text": "Invented claim.", "evidence": ["made-up"]},
            {"text": "Half real.", "evidence": ["spof-db", "ghost"]},
            {"text": "No cites.", "evidence": []},
            {"text": 42, "evidence": ["sim-peak"]},
            "just a string",
        ],
    }
    g = guard_ai_feedback(REPORT, out)
    assert g["valid"] and g["dropped_items"] == 4
    assert g["items"] == [{"text": "Half real.", "evidence": ["spof-db"]}]
    assert any("ghost" in p for p in g["problems"])


def test_malformed_output_is_invalid_with_a_reason():
    for bad, word in (
        ("not json at all", "JSON"),
        ("[1, 2]", "object"),
        (json.dumps({"items": []}), "summary"),
        (json.dumps({"summary": "x", "items": {}}), "items"),
        (json.dumps({"summary": 3, "items": []}), "summary"),
        (b"\xff\xfe", "UTF-8"),
        (None, "object"),
    ):
        g = guard_ai_feedback(REPORT, bad)
        assert g["valid"] is False and g["items"] == [] and word in g["problems"][0], bad


def test_fenced_json_is_tolerated_and_extra_fields_noted():
    text = '```json\n{"summary": "s", "items": [], "mood": "happy"}\n```'
    g = guard_ai_feedback(REPORT, text)
    assert g["valid"] and "mood" in g["problems"][0]


def test_schema_and_prompt():
    assert AI_FEEDBACK_SCHEMA["required"] == ["summary", "items"]
    system, user = build_ai_prompt(REPORT)
    assert (system, user) == build_ai_prompt(REPORT)
    assert "evidence" in system and "sim-peak" in user and "spof-db" in user
    assert PROMPT_VERSION
