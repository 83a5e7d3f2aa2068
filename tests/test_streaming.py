"""iter_multi_status: per-batch results, bounded read-ahead, order, early exit; progress."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

import anyio
import pytest

from partner_async import (
    AuthenticationError,
    BatchResult,
    Progress,
    SMSPartnerClient,
    StatusResult,
    Unresolved,
)

from ._fakes import API_KEY, SMS_BASE, FakeAPI, phones

pytestmark = pytest.mark.anyio


def client(**options: Any) -> SMSPartnerClient:
    options.setdefault("max_retries", 0)
    return SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, **options)


@pytest.mark.parametrize("ordered", [True, False])
async def test_stream_covers_every_query_once(fake_api: FakeAPI, ordered: bool) -> None:
    queries: list[tuple[str, Any]] = [(p, i + 1) for i, p in enumerate(phones(2300))]
    queries.insert(10, ("not a phone", 1))
    queries.insert(600, queries[3])  # a duplicate
    batches: list[BatchResult] = []
    async with client(max_concurrency=4).iter_multi_status(queries, ordered=ordered) as stream:
        async for batch in stream:
            batches.append(batch)
    numbers = [b.number for b in batches]
    if ordered:
        assert numbers == sorted(numbers)
    assert sorted(numbers) == list(range(5))
    positions = [p for b in sorted(batches, key=lambda b: b.number) for p in b.positions]
    assert positions == [i for i in range(len(queries)) if i != 600]
    for batch in batches:
        assert list(batch.positions) == sorted(batch.positions)
        for position, outcome in zip(batch.positions, batch.outcomes, strict=True):
            phone, message_id = queries[position]
            if isinstance(outcome, Unresolved):
                assert outcome.phone_number == "not a phone"
            else:
                assert (outcome.phone_number, outcome.message_id) == (phone, message_id)
    assert sum(len(b.unresolved) for b in batches) == 1
    assert sum(len(b.results) for b in batches) == 2300


async def test_input_is_read_lazily_with_backpressure(fake_api: FakeAPI) -> None:
    read = 0

    def rows() -> Iterator[tuple[str, int]]:
        nonlocal read
        for i, p in enumerate(phones(50_000)):
            read += 1
            yield p, i + 1

    c = client(max_concurrency=2, batch_size=100)
    async with c.iter_multi_status(rows()) as stream:
        first = await stream.__anext__()
        await anyio.wait_all_tasks_blocked()
        # workers (2) + stream buffer (1) + consumer (1) + the batch being built, at most
        assert read <= 100 * 6 + 100
        assert len(first) == 100
    # leaving early cancelled everything: the reader stopped there
    assert read < 1000
    # and the client still works
    assert len(await c.multi_status([("+33612345678", 1)])) == 1
    await c.aclose()


async def test_async_cursor_is_not_read_ahead(fake_api: FakeAPI) -> None:
    read = 0

    async def cursor() -> AsyncIterator[tuple[str, int]]:
        nonlocal read
        for i, p in enumerate(phones(20_000)):
            read += 1
            yield p, i + 1

    # the caller owns its async generator: aclosing() finalises it when we stop early
    async with (
        aclosing(cursor()) as rows,  # type: ignore[type-var]
        client(max_concurrency=3).iter_multi_status(rows) as stream,
    ):
        async for _ in stream:
            await anyio.wait_all_tasks_blocked()
            assert read <= 500 * 7
            break


async def test_exception_in_consumer_cancels_and_propagates(fake_api: FakeAPI) -> None:
    c = client()
    with pytest.raises(KeyError, match="boom"):
        async with c.iter_multi_status([(p, 1) for p in phones(3000)]) as stream:
            async for _ in stream:
                raise KeyError("boom")
    assert len(fake_api.requests) < 6
    await c.aclose()


async def test_fatal_error_surfaces_in_the_stream(fake_api: FakeAPI) -> None:
    import httpx

    fake_api.respond = lambda body: httpx.Response(
        200, json={"success": False, "code": 10, "message": "Invalid API key"}
    )
    with pytest.raises(AuthenticationError):
        async with client().iter_multi_status([(p, 1) for p in phones(1500)]) as stream:
            async for _ in stream:
                pass


async def test_dedupe_window_bounds_what_is_remembered(fake_api: FakeAPI) -> None:
    p = phones(5)
    queries = [(x, 1) for x in p] + [(p[0], 1), (p[4], 1)]
    seen: list[int] = []
    async with client().iter_multi_status(queries, dedupe_window=3) as stream:
        async for batch in stream:
            seen += batch.positions
    # p[0] fell out of a 3-query window and is asked again; p[4] is still in it
    assert seen == [0, 1, 2, 3, 4, 5]
    async with client().iter_multi_status(queries, dedupe_window=None) as stream:
        assert [pos async for b in stream for pos in b.positions] == [0, 1, 2, 3, 4]


async def test_progress_reports_every_batch(fake_api: FakeAPI) -> None:
    reports: list[Progress] = []
    queries = [(p, 1) for p in phones(1200)] + [("bad", 1)]
    async with client(max_concurrency=1) as c:
        await c.multi_status(queries, progress=reports.append)
    assert [r.done for r in reports] == [500, 1000, 1201]
    assert {r.total for r in reports} == {1201}
    assert reports[-1].requests == 3
    assert reports[-1].unresolved == 1
    gen_reports: list[Progress] = []
    async with client() as c:
        await c.multi_status(iter(queries), progress=gen_reports.append)
    assert gen_reports[-1].total is None and gen_reports[-1].done == 1201


async def test_multi_status_still_merges_everything(fake_api: FakeAPI) -> None:
    async with client() as c:
        results = await c.multi_status((p, 1) for p in phones(1001))
    assert len(results) == 1001
    assert all(isinstance(r, StatusResult) for r in results)


@pytest.mark.parametrize(("window", "chunked"), [(None, True), (100_000, True), (50, False)])
async def test_repeats_account_for_every_input_row(
    fake_api: FakeAPI, window: int | None, chunked: bool
) -> None:
    """positions and repeats name every input position once; a repeat points at the first
    appearance of its query (in any accepted form), whose outcome it shares."""
    base: list[Any] = [(p, 7) for p in phones(1_200)]
    rows_list: list[Any] = list(base)
    rows_list.insert(5, ("06" + base[3][0][4:], "7"))  # base[3] again, written nationally
    rows_list.insert(700, base[690])  # within a batch or two
    rows_list.insert(1_000, base[2])  # far back: beyond a window of 50
    rows_list.insert(1_100, ("nonsense", 1))
    rows_list.insert(1_150, ("nonsense", 1))
    rows: Any = rows_list if chunked else iter(rows_list)
    outcome_at: dict[int, Any] = {}
    seen: list[int] = []
    async with client().iter_multi_status(rows, ordered=True, dedupe_window=window) as stream:
        async for batch in stream:
            for position, outcome in zip(batch.positions, batch.outcomes, strict=True):
                outcome_at[position] = outcome
                seen.append(position)
            for position, first in batch.repeats:
                assert first < position
                outcome_at[position] = outcome_at[first]
                seen.append(position)
    assert sorted(seen) == list(range(len(rows_list)))  # every row once
    assert outcome_at[5] == outcome_at[3]
    assert outcome_at[700] == outcome_at[691]  # base[690] is at 691 after the insert at 5
    assert outcome_at[1_150] == outcome_at[1_100]
    assert isinstance(outcome_at[1_100], Unresolved)
    far = outcome_at[1_000]
    assert isinstance(far, StatusResult) and far.query == outcome_at[2].query
    # within the window the far repeat shares its first appearance; past it, it is asked again
    asked = [q for body in fake_api.requests for q in body["SMSStatut_List"]]
    assert len(asked) == 1_200 + (1 if window == 50 else 0)
