"""Wire the vendor clients from config: the embedded sandbox, live base URLs, or a test transport."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

import httpx

from graphs.clients.attio import AttioClient
from graphs.clients.github import GitHubClient
from graphs.clients.http import EventFn, HttpService, make_http_client
from graphs.clients.instantly import InstantlyClient
from graphs.clients.linear import LinearClient
from graphs.core.config import Config
from graphs.sandbox.handler import Sandbox

# The sandbox accepts any credential; these stand in when the environment has none, so the
# sandbox exercises the same authenticated paths (GraphQL batches, Bearer headers) as live mode.
from graphs.core.secrets import SANDBOX_KEY  # noqa: E402  (public: the sandbox takes any key)
from graphs.core.secrets import remember as remember_secret  # noqa: E402


@dataclass
class Services:
    github: GitHubClient
    instantly: InstantlyClient
    attio: AttioClient
    linear: LinearClient
    sandbox: bool
    http_clients: list[httpx.AsyncClient] = field(default_factory=list)
    sandbox_handler: Sandbox | None = None   # the embedded sandbox, to inspect in tests
    llm: Any = None                          # set by whoever builds the chat model

    async def aclose(self) -> None:
        for client in self.http_clients:
            await client.aclose()

    async def __aenter__(self) -> "Services":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()


def build_services(cfg: Config, env: Mapping[str, str] | None = None, *,
                   transport: httpx.AsyncBaseTransport | None = None,
                   on_event: EventFn | None = None) -> Services:
    """Clients for GitHub, Instantly, Attio and Linear.

    Sandbox mode (`cfg.github_is_sandbox(env)`): every vendor talks to one embedded Sandbox
    through an httpx.MockTransport. Live mode: real base URLs from config. An explicit
    `transport` (tests: a MockTransport, or a real loopback server via base URLs) overrides both.
    """
    env = env if env is not None else os.environ
    sandbox = cfg.github_is_sandbox(env)
    handler: Sandbox | None = None
    if transport is None and sandbox:
        handler = Sandbox(seed=cfg.sandbox.seed, latency_ms=cfg.sandbox.latency_ms)
        transport = handler.transport()

    def secret(name: str) -> str | None:
        value = remember_secret(env.get(name) or None)  # scrubbed from every error (secrets.py)
        return value or (SANDBOX_KEY if sandbox else None)

    clients: list[httpx.AsyncClient] = []

    def service(name: str, base_url: str, timeout: float, **kwargs: Any) -> HttpService:
        client = make_http_client(transport=transport, timeout=timeout)
        clients.append(client)
        return HttpService(name, client, base_url, {}, timeout, on_event=on_event, **kwargs)

    execution = cfg.execution
    github = GitHubClient(
        service("github", cfg.github.base_url, cfg.timeouts.github_api),
        token=secret(cfg.github.token_env),
        use_graphql=cfg.github.graphql == "auto",
        per_hour=cfg.rate_limits.github_per_hour,
        rest_per_minute=cfg.rate_limits.github_rest_per_minute,
    )
    instantly = InstantlyClient(
        service("instantly", execution.instantly.base_url, cfg.timeouts.instantly_api),
        api_key=secret(execution.instantly.api_key_env))
    attio = AttioClient(
        service("attio", execution.attio.base_url, cfg.timeouts.attio_api),
        api_key=secret(execution.attio.api_key_env), per_minute=cfg.rate_limits.attio_per_minute)
    linear = LinearClient(
        service("linear", execution.linear.base_url, cfg.timeouts.linear_api),
        api_key=secret(execution.linear.api_key_env))
    return Services(github=github, instantly=instantly, attio=attio, linear=linear,
                    sandbox=sandbox, http_clients=clients, sandbox_handler=handler)
