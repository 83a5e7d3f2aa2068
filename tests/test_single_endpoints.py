"""message_status, bulk_status_by_tag and cost_statistics: the vendor's samples, every
documented variant, the vendor's codes, input checks and cost-resume's 5 requests/min."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from partner_async import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    CostRow,
    CostStatistics,
    DeliveryStatus,
    InvalidRequestError,
    MessageIdRequiredError,
    MessageNotFoundError,
    MessageStatus,
    ResponseFormatError,
    RetryPolicy,
    SMSPartnerClient,
    TagStatusReport,
)

from ._fakes import API_KEY, SMS_BASE, FakeClock, fixture_json, fixture_text

pytestmark = pytest.mark.anyio


def sms(**options: Any) -> SMSPartnerClient:
    options.setdefault("max_retries", 0)
    return SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, **options)


def utc(year: int, month: int, day: int, *time: int) -> datetime:
    hour, minute, second = (*time, 0, 0, 0)[:3]
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)


# -- message-status ------------------------------------------------------------------


async def test_message_status_sample(router: respx.MockRouter) -> None:
    route = router.get(f"{SMS_BASE}/message-status").respond(
        text=fixture_text("message_status.json")
    )
    async with sms() as c:
        status = await c.message_status("06 00 00 00 00", "1111")
    params = route.calls.last.request.url.params
    assert dict(params) == {"apiKey": API_KEY, "messageId": "1111", "phoneNumber": "+33600000000"}
    assert status == MessageStatus(
        phone_number="+33600000000",
        message_id=1111,
        status_text="Delivered",
        timestamp=1423345186,
        stop_sms=False,
        cost=Decimal("0.045"),
        country_code="FR",
        currency="EUR",
    )
    # "2015-02-07 22:39:46" is the vendor's local time: Paris, UTC+1 in February.
    assert status.date == utc(2015, 2, 7, 21, 39, 46)
    assert status.status is DeliveryStatus.DELIVERED and status.is_final


async def test_message_status_local_dates_follow_paris_summer_time(
    router: respx.MockRouter,
) -> None:
    body = fixture_json("message_status.json") | {"date": "2015-07-07 22:39:46"}
    router.get(f"{SMS_BASE}/message-status").respond(json=body)
    async with sms() as c:
        status = await c.message_status("+33600000000", 1111)
    assert status.date == utc(2015, 7, 7, 20, 39, 46)  # CEST, UTC+2


async def test_message_status_accepts_the_go_sdks_unix_date_and_other_spellings(
    router: respx.MockRouter,
) -> None:
    body = {
        "success": True,
        "code": 200,
        "phoneNumber": "+33600000000",
        "messageId": 1111,
        "stopSMS": "1",
        "date": "1423345186",
        "status": "DELIVRD",
        "cost": "0.045",
    }
    router.get(f"{SMS_BASE}/message-status").respond(json=body)
    async with sms() as c:
        status = await c.message_status("+33600000000", 1111)
    assert status.status is DeliveryStatus.DELIVERED and status.status_text == "DELIVRD"
    assert status.date == utc(2015, 2, 7, 21, 39, 46)
    assert status.stop_sms is True
    assert status.cost == Decimal("0.045")
    assert status.country_code is None and status.currency is None


async def test_message_status_xml(router: respx.MockRouter) -> None:
    xml = (
        "<?xml version='1.0' encoding='UTF-8'?>\n<result><entry>true</entry><entry>200</entry>"
        "<entry><![CDATA[0600000000]]></entry><entry><![CDATA[1111]]></entry>"
        "<entry>false</entry><entry><![CDATA[2015-02-07 22:39:46]]></entry>"
        "<entry><![CDATA[Delivered]]></entry><entry>0.045</entry>"
        "<entry><![CDATA[FR]]></entry><entry><![CDATA[EUR]]></entry></result>\n"
    )
    route = router.get(f"{SMS_BASE}/message-status").respond(text=xml)
    async with sms(response_format="xml") as c:
        status = await c.message_status("0600000000", 1111)
    assert route.calls.last.request.url.params["_format"] == "xml"
    assert status.status is DeliveryStatus.DELIVERED
    assert status.date == utc(2015, 2, 7, 21, 39, 46)
    assert status.cost == Decimal("0.045") and status.currency == "EUR"
    assert status.stop_sms is False


async def test_message_status_xml_error(router: respx.MockRouter) -> None:
    router.get(f"{SMS_BASE}/message-status").respond(text=fixture_text("error.xml"))
    async with sms(response_format="xml") as c:
        with pytest.raises(APIError) as info:
            await c.message_status("0600000000", 1111)
    assert info.value.code == 10


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (1, AuthenticationError),
        (2, InvalidRequestError),
        (3, MessageIdRequiredError),
        (4, MessageNotFoundError),
        (10, AuthenticationError),
    ],
)
@pytest.mark.parametrize("http_status", [200, 400])
async def test_message_status_vendor_codes_raise(
    router: respx.MockRouter, code: int, error: type[APIError], http_status: int
) -> None:
    route = router.get(f"{SMS_BASE}/message-status").respond(
        http_status, json={"success": False, "code": code, "message": "Clé API incorrecte"}
    )
    async with sms(max_retries=3) as c:
        with pytest.raises(error) as info:
            await c.message_status("0600000000", 1111)
    assert route.call_count == 1  # never retried
    assert info.value.code == code and info.value.status_code == http_status
    assert API_KEY not in str(info.value) and API_KEY not in repr(info.value)


@pytest.mark.parametrize(
    ("phone", "message_id", "match"),
    [
        ("not a number", 1, "invalid phone number 'not a number'"),
        ("0600000000", "abc", "invalid message id 'abc'"),
        ("0600000000", 0, "invalid message id 0"),
        (None, 1, "invalid phone number None"),
    ],
)
async def test_message_status_rejects_bad_input_naming_it(
    phone: Any, message_id: Any, match: str
) -> None:
    async with sms() as c:
        with pytest.raises(ConfigurationError, match=match):
            await c.message_status(phone, message_id)


async def test_message_status_keeps_the_status_when_one_field_is_unreadable(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    body = fixture_json("message_status.json") | {"date": "07/02/2015", "cost": "n/a"}
    router.get(f"{SMS_BASE}/message-status").respond(json=body)
    async with sms() as c:
        with caplog.at_level(logging.WARNING, logger="partner_async"):
            status = await c.message_status("0600000000", 1111)
    assert status.status is DeliveryStatus.DELIVERED
    assert status.date is None and status.cost is None and status.currency == "EUR"
    warnings = [r for r in caplog.records if "unreadable" in r.getMessage()]
    assert len(warnings) == 1 and "2 unreadable field(s)" in warnings[0].getMessage()


# -- bulk-status-by-tag --------------------------------------------------------------


async def test_bulk_status_by_tag_sample(router: respx.MockRouter) -> None:
    route = router.get(f"{SMS_BASE}/bulk-status-by-tag").respond(
        text=fixture_text("bulk_status_by_tag.repaired.json")
    )
    async with sms(response_format="xml") as c:  # tag answers are JSON only
        report = await c.bulk_status_by_tag(" montag ")
    assert dict(route.calls.last.request.url.params) == {"apiKey": API_KEY, "tag": "montag"}
    assert isinstance(report, TagStatusReport)
    assert (report.tag, report.current_page, report.total) == ("montag", 1, 2)
    assert report.is_complete and len(report) == 2
    first, second = report
    assert first.phone_number == "+336XXXXXXX1" and first.stop_sms is False
    assert first.date == utc(2018, 2, 7, 7, 38, 31)
    assert second.timestamp == 1517989101
    assert report.counts_by_status() == {DeliveryStatus.DELIVERED: 2}


async def test_bulk_status_by_tag_says_when_total_exceeds_what_came(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    body = fixture_json("bulk_status_by_tag.repaired.json") | {"total": 1500}
    router.get(f"{SMS_BASE}/bulk-status-by-tag").respond(json=body)
    async with sms() as c:
        with caplog.at_level(logging.WARNING, logger="partner_async"):
            report = await c.bulk_status_by_tag("montag")
    assert not report.is_complete and report.total == 1500 and len(report) == 2
    assert any("lists 2 of 1500 recipients" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("code", "error"),
    [(1, AuthenticationError), (3, MessageIdRequiredError), (4, MessageNotFoundError)],
)
async def test_bulk_status_by_tag_vendor_codes_raise(
    router: respx.MockRouter, code: int, error: type[APIError]
) -> None:
    router.get(f"{SMS_BASE}/bulk-status-by-tag").respond(
        json={"success": False, "code": code, "message": "x"}
    )
    async with sms() as c:
        with pytest.raises(error):
            await c.bulk_status_by_tag("montag")


@pytest.mark.parametrize("bad", ["", "   ", None, 3])
async def test_bulk_status_by_tag_rejects_a_bad_tag(bad: Any) -> None:
    async with sms() as c:
        with pytest.raises(ConfigurationError, match="invalid tag"):
            await c.bulk_status_by_tag(bad)


# -- statistics/cost-resume ----------------------------------------------------------


async def test_cost_statistics_sample(router: respx.MockRouter) -> None:
    route = router.get(f"{SMS_BASE}/statistics/cost-resume").respond(
        text=fixture_text("cost_resume.repaired.json")
    )
    async with sms() as c:
        stats = await c.cost_statistics()
    assert dict(route.calls.last.request.url.params) == {
        "apiKey": API_KEY,
        "interval": "last_twelve_months",
    }
    assert isinstance(stats, CostStatistics) and stats.interval == "last_twelve_months"
    assert list(stats) == [
        CostRow("october", 2021, 10, 1633039200, "month", Decimal("49.174"), 1210),
        CostRow("november", 2021, 11, 1635721200, "month", Decimal("67.674"), 1409),
    ]
    assert stats.total_cost == Decimal("116.848") and stats.total_messages == 2619
    # The period's start is midnight in Paris.
    assert stats.rows[0].date == utc(2021, 9, 30, 22, 0, 0)


async def test_cost_statistics_custom_interval(router: respx.MockRouter) -> None:
    route = router.get(f"{SMS_BASE}/statistics/cost-resume").respond(
        json={"success": True, "datas": []}
    )
    async with sms() as c:
        stats = await c.cost_statistics(
            "custom", start=date(2022, 10, 21), end=datetime(2022, 11, 3, 12, 0)
        )
    params = route.calls.last.request.url.params
    assert (params["interval"], params["from"], params["to"]) == (
        "custom",
        "21-10-2022",
        "03-11-2022",
    )
    assert stats.rows == () and stats.total_cost == 0


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("yesterday",), {}, "invalid interval 'yesterday'"),
        (("custom",), {"start": date(2022, 1, 1)}, "needs end="),
        (("custom",), {"start": "2022-01-01", "end": date(2022, 1, 1)}, "needs start="),
        (("custom",), {"start": date(2022, 2, 1), "end": date(2022, 1, 1)}, "is after end"),
        (("last_month",), {"start": date(2022, 1, 1)}, 'for interval="custom" only'),
    ],
)
async def test_cost_statistics_rejects_bad_arguments(
    args: tuple[Any, ...], kwargs: dict[str, Any], match: str
) -> None:
    async with sms() as c:
        with pytest.raises(ConfigurationError, match=match):
            await c.cost_statistics(*args, **kwargs)


async def test_cost_statistics_are_spaced_to_five_per_minute(router: respx.MockRouter) -> None:
    clock = FakeClock()
    started: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        started.append(clock.now())
        if len(started) == 3:  # one transient failure: its retry is paced too
            return httpx.Response(503)
        return httpx.Response(200, json={"success": True, "datas": []})

    router.get(f"{SMS_BASE}/statistics/cost-resume").mock(side_effect=answer)
    policy = RetryPolicy(max_retries=1, backoff_base=0)
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, clock=clock, retry=policy) as c:
        for _ in range(7):
            await c.cost_statistics("last_month")
        # other endpoints are not slowed by it
        router.get(f"{SMS_BASE}/bulk-status").respond(json={"success": True, "code": 200})
        before = clock.now()
        await c.bulk_status(1)
        assert clock.now() == before
    assert started == [1000.0] * 5 + [1060.0] * 3
    for i in range(len(started)):
        window = [t for t in started if started[i] <= t < started[i] + 60]
        assert len(window) <= 5


# -- the vendor's error samples, and its samples that are not JSON -------------------

CALLS: dict[str, Callable[[SMSPartnerClient], Awaitable[object]]] = {
    "message-status": lambda c: c.message_status("0600000000", 1111),
    "bulk-status-by-tag": lambda c: c.bulk_status_by_tag("montag"),
    "statistics/cost-resume": lambda c: c.cost_statistics(),
}


@pytest.mark.parametrize(
    ("path", "sample", "error", "match"),
    [
        ("message-status", "error.fr.json", AuthenticationError, "Clé API incorrecte"),
        ("bulk-status-by-tag", "error.incorrect_key.json", AuthenticationError, "Incorrect API"),
        ("bulk-status-by-tag", "bulk_status_by_tag.verbatim.txt", ResponseFormatError, "not valid"),
        ("statistics/cost-resume", "error.incorrect_key.json", AuthenticationError, "Incorrect"),
        ("statistics/cost-resume", "cost_resume.verbatim.txt", ResponseFormatError, "not valid"),
    ],
)
async def test_a_sample_answer_raises(
    router: respx.MockRouter, path: str, sample: str, error: type[Exception], match: str
) -> None:
    router.get(f"{SMS_BASE}/{path}").respond(text=fixture_text(sample))
    async with sms() as c:
        with pytest.raises(error, match=match):
            await CALLS[path](c)


async def test_no_frame_of_a_raised_error_holds_the_key(router: respx.MockRouter) -> None:
    router.get(f"{SMS_BASE}/message-status").respond(json={"success": False, "code": 4})
    async with sms() as c:
        with pytest.raises(MessageNotFoundError) as info:
            await c.message_status("0600000000", 1111)
    tb = info.value.__traceback__
    while tb is not None:
        assert API_KEY not in repr(tb.tb_frame.f_locals), tb.tb_frame.f_code.co_name
        tb = tb.tb_next
