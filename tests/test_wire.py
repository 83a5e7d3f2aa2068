"""Multi-status decoding: the C fast path and the general path give the same results."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
import pytest

from partner_async import DeliveryStatus, ResponseFormatError, StatusResult
from partner_async._models import public
from partner_async._wire import (
    ErrorBody,
    MultiStatusBody,
    _decode_documented,
    _multi_status_body,
    decode_multi_status,
)

from ._fakes import fixture_text


def general_path(content: bytes) -> MultiStatusBody | ErrorBody:
    return _multi_status_body(orjson.loads(content))


def answer(*entries: dict[str, Any]) -> bytes:
    return orjson.dumps({"success": True, "code": 200, "StatutResponse_List": list(entries)})


FOUND = {
    "success": True,
    "code": 200,
    "phoneNumber": "+33699999993",
    "messageId": 111111,
    "status": "DELIVRD",
    "date": "1517934416",
    "stopSms": "1",
    "isSpam": "0",
}
NOT_FOUND = {
    "success": False,
    "code": 4,
    "phoneNumber": "+33699999992",
    "messageId": 1000,
    "status": "Number not found",
}


@pytest.mark.parametrize("name", ["multi_status.en.json", "multi_status.fr.json"])
def test_vendor_samples_take_the_fast_path_and_agree_with_the_general_one(name: str) -> None:
    content = fixture_text(name).encode()
    _decode_documented(content)  # the documented shape: no fallback
    assert decode_multi_status(content) == general_path(content)


def test_fast_path_values_are_typed() -> None:
    body = decode_multi_status(answer(FOUND, NOT_FOUND))
    assert isinstance(body, MultiStatusBody)
    found, not_found = map(public, body.entries)  # kept as wire structs, made public when read
    assert found == StatusResult(
        phone_number="+33699999993",
        message_id=111111,
        success=True,
        code=200,
        status_text="DELIVRD",
        timestamp=1517934416,
        stop_sms=True,
        is_spam=False,
    )
    assert found.status is DeliveryStatus.DELIVERED
    assert not_found.status is DeliveryStatus.UNKNOWN
    assert (not_found.timestamp, not_found.stop_sms, not_found.is_spam) == (None, None, None)
    assert body == general_path(answer(FOUND, NOT_FOUND))


@pytest.mark.parametrize(
    "variant",
    [
        {**FOUND, "stopSMS": "1", "stopSms": None},  # another spelling: must not be dropped
        {k: v for k, v in FOUND.items() if k != "stopSms"} | {"stopSMS": True},
        {**FOUND, "cost": 1},  # a field the documentation does not list
        {**FOUND, "date": ""},
        {**FOUND, "phoneNumber": 33699999993},
    ],
    ids=["stopSMS and null stopSms", "stopSMS bool", "unknown field", "empty date", "int phone"],
)
def test_other_shapes_fall_back_to_the_general_path(variant: dict[str, Any]) -> None:
    content = answer(FOUND, variant)
    with pytest.raises(msgspec.ValidationError):
        _decode_documented(content)
    body = decode_multi_status(content)
    assert body == general_path(content)
    assert isinstance(body, MultiStatusBody)
    assert body.entries[1].message_id == 111111
    if "stopSMS" in variant:
        assert body.entries[1].stop_sms is True


def test_error_bodies_and_broken_json_keep_their_meaning() -> None:
    assert decode_multi_status(b'{"success": false, "code": 10, "message": "x"}') == ErrorBody(
        10, "x"
    )
    with pytest.raises(ResponseFormatError, match="not valid JSON"):
        decode_multi_status(b'{"success": true, "code": 200, "StatutResponse_List": [')
