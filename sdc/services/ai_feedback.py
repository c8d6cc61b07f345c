"""AI feedback on a grade: providers behind one interface, checked by the evidence guard.

``AI_PROVIDER`` selects ``mock`` (default: deterministic, offline), ``openai-compatible``
(``POST {AI_BASE_URL}/chat/completions``) or ``anthropic`` (``POST {AI_BASE_URL}/v1/messages``).
The model sees only the deterministic report (``build_ai_prompt``) and must answer in
``AI_FEEDBACK_SCHEMA``; ``guard_ai_feedback`` drops items that cite no real evidence. Any
provider failure (HTTP error, timeout, malformed output) yields ``available: False`` with the
reason: the deterministic report always ships.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from sdc.core.grading import PROMPT_VERSION, build_ai_prompt, guard_ai_feedback

PROVIDERS = ("mock", "openai-compatible", "anthropic")
ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MODELS = {
    "mock": "mock-coach-1",
    "openai-compatible": "gpt-4o-mini",
    "anthropic": "claude-3-5-haiku-latest",
}
DEFAULT_BASE_URLS = {
    "openai-compatible": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
}


class ProviderError(Exception):
    """The provider could not give an answer; the message is safe to show to a user."""


@dataclass(frozen=True)
class ProviderConfig:
    provider: str
    base_url: str | None
    api_key: str | None
    model: str
    temperature: float
    max_tokens: int
    timeout_s: float

    @classmethod
    def from_settings(cls, s) -> ProviderConfig:
        provider = s.ai_provider if s.ai_provider in PROVIDERS else "mock"
        return cls(
            provider=provider,
            base_url=(s.ai_base_url or DEFAULT_BASE_URLS.get(provider) or "").rstrip("/") or None,
            api_key=s.ai_api_key,
            model=s.ai_model or DEFAULT_MODELS[provider],
            temperature=s.ai_temperature,
            max_tokens=s.ai_max_tokens,
            timeout_s=s.ai_timeout_s,
        )


def mock_answer(report: dict) -> str:
    """A deterministic answer built from the report itself (what the offline provider says)."""
    items = []
    for action in report.get("action_items", [])[:3]:
        if action.get("evidence"):
            items.append(
                {
                    "text": f"{action['priority']}: {action['title']}.",
                    "evidence": action["evidence"][:3],
                }
            )
    for category in sorted(report.get("categories", []), key=lambda c: c.get("score", 0))[:2]:
        if category.get("evidence"):
            items.append(
                {
                    "text": f"{category['key']} scored {category['score']}/100: {category.get('rationale', '')}"[
                        :900
                    ],
                    "evidence": category["evidence"][:3],
                }
            )
    return json.dumps({"summary": mock_summary(report), "items": items})


def mock_summary(report: dict) -> str:
    """One sentence that agrees with the report: unmet requirements, risks, the first item."""
    reqs = report.get("requirements", [])
    unmet = [r for r in reqs if not r.get("passed")]
    risks = [r for r in report.get("risks", []) if not str(r.get("id", "")).startswith("req-")]
    actions = report.get("action_items", [])
    head = f"Overall {report.get('overall_score')}/100"
    if not unmet and not risks and not actions:
        return f"{head}; every scenario requirement is met and the grader found no risk."
    found = (
        f"{len(unmet)} of {len(reqs)} scenario requirements not met"
        if unmet
        else ("every scenario requirement met")
    )
    if risks:
        found += f", {len(risks)} other risk(s)"
    if not actions:
        return f"{head}; {found}. This report lists no action items for them: regrade it."
    first = actions[0]
    return f"{head}; {found}. Start with the {first['priority']} item: {first['title']}."


def _post(cfg: ProviderConfig, url: str, headers: dict, body: dict) -> dict:
    try:
        resp = httpx.post(url, headers=headers, json=body, timeout=cfg.timeout_s)
    except httpx.TimeoutException as exc:
        raise ProviderError(f"the provider did not answer within {cfg.timeout_s:g} s") from exc
    except httpx.HTTPError as exc:
        raise ProviderError(f"could not reach the provider ({type(exc).__name__})") from exc
    if resp.status_code == 401 or resp.status_code == 403:
        raise ProviderError(f"the provider refused the API key (HTTP {resp.status_code})")
    if resp.status_code == 429:
        raise ProviderError("the provider is rate limiting us (HTTP 429)")
    if resp.status_code >= 400:
        raise ProviderError(f"the provider answered HTTP {resp.status_code}")
    try:
        return resp.json()
    except ValueError as exc:
        raise ProviderError("the provider's response was not JSON") from exc


def call_openai_compatible(cfg: ProviderConfig, system: str, user: str) -> str:
    data = _post(
        cfg,
        f"{cfg.base_url}/chat/completions",
        {"Authorization": f"Bearer {cfg.api_key or ''}", "Content-Type": "application/json"},
        {
            "model": cfg.model,
            "temperature": cfg.temperature,
            "max_tokens": cfg.max_tokens,
            "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        },
    )
    try:
        return data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ProviderError("the provider's response had no message content") from exc


def call_anthropic(cfg: ProviderConfig, system: str, user: str) -> str:
    data = _post(
        cfg,
        f"{cfg.base_url}/v1/messages",
        {
            "x-api-key": cfg.api_key or "",
            "anthropic-version": ANTHROPIC_VERSION,
            "content-type": "application/json",
        },
        {
            "model": cfg.model,
            "max_tokens": cfg.max_tokens,
            "temperature": cfg.temperature,
            "system": system,
            "messages": [{"role": "user", "content": user}],
        },
    )
    try:
        return "".join(block["text"] for block in data["content"] if block.get("type") == "text")
    except (KeyError, TypeError) as exc:
        raise ProviderError("the provider's response had no text content") from exc


def feedback(report: dict, cfg: ProviderConfig) -> dict:
    """AI feedback for ``report``: the guarded answer plus provider, model and prompt version.

    Never raises: ``available`` is False with ``reason`` when the provider failed or answered
    something the guard rejects as a whole.
    """
    meta = {"provider": cfg.provider, "model": cfg.model, "prompt_version": PROMPT_VERSION}
    system, user = build_ai_prompt(report)
    try:
        if cfg.provider == "openai-compatible":
            raw = call_openai_compatible(cfg, system, user)
        elif cfg.provider == "anthropic":
            raw = call_anthropic(cfg, system, user)
        else:
            raw = mock_answer(report)
    except ProviderError as exc:
        return {**meta, "available": False, "reason": f"AI summary unavailable: {exc}."}
    guarded = guard_ai_feedback(report, raw)
    if not guarded.get("valid"):
        problems = "; ".join(guarded.get("problems", [])[:3]) or "malformed answer"
        return {
            **meta,
            "available": False,
            "reason": f"AI summary unavailable: the model's answer was rejected ({problems}).",
            "dropped_items": guarded.get("dropped_items", 0),
        }
    return {**meta, "available": True, **guarded}
