"""A call always ends: deadlines, the client closed under it, failures that keep what came."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import orjson
import pytest
import respx

from partner_async import (
    AuthenticationError,
    ClientClosedError,
    InputError,
    InvalidInputError,
    PartnerError,
    RetryPolicy,
    SMSPartnerClient,
    StatusResult,
    Unresolved,
    UnresolvedReason,
)

from ._fakes import API_KEY, SMS_BASE, FakeAPI, FakeClock, default_entry, phones

pytestmark = pytest.mark.anyio

DEADLINE = UnresolvedReason.DEADLINE_EXCEEDED


def client(**options: Any) -> SMSPartnerClient:
    return SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, **options)


def answer(request: httpx.Request) -> httpx.Response:
    items = orjson.loads(request.content)["SMSStatut_List"]
    entries = [default_entry(i["phoneNumber"], i["messageId"]) for i in items]
    return httpx.Response(200, json={"success": True, "code": 200, "StatutResponse_List": entries})


class Held:
    """Answers the first ``free`` requests, holds every later one until ``release``."""

    def __init__(self, free: int) -> None:
        self.free = free
        self.count = 0
        self.holding = anyio.Event()
        self.release = anyio.Event()
        self.in_flight = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        if self.count > self.free:
            self.in_flight += 1
            self.holding.set()
            try:
                await self.release.wait()
            finally:
                self.in_flight -= 1
        return answer(request)


# ----------------------------------------------------------------------------- deadline


async def test_a_429_storm_ends_at_the_deadline_not_after_every_retry_after(
    router: respx.MockRouter,
) -> None:
    route = router.post(f"{SMS_BASE}/multi-status").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "120"})
    )
    clock = FakeClock()
    async with client(clock=clock, retry=RetryPolicy(max_retries=5, max_retry_after=300)) as c:
        results = await c.multi_status([(p, 1) for p in phones(3)], deadline=10)
    assert results.counts_by_reason() == {DEADLINE: 3}
    assert "429" in results[0].detail  # type: ignore[union-attr]
    assert route.call_count == 1  # the next try would start after the deadline: none is made
    assert clock.time - 1000.0 < 10


async def test_the_client_default_deadline_and_a_per_call_override(
    router: respx.MockRouter,
) -> None:
    router.post(f"{SMS_BASE}/multi-status").mock(
        return_value=httpx.Response(503, headers={"Retry-After": "30"})
    )
    clock = FakeClock()
    async with client(clock=clock, deadline=20, max_retries=10) as c:
        first = await c.multi_status([("+33612345678", 1)])
        assert first[0].reason is DEADLINE  # type: ignore[union-attr]
        assert clock.time - 1000.0 <= 20
        started = clock.time
        second = await c.multi_status([("+33612345678", 1)], deadline=None, max_retries=2)
        assert second[0].reason is UnresolvedReason.SERVER_ERROR  # type: ignore[union-attr]
        assert clock.time - started == 60  # two retries, 30 s each: no deadline cut them


async def test_a_hanging_server_is_cut_at_the_deadline(router: respx.MockRouter) -> None:
    held = Held(free=0)
    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=held)
    async with client(timeout=None) as c:
        results = await c.multi_status([(p, 1) for p in phones(3)], deadline=0.05)
        lone = await c.status("+33699999999", 4, deadline=0.05)
    assert results.counts_by_reason() == {DEADLINE: 3}
    assert isinstance(lone, Unresolved) and lone.reason is DEADLINE
    assert held.in_flight == 0


async def test_queries_read_after_the_deadline_are_settled_without_requests(
    router: respx.MockRouter,
) -> None:
    held = Held(free=1)
    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=held)
    async with client(max_concurrency=1, timeout=None) as c:
        results = await c.multi_status([(p, 1) for p in phones(2_000)], deadline=0.1)
    assert len(results) == 2_000  # every query has its outcome
    assert len(results.answered) == 500
    assert results.counts_by_reason() == {DEADLINE: 1_500}
    assert held.count == 2  # the answered batch, and the one cut at the deadline
    assert held.in_flight == 0


async def test_a_request_the_rate_limit_would_start_after_the_deadline_is_not_made(
    router: respx.MockRouter,
) -> None:
    route = router.post(f"{SMS_BASE}/multi-status").mock(side_effect=answer)
    clock = FakeClock()
    async with client(clock=clock, max_requests_per_second=0.1) as c:  # one start per 10 s
        results = await c.multi_status([(p, 1) for p in phones(1_000)], deadline=5)
    assert len(results.answered) == 500
    assert results.counts_by_reason() == {DEADLINE: 500}
    assert route.call_count == 1
    assert clock.time - 1000.0 < 5  # nobody waited for a start past the deadline


async def test_a_429_pause_that_outlasts_the_deadline_settles_the_call_without_a_request(
    router: respx.MockRouter,
) -> None:
    def limited_once(request: httpx.Request) -> httpx.Response:
        if route.call_count == 0:
            return httpx.Response(429, headers={"Retry-After": "120"})
        return answer(request)

    route = router.post(f"{SMS_BASE}/multi-status").mock(side_effect=limited_once)
    clock = FakeClock()
    async with client(clock=clock, max_retries=0) as c:
        limited = await c.multi_status([("+33612345678", 1)])
        assert limited[0].reason is UnresolvedReason.RATE_LIMITED  # type: ignore[union-attr]
        # The client as a whole now waits out the 429: a call due before it ends gives up.
        cut = await c.status("+33612345679", 2, deadline=10)
        assert isinstance(cut, Unresolved) and cut.reason is DEADLINE
        assert route.call_count == 1
        assert clock.time - 1000.0 < 10
        # Without a deadline the next call waits the pause out, then is answered.
        later = await c.status("+33612345679", 2)
    assert isinstance(later, StatusResult)
    assert route.call_count == 2
    assert clock.time - 1000.0 >= 120


async def test_a_call_waiting_for_a_request_slot_is_settled_at_its_deadline(
    router: respx.MockRouter,
) -> None:
    held = Held(free=0)
    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=held)
    async with client(max_concurrency=1, timeout=None) as c, anyio.create_task_group() as tg:
        first: list[Any] = []

        async def hold_the_only_slot() -> None:
            first.append(await c.status("+33612345678", 1))

        tg.start_soon(hold_the_only_slot)
        await held.holding.wait()
        waiting = await c.status("+33612345679", 2, deadline=0.05)
        assert isinstance(waiting, Unresolved) and waiting.reason is DEADLINE
        assert held.count == 1  # the second query never reached the server
        held.release.set()
    assert isinstance(first[0], StatusResult)  # the slot holder was not disturbed


async def test_an_httpx_timeout_bounds_each_attempt_as_a_whole(router: respx.MockRouter) -> None:
    held = Held(free=0)
    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=held)
    async with client(timeout=httpx.Timeout(0.01), max_retries=1) as c:
        with anyio.fail_after(5):
            results = await c.multi_status([("+33612345678", 1)])
    assert results[0].reason is UnresolvedReason.TRANSPORT_ERROR  # type: ignore[union-attr]
    assert "0.04 s" in results[0].detail  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", [-1, "10", True, float("nan")])
async def test_deadline_must_be_seconds(bad: object) -> None:
    with pytest.raises(ValueError, match="deadline"):
        client(deadline=bad)
    async with client() as c:
        with pytest.raises(ValueError, match="deadline"):
            await c.multi_status([("+33612345678", 1)], deadline=bad)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- failures


async def test_a_failing_input_raises_input_error_with_what_was_answered(
    fake_api: FakeAPI,
) -> None:
    class Boom(Exception):
        pass

    def rows() -> Iterator[tuple[str, int]]:
        for i, phone in enumerate(phones(20_000)):
            if i == 12_000:
                raise Boom("row 12000 is unreadable")
            yield phone, 1

    async with client(max_concurrency=4) as c:
        with pytest.raises(InputError, match="Boom: row 12000") as caught:
            await c.multi_status(rows())
    assert isinstance(caught.value.__cause__, Boom)
    partial = caught.value.partial_results
    assert partial is not None
    assert 8_000 <= len(partial.answered) <= 12_000
    assert len(partial) == len(partial.answered)
    first = partial[0]
    assert isinstance(first, StatusResult) and first.phone_number == phones(1)[0]
    assert partial.get(phones(1)[0], 1) == first


async def test_a_failing_async_input_in_its_first_batch(fake_api: FakeAPI) -> None:
    async def rows() -> Any:
        yield ("+33612345678", 1)
        raise OSError("the cursor died")

    async with client() as c:
        with pytest.raises(InputError) as caught:
            await c.multi_status(rows())
    assert isinstance(caught.value.__cause__, OSError)
    assert caught.value.partial_results is not None
    assert len(caught.value.partial_results) == 0


@pytest.mark.parametrize("size", [3, 1_200])  # a small call (shared requests), the pipeline
async def test_a_malformed_item_raises_with_partial_results_whatever_the_size(
    fake_api: FakeAPI, size: int
) -> None:
    queries: list[Any] = [(p, 1) for p in phones(size)] + [42]
    async with client() as c:
        with pytest.raises(InvalidInputError, match=f"query #{size} is 42") as caught:
            await c.multi_status(queries)
    partial = caught.value.partial_results
    assert partial is not None  # a MultiStatusResult (perhaps empty), never None
    assert len(partial) == len(partial.answered) <= size


async def test_a_fatal_error_keeps_the_answers_that_came_before(router: respx.MockRouter) -> None:
    served = 0

    def refuse_later(request: httpx.Request) -> httpx.Response:
        nonlocal served
        served += 1
        if served > 3:
            return httpx.Response(200, json={"success": False, "code": 10, "message": "Bad key"})
        return answer(request)

    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=refuse_later)
    queries = [(p, 1) for p in phones(5_000)] + [("nonsense", 1)]
    async with client(max_concurrency=1) as c:
        with pytest.raises(AuthenticationError) as caught:
            await c.multi_status(queries)
    partial = caught.value.partial_results
    assert partial is not None
    assert len(partial.answered) == 1_500
    assert all(isinstance(o, StatusResult) for o in partial)


# ----------------------------------------------------------------------------- closing


async def test_closing_the_client_ends_calls_in_flight_with_what_they_had(
    router: respx.MockRouter,
) -> None:
    held = Held(free=2)
    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=held)
    c = client(max_concurrency=2)
    errors: list[PartnerError] = []

    async def big_call() -> None:
        try:
            await c.multi_status([(p, 1) for p in phones(5_000)])
        except ClientClosedError as exc:
            errors.append(exc)

    async def small_call() -> None:
        try:
            await c.multi_status([(p, 2) for p in phones(3)])
        except ClientClosedError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(big_call)
        await held.holding.wait()
        tg.start_soon(small_call)
        await anyio.wait_all_tasks_blocked()
        with anyio.fail_after(5):
            await c.aclose()
    assert len(errors) == 2
    big = next(e for e in errors if e.partial_results is not None and len(e.partial_results))
    assert big.partial_results is not None and len(big.partial_results.answered) == 1_000
    assert held.in_flight == 0
    with pytest.raises(ClientClosedError):
        await c.multi_status([("+33612345678", 1)])
    with pytest.raises(ClientClosedError):
        await c.bulk_status(1)
