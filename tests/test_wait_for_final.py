"""wait_for_final: re-query what is not final, growing intervals, a deadline, updates."""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs
import httpx
import pytest

from partner_async import (
    DeliveryStatus,
    Progress,
    SMSPartnerClient,
    StatusResult,
    StatusUpdate,
    Unresolved,
    UnresolvedReason,
)

from ._fakes import API_KEY, SMS_BASE, FakeAPI, FakeClock, default_entry, phones

pytestmark = pytest.mark.anyio


def waiting_until(polls: dict[str, int]) -> Any:
    """An entry function: each phone is Waiting for its first ``polls[phone]`` answers."""
    asked: Counter[str] = Counter()

    def entry(phone: str, message_id: int) -> dict[str, Any]:
        asked[phone] += 1
        status = "Waiting" if asked[phone] <= polls.get(phone, 0) else "Delivered"
        return {**default_entry(phone, message_id), "status": status}

    return entry


async def test_waiting_items_are_followed_to_final(fake_api: FakeAPI) -> None:
    p = phones(5)
    fake_api.entry = waiting_until({p[1]: 1, p[2]: 3})
    clock = FakeClock()
    updates: list[StatusUpdate] = []
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, clock=clock) as c:
        results = await c.wait_for_final(
            [(x, 1) for x in p],
            deadline=3600,
            poll_interval=10,
            backoff=2,
            on_update=updates.append,
        )
    assert results.waiting == []
    assert results.counts_by_status() == {DeliveryStatus.DELIVERED: 5}
    # only the waiting ones were asked again, at growing intervals
    assert [len(b["SMSStatut_List"]) for b in fake_api.requests] == [5, 2, 1, 1]
    assert clock.sleeps == [10, 20, 40]
    assert [(u.current.phone_number, u.round) for u in updates] == [(p[1], 1), (p[2], 3)]
    assert all(
        isinstance(u.previous, StatusResult) and u.previous.status is DeliveryStatus.WAITING
        for u in updates
    )
    assert results.stats.requests == 4


async def test_progress_names_the_polling_round(fake_api: FakeAPI) -> None:
    p = phones(5)
    fake_api.entry = waiting_until({p[1]: 1, p[2]: 3})
    seen: list[Progress] = []
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, clock=FakeClock()) as c:
        await c.wait_for_final(
            [(x, 1) for x in p], deadline=3600, poll_interval=10, progress=seen.append
        )
        await c.multi_status([(p[0], 2)], progress=seen.append)  # any other call: round 0
    assert [(s.round, s.done, s.total) for s in seen] == [
        (0, 5, 5), (1, 2, 2), (2, 1, 1), (3, 1, 1), (0, 1, 1)
    ]  # fmt: skip


async def test_unknown_statuses_are_followed_like_waiting(fake_api: FakeAPI) -> None:
    p = phones(5)
    asked: Counter[str] = Counter()

    def entry(phone: str, message_id: int) -> dict[str, Any]:
        asked[phone] += 1
        first = asked[phone] == 1
        base = default_entry(phone, message_id)
        if phone == p[0]:  # the operator code UNKNOWN, then a final status
            return {**base, "status": "UNKNOWN" if first else "DELIVRD"}
        if phone == p[1]:  # an entry keyed "statut" (message-status's spelling)
            del base["status"]
            return {**base, "statut": "Waiting" if first else "Not delivered"}
        if phone == p[2]:  # a text nobody documented, forever
            return {**base, "status": "Submitted to carrier"}
        if phone == p[3]:  # per-item code 4: final, never asked again
            return {"success": False, "code": 4, "phoneNumber": phone, "messageId": message_id,
                    "status": "Number not found"}  # fmt: skip
        return base

    fake_api.entry = entry
    clock = FakeClock()
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, clock=clock) as c:
        first = await c.multi_status([(x, 1) for x in p])
        assert [o.is_final for o in first] == [False, False, False, True, True]  # type: ignore[union-attr]
        assert [o.phone_number for o in first.waiting] == p[:3]
        results = await c.wait_for_final(
            [(x, 1) for x in p], timeout=100, poll_interval=10, backoff=2
        )
    statuses = [o.status for o in results]  # type: ignore[union-attr]
    assert statuses[:2] == [DeliveryStatus.DELIVERED, DeliveryStatus.NOT_DELIVERED]
    assert [o.phone_number for o in results.waiting] == [p[2]]  # followed until the deadline
    assert asked[p[3]] == 2 and asked[p[4]] == 2  # the call above, then wait_for_final's first
    assert asked[p[2]] > 3


@pytest.mark.parametrize("status", list(DeliveryStatus))
@pytest.mark.parametrize("code", [200, 4])
def test_one_finality_rule(status: DeliveryStatus, code: int) -> None:
    result = StatusResult(
        phone_number="+33612345678", message_id=1, success=code == 200, code=code,
        status_text=status.value,
    )  # fmt: skip
    expected = code == 4 or status in (DeliveryStatus.DELIVERED, DeliveryStatus.NOT_DELIVERED)
    assert result.is_final is expected
    assert status.is_final is (status in (DeliveryStatus.DELIVERED, DeliveryStatus.NOT_DELIVERED))


async def test_deadline_leaves_items_waiting(fake_api: FakeAPI) -> None:
    p = phones(2)
    fake_api.entry = waiting_until({p[0]: 100})
    clock = FakeClock()
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, clock=clock) as c:
        results = await c.wait_for_final(
            [(x, 1) for x in p], timeout=100, poll_interval=30, backoff=2, max_interval=45
        )
    assert [r.phone_number for r in results.waiting] == [p[0]]
    assert clock.sleeps == [30, 45, 25]  # capped by max_interval, then by the deadline
    assert clock.time == 1100


async def test_transient_failures_are_retried_and_known_statuses_kept(fake_api: FakeAPI) -> None:
    p = phones(2)
    fake_api.entry = waiting_until({p[0]: 1})
    fake_api.script[0] = httpx.Response(503)  # the first pass fails for both
    fake_api.script[2] = httpx.Response(503)  # a later poll fails: the known status stays
    clock = FakeClock()
    async with SMSPartnerClient(
        api_key=API_KEY, base_url=SMS_BASE, clock=clock, max_retries=0
    ) as c:
        results = await c.wait_for_final([(x, 1) for x in p], deadline=1000, poll_interval=1)
    assert all(isinstance(r, StatusResult) for r in results)
    assert results.counts_by_status() == {DeliveryStatus.DELIVERED: 2}


async def test_retry_unresolved_off_leaves_failures(fake_api: FakeAPI) -> None:
    fake_api.script[0] = httpx.Response(503)
    async with SMSPartnerClient(
        api_key=API_KEY, base_url=SMS_BASE, clock=FakeClock(), max_retries=0
    ) as c:
        results = await c.wait_for_final(
            [("+33612345678", 1)], deadline=1000, retry_unresolved=False
        )
    [u] = results
    assert isinstance(u, Unresolved) and u.reason is UnresolvedReason.SERVER_ERROR
    assert len(fake_api.requests) == 1


async def test_async_on_update_is_awaited(fake_api: FakeAPI) -> None:
    fake_api.entry = waiting_until({"+33612345678": 1})
    seen: list[DeliveryStatus] = []

    async def persist(update: StatusUpdate) -> None:
        assert isinstance(update.current, StatusResult)
        seen.append(update.current.status)

    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, clock=FakeClock()) as c:
        await c.wait_for_final([("0612345678", 1)], deadline=60, on_update=persist)
    assert seen == [DeliveryStatus.DELIVERED]


@pytest.mark.parametrize(
    "bad",
    [
        {"deadline": -1},
        {"deadline": 1, "backoff": 0.5},
        {"deadline": 1, "poll_interval": -2},
        {"deadline": 1, "timeout": 1},
        {},
    ],
)
async def test_options_are_validated(bad: dict[str, Any]) -> None:
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE) as c:
        named = next(iter(bad.keys() - {"deadline", "timeout"}), "deadline")
        with pytest.raises(ValueError, match=named):
            await c.wait_for_final([], **bad)


async def test_timeout_is_the_former_name_of_deadline(fake_api: FakeAPI) -> None:
    fake_api.entry = waiting_until({"+33612345678": 100})
    clock = FakeClock()
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, clock=clock) as c:
        results = await c.wait_for_final([("0612345678", 1)], timeout=100, poll_interval=30)
    assert len(results.waiting) == 1
    assert clock.time == 1100.0  # it waited exactly the 100 seconds, then stopped


async def test_a_result_set_takes_a_newer_outcome_of_its_own_queries(fake_api: FakeAPI) -> None:
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE) as c:
        results = await c.multi_status([("0612345678", 1), ("+33612345679", 2)])
    first = results[0]
    assert isinstance(first, StatusResult)
    newer = attrs.evolve(first, status_text="Not delivered")
    assert results.update(newer) == first
    assert results.get("+33612345678", 1) == newer
    assert results.counts_by_status()[DeliveryStatus.NOT_DELIVERED] == 1
    stranger = attrs.evolve(first, phone_number="+33699999999")
    with pytest.raises(KeyError, match="not a query of this result set"):
        results.update(stranger)
