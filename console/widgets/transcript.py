"""The marketing team's conversation: one entry per message, named after its agent.

Messages are LangChain messages (`.type`, `.name`, `.content`) or plain dicts with those keys.
Content is untrusted (LLM output, tool results): it is written as `rich.text.Text`, never markup.
Only messages not yet written are appended; a shorter list (resumed from an older checkpoint)
starts the transcript over.
"""

from __future__ import annotations

from typing import Any, Sequence

from rich.text import Text
from textual.widgets import RichLog

from graphs.core.text import clean_text, one_line

DEFAULT_MAX_LINES = 2000
MESSAGE_MAX_CHARS = 4000
ROLE_STYLES = {"human": "bold cyan", "ai": "bold magenta", "tool": "bold yellow", "system": "dim"}
AGENT_STYLES = ("bold green", "bold blue", "bold yellow", "bold cyan", "bold magenta", "bold red")


def _field(message: Any, name: str) -> Any:
    if isinstance(message, dict):
        if name in message:
            return message[name]
        kwargs = message.get("kwargs")
        return kwargs.get(name) if isinstance(kwargs, dict) else None
    return getattr(message, name, None)


def message_type(message: Any) -> str:
    kind = _field(message, "type")
    if kind == "constructor" and isinstance(message, dict):  # LangChain's serialised form
        ids = message.get("id") or []
        kind = str(ids[-1]) if ids else ""
    kind = one_line(kind or "", 20).lower()
    for short in ("human", "ai", "tool", "system"):
        if kind.startswith(short):
            return short
    return kind or "message"


def message_text(message: Any) -> str:
    """The message's text; content given as a list of parts keeps its text parts."""
    content = _field(message, "content")
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        content = "\n".join(parts)
    return clean_text(content if content is not None else "", MESSAGE_MAX_CHARS)


def speaker(message: Any) -> str:
    """Who said it: the agent's name, else the message role ('user' for a nameless human)."""
    name = one_line(_field(message, "name") or "", 40)
    if name:
        return name
    kind = message_type(message)
    return {"human": "user", "ai": "assistant"}.get(kind, kind)


def agent_style(name: str) -> str:
    return AGENT_STYLES[sum(map(ord, name)) % len(AGENT_STYLES)]


def render_message(message: Any) -> Text:
    who = speaker(message)
    kind = message_type(message)
    style = ROLE_STYLES.get(kind, "bold") if who in ("user", "assistant", kind) else agent_style(who)
    text = Text(end="")
    text.append(who, style=style)
    if who != kind and kind in ("ai", "tool"):
        text.append(f" ({kind})", style="dim")
    text.append("\n")
    body = message_text(message)
    calls = [one_line(_field(call, "name") or "?", 40) for call in (_field(message, "tool_calls") or [])]
    if calls:
        text.append(("calls " if not body else "") + ", ".join(calls) + ("\n" if body else ""),
                    style="dim")
    if body or not calls:
        text.append(body or "(empty)")
    return text


class Transcript(RichLog):
    """`show_messages(messages)` appends the new ones."""

    def __init__(self, *, max_lines: int = DEFAULT_MAX_LINES, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        # min_width: RichLog renders at least 78 columns wide by default, which cuts lines in a
        # narrower pane instead of wrapping them.
        super().__init__(max_lines=max_lines, wrap=True, markup=False, highlight=False, min_width=10,
                         auto_scroll=True, name=name, id=id, classes=classes)
        self.written = 0
        self._first_id: Any = None

    def show_messages(self, messages: Sequence[Any]) -> int:
        messages = list(messages or [])
        first_id = _field(messages[0], "id") if messages else None
        if len(messages) < self.written or (self.written and first_id != self._first_id):
            self.clear()
            self.written = 0
        self._first_id = first_id
        fresh = messages[self.written:]
        for message in fresh:
            self.write(render_message(message))
        self.written = len(messages)
        return len(fresh)
