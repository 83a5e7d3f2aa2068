"""The SDK over real sockets: a loopback sandbox server, killed and restarted mid-run."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import Iterator

import anyio
import anyio.lowlevel
import anyio.to_thread
import httpx
import pytest
import respx

from partner_async import (
    AuthenticationError,
    MultiStatusResult,
    PartnerError,
    Progress,
    RetryPolicy,
    SMSPartnerClient,
    StatusResult,
)
from partner_async.sandbox import FaultConfig, SandboxConfig, SandboxServer, ground_truth

from ._fakes import count_sends
from .test_sandbox_e2e import assert_matches_truth, random_queries

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def faulty_server() -> Iterator[SandboxServer]:
    config = SandboxConfig(
        seed=21,
        waiting_polls=None,
        faults=FaultConfig(schedule={1: "disconnect", 3: "http_503", 5: "truncated_json"}),
    )
    with SandboxServer(config) as server:
        yield server


async def test_real_transport_over_loopback(faulty_server: SandboxServer) -> None:
    before = dict(faulty_server.app.stats.faults)
    async with SMSPartnerClient(
        api_key="sandbox",
        base_url=faulty_server.sms_base_url,
        max_concurrency=4,
        retry=RetryPolicy(backoff_base=0.001),
    ) as client:
        results = await client.multi_status(random_queries(5000, seed=21))
    assert len(results.answered) == len(results)
    assert_matches_truth(results, faulty_server.app.config)
    if not any(before.values()):  # the first backend to run meets the scheduled faults
        assert results.stats.retries == 3
        assert faulty_server.app.stats.faults["disconnect"] == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(port: int, *options: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "partner_async.sandbox",
            "--port",
            str(port),
            "--seed",
            "3",
            "--latency",
            "0.01",
            "--waiting-polls",
            "-1",
            *options,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # the server prints its URLs once it listens
    assert f"127.0.0.1:{port}" in line, line
    return process


def _stop(process: subprocess.Popen[str]) -> None:
    process.kill()
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


@pytest.fixture(scope="module")
def server_process() -> Iterator[str]:
    """A real sandbox server process on loopback (accepting a distinctive key): its SMS URL."""
    port = _free_port()
    process = _start_server(port, "--api-key", SECRET)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        _stop(process)


SECRET = "loopback-S3CRET-key-0001"


async def test_real_server_process_and_no_key_in_debug_logs(
    server_process: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    async with SMSPartnerClient(
        api_key=SECRET, base_url=server_process, retry=RetryPolicy(max_retries=1, backoff_base=0)
    ) as client:
        results = await client.multi_status([*random_queries(1200, seed=8), ("bad", 1)])
        report = await client.bulk_status(4)
        texts += [repr(client), repr(results), *map(repr, results), repr(report)]
        try:
            await client.bulk_status(10**9)  # no such message: an error carrying the URL's request
        except PartnerError as exc:
            texts += [str(exc), repr(exc)]
    async with SMSPartnerClient(api_key="wrong-key", base_url=server_process) as other:
        with pytest.raises(AuthenticationError) as info:
            await other.multi_status(random_queries(3))
        texts.append(str(info.value))
    assert len(results.answered) == 1200
    records = [r.getMessage() for r in caplog.records]
    assert any("bulk-status" in m for m in records)  # the request lines were logged...
    assert all(SECRET not in t for t in texts + records)  # ...without the key


async def test_server_killed_and_restarted_mid_run() -> None:
    port = _free_port()
    server = await anyio.to_thread.run_sync(_start_server, port)
    half_way = anyio.Event()
    restarted = anyio.Event()

    def progress(p: Progress) -> None:
        if p.done >= 6000:
            half_way.set()

    async def kill_and_restart() -> None:
        nonlocal server
        await half_way.wait()
        _stop(server)
        server = await anyio.to_thread.run_sync(_start_server, port)
        restarted.set()

    queries = random_queries(20_000, seed=3)
    try:
        async with (
            SMSPartnerClient(
                api_key="sandbox",
                base_url=f"http://127.0.0.1:{port}/v1",
                max_concurrency=2,
                # ~20 s of retries: the restart may be slow on a loaded machine
                retry=RetryPolicy(max_retries=100, backoff_base=0.02, backoff_max=0.2),
            ) as client,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(kill_and_restart)
            results = await client.multi_status(queries, progress=progress)
    finally:
        _stop(server)
    assert restarted.is_set()
    assert results.stats.retries >= 1
    assert len(results) == len(set(queries))
    config = SandboxConfig(seed=3, waiting_polls=None)
    for outcome in results:
        assert isinstance(outcome, StatusResult)
        truth = ground_truth(outcome.phone_number, outcome.message_id, config=config)
        assert outcome.status_text == truth.wire_status


async def test_concurrent_calls_share_the_limit_without_pool_timeouts() -> None:
    """Three calls at once on one client: never more than max_concurrency requests in
    flight, so the pool (sized from it) never makes a request wait for a connection."""
    config = SandboxConfig(seed=5, latency=0.2, waiting_polls=None)
    peak = 0

    def progress(p: Progress) -> None:
        nonlocal peak
        peak = max(peak, p.in_flight)

    with SandboxServer(config) as server:
        async with SMSPartnerClient(
            api_key="sandbox",
            base_url=server.sms_base_url,
            max_concurrency=3,
            batch_size=250,
            # a request waiting for a pooled connection would wait >= 0.2 s and fail
            timeout=httpx.Timeout(5.0, pool=0.1),
            max_retries=0,
        ) as client:
            results: list[MultiStatusResult] = []

            async def one(seed: int) -> None:
                queries = random_queries(1000, seed=seed)
                results.append(await client.multi_status(queries, progress=progress))

            async with anyio.create_task_group() as tg:
                for seed in (31, 32, 33):
                    tg.start_soon(one, seed)
    assert [len(r.answered) for r in results] == [1000, 1000, 1000], results[0].counts_by_reason()
    assert 1 <= peak <= 3


@pytest.fixture(scope="module")
def slow_first_server() -> Iterator[SandboxServer]:
    """Its first request answers after 30 s; every other one at once."""
    config = SandboxConfig(
        seed=5, waiting_polls=None, faults=FaultConfig(schedule={1: "slow"}, slow_seconds=30.0)
    )
    with SandboxServer(config) as server:
        yield server


async def test_own_pool_skips_httpx_objects_under_asyncio_and_respx_still_mocks(
    faulty_server: SandboxServer, monkeypatch: pytest.MonkeyPatch, anyio_backend_name: str
) -> None:
    sent = count_sends(monkeypatch)
    queries = random_queries(1200, seed=8)
    async with SMSPartnerClient(
        api_key="sandbox", base_url=faulty_server.sms_base_url, max_concurrency=2
    ) as client:
        results = await client.multi_status(queries)
        assert len(results.answered) == len(results) == len(set(queries))
        # asyncio: the SDK's aiohttp pool is driven directly; trio: httpx's own pool
        assert len(sent) == (0 if anyio_backend_name == "asyncio" else results.stats.requests)

        # A respx mock of httpx (using="httpx") still sees every request of the same client.
        sent.clear()
        with respx.mock(using="httpx") as router:
            router.post(f"{faulty_server.sms_base_url}/multi-status").respond(
                json={"success": False, "code": 10, "message": "Invalid API key"}
            )
            with pytest.raises(AuthenticationError):
                await client.multi_status(queries[:3])
        assert len(sent) == 1


async def test_own_pool_read_timeout_is_retried(slow_first_server: SandboxServer) -> None:
    async with SMSPartnerClient(
        api_key="sandbox",
        base_url=slow_first_server.sms_base_url,
        timeout=httpx.Timeout(0.3, connect=5.0),
        retry=RetryPolicy(backoff_base=0.001),
    ) as client:
        with anyio.fail_after(20):
            results = await client.multi_status(random_queries(10, seed=9))
    assert len(results.answered) == 10
    if slow_first_server.app.stats.faults["slow"] == 1:  # the first backend meets the fault
        assert results.stats.retries == 1


@pytest.fixture
def slow_start_server() -> Iterator[SandboxServer]:
    """Its first 4 requests answer after 30 s; every later one at once."""
    config = SandboxConfig(
        seed=6,
        waiting_polls=None,
        faults=FaultConfig(schedule=dict.fromkeys(range(4), "slow"), slow_seconds=30.0),
    )
    with SandboxServer(config) as server:
        yield server


async def test_cancelling_requests_on_the_own_pool_leaves_the_client_usable(
    slow_start_server: SandboxServer,
) -> None:
    queries = random_queries(2000, seed=4)
    async with SMSPartnerClient(
        api_key="sandbox", base_url=slow_start_server.sms_base_url, max_concurrency=4
    ) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.multi_status, queries)
            faults = slow_start_server.app.stats.faults
            while faults["slow"] < 4:  # the server holds all 4 requests, for 30 s
                await anyio.lowlevel.checkpoint()
            assert client._limiter.in_flight == 4
            tg.cancel_scope.cancel()
        assert client._limiter.in_flight == 0
        with anyio.fail_after(20):
            results = await client.multi_status(queries)
    assert len(results.answered) == len(results) == len(set(queries))
