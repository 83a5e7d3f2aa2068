"""``client.with_options(timeout=..., max_retries=...)``: other defaults, one pool and one
set of limits, and a lifecycle tied to the original client."""

from __future__ import annotations

import anyio
import httpx
import pytest

from partner_async import (
    ClientClosedError,
    ConfigurationError,
    MailPartnerClient,
    MessageNotFoundError,
    ResponseInfo,
    ServerError,
    SMSPartnerClient,
)
from partner_async.sandbox import FaultConfig, SandboxConfig, SandboxServer, VirtualClock

pytestmark = pytest.mark.anyio


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Every request answers HTTP 503."""
    return SandboxConfig(faults=FaultConfig(http_503=1.0))


async def test_with_options_changes_only_the_derived_clients_defaults(
    sandbox_server: SandboxServer,
) -> None:
    attempts: list[int] = []

    def count(info: ResponseInfo) -> None:
        attempts.append(info.request.attempt)

    async with SMSPartnerClient(
        "sandbox", base_url=sandbox_server.sms_base_url, max_retries=2, clock=VirtualClock()
    ) as client:
        client.event_hooks["response"].append(count)
        hasty = client.with_options(max_retries=0, timeout=5.0)
        assert isinstance(hasty, SMSPartnerClient)
        assert (hasty.retry.max_retries, hasty.timeout) == (0, 5.0)
        assert (client.retry.max_retries, client.timeout) == (2, 30.0)
        assert hasty.retry.backoff_base == client.retry.backoff_base

        with pytest.raises(ServerError):
            await hasty.bulk_status(1226613)
        assert attempts == [1]  # the hooks were copied; no retry
        with pytest.raises(ServerError):
            await client.bulk_status(1226613)
        assert attempts == [1, 1, 2, 3]
        # One pool: the derived client sends through the original's.
        assert hasty._transport.prepare() is client._transport.prepare()

        # Hooks are copied, not shared: changing the derived client's leaves the original's.
        hasty.event_hooks = {}
        assert client.event_hooks["response"] == [count]


async def test_derived_clients_share_the_concurrency_limit() -> None:
    in_flight = peak = 0
    release = anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await release.wait()
        in_flight -= 1
        return httpx.Response(200, json={"success": False, "code": 4, "message": "nope"})

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http,
        MailPartnerClient("k", http_client=http, max_concurrency=1) as client,
    ):
        other = client.with_options(max_retries=0)
        errors: list[MessageNotFoundError] = []

        async def ask(c: MailPartnerClient) -> None:
            try:
                await c.bulk_status("300")
            except MessageNotFoundError as exc:  # the answer's code 4
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(ask, client)
            tg.start_soon(ask, other)
            await anyio.wait_all_tasks_blocked()
            assert in_flight == 1  # the second waits for the first's slot
            release.set()
        assert peak == 1 and len(errors) == 2


async def test_closing_a_derived_client_leaves_the_original_open() -> None:
    async with SMSPartnerClient("k") as client:
        async with client.with_options(timeout=1.0) as derived:
            pass
        assert derived.is_closed and not client.is_closed
        with pytest.raises(ClientClosedError):
            await derived.bulk_status(1)
        again = client.with_options(max_retries=1)
    # Closing the original closes the pool, and every client derived from it.
    assert client.is_closed
    assert again.is_closed  # type: ignore[unreachable]  # (narrowed to False before aclose)
    with pytest.raises(ClientClosedError):
        await again.bulk_status(1)
    with pytest.raises(ClientClosedError):
        client.with_options(timeout=1.0)


async def test_with_options_validates_max_retries() -> None:
    async with SMSPartnerClient("k") as client:
        with pytest.raises(ConfigurationError, match="max_retries"):
            client.with_options(max_retries=-1)
