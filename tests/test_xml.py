"""``response_format="xml"``: the vendor's positional XML decodes to the same typed results."""

from __future__ import annotations

import httpx
import pytest
import respx

from partner_async import (
    AuthenticationError,
    DeliveryStatus,
    MailPartnerClient,
    SMSPartnerClient,
    StatusResult,
    UnresolvedReason,
)

from ._fakes import API_KEY, MAIL_BASE, SMS_BASE, fixture_text

pytestmark = pytest.mark.anyio

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<result><entry>true</entry><entry>200</entry><entry>&lol3;</entry></result>"""


def xml(text: str | bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=text, headers={"content-type": "application/xml"})


async def test_multi_status_xml_sample(router: respx.MockRouter) -> None:
    route = router.post(f"{SMS_BASE}/multi-status").mock(
        return_value=xml(fixture_text("multi_status.xml"))
    )
    async with SMSPartnerClient(
        api_key=API_KEY, base_url=SMS_BASE, response_format="xml"
    ) as client:
        results = await client.multi_status(
            [("0619922264", 1226613), ("+33699999992", 1000), ("+33699999991", 1222)]
        )
    assert route.calls.last.request.url.params["_format"] == "xml"
    delivered, missing1, missing2 = results
    assert isinstance(delivered, StatusResult)
    assert delivered.phone_number == "+33619922264"
    assert (delivered.success, delivered.code, delivered.status) == (
        True,
        200,
        DeliveryStatus.DELIVERED,
    )
    assert delivered.timestamp == 1517934416
    assert (delivered.stop_sms, delivered.is_spam) == (False, False)
    for item in (missing1, missing2):
        assert isinstance(item, StatusResult)
        assert (item.success, item.code, item.status_text) == (False, 4, "Number not found")


async def test_xml_error_body_raises(router: respx.MockRouter) -> None:
    router.post(f"{SMS_BASE}/multi-status").mock(return_value=xml(fixture_text("error.xml")))
    async with SMSPartnerClient(
        api_key=API_KEY, base_url=SMS_BASE, response_format="xml"
    ) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.multi_status([("+33612345678", 1)])
    assert info.value.code == 10
    assert info.value.message == "Invalid API key"


async def test_mail_bulk_status_xml_sample(router: respx.MockRouter) -> None:
    router.get(f"{MAIL_BASE}/bulk-status").mock(
        return_value=xml(fixture_text("mail_bulk_status.xml"))
    )
    async with MailPartnerClient(
        api_key=API_KEY, base_url=MAIL_BASE, response_format="xml"
    ) as mail:
        report = await mail.bulk_status("xxx")
    assert report.message_id == "xxx"
    first, second = report
    assert (first.email, first.token, first.cost, first.stop_mail) == ("email1", "xxx", 1.0, True)
    assert first.status is DeliveryStatus.DELIVERED and first.timestamp == 1599061044
    assert second.token == "yyy"


async def test_sms_bulk_status_xml(router: respx.MockRouter) -> None:
    body = (
        "<?xml version='1.0' encoding='UTF-8'?><result><entry>true</entry><entry>200</entry>"
        "<entry><![CDATA[111]]></entry><entry>"
        "<entry><entry><![CDATA[+33600000001]]></entry><entry><![CDATA[Waiting]]></entry>"
        "<entry>false</entry><entry><![CDATA[1517989111]]></entry></entry>"
        "</entry></result>"
    )
    router.get(f"{SMS_BASE}/bulk-status").mock(return_value=xml(body))
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, response_format="xml") as c:
        report = await c.bulk_status(111)
    [r] = report.recipients
    assert (report.message_id, r.phone_number, r.status, r.stop_sms) == (
        "111",
        "+33600000001",
        DeliveryStatus.WAITING,
        False,
    )


async def test_entity_expansion_bomb_is_refused_never_expanded(router: respx.MockRouter) -> None:
    router.post(f"{SMS_BASE}/multi-status").mock(return_value=xml(BOMB))
    async with SMSPartnerClient(
        api_key=API_KEY, base_url=SMS_BASE, response_format="xml", max_retries=0
    ) as client:
        results = await client.multi_status([("+33612345678", 1)])
    [unresolved] = results.unresolved
    assert unresolved.reason is UnresolvedReason.MALFORMED_RESPONSE
    assert "entity-expansion" in unresolved.detail


def test_response_format_is_validated() -> None:
    with pytest.raises(ValueError, match="response_format"):
        SMSPartnerClient(api_key="k", response_format="yaml")  # type: ignore[arg-type]
