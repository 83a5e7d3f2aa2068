"""Every public value has to_dict(): JSON-ready (json.dumps takes it), status included."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from partner_async import (
    CallStats,
    CostRow,
    CostStatistics,
    MailBulkReport,
    MailRecipient,
    MessageStatus,
    Progress,
    SMSBulkReport,
    SMSPartnerClient,
    SMSRecipient,
    StatusQuery,
    StatusResult,
    StatusUpdate,
    TagStatusReport,
    Unresolved,
    UnresolvedReason,
)

from ._fakes import API_KEY, SMS_BASE, FakeAPI

pytestmark = pytest.mark.anyio

ANSWERED = StatusResult(
    phone_number="+33612345678", message_id=1226613, success=True, code=200,
    status_text="DELIVRD", timestamp=1517934416, stop_sms=False, is_spam=False,
)  # fmt: skip
UNRESOLVED = Unresolved(StatusQuery("+33 6", "x"), UnresolvedReason.INVALID_QUERY, "bad")


def round_trip(value: Any) -> Any:
    document = value.to_dict()
    assert json.loads(json.dumps(document)) == document  # only JSON types inside
    return document


def test_outcomes() -> None:
    assert round_trip(ANSWERED) == {
        "phone_number": "+33612345678", "message_id": 1226613, "success": True, "code": 200,
        "status_text": "DELIVRD", "timestamp": 1517934416, "stop_sms": False,
        "is_spam": False, "status": "Delivered", "date": "2018-02-06T16:26:56Z",
        "is_final": True,
    }  # fmt: skip
    assert round_trip(UNRESOLVED) == {
        "query": {"phone_number": "+33 6", "message_id": "x"},
        "reason": "invalid_query",
        "detail": "bad",
        "code": None,
    }
    update = StatusUpdate(UNRESOLVED, ANSWERED, 2)
    assert round_trip(update)["current"]["status"] == "Delivered"


def test_reports_and_recipients() -> None:
    sms = SMSRecipient("+33612345678", "Waiting", 1517934416, True)
    assert round_trip(SMSBulkReport("111", (sms,)))["recipients"][0] == {
        "phone_number": "+33612345678", "status_text": "Waiting", "timestamp": 1517934416,
        "stop_sms": True, "status": "Waiting", "date": "2018-02-06T16:26:56Z",
    }  # fmt: skip
    mail = MailRecipient("a@b.fr", "Delivered", "t", 1.0, None, None)
    assert round_trip(MailBulkReport("300", (mail,)))["recipients"][0]["status"] == "Delivered"
    message = MessageStatus(
        "+33612345678", 1111, "Delivered", 1423345186, False,
        Decimal("0.045"), "FR", "EUR",
    )  # fmt: skip
    document = round_trip(message)
    assert (document["cost"], document["status"], document["is_final"]) == (
        "0.045",
        "Delivered",
        True,
    )
    tag = round_trip(TagStatusReport("campaign", 1, 3, (sms,)))
    assert (tag["total"], tag["is_complete"]) == (3, False)
    row = CostRow("october", 2024, 10, None, "month", Decimal("1.35"), 30)
    costs = round_trip(CostStatistics("last_month", (row,)))
    assert costs["rows"][0]["cost"] == "1.35" and costs["total_cost"] == "1.35"


def test_counters() -> None:
    assert round_trip(CallStats(queries=3))["queries"] == 3
    assert round_trip(Progress(1, None, 0, 1, 0, 0))["total"] is None


async def test_results_of_a_call(fake_api: FakeAPI) -> None:
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE) as client:
        results = await client.multi_status([("0612345678", 1), ("nonsense", 2)])
        async with client.iter_multi_status([("0612345678", 1)]) as batches:
            [batch] = [b async for b in batches]
    document = round_trip(results)
    assert [o.get("status") for o in document["outcomes"]] == ["Delivered", None]
    assert document["counts_by_status"] == {"Delivered": 1}
    assert document["stats"]["requests"] == 1
    assert round_trip(batch)["positions"] == [0]


def test_every_public_attrs_class_has_to_dict() -> None:
    import attrs

    import partner_async

    classes = [getattr(partner_async, name) for name in partner_async.__all__]
    values = [c for c in classes if isinstance(c, type) and attrs.has(c)]
    assert len(values) >= 19
    from partner_async._serialize import JSONReady

    missing = [
        c.__name__ for c in values if getattr(c, "to_dict", None) in (None, JSONReady.to_dict)
    ]
    assert missing == []  # each class has its own


async def test_hook_infos_tracker_updates_and_policies(fake_api: FakeAPI) -> None:
    from partner_async import RetryPolicy, TrackerUpdate

    seen: list[Any] = []
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE) as client:
        client.event_hooks = {"request": [seen.append], "response": [seen.append]}
        await client.multi_status([("0612345678", 1)])
    request, response = (round_trip(info) for info in seen)
    assert (request["method"], request["items"]) == ("POST", 1)
    assert response["status_code"] == 200 and response["request"] == request
    assert "apiKey" not in json.dumps(request)
    update = TrackerUpdate("+33612345678/1/1", UNRESOLVED.query, None, ANSWERED, 1)
    document = round_trip(update)
    assert (document["current"]["status"], document["previous"], document["is_final"]) == (
        "Delivered",
        None,
        True,
    )
    assert round_trip(RetryPolicy(max_retries=2))["max_retries"] == 2
