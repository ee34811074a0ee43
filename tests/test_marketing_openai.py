"""The marketing graph with `llm.provider: openai` against a local OpenAI-compatible server
(real HTTP on 127.0.0.1) that answers garbage once, then valid JSON and real tool calls."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from graphs.core import clock
from graphs.storage.checkpoint import open_saver
from graphs.clients.llm import OpenAIChat
from graphs.core.config import Config
from graphs.marketing_team.graph import build_graph, initial_input, make_context, summarize_state
from graphs.marketing_team.offline import marketing_responder
from graphs.marketing_team.state import WORKERS
from graphs.sandbox.server import serve

KEY = "sk-local-abcdef0123456789"


class ChatServer:
    """Speaks POST /v1/chat/completions. The first JSON-mode request gets prose; a 503 comes once;
    everything else is answered by the offline marketing responder, in OpenAI's wire shape."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.auth: set[str] = set()
        self.garbage_sent = False
        self.unavailable_sent = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or request.url.path != "/v1/chat/completions":
            return httpx.Response(404, json={"error": {"message": "not found"}})
        body = json.loads(request.content)
        with self.lock:
            self.requests.append(body)
            self.auth.add(request.headers.get("authorization", ""))
            if not self.unavailable_sent:
                self.unavailable_sent = True
                return httpx.Response(503, json={"error": {"message": "loading model"}})
            json_mode = body.get("response_format") == {"type": "json_object"}
            if json_mode and not self.garbage_sent:
                self.garbage_sent = True
                return self.answer("Sure! The Researcher looks like the best next step.", [])
        result = marketing_responder(body["messages"], json_mode, body.get("tools"))
        calls = [{"id": c["id"], "type": "function",
                  "function": {"name": c["name"], "arguments": json.dumps(c["args"])}}
                 for c in result.tool_calls]
        return self.answer(result.content or None, calls)

    @staticmethod
    def answer(content, calls):
        message = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = calls
        return httpx.Response(200, json={
            "id": "chatcmpl-x", "object": "chat.completion", "model": "local-model",
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30}})


@pytest.fixture
def fake_time():
    fake = clock.FakeTime().install()
    yield fake
    fake.uninstall()


async def test_openai_provider_runs_to_finish_after_garbage(tmp_path, fake_time):
    server = ChatServer()
    with serve(server) as base_url:
        cfg = Config.model_validate({"llm": {"provider": "openai", "base_url": f"{base_url}/v1",
                                             "model": "local-model", "api_key_env": "LOCAL_KEY"}})
        db = tmp_path / "db.sqlite"
        ctx = await make_context(cfg, db, env={"LOCAL_KEY": KEY})
        assert isinstance(ctx.model, OpenAIChat) and not ctx.model.offline
        config = {"configurable": {"thread_id": "remote"}}
        async with open_saver(db) as saver:
            graph = build_graph().compile(checkpointer=saver)
            await graph.ainvoke(initial_input(cfg, "Launch Loopwise", "remote"), config, context=ctx)
            values = (await graph.aget_state(config)).values

    assert values["next"] == "FINISH"
    assert sorted(values["completed_agents"]) == sorted(WORKERS)
    assert values["error_count"] == 1
    errors = [m for m in values["messages"] if m.additional_kwargs.get("routing_error")]
    assert len(errors) == 1 and "not JSON" in errors[0].content
    assert "best next step" in errors[0].content  # the garbage is visible in the transcript
    first_decision = next(m for m in values["messages"] if m.additional_kwargs.get("route"))
    assert first_decision.additional_kwargs["source"] == "model"  # the retry answered validly
    # One 503 was retried; the key went as a Bearer token; tools and tool results went over HTTP.
    assert server.auth == {f"Bearer {KEY}"}
    assert fake_time.sleeps, "the 503 was retried after a backoff"
    assert any(r.get("tools") for r in server.requests)
    assert any(m["role"] == "tool" for r in server.requests for m in r["messages"])
    summary = summarize_state(values)
    assert summary["offline"] is False and summary["model"] == "openai:local-model"
    # Every successful completion of this goal reports 30 tokens.
    assert summary["usage"]["total_tokens"] % 30 == 0 and summary["usage"]["total_tokens"] >= 300
    assert ctx.model.usage["calls"] == len(server.requests) - 1
    assert KEY not in json.dumps(summary) and KEY not in repr(values)
