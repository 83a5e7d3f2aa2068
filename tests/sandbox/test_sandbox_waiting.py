"""Waiting items turn final after N polls, or after the (test-controlled) clock advances."""

from __future__ import annotations

import random
from typing import Any

import pytest

from partner_async.sandbox import SandboxConfig, bulk_recipients, ground_truth

pytestmark = pytest.mark.anyio
MULTI = "/v1/multi-status"


def waiting_pairs(count: int) -> list[tuple[str, int]]:
    rng = random.Random(5)
    found: list[tuple[str, int]] = []
    while len(found) < count:
        pair = (f"+336{rng.randrange(10**8):08d}", rng.randrange(1, 10**7))
        if ground_truth(*pair).status == "Waiting":
            found.append(pair)
    return found


async def poll(client: Any, pairs: list[tuple[str, int]]) -> list[dict[str, Any]]:
    items = [{"phoneNumber": p, "messageId": m} for p, m in pairs]
    response = await client.post(MULTI, json={"apiKey": "sandbox", "SMSStatut_List": items})
    entries: list[dict[str, Any]] = response.json()["StatutResponse_List"]
    return entries


@pytest.mark.parametrize("waiting_polls", [0, 1, 2, 5])
async def test_waiting_turns_final_after_polls(sandbox_client: Any, waiting_polls: int) -> None:
    config = SandboxConfig(waiting_polls=waiting_polls)
    pairs = waiting_pairs(30)
    async with sandbox_client(config) as (client, app):
        for polls in range(waiting_polls + 2):
            entries = await poll(client, pairs)
            for (phone, mid), entry in zip(pairs, entries, strict=True):
                truth = ground_truth(phone, mid, polls=polls, config=config)
                assert entry["status"] == truth.status
                assert entry["date"] == str(truth.date)
                assert (entry["status"] == "Waiting") is (polls < waiting_polls)
        assert app.polls(*pairs[0]) == waiting_polls + 2


async def test_polls_are_counted_per_item(sandbox_client: Any) -> None:
    first, second = waiting_pairs(2)
    async with sandbox_client(waiting_polls=2) as (client, _):
        await poll(client, [first])
        await poll(client, [first])
        entries = await poll(client, [first, second])
        assert entries[0]["status"] != "Waiting"
        assert entries[1]["status"] == "Waiting"


async def test_waiting_turns_final_when_the_clock_advances(sandbox_client: Any) -> None:
    now = [1000.0]
    config = SandboxConfig(waiting_polls=None, waiting_seconds=60, clock=lambda: now[0])
    pairs = waiting_pairs(20)
    async with sandbox_client(config) as (client, app):
        for _ in range(3):
            assert {e["status"] for e in await poll(client, pairs)} == {"Waiting"}
        now[0] += 59.5
        assert app.elapsed() == 59.5
        assert {e["status"] for e in await poll(client, pairs)} == {"Waiting"}
        now[0] += 0.5
        entries = await poll(client, pairs)
        for (phone, mid), entry in zip(pairs, entries, strict=True):
            truth = ground_truth(phone, mid, elapsed=60, config=config)
            assert truth.final
            assert entry["status"] == truth.status


async def test_bulk_polls_share_the_counters(sandbox_client: Any) -> None:
    # a bulk-status answer counts as a poll of each of its recipients
    mid = next(
        m for m in range(1, 500)
        if any(ground_truth(p, m).status == "Waiting" for p in bulk_recipients(m) or ())
    )  # fmt: skip
    phones = bulk_recipients(mid)
    assert phones is not None
    waiting = [p for p in phones if ground_truth(p, mid).status == "Waiting"]
    async with sandbox_client(waiting_polls=2) as (client, app):
        params = {"apiKey": "sandbox", "messageId": str(mid)}
        for polls in range(3):
            answer = (await client.get("/v1/bulk-status", params=params)).json()
            statuses = {e["phoneNumber"]: e["status"] for e in answer["StatutResponse_List"]}
            for phone in waiting:
                assert statuses[phone] == ground_truth(phone, mid, polls=polls).status
        assert app.polls(waiting[0], mid) == 3
        entries = await poll(client, [(waiting[0], mid)])
        assert entries[0]["status"] == ground_truth(waiting[0], mid, polls=3).status != "Waiting"


async def test_mail_waiting_turns_final(sandbox_client: Any) -> None:
    from partner_async.sandbox import mail_bulk_recipients, mail_ground_truth

    mid = next(
        str(n) for n in range(1, 500)
        if any((t := mail_ground_truth(e, str(n))) is not None and t.status == "Waiting"
               for e in mail_bulk_recipients(str(n)) or ())
    )  # fmt: skip
    config = SandboxConfig(waiting_polls=1)
    async with sandbox_client(config) as (client, app):
        params = {"apiKey": "sandbox", "messageId": mid}
        for polls in range(2):
            answer = (await client.get("/mail/v1/bulk-status", params=params)).json()
            for entry in answer["StatutResponseList"]:
                truth = mail_ground_truth(entry["email"], mid, polls=polls, config=config)
                assert truth is not None
                assert entry["status"] == truth.status
        assert app.mail_polls(mid) == 2
