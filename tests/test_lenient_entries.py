"""Lenient entries: one unreadable field reads as None, the entry keeps its status, the
oddity is counted (``CallStats.unreadable_fields``) and logged once."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import respx

from partner_async import DeliveryStatus, MailPartnerClient, SMSPartnerClient, StatusResult

from ._fakes import API_KEY, MAIL_BASE, SMS_BASE, FakeAPI, default_entry, fixture_json, phones

pytestmark = pytest.mark.anyio


def client(**options: Any) -> SMSPartnerClient:
    return SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, max_retries=0, **options)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "unreadable" in r.getMessage()]


@pytest.mark.parametrize(
    ("field", "value", "attribute"),
    [
        ("date", "07/02/2015 22:39", "timestamp"),
        ("date", {"when": 1}, "timestamp"),
        ("stopSms", "oui", "stop_sms"),
        ("isSpam", "maybe", "is_spam"),
        ("date", "99999999999999", "timestamp"),  # beyond year 9999: no datetime holds it
        ("date", 10**15, "timestamp"),
        ("date", -62135596801, "timestamp"),
    ],
)
async def test_an_unreadable_field_keeps_the_entry(
    fake_api: FakeAPI,
    caplog: pytest.LogCaptureFixture,
    field: str,
    value: Any,
    attribute: str,
) -> None:
    odd = set(phones(3, start=500))
    fake_api.entry = lambda p, m: {**default_entry(p, m), **({field: value} if p in odd else {})}
    queries = [(p, 1) for p in phones(1000)]
    async with client(batch_size=500) as c:
        with caplog.at_level(logging.WARNING, logger="partner_async"):
            results = await c.multi_status(queries)
    assert results.unresolved == []  # before: the entries failed and the queries ended missing
    assert results.stats.reasked == 0
    for outcome in results:
        assert isinstance(outcome, StatusResult) and outcome.status is DeliveryStatus.DELIVERED
        assert (getattr(outcome, attribute) is None) is (outcome.phone_number in odd)
    assert results.stats.unreadable_fields == 3
    [message] = warnings(caplog)  # once per call, though two batches had one
    assert field in message


async def test_a_small_call_counts_its_unreadable_fields_too(fake_api: FakeAPI) -> None:
    """A call of fewer queries than a batch shares requests (``status()``'s path): its
    counters are those of the requests that carried it, every counter included."""
    odd = set(phones(2, start=7))
    fake_api.entry = lambda p, m: {**default_entry(p, m), **({"isSpam": "?"} if p in odd else {})}
    async with client() as c:
        results = await c.multi_status([(p, 1) for p in phones(20)])
    assert results.stats.requests == 1
    assert results.stats.unreadable_fields == 2


async def test_unreadable_code_falls_back_on_success(fake_api: FakeAPI) -> None:
    fake_api.entry = lambda p, m: {**default_entry(p, m), "code": "two hundred"}
    async with client() as c:
        [result] = await c.multi_status([("+33612345678", 5)])
    assert isinstance(result, StatusResult) and result.code == 200 and result.success
    assert result.status is DeliveryStatus.DELIVERED


async def test_documented_answers_have_no_unreadable_fields(fake_api: FakeAPI) -> None:
    async with client() as c:
        results = await c.multi_status([(p, 1) for p in phones(20)])
    assert results.stats.unreadable_fields == 0


async def test_a_mail_report_with_stop_mail_oui_is_kept(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    body = fixture_json("mail_bulk_status.json")
    entries = body["StatutResponseList"]
    entries[0] = {**entries[0], "stopMail": "oui"}
    entries[-1] = {**entries[-1], "date": "hier", "cost": "n/a"}
    router.get(f"{MAIL_BASE}/bulk-status").respond(json=body)
    async with MailPartnerClient(api_key=API_KEY, base_url=MAIL_BASE, max_retries=0) as m:
        with caplog.at_level(logging.WARNING, logger="partner_async"):
            report = await m.bulk_status("300")
    assert len(report) == len(entries)
    assert report.recipients[0].stop_mail is None
    assert report.recipients[0].status_text == entries[0]["status"]
    assert report.recipients[-1].timestamp is None and report.recipients[-1].cost is None
    [message] = warnings(caplog)
    assert "3 unreadable field(s)" in message


async def test_a_date_out_of_range_reads_as_none_and_every_value_stays_json_ready(
    fake_api: FakeAPI,
) -> None:
    fake_api.entry = lambda p, m: {**default_entry(p, m), "date": 10**15}
    async with client() as c:
        results = await c.multi_status([("+33612345678", 5)])
        alone = await c.status("+33612345679", 5)
    [result] = results
    assert isinstance(result, StatusResult) and isinstance(alone, StatusResult)
    assert result.timestamp is None and result.date is None and alone.date is None
    assert results.stats.unreadable_fields == 1
    json.dumps(results.to_dict(), allow_nan=False)  # what strict encoders (ASGI) need


async def test_a_mail_cost_that_is_not_a_finite_number_reads_as_none(
    router: respx.MockRouter,
) -> None:
    body = fixture_json("mail_bulk_status.json")
    entries = body["StatutResponseList"]
    entries[0] = {**entries[0], "cost": "NaN"}
    entries[1] = {**entries[1], "cost": "inf"}
    router.get(f"{MAIL_BASE}/bulk-status").respond(json=body)
    async with MailPartnerClient(api_key=API_KEY, base_url=MAIL_BASE, max_retries=0) as m:
        report = await m.bulk_status("300")
    assert report.recipients[0].cost is None and report.recipients[1].cost is None
    json.dumps(report.to_dict(), allow_nan=False)


async def test_an_sms_report_with_a_bad_date_is_kept(router: respx.MockRouter) -> None:
    body = fixture_json("sms_bulk_status.json")
    body["StatutResponse_List"][1]["date"] = "le 7 février"
    router.get(f"{SMS_BASE}/bulk-status").respond(json=body)
    async with client() as c:
        report = await c.bulk_status(111)
    assert [r.timestamp for r in report] == [1517989111, None]
    assert report.recipients[1].status is DeliveryStatus.DELIVERED


def test_request_counters_add_up_every_counter_but_the_input_s() -> None:
    """Shared requests and wait_for_final's rounds add their counters to a call's with one
    rule; a counter added to CallStats later must not be left out of it."""
    import attrs

    from partner_async import CallStats
    from partner_async._results import add_request_counts

    names = [field.name for field in attrs.fields(CallStats)]
    total = CallStats(**dict.fromkeys(names, 1))
    add_request_counts(total, CallStats(**dict.fromkeys(names, 10)))
    assert {name: getattr(total, name) for name in names} == {
        name: 1 if name in ("queries", "duplicates") else 11 for name in names
    }
