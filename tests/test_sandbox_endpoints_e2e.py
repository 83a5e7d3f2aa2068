"""The SDK against the sandbox: message-status, bulk-status-by-tag, cost-resume (ground
truth consistent with multi-status), the docs' own request, request-level code 4, the
vendor's wording, and the rate-limit mode against the client's limiter and retries."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from typing import Literal

import httpx
import pytest

from partner_async import (
    DeliveryStatus,
    MessageNotFoundError,
    RateLimitError,
    RetryPolicy,
    StatusResult,
    Unresolved,
    UnresolvedReason,
)
from partner_async.sandbox import (
    MESSAGES,
    SandboxConfig,
    SandboxTransport,
    bulk_recipients,
    cost_rows,
    create_app,
    ground_truth,
    tag_message_id,
)

from ._fakes import FakeClock, fixture_json
from .test_sandbox_e2e import sms

pytestmark = pytest.mark.anyio

SMS_URL = "http://127.0.0.1/v1"


def queries(n: int, seed: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    return [(f"+336{rng.randrange(10**8):08d}", rng.randrange(1, 10**7)) for _ in range(n)]


def missing_message() -> int:
    return next(m for m in range(1, 10_000) if bulk_recipients(m) is None)


# -- message-status ------------------------------------------------------------------


@pytest.mark.parametrize("response_format", ["json", "xml"])
async def test_message_status_is_the_ground_truth(response_format: str) -> None:
    config = SandboxConfig(seed=3)
    async with sms(config, response_format=response_format) as (client, _):
        for phone, mid in queries(60, seed=3):
            truth = ground_truth(phone, mid, config=config)
            if not truth.success:
                with pytest.raises(MessageNotFoundError):
                    await client.message_status(phone, mid)
                continue
            status = await client.message_status("0" + phone[3:], str(mid))
            assert (status.phone_number, status.message_id) == (phone, mid)
            assert status.status.value == truth.status and status.status_text == truth.wire_status
            assert status.timestamp == truth.date  # the Paris local date read back exactly
            assert status.stop_sms == truth.stop_sms
            assert (status.cost, status.currency, status.country_code) == (
                Decimal("0.045"),
                "EUR",
                "FR",
            )


async def test_message_status_and_multi_status_share_the_polls() -> None:
    config = SandboxConfig(seed=4, waiting_polls=2)
    phone, mid = next(
        q for q in queries(3000, 4) if ground_truth(*q, config=config).status == "Waiting"
    )
    async with sms(config) as (client, _):
        [first] = await client.multi_status([(phone, mid)])
        second = await client.message_status(phone, mid)
        [third] = await client.multi_status([(phone, mid)])
    assert isinstance(first, StatusResult) and isinstance(third, StatusResult)
    assert first.status is DeliveryStatus.WAITING and second.status is DeliveryStatus.WAITING
    final = ground_truth(phone, mid, config=config, polls=2)
    assert third.status.value == final.status and third.is_final


# -- bulk-status-by-tag --------------------------------------------------------------


async def test_bulk_status_by_tag_is_the_ground_truth() -> None:
    config = SandboxConfig(seed=5)
    tag = next(t for t in (f"campaign-{i}" for i in range(100)) if
               bulk_recipients(tag_message_id(t, config=config), config=config))  # fmt: skip
    mid = tag_message_id(tag, config=config)
    async with sms(config) as (client, _):
        report = await client.bulk_status_by_tag(tag)
    phones = bulk_recipients(mid, config=config)
    assert phones is not None
    assert tuple(r.phone_number for r in report) == phones
    assert (report.tag, report.current_page, report.total, report.is_complete) == (
        tag,
        1,
        len(phones),
        True,
    )
    for recipient in report:
        truth = ground_truth(recipient.phone_number, mid, config=config)
        assert recipient.status.value == truth.status and recipient.timestamp == truth.date


async def test_bulk_status_by_tag_pages_and_unknown_tags() -> None:
    config = SandboxConfig(seed=5, tag_page_size=1)
    tags = [f"t{i}" for i in range(200)]
    big = next(t for t in tags if len(bulk_recipients(tag_message_id(t, seed=5), seed=5) or ()) > 1)
    unknown = next(t for t in tags if bulk_recipients(tag_message_id(t, seed=5), seed=5) is None)
    async with sms(config) as (client, _):
        report = await client.bulk_status_by_tag(big)
        with pytest.raises(MessageNotFoundError):
            await client.bulk_status_by_tag(unknown)
    assert len(report) == 1 and report.total is not None and report.total > 1
    assert not report.is_complete


# -- statistics/cost-resume ----------------------------------------------------------


async def test_cost_statistics_are_the_ground_truth() -> None:
    config = SandboxConfig(seed=6, today=date(2024, 3, 15))
    async with sms(config) as (client, _):
        last = await client.cost_statistics("last_month")
        year = await client.cost_statistics()
        custom = await client.cost_statistics(
            "custom", start=date(2022, 11, 30), end=date(2023, 1, 2)
        )
    assert [(r.year, r.month_number) for r in last] == [(2024, 2)]
    assert [(r.year, r.month_number) for r in year][0::11] == [(2023, 4), (2024, 3)]
    truth = cost_rows((2022, 11), (2023, 1), config=config)
    assert [(r.year, r.month_number, r.messages_sent, r.cost, r.timestamp) for r in custom] == [
        (t.year, t.month, t.sent, Decimal(t.cost), t.start) for t in truth
    ]
    assert custom.rows[0].month == "november" and custom.rows[0].type == "month"
    assert all(
        r.cost == Decimal("0.045") * r.messages_sent
        for r in custom
        if r.cost is not None and r.messages_sent is not None
    )


async def test_the_clients_pacing_keeps_under_the_sandboxs_cost_resume_limit() -> None:
    clock = FakeClock()
    config = SandboxConfig(seed=6, clock=clock.now)  # cost_resume_limit: 5 per minute
    async with sms(config, clock=clock, max_retries=0) as (client, app):
        for _ in range(12):
            await client.cost_statistics("last_month")
    assert app.stats.rate_limited == 0
    assert clock.now() - 1000 >= 120  # 12 requests at 5 per minute: two waits of a minute


async def test_the_sandbox_enforces_the_cost_resume_limit() -> None:
    app = create_app(SandboxConfig(clock=FakeClock().now))
    url = f"{SMS_URL}/statistics/cost-resume?apiKey=sandbox&interval=last_month"
    async with httpx.AsyncClient(transport=SandboxTransport(app)) as http:
        answers = [await http.get(url) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert answers[-1].json()["code"] == 429 and answers[-1].headers["retry-after"] == "60"


# -- the docs' own request, request-level code 4, wording ----------------------------


async def test_the_docs_own_request_is_answered_as_the_docs_show() -> None:
    request = fixture_json("multi_status_request.en.json")  # the page's cURL body, verbatim
    app = create_app(SandboxConfig(api_keys=(request["apiKey"],)))
    async with httpx.AsyncClient(transport=SandboxTransport(app)) as http:
        answer = (await http.post(f"{SMS_URL}/multi-status", json=request)).json()
    assert (answer["success"], answer["code"]) == (True, 200)
    first, second, third = answer["StatutResponse_List"]
    truth = ground_truth("0619922264", 199897)
    assert (first["phoneNumber"], first["code"]) == ("+33619922264", truth.code)
    documented = fixture_json("multi_status.en.json")["StatutResponse_List"][1]
    for entry, mid in ((second, 1000), (third, 1222)):
        assert list(entry) == list(documented)  # the documented not-found shape
        assert (entry["success"], entry["code"], entry["messageId"]) == (False, 4, mid)
        assert entry["status"] == "Number not found"


async def test_request_level_code_4_leaves_the_batch_rejected() -> None:
    config = SandboxConfig(request_not_found=True)
    gone = missing_message()
    found = next(q for q in queries(50, 8) if ground_truth(*q).success)
    lost = [(f"+3361234567{i}", gone) for i in range(3)]
    async with sms(config, batch_size=3) as (client, _):
        results = await client.multi_status([*lost, found])
    assert [(o.reason, o.code) for o in results.unresolved] == [(UnresolvedReason.REJECTED, 4)] * 3
    assert isinstance(results.get(*found), StatusResult)


@pytest.mark.parametrize("language", ["en", "fr"])
async def test_error_texts_are_the_vendors_wording(language: Literal["en", "fr"]) -> None:
    config = SandboxConfig(language=language, item_errors="request")
    async with sms(config, max_retries=0) as (client, _):
        results = await client.multi_status([("+33145678901", 1)])  # a landline: code 9
    [outcome] = results
    assert isinstance(outcome, Unresolved) and outcome.code == 9
    assert MESSAGES[language][9] in outcome.detail
    assert MESSAGES["fr"][9] == "Ne semble pas être un numéro de mobile"
    assert MESSAGES["fr"][6] == "Le format n'est pas correct"
    assert MESSAGES["fr"][10] == "Clé API incorrecte"
    assert MESSAGES["en"][4] == "Message not found"


# -- the rate-limit mode -------------------------------------------------------------


@pytest.mark.parametrize("retry_after", [True, False])
async def test_rate_limit_mode_with_the_clients_limiter(retry_after: bool) -> None:
    clock = FakeClock()
    config = SandboxConfig(rate_limit=10, rate_limit_retry_after=retry_after, clock=clock.now)
    # One request in flight: the fake clock's sleeps then add up exactly as real time would
    # (concurrent fake sleeps each move the shared time, which no real clock does).
    async with sms(
        config, clock=clock, batch_size=5, max_concurrency=1, max_requests_per_second=10 / 60
    ) as (client, app):
        results = await client.multi_status(queries(100, seed=9))
    assert results.unresolved == [] and len(results) == 100
    assert app.stats.rate_limited == 0  # the limiter kept under the server's limit


async def test_rate_limit_mode_with_retry_after_is_waited_out() -> None:
    clock = FakeClock()
    config = SandboxConfig(rate_limit=10, clock=clock.now)
    async with sms(config, clock=clock, batch_size=5, max_concurrency=4, max_retries=5) as (
        client,
        app,
    ):
        results = await client.multi_status(queries(100, seed=9))
    assert results.unresolved == [] and len(results) == 100
    assert app.stats.rate_limited > 0  # 429s came, and Retry-After paused the client


async def test_rate_limit_mode_without_retry_after_loses_no_query() -> None:
    clock = FakeClock()
    config = SandboxConfig(rate_limit=10, rate_limit_retry_after=False, clock=clock.now)
    policy = RetryPolicy(max_retries=6, backoff_base=20.0, backoff_max=60.0)
    async with sms(config, clock=clock, batch_size=5, max_concurrency=4, retry=policy) as (
        client,
        app,
    ):
        asked = queries(100, seed=9)
        results = await client.multi_status(asked)
        with pytest.raises(RateLimitError):
            await client.message_status(*asked[0], max_retries=0)
    assert app.stats.rate_limited > 0
    assert len(results) == len(set(asked))  # exactly one outcome each
    assert {o.reason for o in results.unresolved} <= {UnresolvedReason.RATE_LIMITED}


async def test_the_sandboxs_validation_detail_reaches_unresolved() -> None:
    config = SandboxConfig(
        item_errors="request", validation_detail=True, http_error_status=True, language="fr"
    )
    found = [q for q in queries(40, 10) if ground_truth(*q).success][:7]
    async with sms(config, max_retries=0) as (client, app):
        results = await client.multi_status([*found[:3], ("+33145678901", 1), *found[3:]])
    [bad] = results.unresolved
    assert bad.code == 9 and app.stats.http_statuses[400] >= 1
    assert "SMSStatut_List[0].phoneNumber: Ne semble pas être un numéro de mobile" in bad.detail
