"""The sandbox's three endpoints: shapes as documented, error codes, XML, options."""

from __future__ import annotations

import random
from typing import Any

import httpx
import orjson
import pytest
from defusedxml import ElementTree

from partner_async.sandbox import (
    MESSAGES,
    STATUS_SPELLINGS,
    SandboxConfig,
    bulk_recipients,
    ground_truth,
    mail_bulk_recipients,
    mail_ground_truth,
)

pytestmark = pytest.mark.anyio

MULTI = "/v1/multi-status"
SMS_BULK = "/v1/bulk-status"
MAIL_BULK = "/mail/v1/bulk-status"
FOUND_KEYS = ["success", "code", "phoneNumber", "messageId", "status", "date", "stopSms", "isSpam"]
NOT_FOUND_KEYS = ["success", "code", "phoneNumber", "messageId", "status"]


def items_of(pairs: list[tuple[Any, Any]]) -> list[dict[str, Any]]:
    return [{"phoneNumber": phone, "messageId": mid} for phone, mid in pairs]


def random_pairs(count: int, seed: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    return [
        (f"+33{rng.choice('67')}{rng.randrange(10**8):08d}", rng.randrange(1, 10**7))
        for _ in range(count)
    ]


def one_item(phone: str) -> bytes:
    return orjson.dumps(
        {"apiKey": "sandbox", "SMSStatut_List": [{"phoneNumber": phone, "messageId": 1}]}
    )


def expected_entry(truth: Any) -> dict[str, Any]:
    """The documented JSON entry for a ground truth."""
    if not truth.success:
        return {"success": False, "code": truth.code, "phoneNumber": truth.phone_number,
                "messageId": truth.message_id, "status": truth.wire_status}  # fmt: skip
    return {
        "success": True, "code": 200, "phoneNumber": truth.phone_number,
        "messageId": truth.message_id, "status": truth.wire_status, "date": str(truth.date),
        "stopSms": "1" if truth.stop_sms else "0", "isSpam": "1" if truth.is_spam else "0",
    }  # fmt: skip


async def post(client: httpx.AsyncClient, items: Any, **body: Any) -> dict[str, Any]:
    payload = {"apiKey": "sandbox", "SMSStatut_List": items, **body}
    response = await client.post(MULTI, content=orjson.dumps(payload))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    result: dict[str, Any] = orjson.loads(response.content)
    return result


# ------------------------------------------------------------------------ multi-status


async def test_multi_status_shapes_match_the_docs(client: httpx.AsyncClient) -> None:
    pairs = random_pairs(300, seed=1)
    answer = await post(client, items_of(pairs))
    assert list(answer) == ["success", "code", "StatutResponse_List"]
    assert answer["success"] is True
    assert answer["code"] == 200
    entries = answer["StatutResponse_List"]
    assert len(entries) == len(pairs)
    kinds = set()
    for (phone, mid), entry in zip(pairs, entries, strict=True):
        assert entry["phoneNumber"] == phone  # request order
        assert entry["messageId"] == mid
        assert isinstance(entry["messageId"], int)
        if entry["success"]:
            assert list(entry) == FOUND_KEYS
            assert entry["code"] == 200
            assert entry["status"] in ("Delivered", "Not delivered", "Waiting")
            assert isinstance(entry["date"], str)
            assert entry["date"].isdigit()
            assert entry["stopSms"] in ("0", "1")
            assert entry["isSpam"] in ("0", "1")
        else:
            assert list(entry) == NOT_FOUND_KEYS
            assert entry["code"] == 4
            assert entry["status"] == "Number not found"
        kinds.add(entry["status"])
    assert kinds == {"Delivered", "Not delivered", "Waiting", "Number not found"}


async def test_multi_status_agrees_with_ground_truth(client: httpx.AsyncClient) -> None:
    pairs = random_pairs(2000, seed=2)
    for start in range(0, len(pairs), 500):
        chunk = pairs[start : start + 500]
        answer = await post(client, items_of(chunk))
        for (phone, mid), entry in zip(chunk, answer["StatutResponse_List"], strict=True):
            assert entry == expected_entry(ground_truth(phone, mid))


async def test_national_and_spaced_numbers_are_echoed_internationally(
    client: httpx.AsyncClient,
) -> None:
    pairs = random_pairs(200, seed=3)
    national = []
    for index, (phone, mid) in enumerate(pairs):
        digits = "0" + phone[3:]
        form = index % 4
        if form == 1:
            digits = " ".join(digits[i : i + 2] for i in range(0, 10, 2))
        elif form == 2:
            digits = ".".join(digits[i : i + 2] for i in range(0, 10, 2))
        elif form == 3:
            digits = "0033" + phone[3:]
        national.append((digits, mid))
    answer = await post(client, items_of(national))
    for (phone, mid), entry in zip(pairs, answer["StatutResponse_List"], strict=True):
        assert entry == expected_entry(ground_truth(phone, mid))


async def test_the_doc_samples_numbers(client: httpx.AsyncClient) -> None:
    # the cURL sample sends 0619922264; the XML sample echoes +33619922264
    answer = await post(client, items_of([("0619922264", 199897)]))
    assert answer["StatutResponse_List"][0]["phoneNumber"] == "+33619922264"


async def test_both_list_spellings(client: httpx.AsyncClient) -> None:
    items = items_of(random_pairs(5, seed=4))
    a = await client.post(MULTI, json={"apiKey": "sandbox", "SMSStatut_List": items})
    b = await client.post(MULTI, json={"apiKey": "sandbox", "SMSStatus_List": items})
    assert a.json() == b.json()
    assert len(a.json()["StatutResponse_List"]) == 5


async def test_get_with_a_body_is_accepted(client: httpx.AsyncClient) -> None:
    items = items_of(random_pairs(3, seed=5))
    response = await client.request(
        "GET", MULTI, content=orjson.dumps({"apiKey": "sandbox", "SMSStatut_List": items})
    )
    assert response.json()["code"] == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", 90),
        (b"", 90),
        (b"[1, 2]", 90),
        (b'{"SMSStatut_List": [{"phoneNumber": "+33612345678", "messageId": 1}]}', 1),
        (b'{"apiKey": "", "SMSStatut_List": []}', 1),
        (b'{"apiKey": "wrong", "SMSStatut_List": []}', 10),
        (b'{"apiKey": 12, "SMSStatut_List": []}', 10),
        (b'{"apiKey": "sandbox", "SMSStatut_List": []}', 5),
        (b'{"apiKey": "sandbox"}', 5),
        (b'{"apiKey": "sandbox", "SMSStatut_List": "x"}', 90),
    ],
)
async def test_multi_status_error_codes(client: httpx.AsyncClient, body: bytes, code: int) -> None:
    response = await client.post(MULTI, content=body)
    assert response.status_code == 200
    assert response.json() == {"success": False, "code": code, "message": MESSAGES["en"][code]}


_BAD_ITEMS = [
    (b'{"apiKey": "sandbox", "SMSStatut_List": [{"messageId": 1}]}', 2),
    (b'{"apiKey": "sandbox", "SMSStatut_List": [{"phoneNumber": "", "messageId": 1}]}', 2),
    (b'{"apiKey": "sandbox", "SMSStatut_List": [7]}', 2),
    (one_item("06xxxxxxx2"), 6),
    (one_item("+3361"), 6),
    (one_item("+3361234567890123"), 6),
    (one_item("+33145678901"), 9),
    (one_item("0145678901"), 9),
    (b'{"apiKey": "sandbox", "SMSStatut_List": [{"phoneNumber": "+33612345678"}]}', 3),
]


@pytest.mark.parametrize(("body", "code"), _BAD_ITEMS)
async def test_bad_items_refuse_the_request_with_item_errors_request(
    sandbox_client: Any, body: bytes, code: int
) -> None:
    async with sandbox_client(item_errors="request") as (client, _):
        response = await client.post(MULTI, content=body)
    assert response.json() == {"success": False, "code": code, "message": MESSAGES["en"][code]}


@pytest.mark.parametrize(("body", "code"), _BAD_ITEMS)
async def test_bad_items_are_not_found_entries_by_default(
    client: httpx.AsyncClient, body: bytes, code: int
) -> None:
    answer = (await client.post(MULTI, content=body)).json()
    assert (answer["success"], answer["code"]) == (True, 200)
    [entry] = answer["StatutResponse_List"]
    assert (entry["success"], entry["code"], entry["status"]) == (False, 4, "Number not found")


async def test_the_500_item_limit(client: httpx.AsyncClient) -> None:
    pairs = random_pairs(501, seed=6)
    answer = await post(client, items_of(pairs[:500]))
    assert len(answer["StatutResponse_List"]) == 500
    over = await post(client, items_of(pairs))
    assert over == {"success": False, "code": 50, "message": "At most 500 numbers per request"}


async def test_item_errors_as_entries(sandbox_client: Any) -> None:
    async with sandbox_client(item_errors="entry") as (client, app):
        items = [
            {"phoneNumber": "+33612345678", "messageId": 42},
            {"messageId": 43},
            {"phoneNumber": "06xxxxxxx2", "messageId": 44},
            {"phoneNumber": "+33145678901", "messageId": 45},
            {"phoneNumber": "+33612345678"},
            {"phoneNumber": "+33612345678", "messageId": "not-an-id"},
        ]
        answer = await post(client, items)
        entries = answer["StatutResponse_List"]
        assert entries[0] == expected_entry(ground_truth("+33612345678", 42))
        assert [(e["success"], e["code"]) for e in entries[1:]] == [
            (False, 2), (False, 6), (False, 9), (False, 3), (False, 4)
        ]  # fmt: skip
        assert entries[2] == {"success": False, "code": 6, "phoneNumber": "06xxxxxxx2",
                              "messageId": 44, "status": "The format is not correct"}  # fmt: skip
        assert entries[5]["messageId"] == "not-an-id"
        assert app.stats.items == 6


async def test_format_xml_parses_positionally(client: httpx.AsyncClient) -> None:
    pairs = random_pairs(40, seed=7)
    response = await client.post(
        MULTI + "?_format=xml", json={"apiKey": "sandbox", "SMSStatut_List": items_of(pairs)}
    )
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text.startswith("<?xml version='1.0' encoding='UTF-8'?>")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "result"
    success, code, entries = list(root)
    assert (success.text, code.text) == ("true", "200")
    assert len(entries) == len(pairs)
    for (phone, mid), entry in zip(pairs, entries, strict=True):
        truth = ground_truth(phone, mid)
        values = [child.text for child in entry]
        expected = [str(v) for v in expected_entry(truth).values()]
        expected[0] = expected[0].lower()
        assert values == expected
    assert "<![CDATA[" + pairs[0][0] + "]]>" in response.text


async def test_format_as_a_body_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        MULTI, json={"apiKey": "sandbox", "_format": "xml", "SMSStatut_List": []}
    )
    root = ElementTree.fromstring(response.content)
    assert [child.text for child in root] == ["false", "5", "The number list is empty"]


async def test_xml_error_matches_the_docs(client: httpx.AsyncClient) -> None:
    response = await client.post(MULTI + "?_format=xml", json={"apiKey": "nope"})
    assert response.text.replace("\n", "") == (
        "<?xml version='1.0' encoding='UTF-8'?><result><entry>false</entry>"
        "<entry>10</entry><entry>Invalid API key</entry></result>"
    )


async def test_french(sandbox_client: Any) -> None:
    async with sandbox_client(language="fr") as (client, _):
        pairs = random_pairs(100, seed=8)
        answer = await post(client, items_of(pairs))
        statuses = {e["status"] for e in answer["StatutResponse_List"] if not e["success"]}
        assert statuses == {"Numéro introuvable"}
        bad = await client.post(MULTI, json={"apiKey": "nope"})
        assert bad.json()["message"] == "Clé API incorrecte"
        xml = await client.post(MULTI + "?_format=xml", json={"apiKey": "nope"})
        assert [e.text for e in ElementTree.fromstring(xml.content)][2] == "Clé API incorrecte"


async def test_http_error_status_option(sandbox_client: Any) -> None:
    async with sandbox_client(http_error_status=True) as (client, _):
        assert (await client.post(MULTI, json={"apiKey": "nope"})).status_code == 401
        assert (await client.post(MULTI, json={})).status_code == 401
        response = await client.post(MULTI, json={"apiKey": "sandbox", "SMSStatut_List": []})
        assert response.status_code == 400
        assert response.json()["code"] == 5
        missing = await client.get(SMS_BULK, params={"apiKey": "sandbox", "messageId": "x"})
        assert missing.status_code == 404


async def test_custom_keys(sandbox_client: Any) -> None:
    async with sandbox_client(api_keys=("k1", "k2")) as (client, _):
        for key, code in (("k1", 5), ("k2", 5), ("sandbox", 10)):
            response = await client.post(MULTI, json={"apiKey": key, "SMSStatut_List": []})
            assert response.json()["code"] == code


async def test_status_spelling_variants(sandbox_client: Any) -> None:
    config = SandboxConfig(status_spellings="variants", waiting_polls=None)
    async with sandbox_client(config) as (client, _):
        pairs = random_pairs(500, seed=9)
        answer = await post(client, items_of(pairs))
        seen = set()
        for (phone, mid), entry in zip(pairs, answer["StatutResponse_List"], strict=True):
            truth = ground_truth(phone, mid, config=config)
            assert entry["status"] == truth.wire_status
            if truth.success:
                assert truth.wire_status in STATUS_SPELLINGS[truth.status]
            seen.add(entry["status"])
        every = {spelling for spellings in STATUS_SPELLINGS.values() for spelling in spellings}
        assert every <= seen


async def test_field_variants(sandbox_client: Any) -> None:
    config = SandboxConfig(field_variants=True, waiting_polls=0)
    async with sandbox_client(config) as (client, _):
        pairs = random_pairs(300, seed=10)
        answer = await post(client, items_of(pairs))
        stop_keys, flag_types, date_types = set(), set(), set()
        for (phone, mid), entry in zip(pairs, answer["StatutResponse_List"], strict=True):
            truth = ground_truth(phone, mid, config=config)
            assert entry["status"] == truth.wire_status
            if not truth.success:
                continue
            stop_key = "stopSMS" if "stopSMS" in entry else "stopSms"
            stop_keys.add(stop_key)
            flag_types.add(type(entry["isSpam"]))
            date_types.add(type(entry["date"]))
            assert int(entry["date"]) == truth.date
            assert entry[stop_key] in ((True, "1") if truth.stop_sms else (False, "0"))
            assert entry["isSpam"] in ((True, "1") if truth.is_spam else (False, "0"))
        assert stop_keys == {"stopSMS", "stopSms"}
        assert flag_types == {bool, str}
        assert date_types == {int, str}


async def test_numbers_echoed_as_sent_option(sandbox_client: Any) -> None:
    async with sandbox_client(normalize_numbers=False) as (client, _):
        answer = await post(client, items_of([("06 12 34 56 78", 5), ("+33612345678", 5)]))
        first, second = answer["StatutResponse_List"]
        assert first["phoneNumber"] == "06 12 34 56 78"
        assert {**first, "phoneNumber": "+33612345678"} == second


async def test_string_and_odd_message_ids(client: httpx.AsyncClient) -> None:
    answer = await post(client, items_of([("+33612345678", "123"), ("+33612345678", 0)]))
    first, second = answer["StatutResponse_List"]
    assert first == expected_entry(ground_truth("+33612345678", 123))
    assert second["code"] == 4  # id 0 never exists


# ------------------------------------------------------------------------ bulk-status


async def test_sms_bulk_status_shape_and_truth(client: httpx.AsyncClient) -> None:
    checked = 0
    for mid in range(100, 160):
        response = await client.get(SMS_BULK, params={"apiKey": "sandbox", "messageId": mid})
        answer = response.json()
        recipients = bulk_recipients(mid)
        if recipients is None:
            assert answer == {"success": False, "code": 4, "message": "Message not found"}
            continue
        checked += 1
        assert list(answer) == ["success", "code", "message_id", "StatutResponse_List"]
        assert answer["success"] is True
        assert answer["code"] == 200
        assert answer["message_id"] == str(mid)
        entries = answer["StatutResponse_List"]
        assert 1 <= len(entries) <= 50
        assert [e["phoneNumber"] for e in entries] == list(recipients)
        for entry in entries:
            assert list(entry) == ["phoneNumber", "status", "stopSMS", "date"]
            truth = ground_truth(entry["phoneNumber"], mid)
            assert truth.success
            assert entry["status"] == truth.status
            assert entry["stopSMS"] is truth.stop_sms
            assert entry["date"] == str(truth.date)
    assert checked > 50


async def test_bulk_recipients_are_deterministic() -> None:
    assert bulk_recipients(111) == bulk_recipients(111, seed=0)
    assert bulk_recipients(111) != bulk_recipients(111, seed=1)
    missing = [mid for mid in range(1, 400) if bulk_recipients(mid) is None]
    assert 0 < len(missing) < 40  # ~1 in 32
    for mid in missing[:5]:
        assert ground_truth("+33612345678", mid).code == 4


async def test_mail_bulk_status_shape_and_truth(client: httpx.AsyncClient) -> None:
    checked = 0
    for number in range(300, 340):
        mid = str(number)
        response = await client.get(MAIL_BULK, params={"apiKey": "sandbox", "messageId": mid})
        answer = response.json()
        emails = mail_bulk_recipients(mid)
        if emails is None:
            assert answer["code"] == 4
            continue
        checked += 1
        assert list(answer) == ["success", "code", "messageId", "StatutResponseList"]
        assert answer["messageId"] == mid
        entries = answer["StatutResponseList"]
        assert [e["email"] for e in entries] == list(emails)
        for entry in entries:
            assert list(entry) == ["email", "token", "status", "cost", "stopMail", "date"]
            truth = mail_ground_truth(entry["email"], mid)
            assert truth is not None
            assert entry["token"] == truth.token
            assert entry["status"] == truth.status
            assert entry["cost"] == 1
            assert entry["stopMail"] is truth.stop_mail
            assert entry["date"] == str(truth.date)
    assert checked > 30
    assert mail_ground_truth("nobody@example.com", "300") is None


async def test_mail_bulk_status_xml_follows_the_docs(client: httpx.AsyncClient) -> None:
    mid = next(str(n) for n in range(300, 400) if mail_bulk_recipients(str(n)))
    response = await client.get(
        MAIL_BULK, params={"apiKey": "sandbox", "messageId": mid, "_format": "xml"}
    )
    success, code, message_id, entries = list(ElementTree.fromstring(response.content))
    assert (success.text, code.text, message_id.text) == ("true", "200", mid)
    first = [child.text for child in entries[0]]
    truth = mail_ground_truth(first[0] or "", mid)
    assert truth is not None
    assert first == [truth.email, truth.token, truth.status, "1",
                     "true" if truth.stop_mail else "false", str(truth.date)]  # fmt: skip


async def test_sms_bulk_status_xml(client: httpx.AsyncClient) -> None:
    response = await client.get(
        SMS_BULK, params={"apiKey": "sandbox", "messageId": "111", "_format": "xml"}
    )
    success, code, message_id, entries = list(ElementTree.fromstring(response.content))
    assert (success.text, code.text, message_id.text) == ("true", "200", "111")
    recipients = bulk_recipients(111)
    assert recipients is not None
    assert [entry[0].text for entry in entries] == list(recipients)
    assert {entry[2].text for entry in entries} <= {"true", "false"}


@pytest.mark.parametrize("path", [SMS_BULK, MAIL_BULK])
@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"messageId": "111"}, 1),
        ({"apiKey": "", "messageId": "111"}, 1),
        ({"apiKey": "bad", "messageId": "111"}, 10),
        ({"apiKey": "sandbox"}, 3),
        ({"apiKey": "sandbox", "messageId": " "}, 3),
    ],
)
async def test_bulk_error_codes(
    client: httpx.AsyncClient, path: str, params: dict[str, str], code: int
) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == 200
    assert response.json()["success"] is False
    assert response.json()["code"] == code


async def test_sms_bulk_unknown_message(client: httpx.AsyncClient) -> None:
    for mid in ("abc", "0", "-5"):
        response = await client.get(SMS_BULK, params={"apiKey": "sandbox", "messageId": mid})
        assert response.json()["code"] == 4


async def test_mail_host_routing(sandbox_app: Any) -> None:
    from partner_async.sandbox import SandboxTransport

    async with httpx.AsyncClient(transport=SandboxTransport(sandbox_app)) as client:
        mail = await client.get(
            "https://api.mailpartner.fr/v1/bulk-status",
            params={"apiKey": "sandbox", "messageId": "300"},
        )
        sms = await client.get(
            "https://api.smspartner.fr/v1/bulk-status",
            params={"apiKey": "sandbox", "messageId": "300"},
        )
    assert "StatutResponseList" in mail.json() or mail.json()["code"] == 4
    assert "StatutResponse_List" in sms.json() or sms.json()["code"] == 4
    assert sandbox_app.stats.endpoints["mail-bulk-status"] == 1
    assert sandbox_app.stats.endpoints["bulk-status"] == 1


# ------------------------------------------------------------------------ routing


async def test_unknown_path_and_wrong_method(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["success"] is False
    response = await client.post(SMS_BULK)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    response = await client.delete(MULTI)
    assert response.status_code == 405
    assert response.json()["code"] == 405


async def test_counters(client: httpx.AsyncClient, sandbox_app: Any) -> None:
    await post(client, items_of(random_pairs(10, seed=11)))
    await client.get(SMS_BULK, params={"apiKey": "sandbox", "messageId": "111"})
    await client.post(MULTI, json={"apiKey": "bad"})
    await client.get("/nope")
    stats = sandbox_app.stats
    assert stats.requests == 4
    assert stats.items == 10
    recipients = bulk_recipients(111)
    assert recipients is not None
    assert stats.bulk_recipients == len(recipients)
    assert stats.errors[10] == 1
    assert stats.http_statuses == {200: 3, 404: 1}
    assert stats.endpoints == {"multi-status": 2, "bulk-status": 1, "other": 1}
    assert stats.faults_total == 0
    stats.reset()
    assert stats.requests == 0
    assert stats.faults["http_503"] == 0
