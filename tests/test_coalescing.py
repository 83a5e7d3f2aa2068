"""Concurrent lookups on one client share multi-status requests (``status()``, small calls)."""

from __future__ import annotations

import math
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import httpx
import orjson
import pytest
import respx

from partner_async import (
    AuthenticationError,
    ClientClosedError,
    DeliveryStatus,
    SMSPartnerClient,
    StatusResult,
    Unresolved,
    UnresolvedReason,
)
from partner_async.sandbox import SandboxConfig, ground_truth

from ._fakes import API_KEY, SMS_BASE, FakeClock, default_entry, phones
from .test_sandbox_e2e import sms as sandbox_sms

pytestmark = pytest.mark.anyio

SMS_URL = "http://127.0.0.1/v1"


def sandbox(**options: Any) -> AbstractAsyncContextManager[tuple[SMSPartnerClient, Any]]:
    """A client wired in-process to a fresh sandbox app, and the app."""
    return sandbox_sms(SandboxConfig(seed=3), **options)


def assert_truth(outcome: object, config: SandboxConfig) -> None:
    assert isinstance(outcome, StatusResult), outcome
    truth = ground_truth(outcome.phone_number, outcome.message_id, config=config)
    assert (outcome.success, outcome.code, outcome.status_text) == (
        truth.success,
        truth.code,
        truth.wire_status,
    )
    if truth.success:
        assert outcome.status.value == truth.status
        assert outcome.timestamp == truth.date


class Gate:
    """A respx side effect that holds every request until the test releases it."""

    def __init__(self, answer: Any = None) -> None:
        self.bodies: list[list[tuple[str, int]]] = []
        self.arrived = anyio.Event()
        self.open = anyio.Event()
        self.answer = answer
        self.in_flight = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        items = orjson.loads(request.content)["SMSStatut_List"]
        self.bodies.append([(i["phoneNumber"], i["messageId"]) for i in items])
        self.arrived.set()
        self.in_flight += 1
        try:
            await self.open.wait()
        finally:
            self.in_flight -= 1
        if self.answer is not None:
            return httpx.Response(200, json=self.answer)
        entries = [default_entry(i["phoneNumber"], i["messageId"]) for i in items]
        return httpx.Response(
            200, json={"success": True, "code": 200, "StatutResponse_List": entries}
        )

    def next_arrival(self) -> anyio.Event:
        self.arrived = anyio.Event()
        return self.arrived


def client(**options: Any) -> SMSPartnerClient:
    return SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, **options)


async def test_a_burst_of_lookups_is_one_request_with_the_sandbox_truth() -> None:
    queries = [(p, 1000 + i) for i, p in enumerate(phones(200))]
    outcomes: dict[int, object] = {}
    async with sandbox(max_concurrency=8) as (sms, app):

        async def look(i: int) -> None:
            outcomes[i] = await sms.status(*queries[i])

        async with anyio.create_task_group() as tg:
            for i in range(len(queries)):
                tg.start_soon(look, i)
        assert app.stats.endpoints["multi-status"] == 1
        assert app.stats.items == 200
        for i, (phone, message_id) in enumerate(queries):
            outcome = outcomes[i]
            assert_truth(outcome, app.config)
            assert (outcome.phone_number, outcome.message_id) == (phone, message_id)  # type: ignore[attr-defined]


async def test_a_lone_lookup_normalises_and_answers_like_multi_status() -> None:
    async with sandbox() as (sms, app):
        outcome = await sms.status("06 12 34 56 78", "1226613")
        assert_truth(outcome, app.config)
        assert isinstance(outcome, StatusResult)
        assert (outcome.phone_number, outcome.message_id) == ("+33612345678", 1226613)
        again = await sms.multi_status([("+33612345678", 1226613)])
        assert again[0] == outcome


async def test_an_invalid_lookup_is_unresolved_and_never_sent() -> None:
    async with sandbox() as (sms, app):
        bad_phone = await sms.status("not a number", 12)
        bad_id = await sms.status("+33612345678", "12a")
        assert isinstance(bad_phone, Unresolved) and isinstance(bad_id, Unresolved)
        assert bad_phone.reason is bad_id.reason is UnresolvedReason.INVALID_QUERY
        assert "not a number" in bad_phone.detail and "12a" in bad_id.detail
        assert app.stats.requests == 0


async def test_concurrent_duplicates_share_one_entry() -> None:
    async with sandbox() as (sms, app):
        got: list[object] = []

        async def look(phone: str) -> None:
            got.append(await sms.status(phone, 77))

        async with anyio.create_task_group() as tg:
            for _ in range(30):
                tg.start_soon(look, "+33612345678")
                tg.start_soon(look, "0612345678")  # the same query in another form
            tg.start_soon(look, "+33612345679")
        assert app.stats.items == 2
        assert app.stats.endpoints["multi-status"] == 1
        assert len(got) == 61
        assert len({o for o in got if o.phone_number == "+33612345678"}) == 1  # type: ignore[attr-defined]


async def test_small_multi_status_calls_share_requests_and_keep_their_own_results() -> None:
    async with sandbox() as (sms, app):
        calls = [[(p, 5) for p in phones(10, start=10 * k)] for k in range(20)]
        calls[3].append(("invalid", 5))
        calls[4].append(calls[4][0])  # a duplicate within a call
        results: dict[int, Any] = {}

        async def run(k: int) -> None:
            results[k] = await sms.multi_status(calls[k])

        async with anyio.create_task_group() as tg:
            for k in range(len(calls)):
                tg.start_soon(run, k)
        assert app.stats.endpoints["multi-status"] == 1
        assert app.stats.items == 200
        for k, result in results.items():
            expected = list(dict.fromkeys(calls[k]))
            assert [(o.phone_number, o.message_id) for o in result] == expected
            assert result.stats.requests == 1
        assert results[3][-1].reason is UnresolvedReason.INVALID_QUERY
        assert results[4].stats.duplicates == 1
        for o in results[0]:
            assert_truth(o, app.config)


async def test_while_every_slot_is_busy_lookups_accumulate_into_the_next_request(
    router: respx.MockRouter,
) -> None:
    gate = Gate()
    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=gate)
    async with client(max_concurrency=1) as sms, anyio.create_task_group() as tg:
        tg.start_soon(sms.status, "+33600000001", 1)
        await gate.arrived.wait()  # the only slot is busy with the first lookup
        for i in range(2, 50):
            tg.start_soon(sms.status, f"+336000000{i:02d}", 1)
        await anyio.wait_all_tasks_blocked()
        arrival = gate.next_arrival()
        gate.open.set()
        await arrival.wait()
    assert [len(body) for body in gate.bodies] == [1, 48]


async def test_requests_carry_at_most_batch_size_lookups(router: respx.MockRouter) -> None:
    gate = Gate()
    gate.open.set()
    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=gate)
    async with client(max_concurrency=1, batch_size=7) as sms, anyio.create_task_group() as tg:
        for i in range(30):
            tg.start_soon(sms.status, f"+336000000{i:02d}", 1)
    assert sorted(len(b) for b in gate.bodies) == [2, 7, 7, 7, 7]
    assert len({q for b in gate.bodies for q in b}) == 30


async def test_cancelling_one_waiting_lookup_removes_only_it(router: respx.MockRouter) -> None:
    gate = Gate()
    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=gate)
    got: dict[str, object] = {}

    async def look(phone: str) -> None:
        got[phone] = await sms.status(phone, 1)

    doomed = anyio.CancelScope()

    async def cancelled_lookup() -> None:
        with doomed:
            await look("+33600000009")

    async with client(max_concurrency=1) as sms, anyio.create_task_group() as tg:
        tg.start_soon(look, "+33600000001")
        await gate.arrived.wait()  # the only slot is busy: the next lookups queue
        for i in range(2, 6):
            tg.start_soon(look, f"+3360000000{i}")
        tg.start_soon(cancelled_lookup)
        await anyio.wait_all_tasks_blocked()
        doomed.cancel()
        await anyio.wait_all_tasks_blocked()
        arrival = gate.next_arrival()
        gate.open.set()
        await arrival.wait()
    assert doomed.cancelled_caught
    assert sorted(gate.bodies[1]) == [(f"+3360000000{i}", 1) for i in range(2, 6)]
    assert "+33600000009" not in got
    assert len(got) == 5


async def test_a_cancelled_leader_hands_its_request_to_the_others(
    router: respx.MockRouter,
) -> None:
    gate = Gate()
    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=gate)
    got: dict[str, object] = {}

    async with client(max_concurrency=1) as sms:
        leader_scope = anyio.CancelScope()

        async def leader() -> None:
            with leader_scope:
                got["leader"] = await sms.status("+33600000001", 1)

        async def follower(phone: str) -> None:
            got[phone] = await sms.status(phone, 1)

        async with anyio.create_task_group() as tg:
            tg.start_soon(leader)
            await gate.arrived.wait()  # the leader's request holds the only slot
            for i in range(2, 6):
                tg.start_soon(follower, f"+3360000000{i}")  # queued
            tg.start_soon(follower, "+33600000001")  # joins the leader's request
            await anyio.wait_all_tasks_blocked()
            assert gate.bodies == [[("+33600000001", 1)]]
            arrival = gate.next_arrival()
            leader_scope.cancel()  # the request it drove is cancelled with it...
            await arrival.wait()  # ...and another caller sends what others still wait for
            gate.open.set()
    assert "leader" not in got
    assert sorted(gate.bodies[1]) == [(f"+3360000000{i}", 1) for i in range(1, 6)]
    assert all(isinstance(got[f"+3360000000{i}"], StatusResult) for i in range(1, 6))
    assert gate.in_flight == 0


async def look_up_keeping(
    sms: SMSPartnerClient, i: int, error: type[Exception], errors: list[BaseException]
) -> None:
    """Look the ``i``-th number up; keep the ``error`` it raises in ``errors``."""
    try:
        await sms.status(f"+336000000{i:02d}", 1)
    except error as exc:
        errors.append(exc)


async def test_a_fatal_code_reaches_every_waiting_caller(router: respx.MockRouter) -> None:
    gate = Gate(answer={"success": False, "code": 10, "message": "Invalid API key"})
    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=gate)
    errors: list[BaseException] = []

    async with client(max_concurrency=1) as sms:
        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(look_up_keeping, sms, i, AuthenticationError, errors)
            await gate.arrived.wait()
            await anyio.wait_all_tasks_blocked()
            gate.open.set()
        assert len(errors) == 20
        assert all(e.code == 10 for e in errors)  # type: ignore[attr-defined]
        assert len({id(e) for e in errors}) == 20  # each caller raises its own exception
        gate.answer = None
        assert isinstance(await sms.status("+33600000001", 1), StatusResult)  # still usable


async def test_closing_the_client_ends_every_waiting_lookup(router: respx.MockRouter) -> None:
    gate = Gate()
    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=gate)
    errors: list[BaseException] = []
    sms = client(max_concurrency=1)
    async with anyio.create_task_group() as tg:
        for i in range(10):
            tg.start_soon(look_up_keeping, sms, i, ClientClosedError, errors)
        await gate.arrived.wait()  # one request in flight, the rest queued
        for i in range(10, 20):
            tg.start_soon(look_up_keeping, sms, i, ClientClosedError, errors)
        await anyio.wait_all_tasks_blocked()
        await sms.aclose()
    assert len(errors) == 20
    assert gate.in_flight == 0
    with pytest.raises(ClientClosedError):
        await sms.status("+33600000001", 1)


async def test_calls_with_other_options_do_not_share_a_request(
    router: respx.MockRouter,
) -> None:
    gate = Gate()
    gate.open.set()
    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=gate)
    async with client() as sms, anyio.create_task_group() as tg:
        tg.start_soon(sms.status, "+33600000001", 1)
        tg.start_soon(sms.status, "+33600000002", 1)
        tg.start_soon(lambda: sms.status("+33600000003", 1, max_retries=0))
    assert sorted(len(b) for b in gate.bodies) == [1, 2]


async def test_lookups_due_before_a_429_pause_ends_are_settled_at_once(
    router: respx.MockRouter,
) -> None:
    gate = Gate()
    gate.open.set()

    async def limited_once(request: httpx.Request) -> httpx.Response:
        if route.call_count == 0:
            return httpx.Response(429, headers={"Retry-After": "120"})
        return await gate(request)

    route = router.post(f"{SMS_BASE}/multi-status").mock(side_effect=limited_once)
    clock = FakeClock()
    async with client(clock=clock, max_retries=0) as sms:
        await sms.status("+33600000009", 9)  # the 429: the client pauses for 120 s
        outcomes: list[Any] = []

        async def look(phone: str, deadline: float) -> None:
            outcomes.append(await sms.status(phone, 1, deadline=deadline))

        async with anyio.create_task_group() as tg:  # each gives up before the pause ends
            for phone, deadline in [("+33600000001", 10), ("+33600000002", 50)]:
                tg.start_soon(look, phone, deadline)
                tg.start_soon(look, phone, 100 - deadline)  # the same lookup, shared
        assert len(outcomes) == 4
        for outcome in outcomes:
            assert isinstance(outcome, Unresolved)
            assert outcome.reason is UnresolvedReason.DEADLINE_EXCEEDED
        assert route.call_count == 1 and clock.sleeps == []  # no request, no wait
        # A lookup without a deadline waits the pause out and is asked.
        later = await sms.status("+33600000001", 1)
    assert isinstance(later, StatusResult)
    assert gate.bodies == [[("+33600000001", 1)]]
    assert clock.sleeps == [120.0]


class HeldClock:
    """A clock whose sleeps last until the test says so."""

    def __init__(self) -> None:
        self.time = 0.0
        self.sleeping = anyio.Event()
        self.wake = anyio.Event()

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.sleeping.set()
        await self.wake.wait()
        self.time += seconds


async def test_linger_waits_for_company(router: respx.MockRouter) -> None:
    gate = Gate()
    gate.open.set()
    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=gate)
    clock = HeldClock()
    async with client(linger=0.005, clock=clock) as sms, anyio.create_task_group() as tg:
        tg.start_soon(sms.status, "+33600000001", 1)
        await clock.sleeping.wait()  # the first lookup lingers...
        for i in range(2, 10):
            tg.start_soon(sms.status, f"+3360000000{i}", 1)  # ...and these arrive meanwhile
        await anyio.wait_all_tasks_blocked()
        clock.wake.set()
    assert [len(b) for b in gate.bodies] == [9]


async def test_linger_must_be_a_number_of_seconds() -> None:
    from partner_async import ConfigurationError

    for bad in (-1, "0.1", True, math.nan):
        with pytest.raises(ConfigurationError, match="linger"):
            client(linger=bad)


async def test_a_lookup_beside_a_large_running_call(router: respx.MockRouter) -> None:
    big = [(p, 3) for p in phones(100_000)]
    requests: list[int] = []
    big_call_running = anyio.Event()

    def answer(request: httpx.Request) -> httpx.Response:
        items = orjson.loads(request.content)["SMSStatut_List"]
        requests.append(len(items))
        if len(requests) == 3:
            big_call_running.set()
        entries = [default_entry(i["phoneNumber"], i["messageId"]) for i in items]
        return httpx.Response(
            200, json={"success": True, "code": 200, "StatutResponse_List": entries}
        )

    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=answer)
    async with client(max_concurrency=4) as sms:
        results: dict[str, Any] = {}

        async def run_big() -> None:
            results["big"] = await sms.multi_status(big)

        async with anyio.create_task_group() as tg:
            tg.start_soon(run_big)
            await big_call_running.wait()
            outcome = await sms.status("+33700000001", 9)
            assert "big" not in results  # it came back while the large call still ran
        assert isinstance(outcome, StatusResult)
        assert outcome.status is DeliveryStatus.DELIVERED
        assert len(results["big"].answered) == 100_000
        assert sorted(requests) == [1] + [500] * 200


async def test_no_task_is_left_behind() -> None:
    async with sandbox() as (sms, _app):
        before = {t.id for t in anyio.get_running_tasks()}
        async with anyio.create_task_group() as tg:
            for i in range(50):
                tg.start_soon(sms.status, f"+336000000{i:02d}", 1)
        await sms.multi_status([(p, 1) for p in phones(3)])
        assert {t.id for t in anyio.get_running_tasks()} == before


async def test_a_call_starts_tasks_for_its_batches_not_for_every_slot(
    router: respx.MockRouter,
) -> None:
    seen: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(len(anyio.get_running_tasks()))
        items = orjson.loads(request.content)["SMSStatut_List"]
        entries = [default_entry(i["phoneNumber"], i["messageId"]) for i in items]
        return httpx.Response(
            200, json={"success": True, "code": 200, "StatutResponse_List": entries}
        )

    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=answer)
    async with client(max_concurrency=256) as sms:
        baseline = len(anyio.get_running_tasks())
        await sms.multi_status([(p, 1) for p in phones(1)])
        assert seen == [baseline]  # one batch: sent from the caller's own task
        results = await sms.multi_status([(p, 1) for p in phones(1_200)])
        assert len(results.answered) == 1_200
        assert max(seen) <= baseline + 3 + 1  # a worker per batch (3) and the call's group


async def test_chaos_every_lookup_gets_its_truth_and_cancelled_ones_cost_no_one() -> None:
    """Thousands of concurrent lookups and small calls, duplicates among them, a fifth of
    the requests faulted, a tenth of the callers cancelled at random moments: every caller
    that was not cancelled gets the sandbox's truth, and nobody waits forever."""
    import random

    from partner_async import RetryPolicy
    from partner_async.sandbox import FAULT_KINDS, FaultConfig, VirtualClock

    from .test_sandbox_e2e import random_queries

    rates: dict[str, Any] = {kind: 0.2 / len(FAULT_KINDS) for kind in FAULT_KINDS}
    config = SandboxConfig(
        seed=12, waiting_polls=None, faults=FaultConfig(**rates, retry_after=0, slow_seconds=1.0)
    )
    rng = random.Random(12)
    queries = random_queries(3_000, seed=12)
    queries += rng.sample(queries, 300)  # the same lookup from several callers at once
    rng.shuffle(queries)
    got: dict[int, object] = {}
    cancelled = 0
    async with sandbox_sms(
        config,
        max_concurrency=8,
        timeout=0.25,
        clock=VirtualClock(),
        retry=RetryPolicy(max_retries=10, backoff_base=0.001, backoff_max=0.01),
    ) as (client, app):
        scopes: dict[int, anyio.CancelScope] = {}

        async def look(i: int) -> None:
            nonlocal cancelled
            with anyio.CancelScope() as scope:
                scopes[i] = scope
                if i % 7 == 0:  # some callers use small multi_status calls
                    [got[i]] = await client.multi_status([queries[i]])
                else:
                    got[i] = await client.status(*queries[i])
            del scopes[i]
            cancelled += scope.cancelled_caught

        async def cancel_some() -> None:
            # At random moments: queued, leading a request, or waiting on someone else's.
            for _ in range(300):
                await anyio.lowlevel.checkpoint()
                for victim in rng.sample(sorted(scopes), min(len(scopes), 2)):
                    scopes[victim].cancel()

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(cancel_some)
                for i in range(len(queries)):
                    tg.start_soon(look, i)
                    if i % 50 == 0:
                        await anyio.lowlevel.checkpoint()  # let some batches leave meanwhile
    assert cancelled > 20, cancelled  # (70-95 seen)
    assert len(got) + cancelled == len(queries)
    for i, outcome in got.items():
        assert isinstance(outcome, StatusResult), outcome
        assert (outcome.phone_number, outcome.message_id) == queries[i]
        assert_truth(outcome, app.config)
    assert app.stats.faults_total > 0
    assert app.stats.endpoints["multi-status"] < len(queries) / 5  # they did share requests


async def test_a_lookup_with_an_id_out_of_range_is_unresolved_and_never_sent() -> None:
    async with sandbox() as (sms, app):
        for bad in (2**63, str(2**64)):
            outcome = await sms.status("+33612345678", bad)
            assert isinstance(outcome, Unresolved)
            assert outcome.reason is UnresolvedReason.INVALID_QUERY
            assert str(bad) in outcome.detail
        assert app.stats.requests == 0
