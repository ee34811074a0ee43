"""What a graph needs when LangGraph Server runs it: config, live clients, a per-run scope.

A server passes a run only JSON (input, `config`, `context`), so the nodes cannot be handed live
clients as `cmo run` hands them. Each node instead asks `run_context(...)` for its context: the
one the caller gave when it carries live clients (the local runner, the tests), else one built
from configuration and environment, once per run, and closed when the run ends.

Which configuration: the file named by `$CMO_CONFIG`, else `./config.yaml` in the server's
working directory, else the embedded defaults. Secrets only ever come from the environment
variables that configuration names. The send ledger and the campaign store live in that
configuration's `storage.url` / `storage.db`, so exactly-once sending holds for server runs as for local ones.
"""

from __future__ import annotations

import contextvars
import os
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable

CONFIG_ENV = "CMO_CONFIG"

Builder = Callable[[Any, str], Awaitable[Any]]   # (Config, db_path) -> context


def server_config():
    """The configuration a served run uses (see the module docstring)."""
    from graphs.core.config import load_config

    return load_config(os.environ.get(CONFIG_ENV) or None)


@dataclass
class RunScope:
    """Contexts built during one server run, closed when the run ends."""

    built: dict[str, Any] = field(default_factory=dict)

    async def aclose(self) -> None:
        built, self.built = self.built, {}
        for ctx in built.values():
            await close_context(ctx)


# Set by `run_scope()` (the langgraph.json factories enter it for every run). Node tasks are
# created inside the run, so they inherit it and share one built context per run.
_SCOPE: contextvars.ContextVar[RunScope | None] = contextvars.ContextVar("cmo_run_scope",
                                                                       default=None)


@asynccontextmanager
async def run_scope() -> AsyncIterator[RunScope]:
    scope = RunScope()
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        await scope.aclose()
        try:
            _SCOPE.reset(token)
        except ValueError:  # exited from another context: the scope is closed all the same
            pass


async def close_context(ctx: Any) -> None:
    closer = getattr(ctx, "aclose", None)
    if closer is not None:
        await closer()


@asynccontextmanager
async def node_context(kind: str, given: Any, is_live: Callable[[Any], bool],
                       build: Builder) -> AsyncIterator[Any]:
    """The context a node runs with: `given` when it is live, else the run's built one.

    Without a run scope (a graph invoked directly with no context) the context is built for this
    node and closed after it, so nothing leaks either way.
    """
    if is_live(given):
        yield given
        return
    scope = _SCOPE.get()
    if scope is not None:
        if kind not in scope.built:
            cfg = server_config()
            scope.built[kind] = await build(cfg, str(cfg.storage.location))
        yield scope.built[kind]
        return
    cfg = server_config()
    ctx = await build(cfg, str(cfg.storage.location))
    try:
        yield ctx
    finally:
        await close_context(ctx)
