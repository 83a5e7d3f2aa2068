"""The SDK over real sockets: a loopback sandbox server, killed and restarted mid-run."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import anyio
import anyio.to_thread
import pytest

from partner_async import Progress, RetryPolicy, SMSPartnerClient, StatusResult
from partner_async.sandbox import FaultConfig, SandboxConfig, SandboxServer, ground_truth

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


def _start_server(port: int) -> subprocess.Popen[str]:
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
                retry=RetryPolicy(max_retries=50, backoff_base=0.02, backoff_max=0.1),
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
