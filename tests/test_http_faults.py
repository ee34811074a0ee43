"""Every fault path of HttpService through a real loopback HTTP server, with fake time."""

import asyncio

import httpx
import pytest

from graphs.core import clock
from graphs.clients.http import RateLimiter, VendorError
from graphs.sandbox.handler import Fault
from graphs.sandbox.server import serve

try:
    from tests.helpers_servers import (START, fake_time, http_service, max_in_window,  # noqa: F401
                                       sandbox, served_sandbox)
except ImportError:
    from helpers_servers import (START, fake_time, http_service, max_in_window,  # noqa: F401
                                 sandbox, served_sandbox)

LOGIN = "dependabot[bot]"  # a user the sandbox knows
PATH = f"/users/{LOGIN}"


async def _call(service, path=PATH):
    try:
        return await service.request("GET", path)
    finally:
        await service.client.aclose()


async def test_403_with_exhausted_budget_waits_until_reset(served_sandbox, fake_time):
    box, url = served_sandbox
    reset = int(START.timestamp()) + 120
    box.faults.append(Fault("/users/", 403, {"x-ratelimit-remaining": "0", "x-ratelimit-limit": "5000",
                                             "x-ratelimit-reset": str(reset),
                                             "x-ratelimit-resource": "core"},
                            {"message": "API rate limit exceeded"}))
    events = []
    service = http_service(url, events=events)
    data, response = await _call(service)
    assert data["login"] == LOGIN and response.status_code == 200
    assert service.calls == 2
    assert fake_time.sleeps == [121.0]  # until the reset, plus the whole-second margin
    waiting = [e for e in events if e["kind"] == "waiting"]
    assert waiting == [{"kind": "waiting", "service": "github", "until": reset + 1,
                        "reason": "rate limit"}]
    rates = [e for e in events if e["kind"] == "rate"]
    assert rates[0]["remaining"] == 0 and rates[0]["reset"] == reset
    assert rates[-1]["resource"] == "core" and rates[-1]["remaining"] == 4999


async def test_429_with_retry_after_waits_that_long(served_sandbox, fake_time):
    box, url = served_sandbox
    box.faults.append(Fault("/users/", 429, {"retry-after": "7"}, {"message": "slow down"}))
    events = []
    service = http_service(url, events=events)
    data, _ = await _call(service)
    assert data["login"] == LOGIN
    assert service.calls == 2 and fake_time.sleeps == [7.0]
    assert events[0]["reason"] == "rate limit" and events[0]["until"] == START.timestamp() + 7


async def test_secondary_limit_403_with_retry_after_is_a_wait_not_an_error(served_sandbox, fake_time):
    box, url = served_sandbox
    box.faults.append(Fault("/users/", 403, {"retry-after": "30"},
                            {"message": "You have exceeded a secondary rate limit"}))
    service = http_service(url)
    await _call(service)
    assert fake_time.sleeps == [30.0] and service.calls == 2


async def test_reset_beyond_max_wait_fails_without_waiting(served_sandbox, fake_time):
    box, url = served_sandbox
    box.faults.append(Fault("/users/", 403, {"x-ratelimit-remaining": "0",
                                             "x-ratelimit-reset": str(int(START.timestamp()) + 3000)},
                            {"message": "API rate limit exceeded"}))
    service = http_service(url, max_wait=900)
    with pytest.raises(VendorError) as caught:
        await _call(service)
    assert caught.value.status == 403 and caught.value.retryable
    assert fake_time.sleeps == [] and service.calls == 1


async def test_500_then_success_backs_off_once(served_sandbox, fake_time):
    box, url = served_sandbox
    box.faults.append(Fault("/users/", 502, body={"message": "Server Error"}))
    events = []
    service = http_service(url, events=events)
    data, _ = await _call(service)
    assert data["login"] == LOGIN
    assert service.calls == 2 and fake_time.sleeps == [1.0]
    assert events[0]["kind"] == "waiting" and "502" in events[0]["reason"]


async def test_persistent_500_gives_up_after_max_retries_with_exponential_backoff(served_sandbox, fake_time):
    box, url = served_sandbox
    box.faults.append(Fault("/users/", 500, body={"message": "boom"}, times=99))
    service = http_service(url, max_retries=3)
    with pytest.raises(VendorError) as caught:
        await _call(service)
    error = caught.value
    assert (error.status, error.retryable, error.retry_count) == (500, True, 3)
    assert error.message == "boom"
    assert service.calls == 4 and fake_time.sleeps == [1.0, 2.0, 4.0]


async def test_timeout_is_retried_then_succeeds(served_sandbox, fake_time):
    box, url = served_sandbox
    box.faults.append(Fault("/users/", timeout=True, delay=0.3))
    service = http_service(url, timeout=0.05)
    data, _ = await _call(service)
    assert data["login"] == LOGIN
    assert service.calls == 2 and fake_time.sleeps == [1.0]


async def test_timeouts_exhausting_retries_raise_retryable_without_status(served_sandbox, fake_time):
    box, url = served_sandbox
    box.faults.append(Fault("/users/", timeout=True, delay=0.2, times=3))
    service = http_service(url, timeout=0.05, max_retries=2)
    with pytest.raises(VendorError) as caught:
        await _call(service)
    assert caught.value.status is None and caught.value.retryable and caught.value.retry_count == 2
    assert service.calls == 3 and fake_time.sleeps == [1.0, 2.0]


async def test_connection_refused_is_a_transport_error_retried(fake_time):
    with serve(lambda request: httpx.Response(200)) as url:
        pass  # the port is closed now
    service = http_service(url, max_retries=1)
    with pytest.raises(VendorError) as caught:
        await _call(service)
    assert caught.value.status is None and "connection failed" in caught.value.message
    assert service.calls == 2


async def test_malformed_json_is_not_retryable(served_sandbox, fake_time):
    box, url = served_sandbox
    box.faults.append(Fault("/users/", 200, {"content-type": "application/json"}, "{not json"))
    service = http_service(url)
    with pytest.raises(VendorError) as caught:
        await _call(service)
    assert caught.value.retryable is False and "malformed JSON" in caught.value.message
    assert service.calls == 1 and fake_time.sleeps == []


async def test_other_4xx_carry_the_vendor_message_and_are_not_retried(served_sandbox, fake_time):
    _, url = served_sandbox
    service = http_service(url)
    with pytest.raises(VendorError) as caught:
        await _call(service, "/users/nobody-by-this-name")
    assert (caught.value.status, caught.value.message, caught.value.retryable) == (404, "Not Found", False)
    assert str(caught.value) == "github: HTTP 404: Not Found"
    assert service.calls == 1 and fake_time.sleeps == []


async def test_plain_403_without_rate_limit_signals_is_an_error(served_sandbox, fake_time):
    box, url = served_sandbox
    box.faults.append(Fault("/users/", 403, {"x-ratelimit-remaining": "4000"},
                            {"message": "Resource not accessible by integration"}))
    service = http_service(url)
    with pytest.raises(VendorError) as caught:
        await _call(service)
    assert caught.value.status == 403 and not caught.value.retryable
    assert service.calls == 1


async def test_secrets_never_reach_error_messages(fake_time):
    token = "ghp_SECRETSECRETSECRET123"

    def echo(request):
        return httpx.Response(401, json={"message": f"bad credentials: {request.headers['authorization']}"})

    with serve(echo) as url:
        service = http_service(url, headers={"Authorization": f"Bearer {token}"})
        with pytest.raises(VendorError) as caught:
            await _call(service, "/user")
    assert token not in str(caught.value) and "***" in caught.value.message


async def test_on_event_failures_do_not_break_the_call(served_sandbox, fake_time):
    _, url = served_sandbox

    def broken(event):
        raise RuntimeError("display crashed")

    service = http_service(url)
    service.on_event = broken
    data, _ = await _call(service)
    assert data["login"] == LOGIN


async def test_rate_limiter_keeps_every_window_within_budget(fake_time):
    limiter = RateLimiter(5, 60)
    stamps = []
    for _ in range(12):
        await limiter.acquire()
        stamps.append(clock.timestamp())
    assert max_in_window(stamps, 60) == 5
    assert stamps[-1] - stamps[0] == 120  # 5 now, 5 a minute later, 2 after another minute
    assert limiter.acquired == 12


async def test_rate_limiter_under_concurrency(fake_time):
    limiter = RateLimiter(3, 10)
    stamps = []

    async def worker():
        await limiter.acquire()
        stamps.append(clock.timestamp())

    await asyncio.gather(*(worker() for _ in range(10)))
    assert len(stamps) == 10 and max_in_window(stamps, 10) == 3
