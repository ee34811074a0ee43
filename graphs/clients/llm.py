"""Chat models: one protocol, an OpenAI-compatible HTTP client and a deterministic offline model.

Every graph talks to `ChatModel.complete(messages, json_mode=..., tools=...)` with OpenAI-shaped
message dicts and gets a `ChatResult`. Tool calls come back normalised as
`{"id": str, "name": str, "args": dict}` (plus `"error"` when the server's arguments were not JSON),
whatever the provider, so the offline model and a real server exercise the same code paths.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, runtime_checkable

from graphs.clients.http import HttpService, VendorError, make_http_client

# Retries for 5xx/timeouts/connection errors ("a couple", with exponential backoff via clock.sleep).
LLM_MAX_RETRIES = 2


class LLMError(Exception):
    """The model could not be reached or answered something unusable. Never carries a secret."""


@dataclass
class ChatResult:
    content: str
    tool_calls: list[dict] = field(default_factory=list)
    usage: dict = field(default_factory=dict)


@runtime_checkable
class ChatModel(Protocol):
    name: str
    offline: bool

    async def complete(self, messages: list[dict], *, json_mode: bool = False,
                       tools: list[dict] | None = None) -> ChatResult: ...


def add_usage(total: dict, usage: Mapping[str, Any] | None) -> dict:
    """Accumulate OpenAI usage counters (prompt/completion/total tokens) and count calls."""
    total["calls"] = total.get("calls", 0) + 1
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        value = (usage or {}).get(key)
        if isinstance(value, int):
            total[key] = total.get(key, 0) + value
    return total


def _normalise_tool_calls(raw: Any) -> list[dict]:
    calls = []
    for index, item in enumerate(raw or []):
        if not isinstance(item, dict):
            continue
        function = item.get("function") or {}
        name = str(function.get("name") or "")
        arguments = function.get("arguments")
        call = {"id": str(item.get("id") or f"call_{index}"), "name": name, "args": {}}
        if isinstance(arguments, dict):
            call["args"] = arguments
        elif arguments:
            try:
                parsed = json.loads(arguments)
            except (TypeError, ValueError):
                parsed = None
            if isinstance(parsed, dict):
                call["args"] = parsed
            else:
                call["error"] = "tool arguments were not a JSON object"
        calls.append(call)
    return calls


class OpenAIChat:
    """Any OpenAI-compatible `/chat/completions` server (OpenAI, Ollama, vLLM, llama.cpp, gateways)."""

    offline = False

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None,
                 timeout: float = 60.0, temperature: float = 0.2,
                 transport: Any = None, max_retries: int = LLM_MAX_RETRIES) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = f"openai:{model}"
        self.timeout = timeout
        self.temperature = temperature
        self.transport = transport
        self.max_retries = max_retries
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.usage: dict = {}

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIChat(base_url={self.base_url!r}, model={self.model!r})"

    async def complete(self, messages: list[dict], *, json_mode: bool = False,
                       tools: list[dict] | None = None) -> ChatResult:
        payload: dict[str, Any] = {"model": self.model, "messages": messages,
                                   "temperature": self.temperature}
        if json_mode:
            payload["response_format"] = {"type": "json_object"}
        if tools:
            payload["tools"] = tools
            payload["tool_choice"] = "auto"
        # A client per call: AsyncClient binds to the loop, and graphs may run on several loops.
        async with make_http_client(self.transport, self.timeout) as client:
            service = HttpService("llm", client, self.base_url, self._headers, self.timeout,
                                  max_retries=self.max_retries, max_rate_limit_waits=2,
                                  max_wait=self.timeout)
            try:
                data, _ = await service.request("POST", "/chat/completions", json=payload)
            except VendorError as exc:
                raise LLMError(f"chat completion failed at {self.base_url}: {exc}") from None
        try:
            message = data["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise LLMError(f"chat completion from {self.base_url} has no choices[0].message") from None
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        add_usage(self.usage, usage)
        content = message.get("content") if isinstance(message, dict) else None
        return ChatResult(content=content if isinstance(content, str) else "",
                          tool_calls=_normalise_tool_calls(message.get("tool_calls")),
                          usage=dict(usage))


Responder = Callable[[list[dict], bool, "list[dict] | None"], ChatResult]


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters a token), used where no server counts."""
    return (len(text) + 3) // 4


def echo_responder(messages: list[dict], json_mode: bool, tools: list[dict] | None) -> ChatResult:
    """The generic offline answer: the last user message, as {"subject","body"} when JSON is asked."""
    last = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
    if json_mode:
        subject, _, body = str(last).partition("\n")
        return ChatResult(json.dumps({"subject": subject.strip(), "body": body.strip() or subject}))
    return ChatResult(str(last))


class TemplateChat:
    """A deterministic offline model: no key, no network. Graphs give it a domain `responder`."""

    offline = True

    def __init__(self, responder: Responder | None = None,
                 name: str = "template (offline)") -> None:
        self.responder = responder or echo_responder
        self.name = name
        self.usage: dict = {}

    async def complete(self, messages: list[dict], *, json_mode: bool = False,
                       tools: list[dict] | None = None) -> ChatResult:
        result = self.responder(messages, json_mode, tools)
        prompt = sum(estimate_tokens(json.dumps(m, default=str)) for m in messages)
        completion = estimate_tokens(result.content + json.dumps(result.tool_calls))
        result.usage = {"prompt_tokens": prompt, "completion_tokens": completion,
                        "total_tokens": prompt + completion}
        add_usage(self.usage, result.usage)
        return result


def make_chat_model(cfg: Any, env: Mapping[str, str] | None = None, *,
                    offline_model: ChatModel | None = None, transport: Any = None) -> ChatModel:
    """The model `cfg.llm` asks for. `offline_model` replaces the generic template model."""
    import os

    env = env if env is not None else os.environ
    if cfg.llm.provider == "openai":
        from graphs.core.secrets import remember

        return OpenAIChat(cfg.llm.base_url, cfg.llm.model,
                          api_key=remember(env.get(cfg.llm.api_key_env) or None),
                          timeout=cfg.timeouts.llm_api, temperature=cfg.llm.temperature,
                          transport=transport)
    return offline_model if offline_model is not None else TemplateChat()
