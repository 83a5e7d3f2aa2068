"""Issue 12: what a hostile server or a bad value does (each a test that failed before)."""

from __future__ import annotations

import contextlib
import logging
import pickle
import subprocess
import sys
import traceback
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
import respx

import partner_async
from partner_async import (
    AuthenticationError,
    MessageNotFoundError,
    ResponseFormatError,
    RetryPolicy,
    SMSPartnerClient,
    StatusResult,
    Unresolved,
    UnresolvedReason,
)
from partner_async._models import WireResult, to_wire

from ._fakes import API_KEY, SMS_BASE, FakeAPI, FakeClock, answered, default_entry, phones
from ._hostile import HostileServer

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
    queries: list[Any] = [*good[:700], ("+33699999999", bad), *good[700:]]
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


# -- matching: bounded work, no cross-country attribution, conflicts ----------------------


def _entry(phone: str, message_id: int) -> WireResult:
    """An entry as the decoder gives it to matching (the SDK's internal form)."""
    return to_wire(answered(phone, message_id, timestamp=None, stop_sms=False, is_spam=False))


def test_matching_300000_bogus_entries_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from partner_async import _merge

    parses = 0
    real = _merge.normalize_phone  # type: ignore[attr-defined]

    def counting(value: object, region: str) -> str:
        nonlocal parses
        parses += 1
        return real(value, region)

    monkeypatch.setattr(_merge, "normalize_phone", counting)
    batch = [(p, 7) for p in phones(500)]
    bogus = [_entry(f"06{i:08d}", 7) for i in range(300_000)]
    answer = [_entry(p, 7) for p, _ in batch[:10]] + bogus
    results, unexpected, conflicting = _merge.match_entries(batch, answer, "FR")
    assert [r.phone_number for r in results[:10] if r] == [p for p, _ in batch[:10]]
    assert results[10:] == [None] * 490
    assert unexpected == 300_000 and conflicting == 0
    assert parses <= 2 * len(batch)  # was one parse per bogus entry (25 s)


async def test_entries_past_twice_the_batch_are_ignored(fake_api: FakeAPI) -> None:
    queries = [(p, 1) for p in phones(3)]
    extra = [{**default_entry(p, 1)} for p in phones(20, start=100)]
    fake_api.transform = lambda entries: extra + entries  # the real ones come too late
    async with _client() as client:
        results = await client.multi_status(queries)
    # nothing past 2 x 3 entries is looked at: the real entries come too late, twice
    assert len(results.unresolved) == 3
    assert all(o.reason is UnresolvedReason.MISSING_FROM_RESPONSE for o in results.unresolved)
    assert results.stats.unexpected_entries == 2 * 23


async def test_an_entry_of_another_country_is_never_attributed(fake_api: FakeAPI) -> None:
    fake_api.entry = lambda p, m: default_entry("+44" + p[3:], m)  # same last digits
    async with _client() as client:
        results = await client.multi_status([("+33612345678", 5)])
    [outcome] = results
    assert isinstance(outcome, Unresolved)
    assert outcome.reason is UnresolvedReason.MISSING_FROM_RESPONSE
    assert results.stats.unexpected_entries == 2  # the answer and the re-asked answer


async def test_echoes_of_the_same_number_are_still_matched(fake_api: FakeAPI) -> None:
    forms = ["0612345678", "0033612345678", "33612345678", "+33 6 12 34 56 78", "612345678"]
    for form in forms:
        fake_api.entry = lambda p, m, form=form: default_entry(form, m)  # type: ignore[misc]
        async with _client() as client:
            results = await client.multi_status([("+33612345678", 5)])
        [outcome] = results
        assert isinstance(outcome, StatusResult), form
        assert outcome.phone_number == "+33612345678"


async def test_conflicting_statuses_are_counted_logged_once_and_the_first_wins(
    fake_api: FakeAPI, caplog: pytest.LogCaptureFixture
) -> None:
    def twice(entries: list[dict[str, object]]) -> list[dict[str, object]]:
        return entries + [{**e, "status": "Not delivered"} for e in entries] + entries[:1]

    fake_api.transform = twice
    queries = [(p, 3) for p in phones(1000)]
    with caplog.at_level("WARNING", logger="partner_async"):
        async with _client() as client:
            results = await client.multi_status(queries)
    assert all(type(o) is StatusResult and o.status_text == "Delivered" for o in results)
    assert results.stats.conflicting_entries == 1000
    assert results.stats.unexpected_entries == 2  # the exact repeats, one per answer
    warnings = [r for r in caplog.records if "two different statuses" in r.getMessage()]
    assert len(warnings) == 1


# -- the response size cap ------------------------------------------------------------

CAP = 2**20  # 1 MiB in these tests (the default is 16 MiB)


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer(bomb_size=16 * CAP) as server:
        yield server


def _hostile_client(
    server: HostileServer, mode: str, http_client: httpx.AsyncClient | None = None
) -> SMSPartnerClient:
    return SMSPartnerClient(
        api_key=API_KEY,
        base_url=server.base(mode),
        max_response_bytes=CAP,
        max_retries=1,
        timeout=10.0,
        clock=FakeClock(),
        http_client=http_client,
    )


@pytest.mark.parametrize("mode", ["bomb", "chunked", "huge", "nolength"])
@pytest.mark.parametrize("pool", ["own", "caller"])
async def test_an_oversized_answer_is_malformed_and_stops_at_the_cap(
    hostile: HostileServer, mode: str, pool: str
) -> None:
    before = hostile.hits[mode]
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient()) if pool == "caller" else None
        client = await stack.enter_async_context(_hostile_client(hostile, mode, http))
        with anyio.fail_after(20):
            results = await client.multi_status([("+33612345678", 1), ("+33612345679", 2)])
    for outcome in results:
        assert isinstance(outcome, Unresolved)
        assert outcome.reason is UnresolvedReason.MALFORMED_RESPONSE
        assert f"max_response_bytes={CAP}" in outcome.detail
    assert hostile.hits[mode] - before == 2  # retried once, like any malformed answer


@pytest.mark.parametrize("pool", ["own", "caller"])
async def test_a_corrupt_gzip_answer_is_malformed(hostile: HostileServer, pool: str) -> None:
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient()) if pool == "caller" else None
        client = await stack.enter_async_context(_hostile_client(hostile, "badgzip", http))
        results = await client.multi_status([("+33612345678", 1)])
    [outcome] = results
    assert isinstance(outcome, Unresolved)
    assert outcome.reason is UnresolvedReason.MALFORMED_RESPONSE
    assert "gzip body is corrupt" in outcome.detail


async def test_an_oversized_bulk_answer_is_a_response_format_error(
    hostile: HostileServer,
) -> None:
    async with _hostile_client(hostile, "chunked") as client:
        with pytest.raises(ResponseFormatError, match="max_response_bytes") as caught:
            await client.bulk_status(300)
    assert type(caught.value) is partner_async.ResponseTooLargeError  # public, catchable


@pytest.mark.parametrize("mode", ["gzip", "deflate"])
@pytest.mark.parametrize("pool", ["own", "caller"])
async def test_compressed_answers_within_the_cap_decode(
    hostile: HostileServer, mode: str, pool: str
) -> None:
    queries = [(p, 9) for p in phones(500)]
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient()) if pool == "caller" else None
        client = await stack.enter_async_context(_hostile_client(hostile, mode, http))
        results = await client.multi_status(queries)
    assert len(results.answered) == 500


async def test_an_oversized_mocked_answer_is_malformed(router: respx.MockRouter) -> None:
    router.post(f"{SMS_BASE}/multi-status").mock(
        return_value=httpx.Response(200, content=b" " * (CAP + 1))
    )
    async with _client(max_response_bytes=CAP, max_retries=0) as client:
        results = await client.multi_status([("+33612345678", 1)])
    [outcome] = results
    assert isinstance(outcome, Unresolved)
    assert outcome.reason is UnresolvedReason.MALFORMED_RESPONSE


def test_max_response_bytes_is_validated() -> None:
    from partner_async import ConfigurationError

    with pytest.raises(ConfigurationError, match="max_response_bytes"):
        SMSPartnerClient(api_key="k", max_response_bytes=0)


# -- the key out of every repr, frame local and server text --------------------------


def _with_locals(exc: BaseException) -> str:
    """The traceback as ``pytest --showlocals``, Sentry or rich would print it."""
    return "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())


def _echo(request: httpx.Request, code: int) -> httpx.Response:
    """A server that puts the whole request (URL and body) into its error message."""
    text = f"{request.method} {request.url} {request.content.decode()}"
    return httpx.Response(200, json={"success": False, "code": code, "message": text})


async def test_no_key_in_the_frame_locals_of_a_failing_multi_status(fake_api: FakeAPI) -> None:
    def fail(progress: object) -> None:
        raise RuntimeError("the caller's progress callback failed")

    async with _client() as client:
        with pytest.raises(RuntimeError) as small:  # one batch: the caller's task sends it
            await client.multi_status([("+33612345678", 1)], progress=fail)
        with pytest.raises(RuntimeError) as large:  # several: the call's workers send them
            await client.multi_status([(p, 1) for p in phones(501)], progress=fail)
    assert "builder = BatchBuilder(" in _with_locals(small.value)  # frames and locals are there
    assert API_KEY not in _with_locals(small.value)
    text = _with_locals(large.value)
    assert "settings = BatchSettings(" in text
    assert API_KEY not in text


@pytest.mark.parametrize("endpoint", ["multi", "multi_shared", "bulk"])
async def test_no_key_in_the_frame_locals_of_an_authentication_error(
    router: respx.MockRouter, endpoint: str
) -> None:
    router.post(f"{SMS_BASE}/multi-status").mock(
        return_value=httpx.Response(200, json={"success": False, "code": 10, "message": "no"})
    )
    router.get(f"{SMS_BASE}/bulk-status").mock(
        return_value=httpx.Response(200, json={"success": False, "code": 10, "message": "no"})
    )
    async with _client() as client:
        with pytest.raises(AuthenticationError) as caught:
            if endpoint == "multi":  # several batches: the call's own requests
                await client.multi_status([(p, 1) for p in phones(501)])
            elif endpoint == "multi_shared":  # one batch: a request shared with other calls
                await client.multi_status([("+33612345678", 1)])
            else:
                await client.bulk_status(300)
    text = _with_locals(caught.value)
    if endpoint == "multi_shared":  # each waiting caller raises its own copy, from its wait
        assert "lane = " in text
    else:
        assert "params = " in text or "json_body = " in text
    assert API_KEY not in text


def test_secrets_have_redacted_reprs() -> None:
    from partner_async._secret import Secret, SecretBody

    secret = Secret(API_KEY)
    body = SecretBody(API_KEY.encode(), secret)
    assert API_KEY not in f"{secret!r} {secret} {body!r} {[secret, body]!r}"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


async def test_a_server_echoing_the_request_never_puts_the_key_anywhere(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    codes = iter([500, 2, 5, 5])  # retried, split (INFO line), then rejected
    router.post(f"{SMS_BASE}/multi-status").mock(
        side_effect=lambda request: _echo(request, next(codes))
    )
    router.get(f"{SMS_BASE}/bulk-status").mock(side_effect=lambda request: _echo(request, 4))
    texts: list[str] = []
    async with _client() as client:
        results = await client.multi_status([("+33612345678", 1), ("+33612345679", 2)])
        texts += [repr(results), *map(repr, results), *(o.detail for o in results.unresolved)]
        with pytest.raises(MessageNotFoundError) as caught:
            await client.bulk_status(300)
        texts += [str(caught.value), repr(caught.value), caught.value.message]
    router.post(f"{SMS_BASE}/multi-status").mock(side_effect=lambda request: _echo(request, 10))
    async with _client() as client:
        with pytest.raises(AuthenticationError) as auth:
            await client.multi_status([("+33612345678", 1)])
        texts += [str(auth.value), auth.value.message]
    texts += [record.getMessage() for record in caplog.records]
    assert any("refused" in t for t in texts) and any("***" in t for t in texts)
    assert all(API_KEY not in t for t in texts)


@pytest.mark.parametrize("pool", ["own", "caller"])
async def test_an_echoing_server_over_loopback_gets_the_key_masked(
    hostile: HostileServer, pool: str
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient()) if pool == "caller" else None
        client = await stack.enter_async_context(_hostile_client(hostile, "echo", http))
        with pytest.raises(AuthenticationError) as caught:
            await client.multi_status([("+33612345678", 1)])
    assert "apiKey" in caught.value.message and API_KEY not in caught.value.message
    assert API_KEY not in _with_locals(caught.value)


# -- smaller: Retry-After floor, NullHandler ----------------------------------------------


@pytest.mark.parametrize("header", ["0", "-5"])
async def test_a_zero_or_negative_retry_after_keeps_the_backoff(
    fake_api: FakeAPI, header: str
) -> None:
    for attempt in range(3):
        fake_api.script[attempt] = httpx.Response(503, headers={"Retry-After": header})
    clock = FakeClock()
    policy = RetryPolicy(max_retries=3, backoff_base=1, backoff_max=4)
    async with _client(clock=clock, retry=policy) as client:
        results = await client.multi_status([("+33612345678", 1)])
    assert isinstance(results[0], StatusResult)
    assert len(clock.sleeps) == 3
    assert all(0 < s <= cap for s, cap in zip(clock.sleeps, [1, 2, 4], strict=True))


def test_the_sdk_logger_prints_nothing_when_the_app_configured_nothing() -> None:
    code = (
        "import logging, partner_async\n"
        "logging.getLogger('partner_async').warning('POST /multi-status failed; retry 1/3')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stderr == ""
