"""Retries: what is retried, backoff, Retry-After, the client-wide 429 pause, rate limits."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import respx

from partner_async import (
    RateLimitError,
    RetryPolicy,
    SMSPartnerClient,
    StatusResult,
    UnresolvedReason,
)
from partner_async._retry import parse_retry_after

from ._fakes import API_KEY, SMS_BASE, FakeAPI, FakeClock, phones

pytestmark = pytest.mark.anyio


def client(clock: FakeClock, **options: Any) -> SMSPartnerClient:
    return SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, clock=clock, **options)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(408),
        httpx.Response(425),
        httpx.Response(429),
        httpx.Response(500, text="<html>Internal error</html>"),
        httpx.Response(502),
        httpx.Response(503),
        httpx.Response(504),
        httpx.Response(200, text="<html>maintenance</html>"),
        httpx.Response(200, text='{"success": true, "code": 200, "StatutResponse_L'),
        httpx.Response(200, json={"success": True, "code": 200}),
        httpx.Response(200, json={"success": False, "code": 429, "message": "Too many"}),
        httpx.Response(200, json={"success": False, "code": 500, "message": "queue"}),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
    ],
    ids=lambda f: (
        f"http-{f.status_code}-{f.content[:12]!r}"
        if isinstance(f, httpx.Response)
        else type(f).__name__
    ),
)
async def test_transient_failures_are_retried(fake_api: FakeAPI, failure: Any) -> None:
    fake_api.script[0] = failure if isinstance(failure, httpx.Response) else None  # type: ignore[assignment]
    if not isinstance(failure, httpx.Response):
        fake_api.script.pop(0)
        original = fake_api.respond
        calls = 0

        def fail_once(body: dict[str, Any]) -> httpx.Response | None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise failure
            return original(body)

        fake_api.respond = fail_once
    clock = FakeClock()
    async with client(clock, retry=RetryPolicy(max_retries=2, backoff_base=1.0)) as c:
        results = await c.multi_status([("+33612345678", 1)])
    assert isinstance(results[0], StatusResult)
    assert results.stats.retries == 1
    assert len(clock.sleeps) == 1 and 0 <= clock.sleeps[0] <= 1.0


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (httpx.Response(400, text="bad"), UnresolvedReason.REJECTED),
        (httpx.Response(404), UnresolvedReason.REJECTED),
        (
            httpx.Response(200, json={"success": False, "code": 5, "message": "empty"}),
            UnresolvedReason.REJECTED,
        ),
    ],
)
async def test_permanent_failures_are_not_retried(
    fake_api: FakeAPI, response: httpx.Response, reason: UnresolvedReason
) -> None:
    fake_api.respond = lambda body: response
    async with client(FakeClock(), max_retries=5) as c:
        results = await c.multi_status([("+33612345678", 1)])
    assert results.unresolved[0].reason is reason
    assert len(fake_api.requests) == 1


async def test_exhausted_retries_leave_the_batch_unresolved(fake_api: FakeAPI) -> None:
    fake_api.respond = lambda body: httpx.Response(503)
    clock = FakeClock()
    async with client(clock, retry=RetryPolicy(max_retries=3, backoff_base=1, backoff_max=3)) as c:
        results = await c.multi_status([(p, 1) for p in phones(3)])
    assert {u.reason for u in results.unresolved} == {UnresolvedReason.SERVER_ERROR}
    assert len(fake_api.requests) == 4
    assert all(0 <= s <= cap for s, cap in zip(clock.sleeps, [1, 2, 3], strict=True))


async def test_per_call_max_retries_overrides_the_client(fake_api: FakeAPI) -> None:
    fake_api.respond = lambda body: httpx.Response(503)
    async with client(FakeClock(), max_retries=5) as c:
        await c.multi_status([("+33612345678", 1)], max_retries=1)
    assert len(fake_api.requests) == 2


@pytest.mark.parametrize("header", ["7", "HTTPDATE"])
async def test_retry_after_is_honoured(fake_api: FakeAPI, header: str) -> None:
    if header == "HTTPDATE":
        header = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=8), usegmt=True)
    fake_api.script[0] = httpx.Response(429, headers={"Retry-After": header})
    clock = FakeClock()
    async with client(clock, retry=RetryPolicy(backoff_base=0.01)) as c:
        results = await c.multi_status([("+33612345678", 1)])
    assert isinstance(results[0], StatusResult)
    [slept] = clock.sleeps
    assert 5 <= slept <= 8


async def test_retry_after_is_capped(fake_api: FakeAPI) -> None:
    fake_api.script[0] = httpx.Response(503, headers={"Retry-After": "86400"})
    clock = FakeClock()
    async with client(clock, retry=RetryPolicy(max_retry_after=30)) as c:
        await c.multi_status([("+33612345678", 1)])
    assert clock.sleeps == [30]


async def test_a_429_pauses_every_batch_of_the_client(fake_api: FakeAPI) -> None:
    clock = fake_api.clock = FakeClock()
    fake_api.script[2] = httpx.Response(429, headers={"Retry-After": "60"})
    async with client(clock, max_concurrency=3, batch_size=10) as c:
        await c.multi_status([(p, 1) for p in phones(60)])
    starts = fake_api.started
    # request 2 got the 429 at t; no batch started a request before t + 60 afterwards
    assert len(starts) == 7
    assert all(s >= starts[2] + 60 for s in starts[3:])


async def test_max_requests_per_second_spaces_request_starts(fake_api: FakeAPI) -> None:
    clock = FakeClock()
    async with client(clock, max_requests_per_second=4, batch_size=10) as c:
        await c.multi_status([(p, 1) for p in phones(50)])
    assert len(fake_api.requests) == 5
    assert sum(clock.sleeps) == pytest.approx(1.0)  # 5 starts at 4/s: 4 gaps of 0.25 s


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("nan") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 10) == 10.0


def test_backoff_is_full_jitter_within_the_cap() -> None:
    import random

    policy = RetryPolicy(backoff_base=0.5, backoff_max=4)
    rng = random.Random(1)
    for attempt, cap in enumerate([0.5, 1, 2, 4, 4, 4]):
        values = [policy.backoff(attempt, rng) for _ in range(200)]
        assert all(0 <= v <= cap for v in values)
        assert max(values) > cap * 0.8


@pytest.mark.parametrize("bad", [{"max_retries": -1}, {"backoff_base": -1.0}, {"max_retries": 1.5}])
def test_retry_policy_is_validated(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        RetryPolicy(**bad)


async def test_logging_debug_per_request_and_info_per_retry(
    fake_api: FakeAPI, caplog: pytest.LogCaptureFixture
) -> None:
    fake_api.script[0] = httpx.Response(503)
    caplog.set_level(logging.DEBUG, logger="partner_async")
    async with client(FakeClock(), batch_size=2) as c:
        await c.multi_status([(p, 1) for p in phones(3)])
    ours = [r for r in caplog.records if r.name == "partner_async"]
    debug = [r.getMessage() for r in ours if r.levelno == logging.DEBUG]
    info = [r.getMessage() for r in ours if r.levelno == logging.INFO]
    assert len(debug) == 3
    assert any("POST /multi-status items=2 status=503 attempt=1" in m for m in debug)
    # A retry is routine, not a warning (as in openai's SDK).
    assert len(info) == 1 and "retry 1/3" in info[0]
    assert not [r for r in ours if r.levelno >= logging.WARNING]


def test_nothing_is_printed_by_default() -> None:
    logger = logging.getLogger("partner_async")
    assert logger.level == logging.NOTSET
    assert [type(h) for h in logger.handlers] == [logging.NullHandler]


async def test_a_rate_limit_error_says_when_to_come_back(router: respx.MockRouter) -> None:
    router.get(f"{SMS_BASE}/bulk-status").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "7"})
    )
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, max_retries=0) as c:
        with pytest.raises(RateLimitError) as caught:
            await c.bulk_status(1226613)
    assert caught.value.retry_after == 7.0
    assert caught.value.status_code == 429
