"""The HTTP layer every vendor client shares: timeouts, retries, rate-limit waits, budgets, errors.

One `HttpService` per vendor wraps an `httpx.AsyncClient`. Waiting always goes through
`graphs.core.clock.sleep`, so tests run the fault paths without really waiting. Secrets live only in the
request headers: error messages are built from the vendor's answer, redacted, and never carry them.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
from collections import deque
from typing import Any, Callable

import httpx

from graphs.core import clock
from graphs.core.secrets import header_secrets, redact, scrub
from graphs.core.secrets import known as known_secrets
from graphs.core.text import one_line

log = logging.getLogger(__name__)

EventFn = Callable[[dict], Any]

USER_AGENT = "cmo/0.1 (+https://github.com/)"
MAX_MESSAGE_CHARS = 300
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0


class VendorError(Exception):
    """A vendor call that failed for good (after the retries it deserved)."""

    def __init__(self, service: str, status: int | None, message: str, *,
                 retryable: bool = False, retry_count: int = 0) -> None:
        self.service = service
        self.status = status
        # Whoever builds one (HttpService, a client reading a GraphQL `errors` list), the text is
        # stripped of controls and of this process's credentials first (graphs/core/secrets.py).
        self.message = scrub(message)
        self.retryable = retryable
        self.retry_count = retry_count
        super().__init__(str(self))

    def __str__(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no response"
        return f"{self.service}: {status}: {self.message}"

    def to_dict(self) -> dict:
        """Plain data for state/logs."""
        return {"service": self.service, "status": self.status, "message": self.message,
                "retryable": self.retryable, "retry_count": self.retry_count}


def make_http_client(transport: httpx.AsyncBaseTransport | None = None,
                     timeout: float = 30.0) -> httpx.AsyncClient:
    """An AsyncClient with the project's defaults (per-call timeouts are set by HttpService)."""
    return httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=True,
                             headers={"User-Agent": USER_AGENT})


class RateLimiter:
    """At most `per_period` acquisitions in any window of `period_seconds` (a sliding log).

    Stricter than a token bucket (which lets up to twice the budget through across a window
    boundary). Time comes from `graphs.core.clock`, waiting from `graphs.core.clock.sleep`; waiters are
    served in order.
    """

    def __init__(self, per_period: int, period_seconds: float) -> None:
        if per_period <= 0 or period_seconds <= 0:
            raise ValueError("per_period and period_seconds must be positive")
        self.per_period = per_period
        self.period_seconds = float(period_seconds)
        self.acquired = 0
        self._stamps: deque[float] = deque()
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def _get_lock(self) -> asyncio.Lock:
        # A client may outlive one event loop (tests, CLI then console): one lock per loop.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    async def acquire(self) -> None:
        async with self._get_lock():
            while True:
                current = clock.timestamp()
                while self._stamps and self._stamps[0] <= current - self.period_seconds:
                    self._stamps.popleft()
                if len(self._stamps) < self.per_period:
                    self._stamps.append(current)
                    self.acquired += 1
                    return
                await clock.sleep(self._stamps[0] + self.period_seconds - current)


class LimiterChain:
    """Several budgets at once (e.g. per hour AND per minute): a call waits for each in turn."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self.limiters = limiters

    @property
    def acquired(self) -> int:
        return self.limiters[0].acquired if self.limiters else 0

    async def acquire(self) -> None:
        for limiter in self.limiters:
            await limiter.acquire()


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


def _retry_after_seconds(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # the HTTP-date form
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - clock.timestamp())
    except (TypeError, ValueError):
        return None


def vendor_message(response: httpx.Response) -> str:
    """The vendor's own explanation, from the usual JSON fields or the raw body."""
    try:
        body = response.json()
    except ValueError:
        return response.text or response.reason_phrase
    if isinstance(body, dict):
        for key in ("message", "error", "error_description", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return value["message"]
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            first = errors[0]
            if isinstance(first, dict) and first.get("message"):
                detail = (first.get("extensions") or {}).get("userPresentableMessage")
                return f"{first['message']}: {detail}" if detail else str(first["message"])
            return str(first)
    return response.text or response.reason_phrase


class HttpService:
    """One vendor's HTTP access: `await request(...)` -> `(data, response)` or `VendorError`."""

    def __init__(self, name: str, client: httpx.AsyncClient, base_url: str,
                 headers: dict[str, str] | None, timeout: float, *, max_retries: int = 3,
                 max_wait: float = 900, on_event: EventFn | None = None,
                 max_rate_limit_waits: int = 5) -> None:
        self.name = name
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.on_event = on_event
        self.max_rate_limit_waits = max_rate_limit_waits
        self.calls = 0
        self.last_rate: dict | None = None

    # -- events ---------------------------------------------------------------------------------
    def _emit(self, event: dict) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception:  # a broken progress display must not fail the vendor call
            log.exception("on_event callback failed for %s", self.name)

    def _report_rate(self, response: httpx.Response) -> None:
        remaining = _int_header(response.headers, "x-ratelimit-remaining")
        if remaining is None:
            return
        self.last_rate = {
            "kind": "rate", "service": self.name, "remaining": remaining,
            "limit": _int_header(response.headers, "x-ratelimit-limit"),
            "reset": _int_header(response.headers, "x-ratelimit-reset"),
            "resource": response.headers.get("x-ratelimit-resource"),
        }
        self._emit(dict(self.last_rate))

    # -- helpers --------------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        # Control characters are stripped BEFORE the credentials are masked, partial echoes
        # included (graphs/core/secrets.py); cut to length only after that.
        hidden = redact(text, [*header_secrets(self.headers), *known_secrets()])
        return one_line(hidden, MAX_MESSAGE_CHARS)

    def _error(self, status: int | None, message: str, *, retryable: bool,
               retry_count: int) -> VendorError:
        return VendorError(self.name, status, self._redact(message), retryable=retryable,
                           retry_count=retry_count)

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def _rate_limit_wait(self, response: httpx.Response) -> float | None:
        """Seconds to wait when this response is a rate limit, else None."""
        if response.status_code not in (403, 429):
            return None
        retry_after = _retry_after_seconds(response.headers)
        exhausted = response.headers.get("x-ratelimit-remaining") == "0"
        if retry_after is None and not exhausted and response.status_code != 429:
            return None  # a plain 403: permissions, not a limit
        if retry_after is not None:
            return retry_after
        reset = _int_header(response.headers, "x-ratelimit-reset")
        if reset is not None:
            return max(1.0, reset - clock.timestamp() + 1)  # +1: reset is whole seconds
        return 60.0  # GitHub's advice for a secondary limit without headers

    async def _backoff(self, attempt: int, reason: str) -> None:
        delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** attempt)
        self._emit({"kind": "waiting", "service": self.name,
                    "until": clock.timestamp() + delay, "reason": reason})
        await clock.sleep(delay)

    # -- the call -------------------------------------------------------------------------------
    async def request(self, method: str, path: str, *, params: dict | None = None,
                      json: Any = None, limiter: RateLimiter | None = None,
                      headers: dict[str, str] | None = None) -> tuple[Any, httpx.Response]:
        url = self._url(path)
        call_headers = {**self.headers, **(headers or {})}
        retries = 0
        rate_waits = 0
        while True:
            if limiter is not None:
                await limiter.acquire()
            self.calls += 1
            try:
                response = await self.client.request(method, url, params=params, json=json,
                                                     headers=call_headers, timeout=self.timeout)
            except httpx.TimeoutException:
                reason = f"timed out after {self.timeout:g} s"
            except httpx.TransportError as exc:
                reason = f"connection failed ({type(exc).__name__})"
            else:
                reason = None
            if reason is not None:
                if retries >= self.max_retries:
                    raise self._error(None, f"{reason}; gave up after {retries} retries",
                                      retryable=True, retry_count=retries)
                await self._backoff(retries, f"retry: {reason}")
                retries += 1
                continue

            self._report_rate(response)
            status = response.status_code

            wait = self._rate_limit_wait(response)
            if wait is not None:
                if wait > self.max_wait or rate_waits >= self.max_rate_limit_waits:
                    raise self._error(status, f"rate limited ({vendor_message(response)}); "
                                      f"resets in {wait:.0f} s, beyond the wait allowed",
                                      retryable=True, retry_count=retries + rate_waits)
                until = clock.timestamp() + wait
                self._emit({"kind": "waiting", "service": self.name, "until": until,
                            "reason": "rate limit"})
                await clock.sleep(wait)
                rate_waits += 1
                continue

            if status >= 500:
                if retries >= self.max_retries:
                    raise self._error(status, vendor_message(response), retryable=True,
                                      retry_count=retries)
                await self._backoff(retries, f"retry: HTTP {status}")
                retries += 1
                continue

            if status >= 400:
                raise self._error(status, vendor_message(response), retryable=False,
                                  retry_count=retries)

            if status == 204 or not response.content:
                return None, response
            try:
                return response.json(), response
            except ValueError:
                raise self._error(status, "malformed JSON in the response", retryable=False,
                                  retry_count=retries) from None
