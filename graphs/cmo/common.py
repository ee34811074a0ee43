"""What every CMO node shares: the context dataclass, progress events, and the step bookkeeping."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Mapping

from graphs.cmo.state import error_entry, history_entry
from graphs.core.config import Config
from graphs.remote.deploy import node_context

SERVICES = ("github", "instantly", "attio", "linear")


@dataclass
class CmoContext:
    """Run-scoped, unserialisable things a node needs (never stored in state).

    Every field has a default so the JSON context a LangGraph Server passes (`{}`) coerces to
    one; a context without live `services` is replaced by one built from config per run
    (see `with_context` and graphs/remote/deploy.py).
    """

    config: Config | None = None
    db_path: str = ""
    services: Any = None            # graphs.clients.services.Services
    llm: Any = None                 # graphs.clients.llm.ChatModel | None (only for provider openai)
    env: Mapping[str, str] = field(default_factory=dict)
    # Where vendor clients report rate-limit readings and waits; the runner sets it.
    on_event: Any = None

    def service_event(self, event: dict) -> None:
        if self.on_event is not None:
            self.on_event(event)

    async def aclose(self) -> None:
        if self.services is not None:
            await self.services.aclose()


def has_services(ctx: Any) -> bool:
    return isinstance(ctx, CmoContext) and ctx.services is not None and ctx.config is not None


async def _build_context(cfg: Config, db_path: str) -> CmoContext:
    from graphs.cmo.graph import make_context

    return await make_context(cfg, db_path)


def with_context(node):
    """Run `node` with a live CmoContext: the caller's, or the run's own built from config."""
    @functools.wraps(node)
    async def resolved(state: Any, runtime: Any) -> Any:
        async with node_context("cmo", runtime.context, has_services, _build_context) as ctx:
            if ctx is not runtime.context:
                runtime = runtime.override(context=ctx)
            return await node(state, runtime)

    return resolved


def progress(runtime: Any, stage: str, done: int, total: int, **extra: Any) -> None:
    writer = getattr(runtime, "stream_writer", None)
    if writer is not None:
        writer({"kind": "progress", "stage": stage, "done": done, "total": total, **extra})


def thread_id_of(runtime: Any, state: Mapping[str, Any]) -> str:
    info = getattr(runtime, "execution_info", None)
    return (getattr(info, "thread_id", None) if info is not None else None) or str(state.get("job_id"))


def call_counts(services: Any) -> dict[str, int]:
    counts = {}
    for name in SERVICES:
        client = getattr(services, name, None)
        counts[name] = int(getattr(getattr(client, "http", None), "calls", 0) or 0)
    return counts


class Step:
    """Bookkeeping for one node run: API-call deltas, errors, tokens, the history entry."""

    def __init__(self, stage: str, runtime: Any) -> None:
        self.stage = stage
        self.runtime = runtime
        self.services = runtime.context.services
        self.before = call_counts(self.services)
        self.errors: list[dict] = []
        self.counters: dict[str, int] = {}

    def error(self, tool: str, payload: Mapping[str, Any] | None, error: BaseException | str,
              retry_count: int = 0) -> None:
        self.errors.append(error_entry(self.stage, tool, payload, error, retry_count))

    def count(self, key: str, amount: int) -> None:
        self.counters[key] = self.counters.get(key, 0) + amount

    def progress(self, done: int, total: int, **extra: Any) -> None:
        progress(self.runtime, self.stage, done, total, **extra)

    def finish(self, action: str, result: str, **update: Any) -> dict:
        """The node's update: stage, history entry, counter deltas, errors, plus `update`."""
        after = call_counts(self.services)
        deltas = {f"{name}_api_calls": after[name] - self.before[name] for name in SERVICES}
        llm_calls = self.counters.get("llm_api_calls", 0)
        counters = {"steps": 1, "api_calls": sum(deltas.values()) + llm_calls,
                    **{k: v for k, v in deltas.items() if v}, **self.counters}
        if self.errors:
            counters["errors"] = counters.get("errors", 0) + len(self.errors)
        metrics = {"api_calls": counters["api_calls"], "errors": len(self.errors)}
        if self.counters.get("tokens_used"):
            metrics["tokens"] = self.counters["tokens_used"]
        out = {"current_stage": self.stage, "counters": counters,
               "history": [history_entry(self.stage, action, result, metrics)], **update}
        if self.errors:
            out["errors"] = self.errors
        return out
