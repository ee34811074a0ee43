"""OpenAIChat against OpenAI's chat-completions shapes (httpx.MockTransport), the offline model,
and make_chat_model."""

from __future__ import annotations

import json

import httpx
import pytest

from graphs.core import clock
from graphs.clients.llm import (ChatModel, LLMError, OpenAIChat, TemplateChat, make_chat_model)
from graphs.core.config import Config

SECRET = "sk-test-0123456789abcdef"


def completion(content=None, tool_calls=None, usage=None):
    message = {"role": "assistant", "content": content}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": usage or {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}}


@pytest.fixture
def fake_time():
    fake = clock.FakeTime().install()
    yield fake
    fake.uninstall()


async def test_request_shape_json_mode_and_usage():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=completion('{"next": "FINISH"}'))

    model = OpenAIChat("http://llm.test/v1/", "gpt-x", api_key=SECRET, temperature=0.3,
                       transport=httpx.MockTransport(handler))
    result = await model.complete([{"role": "user", "content": "hi"}], json_mode=True)
    assert result.content == '{"next": "FINISH"}'
    assert result.tool_calls == []
    assert result.usage["total_tokens"] == 16
    request = seen[0]
    assert request.method == "POST" and str(request.url) == "http://llm.test/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    body = json.loads(request.content)
    assert body == {"model": "gpt-x", "messages": [{"role": "user", "content": "hi"}],
                    "temperature": 0.3, "response_format": {"type": "json_object"}}
    await model.complete([{"role": "user", "content": "again"}])
    assert model.usage == {"calls": 2, "prompt_tokens": 22, "completion_tokens": 10,
                           "total_tokens": 32}
    assert "response_format" not in json.loads(seen[1].content)
    assert isinstance(model, ChatModel) and model.offline is False
    assert SECRET not in repr(model)


async def test_tool_calls_are_normalised_and_tools_sent():
    def handler(request):
        body = json.loads(request.content)
        assert body["tools"][0]["function"]["name"] == "get_schema"
        assert body["tool_choice"] == "auto"
        return httpx.Response(200, json=completion(None, tool_calls=[
            {"id": "c1", "type": "function",
             "function": {"name": "get_schema", "arguments": '{"collection": "campaigns"}'}},
            {"id": "c2", "type": "function", "function": {"name": "get_record", "arguments": "{oops"}},
        ]))

    tools = [{"type": "function", "function": {"name": "get_schema", "parameters": {}}}]
    model = OpenAIChat("http://llm.test/v1", "m", transport=httpx.MockTransport(handler))
    result = await model.complete([{"role": "user", "content": "x"}], tools=tools)
    assert result.content == ""
    assert result.tool_calls[0] == {"id": "c1", "name": "get_schema", "args": {"collection": "campaigns"}}
    assert result.tool_calls[1]["name"] == "get_record" and "error" in result.tool_calls[1]


async def test_no_authorization_header_without_key():
    def handler(request):
        assert "authorization" not in request.headers
        return httpx.Response(200, json=completion("ok"))

    model = OpenAIChat("http://127.0.0.1:1/v1", "m", transport=httpx.MockTransport(handler))
    assert (await model.complete([{"role": "user", "content": "x"}])).content == "ok"


async def test_retries_5xx_with_backoff_then_succeeds(fake_time):
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) < 3:
            return httpx.Response(503, json={"error": {"message": "overloaded"}})
        return httpx.Response(200, json=completion("fine"))

    model = OpenAIChat("http://llm.test/v1", "m", api_key=SECRET,
                       transport=httpx.MockTransport(handler))
    assert (await model.complete([{"role": "user", "content": "x"}])).content == "fine"
    assert len(calls) == 3
    assert len(fake_time.sleeps) == 2 and fake_time.sleeps[1] > fake_time.sleeps[0]


async def test_gives_up_with_clear_error_without_secret(fake_time):
    def handler(request):
        return httpx.Response(500, text=f"internal error, your key {SECRET} is fine")

    model = OpenAIChat("http://llm.test/v1", "m", api_key=SECRET,
                       transport=httpx.MockTransport(handler))
    with pytest.raises(LLMError) as info:
        await model.complete([{"role": "user", "content": "x"}])
    text = str(info.value)
    assert "HTTP 500" in text and "llm.test" in text
    assert SECRET not in text


async def test_timeouts_are_retried_then_reported(fake_time):
    calls = []

    def handler(request):
        calls.append(1)
        raise httpx.ReadTimeout("slow", request=request)

    model = OpenAIChat("http://llm.test/v1", "m", timeout=2, transport=httpx.MockTransport(handler))
    with pytest.raises(LLMError, match="timed out"):
        await model.complete([{"role": "user", "content": "x"}])
    assert len(calls) == 3  # one try + two retries


async def test_client_error_is_not_retried_and_bad_shape_is_reported():
    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(401, json={"error": {"message": "invalid api key"}})
        return httpx.Response(200, json={"object": "chat.completion"})

    model = OpenAIChat("http://llm.test/v1", "m", transport=httpx.MockTransport(handler))
    with pytest.raises(LLMError, match="401"):
        await model.complete([{"role": "user", "content": "x"}])
    assert len(calls) == 1
    with pytest.raises(LLMError, match="choices"):
        await model.complete([{"role": "user", "content": "x"}])


async def test_template_chat_is_offline_deterministic_and_counts_usage():
    model = TemplateChat()
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "Subject line\nBody text"}]
    first = await model.complete(messages, json_mode=True)
    second = await model.complete(messages, json_mode=True)
    assert first.content == second.content
    assert json.loads(first.content) == {"subject": "Subject line", "body": "Body text"}
    assert model.offline is True and "offline" in model.name
    assert model.usage["calls"] == 2 and first.usage["total_tokens"] > 0


def test_make_chat_model_by_provider():
    offline = make_chat_model(Config())
    assert offline.offline and isinstance(offline, TemplateChat)
    custom = TemplateChat(name="custom (offline)")
    assert make_chat_model(Config(), offline_model=custom) is custom
    cfg = Config.model_validate({"llm": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1",
                                          "model": "llama", "api_key_env": "MY_KEY"},
                                  "timeouts": {"llm_api": 7}})
    model = make_chat_model(cfg, env={"MY_KEY": SECRET})
    assert isinstance(model, OpenAIChat) and model.timeout == 7 and model.model == "llama"
    assert model._headers == {"Authorization": f"Bearer {SECRET}"}
    assert make_chat_model(cfg, env={})._headers == {}
