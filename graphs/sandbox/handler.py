"""One request handler speaking GitHub, Instantly, Attio and Linear, over deterministic data.

Routing is by path (and, for the shared `/graphql` path, by what the query asks), never by host,
so one handler serves every base_url: embedded through `httpx.MockTransport`, or over real HTTP
with `graphs.sandbox.server.serve`. What it received is kept for tests to inspect
(`instantly_leads`, `attio_people`, `linear_issues`, `request_log`), faults can be injected
(`faults.append(Fault(...))`), and latency is simulated through `graphs.core.clock.sleep`.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

from graphs.core import clock
from graphs.sandbox import github_api
from graphs.sandbox.data import SandboxData
from graphs.sandbox.vendors import VendorState

# GitHub budgets per resource: (limit, window seconds). The sandbox acts as if authenticated.
GITHUB_RESOURCES = {"core": (5000, 3600), "search": (30, 60), "graphql": (5000, 3600)}
_CONTRIBUTORS = re.compile(r"^/repos/([^/]+)/([^/]+)/contributors/?$")
_USER = re.compile(r"^/users/([^/]+)/?$")


@dataclass
class Fault:
    """Answer the next `times` requests whose path starts with `path_prefix` with this instead.

    `timeout=True` raises httpx.ReadTimeout in the embedded handler; the HTTP server instead
    holds the connection for `delay` seconds and closes it, so the client's own timeout fires.
    """

    path_prefix: str
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None             # dict/list -> JSON, str/bytes -> raw
    times: int = 1
    method: str | None = None
    timeout: bool = False
    delay: float = 0.5
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.times > 0 and path.startswith(self.path_prefix)
                and (self.method is None or self.method.upper() == method))


class SandboxTimeout(httpx.ReadTimeout):
    """Raised for an injected timeout fault; carries the fault so a server can simulate it."""

    def __init__(self, fault: Fault, request: httpx.Request) -> None:
        super().__init__("sandbox: injected timeout", request=request)
        self.fault = fault


class Sandbox:
    def __init__(self, seed: int = 7, latency_ms: int = 0, *, data: SandboxData | None = None,
                 enforce_rate_limits: bool = True) -> None:
        self.seed = seed
        self.latency_ms = latency_ms
        self.data = data or SandboxData.generate(seed)
        self.enforce_rate_limits = enforce_rate_limits
        self.vendors = VendorState(seed)
        self.faults: list[Fault] = []
        self.request_log: list[dict] = []
        self.rate_used: dict[str, int] = {}
        self.rate_reset: dict[str, int] = {}
        self._lock = threading.RLock()  # the HTTP server calls from several threads

    # What the vendors received (the same objects VendorState mutates).
    @property
    def instantly_leads(self) -> list[dict]:
        return self.vendors.instantly_leads

    @property
    def attio_people(self) -> dict[str, dict]:
        return self.vendors.attio_people

    @property
    def linear_issues(self) -> dict[str, dict]:
        return self.vendors.linear_issues

    def calls(self, path_prefix: str = "/", method: str | None = None) -> int:
        return sum(1 for entry in self.request_log if entry["path"].startswith(path_prefix)
                   and (method is None or entry["method"] == method))

    # -- entry points ---------------------------------------------------------------------------
    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        if self.latency_ms:
            await clock.sleep(self.latency_ms / 1000)
        return self.handle(request)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return self.handle(request)

    def transport(self) -> httpx.MockTransport:
        """A MockTransport for an httpx.AsyncClient (latency through the clock indirection)."""
        return httpx.MockTransport(self.handle_async)

    def handle(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method.upper(), request.url.path
        params = dict(request.url.params)
        with self._lock:
            self.request_log.append({"method": method, "path": path, "params": params,
                                     "authorized": "authorization" in request.headers})
            fault = next((f for f in self.faults if f.matches(method, path)), None)
            if fault is not None:
                fault.times -= 1
                fault.hits += 1
                if fault.timeout:
                    raise SandboxTimeout(fault, request)
                return _response(fault.status, fault.body, fault.headers)
            try:
                body = json.loads(request.content) if request.content else None
            except ValueError:
                return _response(400, {"message": "Problems parsing JSON"})
            return self._route(request, method, path, params, body)

    # -- routing --------------------------------------------------------------------------------
    def _route(self, request: httpx.Request, method: str, path: str, params: dict,
               body: Any) -> httpx.Response:
        if path.rstrip("/") == "/graphql" and method == "POST":
            query = str((body or {}).get("query") or "")
            variables = (body or {}).get("variables")
            if re.search(r"\bissue(Create)?\s*\(", query):
                if "authorization" not in request.headers:
                    return _response(401, {"errors": [{"message": "Authentication required, not authenticated",
                                                       "extensions": {"code": "AUTHENTICATION_ERROR"}}]})
                return _response(*self.vendors.linear_graphql(query, variables))
            return self._github(request, "graphql",
                                lambda: github_api.graphql_users(self.data, query, variables))
        if path == "/search/repositories" and method == "GET":
            return self._github(request, "search",
                                lambda: github_api.search_repositories(self.data, params))
        if (match := _CONTRIBUTORS.match(path)) and method == "GET":
            full_name = f"{match.group(1)}/{match.group(2)}"
            return self._github(request, "core",
                                lambda: github_api.contributors(self.data, full_name, params))
        if (match := _USER.match(path)) and method == "GET":
            return self._github(request, "core", lambda: github_api.user(self.data, match.group(1)))
        if path == "/api/v2/leads/add" and method == "POST":
            if not request.headers.get("authorization", "").startswith("Bearer "):
                return _response(401, {"statusCode": 401, "error": "Unauthorized",
                                       "message": "Invalid API key"})
            return _response(*self.vendors.instantly_add_leads(body or {}))
        if path.rstrip("/") == "/v2/objects/people/records" and method in ("PUT", "POST"):
            if not request.headers.get("authorization", "").startswith("Bearer "):
                return _response(401, {"status_code": 401, "type": "auth_error",
                                       "code": "unauthorized", "message": "Invalid access token"})
            return _response(*self.vendors.attio_people_records(method, params, body or {}))
        return _response(404, {"message": "Not Found", "documentation_url": github_api.DOCS})

    def _github(self, request: httpx.Request, resource: str, answer) -> httpx.Response:
        if resource == "graphql" and "authorization" not in request.headers:
            return _response(401, {"message": "This endpoint requires you to be authenticated.",
                                   "documentation_url": github_api.DOCS})
        limit, window = GITHUB_RESOURCES[resource]
        now = int(clock.timestamp())
        if self.rate_reset.get(resource, 0) <= now:
            self.rate_reset[resource], self.rate_used[resource] = now + window, 0
        headers = {"x-ratelimit-limit": str(limit), "x-ratelimit-reset": str(self.rate_reset[resource]),
                   "x-ratelimit-resource": resource}
        if self.enforce_rate_limits and self.rate_used[resource] >= limit:
            headers.update({"x-ratelimit-remaining": "0", "x-ratelimit-used": str(limit)})
            return _response(403, {"message": "API rate limit exceeded for sandbox.",
                                   "documentation_url": github_api.DOCS}, headers)
        self.rate_used[resource] += 1
        headers.update({"x-ratelimit-remaining": str(max(0, limit - self.rate_used[resource])),
                        "x-ratelimit-used": str(self.rate_used[resource])})
        status, body = answer()
        return _response(status, body, headers)


def _response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    headers = dict(headers or {})
    if status == 204 or body is None:
        return httpx.Response(status, headers=headers)
    if isinstance(body, (bytes, str)):
        content = body.encode() if isinstance(body, str) else body
        headers.setdefault("content-type", "application/json; charset=utf-8")
        return httpx.Response(status, headers=headers, content=content)
    headers["content-type"] = "application/json; charset=utf-8"
    return httpx.Response(status, headers=headers,
                          content=json.dumps(body, ensure_ascii=False).encode())
