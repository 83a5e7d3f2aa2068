"""The SDK against the embedded sandbox: exact answers, every fault kind, chaos, XML."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from partner_async import (
    DeliveryStatus,
    MailPartnerClient,
    MessageNotFoundError,
    MultiStatusResult,
    RetryPolicy,
    SMSPartnerClient,
    StatusResult,
)
from partner_async.sandbox import (
    FAULT_KINDS,
    FaultConfig,
    SandboxConfig,
    SandboxTransport,
    bulk_recipients,
    create_app,
    ground_truth,
)

from ._fakes import FakeClock

pytestmark = pytest.mark.anyio

SMS_URL = "http://127.0.0.1/v1"
MAIL_URL = "http://127.0.0.1/mail/v1"


def random_queries(n: int, seed: int = 1) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    prefixes = ("+336", "+337")
    return [
        (f"{rng.choice(prefixes)}{rng.randrange(10**8):08d}", rng.randrange(1, 10**7))
        for _ in range(n)
    ]


def assert_matches_truth(results: MultiStatusResult, config: SandboxConfig, polls: int = 0) -> None:
    for outcome in results:
        assert isinstance(outcome, StatusResult), outcome
        truth = ground_truth(outcome.phone_number, outcome.message_id, config=config, polls=polls)
        assert (outcome.success, outcome.code) == (truth.success, truth.code)
        assert outcome.status_text == truth.wire_status
        if truth.success:
            # the operator code UNKNOWN (a Waiting item's variant) is the SDK's UNKNOWN
            unknown = truth.wire_status == "UNKNOWN"
            assert outcome.status.value == ("Unknown" if unknown else truth.status)
            assert outcome.timestamp == truth.date
            assert (outcome.stop_sms, outcome.is_spam) == (truth.stop_sms, truth.is_spam)
        else:
            assert outcome.status is DeliveryStatus.UNKNOWN


@asynccontextmanager
async def sms(config: SandboxConfig, **options: Any) -> AsyncIterator[tuple[SMSPartnerClient, Any]]:
    """A client wired in-process to a fresh sandbox app, and the app."""
    app = create_app(config)
    async with (
        httpx.AsyncClient(transport=SandboxTransport(app)) as http,
        SMSPartnerClient(api_key="sandbox", base_url=SMS_URL, http_client=http, **options) as c,
    ):
        yield c, app


async def test_answers_are_exactly_the_sandbox_ground_truth(
    sms_client: SMSPartnerClient, sandbox_app: Any
) -> None:
    queries = random_queries(2600)
    results = await sms_client.multi_status(queries)
    assert len(results) == len(set(queries))
    assert_matches_truth(results, sandbox_app.config)
    counts = results.counts_by_status()
    assert set(counts) == {
        DeliveryStatus.DELIVERED,
        DeliveryStatus.NOT_DELIVERED,
        DeliveryStatus.WAITING,
        DeliveryStatus.UNKNOWN,
    }


@pytest.mark.parametrize("response_format", ["json", "xml"])
async def test_spelling_and_field_variants_end_to_end(response_format: str) -> None:
    config = SandboxConfig(seed=5, status_spellings="variants", field_variants=True, language="fr")
    async with sms(config, response_format=response_format) as (client, _):
        results = await client.multi_status(random_queries(1500, seed=5))
    assert_matches_truth(results, config)
    texts = {r.status_text for r in results.answered}
    assert {"DELIVRD", "ko", "PENDING", "Numéro introuvable"} <= texts


async def test_national_numbers_echoed_in_international_form() -> None:
    config = SandboxConfig(seed=2)
    async with sms(config) as (client, _):
        results = await client.multi_status([("06 12 34 56 78", "77"), ("0712345678", 78)])
    assert [r.phone_number for r in results] == ["+33612345678", "+33712345678"]
    assert_matches_truth(results, config)


async def test_waiting_turns_final_when_followed() -> None:
    config = SandboxConfig(seed=4, waiting_polls=2)
    queries = random_queries(3000, seed=4)
    waiting = [q for q in queries if ground_truth(*q, config=config).status == "Waiting"]
    assert waiting
    async with sms(config) as (client, _):
        results = await client.wait_for_final(queries, deadline=60, poll_interval=0)
    assert results.waiting == []
    for phone, message_id in waiting:
        outcome = results.get(phone, message_id)
        assert isinstance(outcome, StatusResult)
        final = ground_truth(phone, message_id, config=config, polls=2)
        assert outcome.status.value == final.status and final.final


@pytest.mark.parametrize("kind", FAULT_KINDS)
async def test_each_fault_kind_is_survived(kind: str) -> None:
    config = SandboxConfig(
        seed=9,
        waiting_polls=None,
        faults=FaultConfig(schedule={0: kind}, retry_after=1, slow_seconds=5.0),
    )
    clock = FakeClock()  # the Retry-After of the 429 passes in virtual time
    options = {"timeout": 0.2, "clock": clock, "retry": RetryPolicy(max_retries=2)}
    async with sms(config, **options) as (client, app):
        results = await client.multi_status(random_queries(300, seed=9))
    assert app.stats.faults[kind] == 1
    assert_matches_truth(results, config)
    if kind in ("drop_entries",):
        assert results.stats.reasked > 0
    elif kind in ("reorder_entries", "reformat_numbers"):
        assert results.stats.retries == 0
    else:
        assert results.stats.retries == 1
    if kind == "http_429":
        assert clock.sleeps == [1.0]


async def test_bulk_status_sms_and_mail_against_the_sandbox(
    sandbox_app: Any, sandbox_transport: Any
) -> None:
    config = sandbox_app.config
    message_id = next(m for m in range(1, 100) if bulk_recipients(m, config=config))
    async with httpx.AsyncClient(transport=sandbox_transport) as http:
        async with SMSPartnerClient(api_key="sandbox", base_url=SMS_URL, http_client=http) as c:
            report = await c.bulk_status(message_id)
            assert tuple(r.phone_number for r in report) == tuple(
                bulk_recipients(message_id, config=config) or ()
            )
            missing = next(m for m in range(1, 1000) if bulk_recipients(m, config=config) is None)
            with pytest.raises(MessageNotFoundError):
                await c.bulk_status(missing)
        async with MailPartnerClient(api_key="sandbox", base_url=MAIL_URL, http_client=http) as m:
            mail_report = await m.bulk_status("300")
            assert all("@" in r.email for r in mail_report)


async def test_chaos_every_query_answered_exactly_once() -> None:
    rates: dict[str, Any] = {kind: 0.2 / len(FAULT_KINDS) for kind in FAULT_KINDS}
    config = SandboxConfig(
        seed=11,
        waiting_polls=None,
        faults=FaultConfig(**rates, retry_after=0, slow_seconds=1.0),
    )
    queries = random_queries(100_000, seed=11)
    queries += queries[:2000]  # duplicates
    async with sms(
        config,
        max_concurrency=16,
        timeout=0.25,
        retry=RetryPolicy(max_retries=8, backoff_base=0.001, backoff_max=0.01),
    ) as (client, app):
        results = await client.multi_status(queries)
    assert len(results) == len(set(queries))
    assert not results.unresolved, results.counts_by_reason()
    assert_matches_truth(results, config)
    injected = sum(app.stats.faults.values())
    assert injected >= 0.1 * results.stats.requests
    assert all(app.stats.faults[k] > 0 for k in FAULT_KINDS if k != "slow")
