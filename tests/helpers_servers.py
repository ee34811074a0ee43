"""Shared test helpers for the vendor clients: fake time, recorded handlers, real loopback servers.

Import the fixtures into a test module (`from helpers_servers import fake_time, ...`) so pytest
sees them; this is not a conftest.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

import httpx
import pytest

from graphs.core import clock
from graphs.clients.http import HttpService, make_http_client
from graphs.sandbox.handler import Sandbox
from graphs.sandbox.server import serve

START = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def fake_time():
    """Fixed clock at START; `await clock.sleep(s)` advances it instantly and is recorded."""
    fake = clock.FakeTime(START).install()
    yield fake
    fake.uninstall()


@pytest.fixture
def sandbox(fake_time):
    return Sandbox(seed=7)


@pytest.fixture
def served_sandbox(sandbox):
    """(sandbox, base_url) with the sandbox behind a real HTTP server on 127.0.0.1."""
    with serve(sandbox) as base_url:
        yield sandbox, base_url


class Recorder:
    """Wraps a handler and remembers every request with the (fake) time it arrived."""

    def __init__(self, handle: Callable[[httpx.Request], httpx.Response]) -> None:
        self.handle_inner = handle
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []
        self.statuses: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(clock.timestamp())
        response = self.handle_inner(request)
        self.statuses.append(response.status_code)
        return response


def http_service(base_url: str, *, name: str = "github", timeout: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None, events: list | None = None,
                 headers: dict | None = None, **kwargs) -> HttpService:
    client = make_http_client(transport=transport, timeout=timeout)
    return HttpService(name, client, base_url, headers or {}, timeout,
                       on_event=events.append if events is not None else None, **kwargs)


def max_in_window(times: list[float], window: float) -> int:
    """The most events that fall in any half-open window of `window` seconds."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, stamp in enumerate(ordered):
        while ordered[start] <= stamp - window:
            start += 1
        best = max(best, end - start + 1)
    return best
