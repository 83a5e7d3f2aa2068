"""Cancelling a call stops its requests, leaves no task behind, and the client usable."""

from __future__ import annotations

import anyio
import httpx
import orjson
import pytest
import respx

from partner_async import SMSPartnerClient

from ._fakes import API_KEY, SMS_BASE, default_entry, phones

pytestmark = pytest.mark.anyio


async def test_cancel_midway_then_the_client_still_works(router: respx.MockRouter) -> None:
    in_flight = 0
    started = anyio.Event()
    hang = True

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight
        if hang:
            in_flight += 1
            started.set()
            try:
                await anyio.sleep_forever()
            finally:
                in_flight -= 1
        items = orjson.loads(request.content)["SMSStatut_List"]
        entries = [default_entry(i["phoneNumber"], i["messageId"]) for i in items]
        return httpx.Response(
            200, json={"success": True, "code": 200, "StatutResponse_List": entries}
        )

    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=answer)
    queries = [(p, 1) for p in phones(5000)]
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, max_concurrency=4) as client:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:

                async def cancel_when_started() -> None:
                    await started.wait()
                    await anyio.wait_all_tasks_blocked()
                    scope.cancel()

                tg.start_soon(cancel_when_started)
                await client.multi_status(queries)
        assert scope.cancelled_caught
        assert in_flight == 0  # every request was cancelled and cleaned up
        hang = False
        results = await client.multi_status(queries[:1200])
        assert len(results.answered) == 1200


async def test_move_on_after_bounds_a_call(router: respx.MockRouter) -> None:
    async def never(request: httpx.Request) -> httpx.Response:
        await anyio.sleep_forever()
        raise AssertionError

    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=never)
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, timeout=None) as client:
        with anyio.move_on_after(0.05) as scope:
            await client.multi_status([(p, 1) for p in phones(10)])
        assert scope.cancelled_caught


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_asyncio_wait_for_leaves_no_task_behind(router: respx.MockRouter) -> None:
    import asyncio

    release = anyio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        await release.wait()
        items = orjson.loads(request.content)["SMSStatut_List"]
        entries = [default_entry(i["phoneNumber"], i["messageId"]) for i in items]
        return httpx.Response(
            200, json={"success": True, "code": 200, "StatutResponse_List": entries}
        )

    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=slow)
    before = asyncio.all_tasks()
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, max_concurrency=8) as client:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.multi_status([(p, 1) for p in phones(4000)]), 0.05)
        assert asyncio.all_tasks() == before
        release.set()
        results = await client.multi_status([(p, 1) for p in phones(10)])
        assert len(results.answered) == 10


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_trio_move_on_after(router: respx.MockRouter) -> None:
    import trio

    async def never(request: httpx.Request) -> httpx.Response:
        await trio.sleep_forever()
        raise AssertionError

    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=never)
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE) as client:
        with trio.move_on_after(0.05) as scope:
            await client.multi_status([(p, 1) for p in phones(2000)])
        assert scope.cancelled_caught
