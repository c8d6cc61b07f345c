"""AI feedback, the pure parts: the prompt built from a report, and the evidence guard.

The language model only ever sees the deterministic report and must answer in
AI_FEEDBACK_SCHEMA; `guard_ai_feedback` checks the answer against that schema and against the
report's evidence ids. Providers, HTTP and storage live in services, not here.
"""

from __future__ import annotations

import json

PROMPT_VERSION = "1.0.0"
MAX_SUMMARY = 2000
MAX_ITEMS = 20
MAX_TEXT = 1000
MAX_CITES = 10

AI_FEEDBACK_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "sdc-ai-feedback/1",
    "type": "object",
    "additionalProperties": False,
    "required": ["summary", "items"],
    "properties": {
        "summary": {"type": "string", "minLength": 1, "maxLength": MAX_SUMMARY},
        "items": {
            "type": "array",
            "maxItems": MAX_ITEMS,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["text", "evidence"],
                "properties": {
                    "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
                    "evidence": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_CITES,
                        "items": {"type": "string"},
                    },
                },
            },
        },
    },
}

SYSTEM_PROMPT = """You are a system design interview coach. You are given a grading report \
produced by a deterministic grader that simulated the candidate's design. Explain the most \
important findings to the candidate, kindly and concretely.

Rules:
- Use only facts in the report. Never invent numbers, components or measurements.
- Every item must cite one or more evidence ids, copied exactly from the report's "evidence" \
list, that support it. Items without real evidence ids are discarded.
- Prefer the highest-impact action items; mention fix proofs (measured before/after) when present.
- Answer with one JSON object only, no prose around it, matching this JSON schema:
""" + json.dumps(AI_FEEDBACK_SCHEMA, sort_keys=True)


def build_ai_prompt(report: dict) -> tuple[str, str]:
    """(system, user) messages for a model; deterministic for a given report."""
    brief = {
        "scenario": report.get("scenario"),
        "overall_score": report.get("overall_score"),
        "categories": [
            {k: c.get(k) for k in ("key", "weight", "score", "rationale", "evidence")}
            for c in report.get("categories", [])
        ],
        "requirements": [
            {k: r.get(k) for k in ("id", "text", "passed", "detail", "evidence")}
            for r in report.get("requirements", [])
        ],
        "action_items": [
            {
                k: a.get(k)
                for k in ("priority", "title", "detail", "evidence", "impact", "fix_proof")
            }
            for a in report.get("action_items", [])[:10]
        ],
        "strengths": report.get("strengths", []),
        "risks": report.get("risks", []),
        "evidence": [
            {"id": e["id"], "summary": e.get("summary")} for e in report.get("evidence", [])
        ],
    }
    user = (
        "Grading report (JSON):\n"
        + json.dumps(brief, sort_keys=True, ensure_ascii=False)
        + "\n\nWrite the summary and up to 8 items as the JSON object described."
    )
    return SYSTEM_PROMPT, user


def _invalid(reason: str) -> dict:
    return {"summary": None, "items": [], "dropped_items": 0, "valid": False, "problems": [reason]}


def _parse(ai_output: object):
    if isinstance(ai_output, bytes):
        try:
            ai_output = ai_output.decode("utf-8")
        except UnicodeDecodeError:
            return None, "the output is not UTF-8 text"
    if isinstance(ai_output, str):
        text = ai_output.strip()
        if text.startswith("```"):  # a single fenced block is tolerated, nothing else
            lines = text.splitlines()
            if len(lines) >= 2 and lines[-1].strip() == "```":
                text = "\n".join(lines[1:-1])
        try:
            return json.loads(text), None
        except ValueError as exc:
            return None, f"the output is not valid JSON ({exc.msg} at position {exc.pos})"
    return ai_output, None


def guard_ai_feedback(report: dict, ai_output: object) -> dict:
    """Check a model's answer against AI_FEEDBACK_SCHEMA and the report's evidence ids.

    `ai_output` may be the raw text (JSON, optionally in one ``` fence), bytes, or a parsed
    object. Returns {summary, items, dropped_items, valid, problems}: malformed output
    (not JSON, not an object, wrong summary/items types) -> valid False with the reason; an
    item that is malformed or cites no existing evidence id is dropped and counted; unknown ids
    inside an otherwise grounded item are removed and reported.
    """
    data, err = _parse(ai_output)
    if err:
        return _invalid(err)
    if not isinstance(data, dict):
        return _invalid(f"the output must be a JSON object, not {type(data).__name__}")
    problems = []
    extra = sorted(set(data) - {"summary", "items"})
    if extra:
        problems.append(f"unexpected fields ignored: {', '.join(map(str, extra))}")
    summary = data.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        return _invalid("summary must be a non-empty string")
    if len(summary) > MAX_SUMMARY:
        return _invalid(f"summary is longer than {MAX_SUMMARY} characters")
    items = data.get("items")
    if not isinstance(items, list):
        return _invalid("items must be a list")
    if len(items) > MAX_ITEMS:
        problems.append(f"only the first {MAX_ITEMS} items were considered")
    known = {e.get("id") for e in report.get("evidence", []) if isinstance(e, dict)}
    kept, dropped = [], len(items[MAX_ITEMS:])
    for i, it in enumerate(items[:MAX_ITEMS]):
        why = _item_problem(it)
        if why:
            dropped += 1
            problems.append(f"items[{i}] dropped: {why}")
            continue
        real = [e for e in dict.fromkeys(it["evidence"]) if e in known]
        fake = [e for e in it["evidence"] if e not in known]
        if not real:
            dropped += 1
            problems.append(f"items[{i}] dropped: cites no evidence id of the report")
            continue
        if fake:
            problems.append(f"items[{i}]: unknown evidence ids removed: {', '.join(fake[:5])}")
        kept.append({"text": it["text"].strip(), "evidence": real})
    return {
        "summary": summary.strip(),
        "items": kept,
        "dropped_items": dropped,
        "valid": True,
        "problems": problems,
    }


def _item_problem(it: object) -> str | None:
    if not isinstance(it, dict):
        return "not an object"
    text, cites = it.get("text"), it.get("evidence")
    if not isinstance(text, str) or not text.strip():
        return "text must be a non-empty string"
    if len(text) > MAX_TEXT:
        return f"text is longer than {MAX_TEXT} characters"
    if not isinstance(cites, list) or not cites:
        return "evidence must be a non-empty list of ids"
    if len(cites) > MAX_CITES or not all(isinstance(c, str) for c in cites):
        return f"evidence must be at most {MAX_CITES} strings"
    return None
