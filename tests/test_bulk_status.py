"""bulk_status for SMS Partner and Mail Partner: shapes, variants and every error code."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from partner_async import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    DeliveryStatus,
    MailPartnerClient,
    MessageIdRequiredError,
    MessageNotFoundError,
    ResponseFormatError,
    ServerError,
    SMSPartnerClient,
    TransportError,
)

from ._fakes import API_KEY, MAIL_BASE, SMS_BASE, fixture_json

pytestmark = pytest.mark.anyio


def sms(**options: Any) -> SMSPartnerClient:
    options.setdefault("max_retries", 0)
    return SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, **options)


def mail(**options: Any) -> MailPartnerClient:
    options.setdefault("max_retries", 0)
    return MailPartnerClient(api_key=API_KEY, base_url=MAIL_BASE, **options)


async def test_sms_bulk_status_sample(router: respx.MockRouter) -> None:
    route = router.get(f"{SMS_BASE}/bulk-status").respond(json=fixture_json("sms_bulk_status.json"))
    async with sms() as c:
        report = await c.bulk_status(111)
    assert route.calls.last.request.url.params["messageId"] == "111"
    assert route.calls.last.request.url.params["apiKey"] == API_KEY
    assert report.message_id == "111"
    assert len(report) == 2
    first, second = report
    assert first.phone_number == "+336XXXXXXX1"
    assert first.status is DeliveryStatus.DELIVERED and first.status_text == "Delivered"
    assert first.stop_sms is False
    assert first.date is not None and first.date.isoformat() == "2018-02-07T07:38:31+00:00"
    assert second.timestamp == 1517989101
    assert report.counts_by_status() == {DeliveryStatus.DELIVERED: 2}


async def test_sms_bulk_status_accepts_the_other_key_spellings(router: respx.MockRouter) -> None:
    body = {
        "success": True,
        "code": 200,
        "messageId": 111,
        "StatutResponse_List": [
            {"phoneNumber": "+33600000001", "status": "UNDELIV", "stopSms": "1", "date": 1517989111}
        ],
    }
    router.get(f"{SMS_BASE}/bulk-status").respond(json=body)
    async with sms() as c:
        report = await c.bulk_status("111")
    assert report.message_id == "111"
    [r] = report.recipients
    assert (r.status, r.stop_sms, r.timestamp) == (DeliveryStatus.NOT_DELIVERED, True, 1517989111)


async def test_mail_bulk_status_sample(router: respx.MockRouter) -> None:
    route = router.get(f"{MAIL_BASE}/bulk-status").respond(
        json=fixture_json("mail_bulk_status.json")
    )
    async with mail() as m:
        report = await m.bulk_status("xxx")
    assert route.calls.last.request.url.params["messageId"] == "xxx"
    assert report.message_id == "xxx"
    first, second = report
    assert (first.email, first.token, first.cost, first.stop_mail) == ("email1", "xxx", 1.0, True)
    assert first.status is DeliveryStatus.DELIVERED
    assert first.date is not None and first.date.isoformat() == "2020-09-02T15:37:24+00:00"
    assert second.email == "email2"


async def test_mail_client_reads_its_own_environment_variable(
    router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILPARTNER_API_KEY", "mail-key")
    monkeypatch.delenv("SMSPARTNER_API_KEY", raising=False)
    route = router.get("https://api.mailpartner.fr/v1/bulk-status").respond(
        json=fixture_json("mail_bulk_status.json")
    )
    async with MailPartnerClient() as m:
        await m.bulk_status(300)
    assert route.calls.last.request.url.params["apiKey"] == "mail-key"
    with pytest.raises(ConfigurationError, match="SMSPARTNER_API_KEY"):
        SMSPartnerClient()


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (1, AuthenticationError),
        (3, MessageIdRequiredError),
        (4, MessageNotFoundError),
        (10, AuthenticationError),
    ],
)
@pytest.mark.parametrize("http_status", [200, 400, 404])
@pytest.mark.parametrize("which", ["sms", "mail"])
async def test_bulk_status_error_codes(
    router: respx.MockRouter, code: int, error: type[APIError], http_status: int, which: str
) -> None:
    base, make = (SMS_BASE, sms) if which == "sms" else (MAIL_BASE, mail)
    router.get(f"{base}/bulk-status").respond(
        http_status, json={"success": False, "code": code, "message": "Clé API incorrecte"}
    )
    async with make() as c:
        with pytest.raises(error) as info:
            await c.bulk_status(12)
    assert info.value.code == code
    assert info.value.message == "Clé API incorrecte"
    assert info.value.status_code == http_status
    assert API_KEY not in str(info.value) and API_KEY not in repr(info.value)


async def test_bulk_status_retries_transient_failures(router: respx.MockRouter) -> None:
    route = router.get(f"{SMS_BASE}/bulk-status").mock(
        side_effect=[
            httpx.Response(503, text="<html>busy</html>"),
            httpx.ConnectError("refused"),
            httpx.Response(200, text="<html>oops</html>"),
            httpx.Response(200, json=fixture_json("sms_bulk_status.json")),
        ]
    )
    async with sms(max_retries=3) as c:
        c.retry = c.retry.__class__(max_retries=3, backoff_base=0)
        report = await c.bulk_status(111)
    assert route.call_count == 4
    assert len(report) == 2


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(502, text="bad gateway"), ServerError),
        (httpx.ConnectError("refused"), TransportError),
        (httpx.Response(200, text="<html>not json</html>"), ResponseFormatError),
        (httpx.Response(200, json=[1, 2]), ResponseFormatError),
        (httpx.Response(404, text="nope"), ServerError),
    ],
)
async def test_bulk_status_failures_raise_typed_errors(
    router: respx.MockRouter, response: Any, error: type[Exception]
) -> None:
    router.get(f"{SMS_BASE}/bulk-status").mock(side_effect=[response])
    async with sms() as c:
        with pytest.raises(error) as info:
            await c.bulk_status(111)
    assert API_KEY not in str(info.value)
    cause = info.value.__cause__  # a transport error keeps its cause, as a bare copy
    assert cause is None or (
        API_KEY not in repr(cause) and getattr(cause, "_request", None) is None
    )
    assert (cause is not None) is (error is TransportError)


@pytest.mark.parametrize("bad", [0, -1, "abc", "", None, 1.5])
async def test_sms_bulk_status_rejects_a_bad_message_id_naming_it(bad: Any) -> None:
    async with sms() as c:
        with pytest.raises(ConfigurationError, match="invalid message id"):
            await c.bulk_status(bad)


@pytest.mark.parametrize("bad", ["", "  ", None, True])
async def test_mail_bulk_status_rejects_a_bad_message_id(bad: Any) -> None:
    async with mail() as m:
        with pytest.raises(ConfigurationError, match="invalid message id"):
            await m.bulk_status(bad)
