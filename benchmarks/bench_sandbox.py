"""The sandbox's ceiling: multi-status items served per second by one loopback server.

Starts ``python -m partner_async.sandbox --port 0`` in a subprocess (one uvicorn worker),
reads the port it prints, then drives it with a few concurrent aiohttp clients posting
500-item bodies (every item distinct, so no cache can help) for a bounded number of
requests, and prints items/s and the server's CPU per item. Repeats the measurement
(``--runs``) against a fresh server each time and prints the medians.

    python benchmarks/bench_sandbox.py [--requests 400] [--concurrency 4] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import time

import aiohttp
import orjson

ITEMS = 500


def bodies(count: int, seed: int) -> list[bytes]:
    """``count`` distinct multi-status request bodies of 500 items each."""
    rng = random.Random(seed)
    result = []
    for _ in range(count):
        items = [
            {"phoneNumber": f"+33{rng.choice('67')}{rng.randrange(10**8):08d}",
             "messageId": rng.randrange(1, 10**8)}
            for _ in range(ITEMS)
        ]  # fmt: skip
        result.append(orjson.dumps({"apiKey": "sandbox", "SMSStatut_List": items}))
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by a process (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server() -> tuple[subprocess.Popen[str], str]:
    """Start the sandbox CLI on a free port; return the process and its SMS base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "partner_async.sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for _ in range(10):  # the banner is 4 lines
        line = proc.stdout.readline()
        match = re.search(r"SMS Partner base URL:\s+(\S+)", line)
        if match:
            return proc, match.group(1)
    proc.kill()
    raise RuntimeError("the sandbox did not print its URL")


async def drive(url: str, payloads: list[bytes], concurrency: int) -> tuple[float, int]:
    """Post every payload, ``concurrency`` at a time; return (seconds, items answered)."""
    queue = list(reversed(payloads))
    answered = 0
    headers = {"content-type": "application/json"}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal answered
        while queue:
            body = queue.pop()
            async with session.post(url, data=body, headers=headers) as response:
                data = await response.read()
                if response.status != 200 or not data.startswith(b'{"success":true'):
                    raise RuntimeError(f"unexpected answer: {response.status} {data[:80]!r}")
                answered += ITEMS

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        # warm up (imports, first connections) outside the timing
        async with session.post(url, data=payloads[0], headers=headers) as response:
            await response.read()
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return time.perf_counter() - start, answered


def main() -> None:
    """Run the benchmark and print items/s per run and the median."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    payloads = bodies(args.requests, seed=1)
    rates = []
    server_us = []
    for run in range(args.runs):
        proc, base = start_server()
        try:
            cpu_before = cpu_seconds(proc.pid)
            client_before = time.process_time()
            seconds, items = asyncio.run(drive(base + "/multi-status", payloads, args.concurrency))
            cpu = cpu_seconds(proc.pid) - cpu_before
            client_cpu = time.process_time() - client_before
        finally:
            proc.terminate()
            proc.wait(10)
        rate = items / seconds
        rates.append(rate)
        server_us.append(cpu / items * 1e6)
        print(
            f"run {run + 1}: {items} items in {seconds:.3f} s = {rate:,.0f} items/s "
            f"(server CPU {cpu:.2f} s = {cpu / items * 1e6:.2f} us/item, "
            f"client CPU {client_cpu:.2f} s)"
        )
    print(
        f"median of {args.runs}: {statistics.median(rates):,.0f} items/s, "
        f"server CPU {statistics.median(server_us):.2f} us/item "
        f"({args.requests} requests x {ITEMS} items, {args.concurrency} in flight, "
        f"{os.cpu_count()} CPUs)"
    )


if __name__ == "__main__":
    main()
