"""One rule decides whether a newer outcome replaces a known one (a known status is never
replaced by a later failure to fetch it): ``wait_for_final`` and ``status --wait`` keep
the same outcome for every sequence of answers."""

from __future__ import annotations

from itertools import product
from typing import Any, cast

import httpx
import pytest

from partner_async import (
    SMSPartnerClient,
    StatusQuery,
    StatusResult,
    StatusUpdate,
    Unresolved,
    UnresolvedReason,
)
from partner_async._models import needs_poll, replaces
from partner_async.cli._status import _StatusJob, _Tally
from tests._fakes import API_KEY, SMS_BASE, FakeAPI, FakeClock, answered, default_entry

PHONE, MESSAGE_ID = "+33612345678", 1226613
QUERY = StatusQuery(PHONE, MESSAGE_ID)


SAMPLES: dict[str, StatusResult | Unresolved] = {
    "waiting": answered(PHONE, MESSAGE_ID, "Waiting", timestamp=1_517_934_416),
    "waiting later": answered(PHONE, MESSAGE_ID, "Waiting", timestamp=1_517_934_999),
    "delivered": answered(PHONE, MESSAGE_ID, "Delivered", timestamp=1_517_934_416),
    "transient failure": Unresolved(QUERY, UnresolvedReason.SERVER_ERROR, "HTTP 503"),
    "lasting failure": Unresolved(QUERY, UnresolvedReason.REJECTED, "code 2", 2),
}
STATUSES = {"waiting", "waiting later", "delivered"}


@pytest.mark.parametrize(("known", "new"), list(product([None, *SAMPLES], SAMPLES)))
def test_the_rule(known: str | None, new: str) -> None:
    expected = known is None or new in STATUSES or known not in STATUSES
    assert replaces(SAMPLES[new], None if known is None else SAMPLES[known]) is expected


@pytest.mark.parametrize("kind", list(SAMPLES))
@pytest.mark.parametrize("retry_unresolved", [True, False])
def test_what_is_asked_again(kind: str, retry_unresolved: bool) -> None:
    """The one rule of wait_for_final and status --wait for what a later poll may change."""
    expected = {"waiting": True, "waiting later": True, "transient failure": retry_unresolved}
    assert needs_poll(SAMPLES[kind], retry_unresolved) is expected.get(kind, False)


def cli_job() -> _StatusJob:
    """A ``status --wait`` job, for its merge of the first pass with the later answers."""
    unused = cast(Any, None)
    return _StatusJob({}, unused, False, unused, unused, None, _Tally())


@pytest.mark.parametrize(("known", "new"), list(product(SAMPLES, SAMPLES)))
def test_status_wait_keeps_what_the_rule_keeps(known: str, new: str) -> None:
    job = cli_job()
    job._keep(SAMPLES[new])
    kept = job._latest(SAMPLES[known])
    assert kept is (SAMPLES[new] if replaces(SAMPLES[new], SAMPLES[known]) else SAMPLES[known])


#: What the fake API answers for the query, per kind: a status, or HTTP 503.
ANSWERS = {"waiting": "Waiting", "delivered": "Delivered", "transient failure": None}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("first", "second"), list(product(["waiting", "transient failure"], ANSWERS))
)
async def test_wait_for_final_and_status_wait_keep_the_same_outcome(
    fake_api: FakeAPI, first: str, second: str
) -> None:
    def respond(body: dict[str, Any]) -> httpx.Response | None:
        poll = (len(fake_api.requests) - 1) % 2
        status = ANSWERS[(first, second)[poll]]
        if status is None:
            return httpx.Response(503)
        entry = {**default_entry(PHONE, MESSAGE_ID), "status": status, "date": str(1000 + poll)}
        return httpx.Response(
            200, json={"success": True, "code": 200, "StatutResponse_List": [entry]}
        )

    fake_api.respond = respond
    updates: list[StatusUpdate] = []
    async with SMSPartnerClient(API_KEY, base_url=SMS_BASE, clock=FakeClock(), max_retries=0) as c:
        (known,) = await c.multi_status([(PHONE, MESSAGE_ID)])
        (new,) = await c.multi_status([(PHONE, MESSAGE_ID)])
        # the same two answers again: a first pass, then round 1 (before the deadline)
        await c.wait_for_final(
            [(PHONE, MESSAGE_ID)], deadline=10, poll_interval=9.5, on_update=updates.append
        )
    assert len(fake_api.requests) >= 4
    round_one = [u for u in updates if u.round == 1]
    waited = round_one[0].current if round_one else known
    job = cli_job()
    job._keep(new)
    assert waited == job._latest(known)
    assert waited == (new if replaces(new, known) else known)
