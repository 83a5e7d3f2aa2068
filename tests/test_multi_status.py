"""multi_status: batching, de-duplication, normalisation, matching, merging."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from partner_async import (
    AuthenticationError,
    DeliveryStatus,
    InsufficientCreditError,
    InvalidInputError,
    MultiStatusResult,
    PermissionDeniedError,
    SMSPartnerClient,
    StatusQuery,
    StatusResult,
    Unresolved,
    UnresolvedReason,
)

from ._fakes import API_KEY, SMS_BASE, FakeAPI, default_entry, fixture_json, phones

pytestmark = pytest.mark.anyio


def client(**options: Any) -> SMSPartnerClient:
    options.setdefault("max_retries", 0)
    return SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, **options)


def assert_invariant(results: MultiStatusResult, distinct: int) -> None:
    assert len(results) == distinct
    assert len(results.answered) + len(results.unresolved) == distinct
    keys = [(o.query.phone_number, o.query.message_id) for o in results]
    assert len(set(keys)) == distinct


@pytest.mark.parametrize("n", [0, 1, 499, 500, 501, 1001])
async def test_every_query_answered_in_input_order(fake_api: FakeAPI, n: int) -> None:
    queries = [(p, 1000 + i) for i, p in enumerate(phones(n))]
    async with client(max_concurrency=3) as c:
        results = await c.multi_status(queries)
    assert_invariant(results, n)
    assert [(r.phone_number, r.message_id) for r in results] == queries
    assert all(isinstance(r, StatusResult) and r.success for r in results)
    assert len(fake_api.requests) == math.ceil(n / 500)
    assert all(len(body["SMSStatut_List"]) <= 500 for body in fake_api.requests)
    assert sorted(fake_api.sent_items) == sorted(queries)
    assert results.stats.requests == math.ceil(n / 500)
    assert results.counts_by_status() == ({DeliveryStatus.DELIVERED: n} if n else {})


async def test_request_body_is_the_documented_one(fake_api: FakeAPI) -> None:
    async with client() as c:
        await c.multi_status([("+33699999993", 111111)])
    assert fake_api.requests == [
        {
            "apiKey": API_KEY,
            "SMSStatut_List": [{"phoneNumber": "+33699999993", "messageId": 111111}],
        }
    ]


async def test_small_batch_size_splits_requests(fake_api: FakeAPI) -> None:
    queries = [(p, 7) for p in phones(25)]
    async with client(batch_size=10) as c:
        results = await c.multi_status(queries)
    assert [len(b["SMSStatut_List"]) for b in fake_api.requests] == [10, 10, 5]
    assert_invariant(results, 25)


async def test_duplicates_get_one_outcome_in_order_of_first_appearance(fake_api: FakeAPI) -> None:
    a, b, c_ = phones(3)
    queries: list[Any] = [
        (b, 1), (a, 1), (b, 1), StatusQuery(a, 1), (a, "1"), ("0610000000", 1), (c_, 2)
    ]  # fmt: skip
    async with client() as c:
        results = await c.multi_status(queries)
    assert [(r.phone_number, r.message_id) for r in results] == [(b, 1), (a, 1), (c_, 2)]
    assert results.stats.duplicates == 4
    assert results.stats.queries == 7
    assert len(fake_api.sent_items) == 3


@pytest.mark.parametrize("container", [list, tuple])
async def test_a_list_read_ahead_gives_what_a_lazy_iterator_gives(
    fake_api: FakeAPI, container: Callable[[list[Any]], Any]
) -> None:
    # 40 batches: a list is validated and de-duplicated ahead in chunks of up to 8
    # batches, an iterator one batch at a time. Repeats land within a chunk and across
    # chunks, with national numbers, invalid items and 19-digit ids among them.
    unique = [(p, 1000 + i) for i, p in enumerate(phones(20_000))]
    queries: list[Any] = list(unique)
    for i in range(0, 20_000, 997):
        queries.insert(i + 3, unique[i])  # a repeat within the same chunk
        queries.append(unique[i])  # and one chunks later
    queries[7_000:7_000] = [("0612345678", 5), ("not a number", 5), (unique[9][0], 2**63 - 1)]
    progress: list[int] = []
    async with client(max_concurrency=4) as c:
        ahead = await c.multi_status(container(queries), progress=lambda p: progress.append(p.done))
        sent_ahead = sorted(fake_api.sent_items)
        fake_api.requests.clear()
        lazy = await c.multi_status(iter(queries))
    assert list(ahead) == list(lazy)
    assert ahead.stats.duplicates == lazy.stats.duplicates == 2 * len(range(0, 20_000, 997))
    assert sent_ahead == sorted(fake_api.sent_items)
    assert len(ahead) == 20_003 and len(ahead.unresolved) == 1
    assert ahead.get(unique[9][0], 2**63 - 1) is not None
    assert max(progress) == len(queries)


async def test_async_iterable_input(fake_api: FakeAPI) -> None:
    async def stream() -> AsyncIterator[tuple[str, int]]:
        for i, p in enumerate(phones(1200)):
            yield p, i + 1

    async with client() as c:
        results = await c.multi_status(stream())
    assert_invariant(results, 1200)
    assert len(fake_api.requests) == 3


async def test_national_numbers_are_normalised_to_e164(fake_api: FakeAPI) -> None:
    queries: list[Any] = [("0612345678", 5), ("06 12 34 56 79", "6"), ("06.12.34.56.80", 7)]
    async with client() as c:
        results = await c.multi_status(queries)
    assert fake_api.sent_items == [("+33612345678", 5), ("+33612345679", 6), ("+33612345680", 7)]
    assert [r.phone_number for r in results] == ["+33612345678", "+33612345679", "+33612345680"]
    # get() accepts every form the input did
    assert results.get("06 12 34 56 78", "5") == results[0]  # equal values, made when read
    assert results.get("+33612345679", 6) == results[1]
    assert ("0612345680", 7) in results
    assert results.get("+33612345678", 999) is None


async def test_default_region_applies_to_national_numbers(fake_api: FakeAPI) -> None:
    async with client(default_region="BE") as c:
        results = await c.multi_status([("0470 12 34 56", 1)])
    assert fake_api.sent_items == [("+32470123456", 1)]
    assert results[0].phone_number == "+32470123456"


@pytest.mark.parametrize(
    ("phone", "message_id", "named"),
    [
        ("not a number", 1, "'not a number'"),
        ("0012", 1, "'0012'"),
        ("+33612345678", "abc", "'abc'"),
        ("+33612345678", 0, "0"),
        ("+33612345678", -5, "-5"),
        ("+33612345678", 1.5, "1.5"),
        (33612345678, 1, "33612345678"),
        ("+336", 1, "'+336'"),
        (None, 1, "None"),
    ],
)
async def test_invalid_queries_are_unresolved_not_sent(
    fake_api: FakeAPI, phone: Any, message_id: Any, named: str
) -> None:
    good = ("+33612345678", 42)
    async with client() as c:
        results = await c.multi_status([good, (phone, message_id)])
    assert_invariant(results, 2)
    bad = results[1]
    assert isinstance(bad, Unresolved)
    assert bad.reason is UnresolvedReason.INVALID_QUERY
    assert named in bad.detail
    assert (bad.phone_number, bad.message_id) == (phone, message_id)
    assert fake_api.sent_items == [good]
    assert results.get(phone, message_id) is bad


async def test_wrongly_shaped_item_raises_naming_it_and_its_position(fake_api: FakeAPI) -> None:
    async with client() as c:
        with pytest.raises(InvalidInputError, match=r"query #1 is \('\+33612345678',\)"):
            await c.multi_status([("+33612345678", 1), ("+33612345678",)])  # type: ignore[list-item]


async def test_only_invalid_queries_send_nothing(fake_api: FakeAPI) -> None:
    async with client() as c:
        results = await c.multi_status([("x", 1), ("y", 2), ("x", 1)])
    assert len(results.unresolved) == 2
    assert fake_api.requests == []


async def test_reordered_answers_are_matched_by_content(fake_api: FakeAPI) -> None:
    fake_api.transform = lambda entries: entries[::-1]
    fake_api.entry = lambda p, m: {**default_entry(p, m), "status": f"Delivered-{m}"}
    queries = [(p, i + 1) for i, p in enumerate(phones(300))]
    async with client() as c:
        results = await c.multi_status(queries)
    assert [r.status_text for r in results] == [f"Delivered-{m}" for _, m in queries]  # type: ignore[union-attr]
    assert results.stats.unexpected_entries == 0


async def test_numbers_echoed_in_another_format_are_matched(fake_api: FakeAPI) -> None:
    # the vendor's own sample echoes 0619922264 as +33619922264; servers may do the reverse
    formats: list[Callable[[str], str]] = [
        lambda p: "0" + p[3:],  # national
        lambda p: "0033" + p[3:],  # international prefix
        lambda p: p[1:],  # no plus
        lambda p: f"{p[:3]} {p[3]} {p[4:6]} {p[6:8]} {p[8:10]} {p[10:]}",  # spaced
    ]
    fake_api.entry = lambda p, m: {**default_entry(formats[m % 4](p), m)}
    fake_api.transform = lambda entries: entries[1:] + entries[:1]
    queries = [(p, i) for i, p in enumerate(phones(40), start=1)]
    async with client() as c:
        results = await c.multi_status(queries)
    assert all(isinstance(r, StatusResult) for r in results)
    assert [(r.phone_number, r.message_id) for r in results] == queries


async def test_missing_entries_are_reasked_once_then_unresolved(fake_api: FakeAPI) -> None:
    p = phones(6)
    always_missing = {p[1]}
    missing_first_time = {p[3], p[4]}
    seen: set[str] = set()

    def entry(phone: str, message_id: int) -> dict[str, Any] | None:
        if phone in always_missing:
            return None
        if phone in missing_first_time and phone not in seen:
            seen.add(phone)
            return None
        return default_entry(phone, message_id)

    fake_api.entry = entry
    async with client() as c:
        results = await c.multi_status([(x, 9) for x in p])
    assert_invariant(results, 6)
    assert [type(r).__name__ for r in results] == [
        "StatusResult",
        "Unresolved",
        "StatusResult",
        "StatusResult",
        "StatusResult",
        "StatusResult",
    ]
    assert results[1].reason is UnresolvedReason.MISSING_FROM_RESPONSE  # type: ignore[union-attr]
    assert len(fake_api.requests) == 2
    assert fake_api.sent_items[6:] == [(p[1], 9), (p[3], 9), (p[4], 9)]
    assert results.stats.reasked == 3


async def test_unexpected_and_duplicate_entries_are_ignored(fake_api: FakeAPI) -> None:
    fake_api.transform = lambda entries: [
        *entries,
        entries[0],
        default_entry("+33699999999", 77),
        {"garbage": True},
    ]
    async with client() as c:
        results = await c.multi_status([(p, 1) for p in phones(3)])
    assert_invariant(results, 3)
    assert all(isinstance(r, StatusResult) for r in results)
    assert results.stats.unexpected_entries == 2


async def test_a_failing_batch_among_good_ones(fake_api: FakeAPI) -> None:
    fake_api.script[1] = httpx.Response(
        400, json={"success": False, "code": 90, "message": "JSON malformé"}
    )
    queries = [(p, 3) for p in phones(1500)]
    async with client(max_concurrency=1) as c:
        results = await c.multi_status(queries)
    assert_invariant(results, 1500)
    unresolved = results.unresolved
    assert len(unresolved) == 500
    assert {u.reason for u in unresolved} == {UnresolvedReason.REJECTED}
    assert {u.code for u in unresolved} == {90}
    assert "JSON malformé" in unresolved[0].detail
    assert [u.phone_number for u in unresolved] == [p for p, _ in queries[500:1000]]


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (10, AuthenticationError),
        (1, AuthenticationError),
        (11, InsufficientCreditError),
        (20, PermissionDeniedError),
        (30, PermissionDeniedError),
        (40, PermissionDeniedError),
        (96, PermissionDeniedError),
    ],
)
@pytest.mark.parametrize("http_status", [200, 401])
async def test_fatal_errors_raise_and_cancel_the_rest(
    fake_api: FakeAPI, code: int, error: type[Exception], http_status: int
) -> None:
    fake_api.respond = lambda body: httpx.Response(
        http_status, json={"success": False, "code": code, "message": "Invalid API key"}
    )
    queries = [(p, 3) for p in phones(20 * 500)]
    async with client(max_concurrency=2) as c:
        with pytest.raises(error) as info:
            await c.multi_status(queries)
        assert info.value.code == code  # type: ignore[attr-defined]
        # the first refusal stops the run: nowhere near the 20 batches were sent
        assert len(fake_api.requests) <= 3
        # and the client stays usable
        fake_api.respond = lambda body: None
        assert len(await c.multi_status(queries[:3])) == 3


async def test_batch_refused_for_one_item_is_split_to_isolate_it(fake_api: FakeAPI) -> None:
    bad = "+33140000000"  # a landline: "not a mobile number"

    def respond(body: dict[str, Any]) -> httpx.Response | None:
        if any(i["phoneNumber"] == bad for i in body["SMSStatut_List"]):
            return httpx.Response(200, json={"success": False, "code": 9, "message": "not mobile"})
        return None

    fake_api.respond = respond
    queries = [(p, 1) for p in phones(100)]
    queries.insert(37, (bad, 1))
    async with client() as c:
        results = await c.multi_status(queries)
    assert_invariant(results, 101)
    [unresolved] = results.unresolved
    assert (unresolved.phone_number, unresolved.code) == (bad, 9)
    assert unresolved.reason is UnresolvedReason.REJECTED
    assert len(fake_api.requests) <= 2 * math.ceil(math.log2(101)) + 1


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (2, UnresolvedReason.REJECTED),
        (5, UnresolvedReason.REJECTED),
        (6, UnresolvedReason.REJECTED),
        (9, UnresolvedReason.REJECTED),
        (50, UnresolvedReason.REJECTED),
        (90, UnresolvedReason.REJECTED),
        (429, UnresolvedReason.RATE_LIMITED),
        (500, UnresolvedReason.SERVER_ERROR),
        (77, UnresolvedReason.REJECTED),
    ],
)
async def test_each_request_level_code_has_its_outcome(
    fake_api: FakeAPI, code: int, reason: UnresolvedReason
) -> None:
    fake_api.respond = lambda body: httpx.Response(
        200, json={"success": False, "code": code, "message": f"error {code}"}
    )
    async with client(max_retries=1, retry=None) as c:
        c.retry = c.retry.__class__(max_retries=1, backoff_base=0)
        results = await c.multi_status([("+33612345678", 1)])
    [unresolved] = results.unresolved
    assert unresolved.reason is reason
    assert unresolved.code == code
    retried = code in (429, 500)
    assert len(fake_api.requests) == (2 if retried else 1)


async def test_the_vendor_samples_decode_field_by_field(fake_api: FakeAPI) -> None:

    for sample, text in (
        ("multi_status.en.json", "Number not found"),
        ("multi_status.fr.json", "Numéro introuvable"),
    ):
        fake_api.respond = lambda body, s=sample: httpx.Response(200, json=fixture_json(s))  # type: ignore[misc]
        async with client() as c:
            results = await c.multi_status(
                [("+33699999993", 111111), ("+33699999992", 1000), ("0699999991", "1222")]
            )
        delivered, missing1, missing2 = results
        assert isinstance(delivered, StatusResult)
        assert delivered.success is True and delivered.code == 200
        assert delivered.status is DeliveryStatus.DELIVERED
        assert delivered.timestamp == 1517934416
        assert (
            delivered.date is not None and delivered.date.isoformat() == "2018-02-06T16:26:56+00:00"
        )
        assert delivered.stop_sms is False and delivered.is_spam is False
        for item in (missing1, missing2):
            assert isinstance(item, StatusResult)
            assert (item.success, item.code, item.status) == (False, 4, DeliveryStatus.UNKNOWN)
            assert item.status_text == text
            assert item.date is None and item.stop_sms is None


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ({"stopSMS": True, "isSpam": False}, (True, False)),
        ({"stopSms": "1", "isSpam": "1"}, (True, True)),
        ({"stopSms": 0, "isSpam": 1}, (False, True)),
        ({"stopSms": "false", "isSpam": "true"}, (False, True)),
    ],
)
async def test_flag_variants(
    fake_api: FakeAPI, variant: dict[str, Any], expected: tuple[bool, bool]
) -> None:
    fake_api.entry = lambda p, m: {
        k: v
        for k, v in {**default_entry(p, m), **variant}.items()
        if not (k == "stopSms" and "stopSMS" in variant)
    }
    async with client() as c:
        [r] = await c.multi_status([("+33612345678", 1)])
    assert isinstance(r, StatusResult)
    assert (r.stop_sms, r.is_spam) == expected


# The local form is the vendor's time, Europe/Paris (UTC+1 in February).
@pytest.mark.parametrize("date", ["1517934416", 1517934416, "2018-02-06 17:26:56"])
async def test_date_variants_become_utc_datetimes(fake_api: FakeAPI, date: Any) -> None:
    fake_api.entry = lambda p, m: {**default_entry(p, m), "date": date}
    async with client() as c:
        [r] = await c.multi_status([("+33612345678", 1)])
    assert isinstance(r, StatusResult)
    assert r.date is not None and r.date.isoformat() == "2018-02-06T16:26:56+00:00"


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Delivered", DeliveryStatus.DELIVERED),
        ("delivered", DeliveryStatus.DELIVERED),
        ("DELIVRD", DeliveryStatus.DELIVERED),
        ("Not delivered", DeliveryStatus.NOT_DELIVERED),
        ("not  DELIVERED", DeliveryStatus.NOT_DELIVERED),
        ("ko", DeliveryStatus.NOT_DELIVERED),
        ("UNDELIV", DeliveryStatus.NOT_DELIVERED),
        ("EXPIRED", DeliveryStatus.NOT_DELIVERED),
        ("REJECTD", DeliveryStatus.NOT_DELIVERED),
        ("Waiting", DeliveryStatus.WAITING),
        ("waiting", DeliveryStatus.WAITING),
        ("PENDING", DeliveryStatus.WAITING),
        ("ACCEPTD", DeliveryStatus.WAITING),
        ("ENROUTE", DeliveryStatus.WAITING),
        ("UNKNOWN", DeliveryStatus.UNKNOWN),
        ("Numéro introuvable", DeliveryStatus.UNKNOWN),
        ("something new", DeliveryStatus.UNKNOWN),
    ],
)
async def test_status_spellings(fake_api: FakeAPI, text: str, status: DeliveryStatus) -> None:
    fake_api.entry = lambda p, m: {**default_entry(p, m), "status": text}
    async with client() as c:
        [r] = await c.multi_status([("+33612345678", 1)])
    assert isinstance(r, StatusResult)
    assert r.status is status
    assert r.status_text == text
    # code 200: the status decides; Unknown (an unrecognised text) is not final
    assert r.is_final is status.is_final
    assert r.is_final is (status in (DeliveryStatus.DELIVERED, DeliveryStatus.NOT_DELIVERED))
