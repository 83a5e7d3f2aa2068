"""Issue 12: what a hostile server or a bad value does (each a test that failed before)."""

from __future__ import annotations

import httpx
import pytest
import respx

from partner_async import (
    ResponseFormatError,
    SMSPartnerClient,
    StatusResult,
    Unresolved,
    UnresolvedReason,
)

from ._fakes import API_KEY, SMS_BASE, FakeAPI, FakeClock, phones

pytestmark = pytest.mark.anyio


def _client(**options: object) -> SMSPartnerClient:
    options.setdefault("clock", FakeClock())
    return SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, **options)  # type: ignore[arg-type]


# -- message ids out of range ------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [2**64, 2**63, "18446744073709551616", "9223372036854775808", 10**5000, "9" * 5000],
    ids=["2**64", "2**63", "str 2**64", "str 2**63", "5000-digit int", "5000-digit str"],
)
async def test_an_out_of_range_message_id_is_one_invalid_query(
    fake_api: FakeAPI, bad: object
) -> None:
    good = [(p, i + 1) for i, p in enumerate(phones(1200))]
    queries: list[tuple[str, object]] = [*good[:700], ("+33699999999", bad), *good[700:]]
    async with _client() as client:
        results = await client.multi_status(queries)
    assert len(results) == 1201
    [unresolved] = results.unresolved
    assert unresolved.reason is UnresolvedReason.INVALID_QUERY
    assert unresolved.query.message_id == bad
    assert "invalid message id" in unresolved.detail and "2**63 - 1" in unresolved.detail
    assert len(unresolved.detail) < 200
    assert sum(type(o) is StatusResult for o in results) == 1200
    assert all(m <= 2**63 - 1 for _, m in fake_api.sent_items)


async def test_the_largest_message_id_is_accepted_and_sent(fake_api: FakeAPI) -> None:
    largest = 2**63 - 1
    async with _client() as client:
        results = await client.multi_status(
            [("+33612345678", largest), ("+33612345679", str(largest))]
        )
    assert [type(o) for o in results] == [StatusResult, StatusResult]
    assert fake_api.sent_items == [("+33612345678", largest), ("+33612345679", largest)]


async def test_bulk_status_refuses_an_out_of_range_id_without_sending() -> None:
    from partner_async import ConfigurationError

    async with _client() as client:
        with pytest.raises(ConfigurationError, match="invalid message id"):
            await client.bulk_status(2**64)


# -- a deeply nested XML answer ----------------------------------------------------------

DEEP_XML = (
    "<result><entry>true</entry><entry>200</entry>"
    + "<entry>" * 900
    + "x"
    + "</entry>" * 900
    + "</result>"
).encode()


def _xml(content: bytes) -> httpx.Response:
    return httpx.Response(200, content=content, headers={"content-type": "application/xml"})


async def test_a_deep_xml_answer_is_malformed_not_a_recursion_error(
    router: respx.MockRouter,
) -> None:
    route = router.post(f"{SMS_BASE}/multi-status").mock(return_value=_xml(DEEP_XML))
    async with _client(response_format="xml", max_retries=2) as client:
        results = await client.multi_status([("+33612345678", 1), ("+33612345679", 2)])
    assert route.call_count == 3  # retried like any malformed answer
    for outcome in results:
        assert isinstance(outcome, Unresolved)
        assert outcome.reason is UnresolvedReason.MALFORMED_RESPONSE
        assert "nested deeper" in outcome.detail


async def test_a_deep_xml_bulk_answer_is_a_response_format_error(
    router: respx.MockRouter,
) -> None:
    router.get(f"{SMS_BASE}/bulk-status").mock(return_value=_xml(DEEP_XML))
    async with _client(response_format="xml", max_retries=1) as client:
        with pytest.raises(ResponseFormatError, match="nested deeper"):
            await client.bulk_status(300)
