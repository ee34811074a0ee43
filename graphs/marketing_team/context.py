"""Bounded prompts: the full history stays in state; each model call sees a budgeted view.

`add_messages` only appends, so a long thread would overflow any context window. Every prompt is
built by `fit_prompt`: the system prompt, the goal (pinned), then the newest history messages
that fit both `marketing.context_messages` and `marketing.context_tokens`, then the current
turn's tool exchange (shrunk when needed). Tool plumbing of earlier turns is left out of the
view (each worker's named report summarises its own turn). Tokens are estimated at about four
characters a token, the same estimate for every provider.
"""

from __future__ import annotations

import json
from typing import Sequence

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from graphs.clients.llm import estimate_tokens

MESSAGE_OVERHEAD_TOKENS = 4
MIN_CHARS = 40
TRUNCATED = " …[truncated]"


def message_tokens(message: dict) -> int:
    tokens = MESSAGE_OVERHEAD_TOKENS + estimate_tokens(str(message.get("content") or ""))
    if message.get("tool_calls"):
        tokens += estimate_tokens(json.dumps(message["tool_calls"], ensure_ascii=False))
    return tokens


def prompt_tokens(messages: Sequence[dict]) -> int:
    return sum(message_tokens(m) for m in messages)


def to_openai(message: BaseMessage) -> dict:
    """A LangChain message as an OpenAI chat message; names go into the text (not all servers
    accept the `name` field)."""
    content = message.content if isinstance(message.content, str) else json.dumps(message.content)
    if isinstance(message, ToolMessage):
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": content}
    if isinstance(message, AIMessage):
        out: dict = {"role": "assistant", "content": _named(message.name, content)}
        if message.tool_calls:
            out["tool_calls"] = [{"id": call["id"], "type": "function",
                                  "function": {"name": call["name"],
                                               "arguments": json.dumps(call["args"])}}
                                 for call in message.tool_calls]
        return out
    role = "system" if message.type == "system" else "user"
    return {"role": role, "content": _named(message.name, content)}


def _named(name: str | None, content: str) -> str:
    return f"[{name}] {content}" if name else content


def is_goal(message: BaseMessage) -> bool:
    return isinstance(message, HumanMessage) and not message.name


def is_plumbing(message: BaseMessage) -> bool:
    """A tool call or a tool result: left out of later prompts."""
    return isinstance(message, ToolMessage) or (isinstance(message, AIMessage)
                                                 and bool(message.tool_calls))


def history_view(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The conversation without earlier turns' tool plumbing (tool calls and tool results)."""
    return [m for m in messages if not is_plumbing(m)]


def _newest_first(messages: Sequence[BaseMessage]):
    """history_view, newest first and lazily: a prompt needs the tail of a long thread only."""
    for index in range(len(messages) - 1, -1, -1):
        if not is_plumbing(messages[index]):
            yield index, messages[index]


def _truncate(message: dict, max_chars: int) -> dict:
    content = str(message.get("content") or "")
    if len(content) <= max_chars:
        return message
    keep = max(0, max_chars - len(TRUNCATED))
    return {**message, "content": content[:keep] + TRUNCATED}


def _shrink_to(messages: list[dict], budget: int) -> list[dict]:
    """Halve the longest content until the messages fit the budget or nothing is left to cut."""
    messages = list(messages)
    while prompt_tokens(messages) > budget:
        index = max(range(len(messages)), key=lambda i: len(str(messages[i].get("content") or "")),
                    default=None)
        if index is None:
            break
        length = len(str(messages[index].get("content") or ""))
        if length <= MIN_CHARS:
            break
        messages[index] = _truncate(messages[index], max(MIN_CHARS, length // 2))
    return messages


def fit_prompt(system: str, history: Sequence[BaseMessage], turn: Sequence[dict] = (), *,
               max_messages: int, max_tokens: int) -> list[dict]:
    """system + pinned goal + newest history + this turn, within `max_tokens` (estimated)."""
    # Walk from the newest message and stop as soon as the budget is spent: the cost of a prompt
    # must not grow with the thread (a 21-goal thread has ~460 messages; a prompt uses ~20).
    goal_index, goal_message = next(((i, m) for i, m in _newest_first(history) if is_goal(m)),
                                    (None, None))
    system_msg = _shrink_to([{"role": "system", "content": system}], max_tokens // 3)[0]
    turn_msgs = _shrink_to(list(turn), max_tokens // 2)
    goal = []
    if goal_message is not None:
        goal = _shrink_to([to_openai(goal_message)], max_tokens // 8)
    remaining = max_tokens - prompt_tokens([system_msg, *goal, *turn_msgs])
    # One message may take at most a quarter of the budget, so a huge one cannot crowd out the rest.
    per_message_chars = max(MIN_CHARS, max_tokens)
    picked: list[dict] = []
    for index, message in _newest_first(history):
        if index == goal_index:
            continue
        if len(picked) + len(goal) >= max_messages:
            break
        candidate = _truncate(to_openai(message), per_message_chars)
        cost = message_tokens(candidate)
        if cost > remaining:
            break
        picked.append(candidate)
        remaining -= cost
    picked.reverse()
    return [system_msg, *goal, *picked, *turn_msgs]
