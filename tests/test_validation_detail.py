"""The vendor's validation detail (``errors`` / ``error`` arrays of ``{elementId,
message}`` on code 9) is kept: in ``Unresolved.detail`` and on the exception."""

from __future__ import annotations

import pickle
from typing import Any

import httpx
import pytest
import respx

from partner_async import APIError, InvalidRequestError, SMSPartnerClient, Unresolved

from ._fakes import API_KEY, SMS_BASE, FakeAPI, phones

pytestmark = pytest.mark.anyio

LANDLINE = "+33145678901"
DETAIL = "Ne semble pas être un numéro de mobile"


def refusal(key: str, element: str = "phoneNumber") -> dict[str, Any]:
    return {
        "success": False,
        "code": 9,
        "message": "Validation error",
        key: [{"elementId": element, "message": DETAIL}],
    }


@pytest.mark.parametrize("key", ["errors", "error"])
async def test_multi_status_keeps_the_detail_in_unresolved(fake_api: FakeAPI, key: str) -> None:
    def respond(body: dict[str, Any]) -> httpx.Response | None:
        items = body["SMSStatut_List"]
        for i, item in enumerate(items):
            if item["phoneNumber"] == LANDLINE:
                # the Go SDK's data: code 9 with HTTP 400
                return httpx.Response(400, json=refusal(key, f"SMSStatut_List[{i}].phoneNumber"))
        return None

    fake_api.respond = respond
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, max_retries=0) as c:
        results = await c.multi_status([(LANDLINE, 1), *((p, 1) for p in phones(9))])
    [bad] = results.unresolved
    assert isinstance(bad, Unresolved) and bad.code == 9
    assert DETAIL in bad.detail and "SMSStatut_List[0].phoneNumber" in bad.detail
    assert "Validation error" in bad.detail


async def test_the_exception_carries_the_detail(router: respx.MockRouter) -> None:
    router.get(f"{SMS_BASE}/message-status").respond(400, json=refusal("errors"))
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, max_retries=0) as c:
        with pytest.raises(InvalidRequestError) as info:
            await c.message_status("0612345678", 1)
    error = info.value
    assert error.errors == (("phoneNumber", DETAIL),)
    assert DETAIL in str(error) and error.message == "Validation error"
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, InvalidRequestError) and copy.errors == error.errors


async def test_the_detail_is_bounded(router: respx.MockRouter) -> None:
    many = {
        "success": False,
        "code": 9,
        "errors": [{"elementId": "x" * 5000, "message": "m"}] * 1000 + ["plain text", 7],
    }
    router.get(f"{SMS_BASE}/bulk-status").respond(json=many)
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, max_retries=0) as c:
        with pytest.raises(APIError) as info:
            await c.bulk_status(1)
    assert len(info.value.errors) == 20
    assert all(len(element) <= 300 for element, _ in info.value.errors)
