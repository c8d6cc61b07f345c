"""The AI providers against a fake HTTP server on loopback, in both real request shapes."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sdc.services import ai_feedback
from sdc.services.ai_feedback import ProviderConfig

REPORT = {
    "overall_score": 61,
    "evidence": [
        {"id": "ev-spof-db", "summary": "db is a single point of failure"},
        {"id": "ev-p95", "summary": "p95 180 ms at peak"},
    ],
    "categories": [
        {
            "key": "reliability-fault-tolerance",
            "score": 40,
            "rationale": "db is a SPOF",
            "evidence": ["ev-spof-db"],
        }
    ],
    "action_items": [
        {
            "id": "a1",
            "priority": "P0",
            "title": "Add a database replica",
            "evidence": ["ev-spof-db"],
        }
    ],
}
GOOD = {
    "summary": "Your database is a single point of failure.",
    "items": [
        {"text": "Add a replica to the database.", "evidence": ["ev-spof-db"]},
        {"text": "Invented claim.", "evidence": ["ev-made-up"]},
    ],
}


class FakeProvider:
    """Records requests; answers with ``status`` and ``body`` (or sleeps ``delay_s``)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        self.body: bytes = b"{}"
        self.delay_s = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                fake.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "json": json.loads(self.rfile.read(length)),
                    }
                )
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                try:
                    self.send_response(fake.status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(fake.body)
                except BrokenPipeError:
                    pass  # the client timed out first, as the timeout test intends

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    server = FakeProvider()
    yield server
    server.close()


def config(provider: str, url: str, timeout_s: float = 2.0) -> ProviderConfig:
    return ProviderConfig(
        provider=provider,
        base_url=url,
        api_key="sk-test",
        model="m-1",
        temperature=0.1,
        max_tokens=300,
        timeout_s=timeout_s,
    )


def openai_body(content: str) -> bytes:
    return json.dumps(
        {"choices": [{"message": {"role": "assistant", "content": content}}]}
    ).encode()


def anthropic_body(text: str) -> bytes:
    return json.dumps({"content": [{"type": "text", "text": text}], "role": "assistant"}).encode()


def test_openai_compatible_request_shape_and_guarded_answer(fake):
    fake.body = openai_body(json.dumps(GOOD))
    out = ai_feedback.feedback(REPORT, config("openai-compatible", fake.url + "/v1"))
    req = fake.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    assert req["json"]["model"] == "m-1" and req["json"]["max_tokens"] == 300
    assert [m["role"] for m in req["json"]["messages"]] == ["system", "user"]
    assert "ev-spof-db" in req["json"]["messages"][1]["content"]  # the model sees the report
    assert out["available"] and out["provider"] == "openai-compatible" and out["model"] == "m-1"
    assert [i["evidence"] for i in out["items"]] == [["ev-spof-db"]]
    assert out["dropped_items"] == 1 and out["prompt_version"]


def test_anthropic_request_shape(fake):
    fake.body = anthropic_body(json.dumps(GOOD))
    out = ai_feedback.feedback(REPORT, config("anthropic", fake.url))
    req = fake.requests[0]
    assert req["path"] == "/v1/messages"
    assert req["headers"]["x-api-key"] == "sk-test"
    assert req["headers"]["anthropic-version"] == ai_feedback.ANTHROPIC_VERSION
    assert isinstance(req["json"]["system"], str) and req["json"]["messages"][0]["role"] == "user"
    assert out["available"] and out["dropped_items"] == 1


@pytest.mark.parametrize("provider", ["openai-compatible", "anthropic"])
@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (401, b'{"error": "bad key"}', "refused the API key"),
        (429, b'{"error": "slow down"}', "rate limiting"),
        (500, b"oops", "HTTP 500"),
        (200, b"not json at all", "not JSON"),
        (200, b'{"unexpected": true}', "no "),
    ],
)
def test_provider_errors_leave_the_report_without_ai(fake, provider, status, body, reason):
    fake.status, fake.body = status, body
    out = ai_feedback.feedback(REPORT, config(provider, fake.url))
    assert out["available"] is False and reason in out["reason"]


@pytest.mark.parametrize("provider", ["openai-compatible", "anthropic"])
def test_malformed_model_output_is_rejected(fake, provider):
    answer = "I think your design is great!"  # prose, not the schema
    fake.body = openai_body(answer) if provider == "openai-compatible" else anthropic_body(answer)
    out = ai_feedback.feedback(REPORT, config(provider, fake.url))
    assert out["available"] is False and "rejected" in out["reason"]


def test_timeout(fake):
    fake.delay_s = 1.0
    fake.body = openai_body(json.dumps(GOOD))
    started = time.monotonic()
    out = ai_feedback.feedback(REPORT, config("openai-compatible", fake.url, timeout_s=0.2))
    assert out["available"] is False and "within 0.2 s" in out["reason"]
    assert time.monotonic() - started < 1.0


def test_unreachable_provider():
    out = ai_feedback.feedback(REPORT, config("anthropic", "http://127.0.0.1:9"))
    assert out["available"] is False and "could not reach" in out["reason"]


def test_mock_provider_is_deterministic_and_grounded():
    cfg = config("mock", None)
    first, second = ai_feedback.feedback(REPORT, cfg), ai_feedback.feedback(REPORT, cfg)
    assert first == second and first["available"] and first["dropped_items"] == 0
    assert all(set(i["evidence"]) <= {"ev-spof-db", "ev-p95"} for i in first["items"])


def _req(rid: str, passed: bool) -> dict:
    return {"id": rid, "text": rid, "passed": passed, "detail": "", "evidence": ["ev-p95"]}


def test_mock_summary_agrees_with_the_report():
    """It names what is unmet and the first item; it never sends the reader to items that do
    not exist or calls a report with an unmet requirement clean."""
    cfg = config("mock", None)
    unmet = dict(
        REPORT,
        requirements=[_req("p95", False), _req("spof", True)],
        risks=[
            {"id": "req-p95", "text": "Not met: p95", "evidence": ["ev-p95"]},
            {"id": "latency-floor", "text": "floor", "evidence": ["ev-p95"]},
        ],
    )
    summary = ai_feedback.feedback(unmet, cfg)["summary"]
    assert "1 of 2 scenario requirements not met, 1 other risk(s)" in summary
    assert "Start with the P0 item: Add a database replica." in summary
    clean = dict(REPORT, requirements=[_req("spof", True)], risks=[], action_items=[])
    summary = ai_feedback.feedback(clean, cfg)["summary"]
    assert "every scenario requirement is met" in summary and "Start with" not in summary
    stale = dict(unmet, action_items=[])  # a report from before every risk had an item
    summary = ai_feedback.feedback(stale, cfg)["summary"]
    assert "no action items" in summary and "Start with" not in summary
