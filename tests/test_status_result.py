"""StatusResult: an attrs value like every other public one, kept untracked by the SDK."""

from __future__ import annotations

import gc
import json
from typing import Any

import attrs
import pytest

from partner_async import (
    BatchResult,
    DeliveryStatus,
    MailRecipient,
    MessageStatus,
    SMSPartnerClient,
    SMSRecipient,
    StatusResult,
)
from partner_async._results import answers_of

from ._fakes import API_KEY, SMS_BASE, FakeAPI, phones

pytestmark = pytest.mark.anyio


async def test_results_are_attrs_values_and_the_kept_answers_are_untracked(
    fake_api: FakeAPI,
) -> None:
    queries = [(p, 1000 + i) for i, p in enumerate(phones(1200))]
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE) as c:
        results = await c.multi_status(queries)
        one = await c.status(*queries[0])
    # what the result set keeps: atomic-valued structs the garbage collector never scans
    assert not any(gc.is_tracked(answer) for answer in answers_of(results))
    # what users get: attrs values, equal to each other however they are read
    first = results[0]
    assert attrs.has(type(first)) and type(first) is StatusResult
    assert first == results.get(*queries[0]) == results.answered[0] == next(iter(results))
    assert one == first and results[:2] == [first, results[1]]
    changed = attrs.evolve(first, status_text="Not delivered")
    assert (
        changed.status is DeliveryStatus.NOT_DELIVERED and first.status is DeliveryStatus.DELIVERED
    )
    assert json.loads(json.dumps(first.to_dict()))["status"] == "Delivered"
    assert [r.phone_number for r in results] == [p for p, _ in queries]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        first.code = 4  # type: ignore[misc]


async def test_a_stream_hands_out_status_results(fake_api: FakeAPI) -> None:
    queries = [(p, 7) for p in phones(700)]
    async with (
        SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE) as c,
        c.iter_multi_status(queries, ordered=True) as batches,
    ):
        seen = [batch async for batch in batches]
    assert all(isinstance(b, BatchResult) for b in seen)
    assert all(type(o) is StatusResult for b in seen for o in b.outcomes)
    assert sum(len(b.results) for b in seen) == 700


async def test_an_updated_result_set_keeps_the_users_value(fake_api: FakeAPI) -> None:
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE) as c:
        results = await c.multi_status([("+33612345678", 1)])
    first = results[0]
    assert isinstance(first, StatusResult)
    newer = attrs.evolve(first, status_text="Waiting")
    assert results.update(newer) == first
    assert results[0] == newer and results.waiting == [newer]
    assert not gc.is_tracked(answers_of(results)[0])


@pytest.mark.parametrize(
    "value",
    [
        StatusResult(
            phone_number="+33612345678", message_id=1, success=True, code=200,
            status_text="Waiting",
        ),
        SMSRecipient("+33612345678", "Waiting"),
        MailRecipient("a@b.fr", "Waiting"),
        MessageStatus("+33612345678", 1, "Waiting"),
    ],
)  # fmt: skip
def test_every_status_is_derived_from_the_text_the_api_sent(value: Any) -> None:
    """Siblings agree: ``status`` is read from ``status_text`` on every value that has
    one, so the two can't contradict each other and ``attrs.evolve`` changes both."""
    assert value.status is DeliveryStatus.WAITING
    changed = attrs.evolve(value, status_text="DELIVRD")
    assert changed.status is DeliveryStatus.DELIVERED
    assert changed.to_dict()["status"] == "Delivered"
    with pytest.raises(TypeError, match="status"):
        attrs.evolve(value, status=DeliveryStatus.DELIVERED)
