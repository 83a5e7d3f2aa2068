"""StatusTracker on SQLite and Redis: add, run to final, restarts, workers, store errors.

Redis tests need ``PARTNER_ASYNC_TEST_REDIS`` (``redis://127.0.0.1:P/0``, a database the
tests may flush); without it they skip locally and fail in CI (``CI=true``). Under trio
the Redis store uses redis-py's blocking client in a worker thread (its asyncio client
runs on asyncio only), so both stores run under both backends.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from partner_async import (
    SMSPartnerClient,
    StatusQuery,
    StatusResult,
    StatusTracker,
    StoreError,
    Unresolved,
    UnresolvedReason,
)
from partner_async.sandbox import (
    SandboxApp,
    SandboxConfig,
    SandboxServer,
    SandboxTransport,
    create_app,
    ground_truth,
)

REDIS_URL = os.environ.get("PARTNER_ASYNC_TEST_REDIS")
ROOT = Path(__file__).resolve().parent.parent


def _need_redis() -> str:
    if REDIS_URL:
        return REDIS_URL
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but PARTNER_ASYNC_TEST_REDIS is unset: nox (and .ci/run) start Redis")
    pytest.skip("set PARTNER_ASYNC_TEST_REDIS=redis://127.0.0.1:PORT/0 to run Redis tests")


def _flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'track.db'}"
    url = _need_redis()
    _flush(url)
    return url


@pytest.fixture
def redis_url() -> str:
    url = _need_redis()
    _flush(url)
    return url


def queries(n: int, seed: int = 1) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    return [(f"+336{rng.randrange(10**8):08d}", rng.randrange(1, 10**7)) for _ in range(n)]


def asks_expected(pairs: list[tuple[str, int]], config: SandboxConfig) -> int:
    """How many items the sandbox serves when each query is asked exactly once per round
    until final: once, or 1 + waiting_polls times when it starts Waiting."""
    assert config.waiting_polls is not None
    return sum(
        1 if ground_truth(p, m, config=config).final else 1 + config.waiting_polls
        for p, m in set(pairs)
    )


def assert_final_truth(exported: dict[StatusQuery, Any], config: SandboxConfig) -> None:
    for query, outcome in exported.items():
        assert isinstance(outcome, StatusResult), (query, outcome)
        truth = ground_truth(query.phone_number, query.message_id, config=config, polls=99)
        assert (outcome.code, outcome.status_text) == (truth.code, truth.wire_status)
        assert outcome.is_final


FAST: dict[str, Any] = {"poll_interval": 0.001, "backoff": 1.0}


@asynccontextmanager
async def sandbox_tracker(
    store: str, config: SandboxConfig, **options: Any
) -> AsyncIterator[tuple[StatusTracker, SandboxApp]]:
    app = create_app(config)
    async with (
        httpx.AsyncClient(transport=SandboxTransport(app)) as http,
        SMSPartnerClient(api_key="sandbox", base_url="http://127.0.0.1/v1", http_client=http) as c,
        StatusTracker(
            c, store=store, **{"poll_interval": 0.001, "backoff": 1.0, **options}
        ) as tracker,
    ):
        yield tracker, app


async def export(tracker: StatusTracker) -> dict[StatusQuery, Any]:
    return {q: o async for q, o in tracker.export()}


@pytest.mark.anyio
@pytest.mark.parametrize("n", [0, 1, 10_000])
async def test_add_is_idempotent(store_url: str, n: int) -> None:
    pairs = queries(n)
    async with sandbox_tracker(store_url, SandboxConfig()) as (tracker, app):
        assert await tracker.add(pairs) == n
        assert await tracker.add(iter(pairs)) == 0  # again: nothing new
        national = [("0" + p[3:], m) for p, m in pairs[:5]]  # the same queries, written
        assert await tracker.add(national) == 0  # nationally, are not new either
        counts = await tracker.counts()
        assert counts.get("new", 0) == n
        assert counts["pending"] == n
        assert app.stats.requests == 0


@pytest.mark.anyio
async def test_add_streams_an_async_iterable_and_keeps_invalid_queries(store_url: str) -> None:
    async def source() -> AsyncIterator[tuple[str, Any]]:
        for pair in queries(3000):
            yield pair
        yield ("not a number", 5)

    async with sandbox_tracker(store_url, SandboxConfig()) as (tracker, _):
        assert await tracker.add(source()) == 3001
        updates = [u async for u in tracker.run()]
        invalid = [u for u in updates if isinstance(u.current, Unresolved)]
        assert len(invalid) == 1
        current = invalid[0].current
        assert isinstance(current, Unresolved)
        assert current.reason is UnresolvedReason.INVALID_QUERY
        assert "not a number" in invalid[0].id
        assert (await tracker.counts())["pending"] == 0


@pytest.mark.anyio
async def test_run_follows_waiting_to_final_ground_truth(store_url: str) -> None:
    config = SandboxConfig(seed=3, waiting_polls=2)
    pairs = queries(2000, seed=3)
    async with sandbox_tracker(store_url, config) as (tracker, app):
        await tracker.add(pairs)
        updates = [u async for u in tracker.run(until_final=True, deadline=30)]
        counts = await tracker.counts()
        assert counts["pending"] == 0
        assert counts["undelivered"] == 0
        assert "new" not in counts and "Waiting" not in counts
        assert_final_truth(await export(tracker), config)
        # each query asked once per round: exactly the items the schedule implies
        assert app.stats.items == asks_expected(pairs, config)
        waited = [u for u in updates if u.previous is not None]
        assert waited, "some queries started Waiting"
        for update in waited:
            assert isinstance(update.previous, StatusResult)
            assert update.previous.status_text == "Waiting"
            assert update.is_final and update.round == 3
        assert len({u.id for u in updates}) == len(updates)
        assert len(updates) == len(pairs) + len(waited)
        # a finished store: running again asks nothing and yields nothing
        before = app.stats.requests
        assert [u async for u in tracker.run()] == []
        assert app.stats.requests == before


@pytest.mark.anyio
async def test_until_final_false_does_one_pass(store_url: str) -> None:
    config = SandboxConfig(seed=4, waiting_polls=2)
    async with sandbox_tracker(store_url, config, poll_interval=60.0) as (tracker, _):
        await tracker.add(queries(600, seed=4))
        first = [u async for u in tracker.run(until_final=False)]
        assert len(first) == 600
        counts = await tracker.counts()
        assert counts["pending"] == counts.get("Waiting", 0) > 0
        assert [u async for u in tracker.run(until_final=False)] == []  # nothing due yet


@pytest.mark.anyio
async def test_a_known_status_is_not_replaced_by_a_later_refusal(store_url: str) -> None:
    """The rule of ``wait_for_final`` and the CLI (``replaces``): a query answered Waiting
    that the API refuses on a later poll keeps its status and stays pending."""
    clock = [1000.0]
    refused = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal refused
        if clock[0] > 1000.0:
            refused += 1
            return httpx.Response(400, text="Bad Request")
        (item,) = orjson.loads(request.content)["SMSStatut_List"]
        entry = {"success": True, "code": 200, "status": "Waiting", "date": None, **item}
        return httpx.Response(
            200, json={"success": True, "code": 200, "StatutResponse_List": [entry]}
        )

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http,
        SMSPartnerClient(
            api_key="sandbox", base_url="http://127.0.0.1/v1", http_client=http, max_retries=0
        ) as c,
        StatusTracker(
            c, store=store_url, poll_interval=60.0, backoff=1.0, now=lambda: clock[0]
        ) as tracker,
    ):
        await tracker.add([("+33612345678", 7)])
        first = [u async for u in tracker.run(until_final=False)]
        assert [type(u.current) for u in first] == [StatusResult]
        clock[0] += 61  # due again
        assert [u async for u in tracker.run(until_final=False)] == []  # refused: no change
        assert refused == 1
        ((_, kept),) = [pair async for pair in tracker.export()]
        assert isinstance(kept, StatusResult) and kept.status_text == "Waiting"
        assert (await tracker.counts())["pending"] == 1


@pytest.mark.anyio
async def test_an_update_not_consumed_is_delivered_again_with_the_same_id(store_url: str) -> None:
    config = SandboxConfig(seed=5, waiting_polls=0)
    pairs = queries(50, seed=5)
    async with sandbox_tracker(store_url, config, worker="w1") as (tracker, app):
        await tracker.add(pairs)
        seen = []
        async with aclosing(tracker.run()) as updates:  # type: ignore[type-var]
            async for update in updates:
                seen.append(update)
                if len(seen) == 10:
                    break  # like a crash before the batch was marked delivered
        assert (await tracker.counts())["undelivered"] == 50
        requests = app.stats.requests
        again = [u async for u in tracker.run()]
        assert app.stats.requests == requests  # redelivered from the store, not re-asked
        assert {u.id for u in seen} <= {u.id for u in again}
        assert len(again) == 50
        assert (await tracker.counts())["undelivered"] == 0


@pytest.fixture
def corrupt_path(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a database" * 200)
    return path


@pytest.mark.anyio
async def test_corrupt_sqlite_store(corrupt_path: Path) -> None:
    with pytest.raises(StoreError, match=r"corrupt\.db"):
        async with sandbox_tracker(f"sqlite:///{corrupt_path}", SandboxConfig()):
            pass
    assert corrupt_path.read_bytes() == b"this is not a database" * 200  # noqa: ASYNC240


@pytest.mark.anyio
async def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE tracked (x)")
    db.execute("INSERT INTO tracked VALUES (1)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=r"other\.db"):
        async with sandbox_tracker(f"sqlite:///{path}", SandboxConfig()):
            pass
    db = sqlite3.connect(path)
    assert db.execute("SELECT x FROM tracked").fetchall() == [(1,)]
    db.close()


@pytest.mark.anyio
async def test_unreachable_redis_is_a_store_error() -> None:
    pytest.importorskip("redis")
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StoreError, match=f"127.0.0.1:{port}"):
        async with sandbox_tracker(f"redis://127.0.0.1:{port}/0", SandboxConfig()):
            pass


@pytest.mark.anyio
async def test_redis_keys_of_another_kind_are_refused_and_kept(redis_url: str) -> None:
    import redis

    raw = redis.Redis.from_url(redis_url)
    raw.set("partner-async:tracker:due", "someone else's")
    try:
        with pytest.raises(StoreError, match="not a tracker store"):
            async with sandbox_tracker(redis_url, SandboxConfig()):
                pass
        assert raw.get("partner-async:tracker:due") == b"someone else's"
    finally:
        raw.close()


@pytest.mark.anyio
async def test_a_store_failure_mid_run_loses_nothing_stored(store_url: str) -> None:
    config = SandboxConfig(seed=6, waiting_polls=2)
    pairs = queries(1200, seed=6)
    async with sandbox_tracker(store_url, config, claim_size=300, worker="w") as (tracker, _):
        await tracker.add(pairs)
        store: Any = tracker._store
        save = store.save
        calls = 0

        async def failing_save(*args: Any) -> None:
            nonlocal calls
            calls += 1
            if calls == 3:
                raise StoreError("store went away")
            await save(*args)

        store.save = failing_save
        delivered = []
        with pytest.raises(StoreError, match="went away"):
            async for update in tracker.run():
                delivered.append(update)
        store.save = save
        assert len(delivered) == 600  # two saved batches, yielded
    async with sandbox_tracker(store_url, config, worker="w") as (tracker, _):
        exported = await export(tracker)
        for update in delivered:
            assert exported[update.query] == update.current  # what was stored is kept
        [u async for u in tracker.run()]
        assert (await tracker.counts())["pending"] == 0


def test_bad_store_urls() -> None:
    from partner_async import ConfigurationError

    client = SMSPartnerClient(api_key="k")
    for url in ("ftp://x", "sqlite://", "sqlite:///"):
        with pytest.raises(ConfigurationError, match="store"):
            StatusTracker(client, store=url)


# --------------------------------------------------------------- worker processes


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(seed=7, waiting_polls=2, latency=0.002)) as running:
        yield running


def worker(
    store: str, base_url: str, name: str, claim_size: int = 250, stdout: Any = subprocess.PIPE
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests._tracker_worker", store, base_url, name, str(claim_size)],
        cwd=ROOT,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


async def _add(store: str, pairs: list[tuple[str, int]]) -> None:
    async with (
        SMSPartnerClient(api_key="sandbox") as client,
        StatusTracker(client, store=store) as tracker,
    ):
        await tracker.add(pairs)


async def _export(store: str) -> dict[StatusQuery, Any]:
    async with (
        SMSPartnerClient(api_key="sandbox") as client,
        StatusTracker(client, store=store) as tracker,
    ):
        return await export(tracker)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_worker_killed_with_sigkill_and_restarted_finishes(
    kind: str, tmp_path: Path, server: SandboxServer
) -> None:
    store = f"sqlite:///{tmp_path / 'kill.db'}" if kind == "sqlite" else _need_redis()
    if kind == "redis":
        _flush(store)
    pairs = queries(3000, seed=8)
    await _add(store, pairs)
    first = worker(store, server.sms_base_url, "w1")
    assert first.stdout is not None
    lines = [first.stdout.readline() for _ in range(700)]  # mid-run, past the first batches
    first.kill()  # SIGKILL
    first.wait()
    lines += first.stdout.read().splitlines(keepends=True)
    first.stdout.close()
    assert first.stderr is not None
    first.stderr.close()
    second = worker(store, server.sms_base_url, "w1")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    updates = [orjson.loads(line) for line in lines + out.splitlines() if line.strip()]
    config = server.app.config
    exported = await _export(store)
    assert len(exported) == len(pairs)
    assert_final_truth(exported, config)
    # no update lost: every query's final change was delivered (maybe twice)
    final_ids = {u["id"] for u in updates if u["final"]}
    assert {f"{q.phone_number}/{q.message_id}" for q in exported} == {
        i.rsplit("/", 1)[0] for i in final_ids
    }


@pytest.mark.slow
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_two_worker_processes_share_one_redis(
    redis_url: str, server: SandboxServer, tmp_path: Path
) -> None:
    pairs = queries(4000, seed=9)
    await _add(redis_url, pairs)
    # output to files: a worker blocked on a full pipe would hold its leases until they
    # expire, and the other would (rightly) deliver those updates again
    files = [(tmp_path / f"{name}.jsonl").open("w") for name in ("a", "b")]
    workers = [
        worker(redis_url, server.sms_base_url, name, 100, file)
        for name, file in zip(("a", "b"), files, strict=True)
    ]
    outputs = []
    for process, file in zip(workers, files, strict=True):
        _, err = process.communicate(timeout=120)
        file.close()
        assert process.returncode == 0, err
        lines = Path(file.name).read_text().splitlines()  # noqa: ASYNC240
        outputs.append([orjson.loads(line) for line in lines])
    assert all(outputs), "both workers did part of the work"
    ids = [u["id"] for output in outputs for u in output]
    assert len(ids) == len(set(ids))  # no update delivered by both
    config = server.app.config
    exported = await _export(redis_url)
    assert_final_truth(exported, config)
    # no query asked twice in one round, none dropped: exactly the items the schedule needs
    assert server.app.stats.items == asks_expected(pairs, config)
