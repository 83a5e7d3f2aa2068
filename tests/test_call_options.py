"""Per-call ``timeout=``, ``max_retries=`` and ``deadline=`` on the GET endpoints: they
override the client's defaults (and those of a ``with_options`` client) for that call only."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest
import respx

from partner_async import (
    ConfigurationError,
    MailPartnerClient,
    RateLimitError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    SMSPartnerClient,
)

from ._fakes import API_KEY, MAIL_BASE, SMS_BASE, FakeClock

pytestmark = pytest.mark.anyio

Client = SMSPartnerClient | MailPartnerClient
#: One GET endpoint: its base URL and path, the client class, and the call (options added).
Endpoint = tuple[str, str, type[Client], Callable[..., Awaitable[object]]]

ENDPOINTS: dict[str, Endpoint] = {
    "sms bulk_status": (
        SMS_BASE,
        "bulk-status",
        SMSPartnerClient,
        lambda c, **o: c.bulk_status(1226613, **o),
    ),
    "mail bulk_status": (
        MAIL_BASE,
        "bulk-status",
        MailPartnerClient,
        lambda c, **o: c.bulk_status("300", **o),
    ),
    "message_status": (
        SMS_BASE,
        "message-status",
        SMSPartnerClient,
        lambda c, **o: c.message_status("0612345678", 1226613, **o),
    ),
    "bulk_status_by_tag": (
        SMS_BASE,
        "bulk-status-by-tag",
        SMSPartnerClient,
        lambda c, **o: c.bulk_status_by_tag("campaign", **o),
    ),
    "cost_statistics": (
        SMS_BASE,
        "statistics/cost-resume",
        SMSPartnerClient,
        lambda c, **o: c.cost_statistics("last_month", **o),
    ),
}

endpoints = pytest.mark.parametrize("endpoint", list(ENDPOINTS.values()), ids=list(ENDPOINTS))


async def never_answer(request: httpx.Request) -> httpx.Response:
    await anyio.Event().wait()
    raise AssertionError("unreachable")


@endpoints
@pytest.mark.parametrize(("max_retries", "attempts"), [(None, 4), (1, 2), (0, 1)])
async def test_a_calls_max_retries_overrides_the_clients(
    router: respx.MockRouter, endpoint: Endpoint, max_retries: int | None, attempts: int
) -> None:
    base, path, cls, call = endpoint
    route = router.get(f"{base}/{path}").respond(503)
    policy = RetryPolicy(max_retries=3, backoff_base=0)
    async with cls(API_KEY, base_url=base, retry=policy) as client:
        with pytest.raises(ServerError):
            await call(client, max_retries=max_retries)
        assert route.call_count == attempts
        assert client.retry is policy  # the call's option did not stick to the client


@endpoints
@pytest.mark.parametrize("given_by", ["the call", "with_options"])
async def test_a_calls_timeout_overrides_the_clients(
    router: respx.MockRouter, endpoint: Endpoint, given_by: str
) -> None:
    """A call's ``timeout=`` applies; without one, a ``with_options`` client's does."""
    base, path, cls, call = endpoint
    router.get(f"{base}/{path}").mock(side_effect=never_answer)
    async with cls(API_KEY, base_url=base, timeout=60.0, max_retries=0) as client:
        with anyio.fail_after(10), pytest.raises(RequestTimeoutError, match=r"0\.02 s"):
            if given_by == "the call":
                await call(client, timeout=0.02)
            else:
                await call(client.with_options(timeout=0.02))
        assert client.timeout == 60.0


@endpoints
@pytest.mark.parametrize("given_by", ["the call", "the client"])
async def test_a_429_storm_on_a_get_endpoint_ends_at_the_deadline(
    router: respx.MockRouter, endpoint: Endpoint, given_by: str
) -> None:
    base, path, cls, call = endpoint
    route = router.get(f"{base}/{path}").respond(429, headers={"Retry-After": "120"})
    clock = FakeClock()
    policy = RetryPolicy(max_retries=5, max_retry_after=300)
    client_deadline = 10.0 if given_by == "the client" else None
    async with cls(
        API_KEY, base_url=base, retry=policy, clock=clock, deadline=client_deadline
    ) as c:
        with pytest.raises(RequestTimeoutError, match="deadline"):
            if given_by == "the call":
                await call(c, deadline=10)
            else:
                await call(c)
        assert route.call_count == 1  # the next try would start after the deadline
        assert clock.time - 1000.0 < 10
        started = clock.time
        with pytest.raises(RateLimitError):  # no deadline for this call: every retry made
            await call(c, deadline=None, max_retries=2)
        assert route.call_count == 1 + 3 and clock.time - started >= 240


async def test_cost_statistics_does_not_wait_for_its_turn_past_the_deadline(
    router: respx.MockRouter,
) -> None:
    """cost-resume allows 5 requests a minute: a sixth call whose turn would come after its
    deadline fails at once, without a request, and takes no turn from the next call."""
    route = router.get(f"{SMS_BASE}/statistics/cost-resume").respond(
        json={"success": True, "code": 200, "total": 0, "list": []}
    )
    clock = FakeClock()
    async with SMSPartnerClient(API_KEY, base_url=SMS_BASE, clock=clock) as c:
        for _ in range(5):
            await c.cost_statistics("last_month")
        with pytest.raises(RequestTimeoutError):
            await c.cost_statistics("last_month", deadline=30)
        assert route.call_count == 5 and clock.time == 1000.0
        await c.cost_statistics("last_month")  # waits its turn (60 s after the first)
        assert route.call_count == 6 and clock.time == 1060.0


@pytest.mark.parametrize("bad", [-1, "3", 1.5])
async def test_a_bad_max_retries_is_a_configuration_error_on_every_call(
    router: respx.MockRouter, bad: Any
) -> None:
    """As with_options and the constructor say it, naming the value, before any request."""
    async with (
        SMSPartnerClient(API_KEY, base_url=SMS_BASE) as sms,
        MailPartnerClient(API_KEY, base_url=MAIL_BASE) as mail,
    ):
        calls: list[Callable[[], Awaitable[object]]] = [
            functools.partial(call, sms if cls is SMSPartnerClient else mail, max_retries=bad)
            for _, _, cls, call in ENDPOINTS.values()
        ]
        calls.append(functools.partial(sms.multi_status, [("+33612345678", 1)], max_retries=bad))
        calls.append(functools.partial(sms.status, "+33612345678", 1, max_retries=bad))
        for call in calls:
            with pytest.raises(ConfigurationError, match=f"max_retries.*{re.escape(repr(bad))}"):
                await call()
    assert not router.calls


@pytest.mark.parametrize("bad", [-1, "3", True, float("nan"), [1.0]])
async def test_a_bad_timeout_is_a_configuration_error_on_the_client_and_every_call(
    router: respx.MockRouter, bad: Any
) -> None:
    with pytest.raises(ConfigurationError, match=f"timeout.*{re.escape(repr(bad))}"):
        SMSPartnerClient(API_KEY, base_url=SMS_BASE, timeout=bad)
    async with SMSPartnerClient(API_KEY, base_url=SMS_BASE) as sms:
        for call in (
            functools.partial(sms.bulk_status, 1226613, timeout=bad),
            functools.partial(sms.multi_status, [("+33612345678", 1)], timeout=bad),
            functools.partial(sms.status, "+33612345678", 1, timeout=bad),
        ):
            with pytest.raises(ConfigurationError, match="timeout"):
                await call()
        with pytest.raises(ConfigurationError, match="timeout"):
            sms.with_options(timeout=bad)
    assert not router.calls
