"""Tracking a campaign: StatusTracker throughput per worker (SQLite, Redis), store size per
million queries, and 1 vs 2 vs 4 worker processes on one Redis against a loopback sandbox.

    python benchmarks/bench_tracker.py --n 200000 --workers-n 50000 \\
        --redis redis://127.0.0.1:6379/15          # the Redis database is FLUSHED

Writes the "## Tracking a campaign" section of benchmarks/RESULTS.md (replacing it).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx

from partner_async import SMSPartnerClient, StatusTracker
from partner_async.sandbox import SandboxConfig, SandboxServer, SandboxTransport, create_app

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
HEADING = "## Tracking a campaign"
NOTE = (
    "On this machine (2 cores, shared with other agents' jobs) the workers, the Redis"
    " server and the sandbox compete for the same CPU, so one worker already saturate"
    "s it and more workers only add contention; the table shows the sharing is exact "
    "(the same number of items asked for 1, 2 and 4 workers: no query asked twice in "
    "a round, none dropped), not a speed-up. Measure scaling where the workers have c"
    "ores of their own. Store size: each row keeps the latest and the previous answer"
    " as JSON."
)


def queries(n: int) -> list[tuple[str, int]]:
    rng = random.Random(42)
    return [(f"+336{rng.randrange(10**8):08d}", rng.randrange(1, 10**7)) for _ in range(n)]


def flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


def redis_memory(url: str) -> int:
    import redis

    client = redis.Redis.from_url(url)
    used = int(client.info("memory")["used_memory"])
    client.close()
    return used


async def one_worker(store: str, n: int) -> dict[str, Any]:
    """Add n queries, then run one worker to final in-process (SandboxTransport)."""
    config = SandboxConfig(seed=1, waiting_polls=2)
    app = create_app(config)
    pairs = queries(n)
    async with (
        httpx.AsyncClient(transport=SandboxTransport(app)) as http,
        SMSPartnerClient(
            api_key="sandbox", base_url="http://127.0.0.1/v1", http_client=http, max_concurrency=8
        ) as client,  # fmt: skip
        StatusTracker(client, store=store, poll_interval=0.0, backoff=1.0) as tracker,
    ):
        started = time.perf_counter()
        await tracker.add(pairs)
        added = time.perf_counter() - started
        started = time.perf_counter()
        updates = 0
        async for _ in tracker.run(until_final=True):
            updates += 1
        ran = time.perf_counter() - started
        counts = await tracker.counts()
    assert counts["pending"] == 0, counts
    return {"n": n, "add_s": added, "run_s": ran, "updates": updates,
            "items": app.stats.items, "requests": app.stats.requests}  # fmt: skip


WORKER = """
import sys, anyio
from partner_async import SMSPartnerClient, StatusTracker
async def main(store, url):
    async with SMSPartnerClient(api_key="sandbox", base_url=url, max_concurrency=8) as c, \\
            StatusTracker(c, store=store, poll_interval=0.0, backoff=1.0) as t:
        n = 0
        async for _ in t.run(until_final=True):
            n += 1
    print(n)
anyio.run(main, sys.argv[1], sys.argv[2])
"""


async def add_only(store: str, n: int) -> None:
    async with (
        SMSPartnerClient(api_key="sandbox") as client,
        StatusTracker(client, store=store) as tracker,
    ):
        await tracker.add(queries(n))


def many_workers(redis_url: str, n: int, workers: int) -> dict[str, Any]:
    flush(redis_url)
    anyio.run(add_only, redis_url, n)
    with SandboxServer(SandboxConfig(seed=1, waiting_polls=2)) as server:
        started = time.perf_counter()
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, redis_url, server.sms_base_url],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(workers)
        ]
        outs = [p.communicate()[0] for p in processes]
        wall = time.perf_counter() - started
        items = server.app.stats.items
    return {"workers": workers, "n": n, "wall_s": wall, "items": items,
            "updates": sum(int(o.split()[-1]) for o in outs)}  # fmt: skip


def write_section(text: str) -> None:
    current = RESULTS.read_text()
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        current = pattern.sub(lambda _: text, current)
    else:
        current = current.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="queries per one-worker run")
    parser.add_argument("--workers-n", type=int, default=50_000, help="queries for 1/2/4")
    parser.add_argument("--redis", default=os.environ.get("PARTNER_ASYNC_TEST_REDIS"))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        sqlite = anyio.run(one_worker, f"sqlite:///{path}", args.n)
        size = sum(p.stat().st_size for p in Path(tmp).glob("bench.db*"))
        rows.append(("SQLite", sqlite, size))
    if args.redis:
        flush(args.redis)
        before = redis_memory(args.redis)
        redis_run = anyio.run(one_worker, args.redis, args.n)
        rows.append(("Redis", redis_run, redis_memory(args.redis) - before))
        scaling = [many_workers(args.redis, args.workers_n, w) for w in (1, 2, 4)]
        flush(args.redis)
    else:
        scaling = []
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        HEADING,
        "",
        f"Written by `benchmarks/bench_tracker.py --n {args.n} --workers-n {args.workers_n}` "
        f"({stamp}, {os.cpu_count()} cores shared with other jobs; Python "
        f"{sys.version.split()[0]}). Sandbox `waiting_polls=2` (a Waiting query is asked 3 "
        "times), `poll_interval=0`, one worker = one process, `max_concurrency=8`.",
        "",
        "One worker, sandbox in-process (`SandboxTransport`), queries tracked to final:",
        "",
        "| store | queries | add (s) | run to final (s) | queries/s (run) | items asked | "
        "updates | store size per 1M queries |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r, size in rows:
        lines.append(
            f"| {name} | {r['n']:,} | {r['add_s']:.1f} | {r['run_s']:.1f} | "
            f"{r['n'] / r['run_s']:,.0f} | {r['items']:,} | {r['updates']:,} | "
            f"{size / r['n'] * 1e6 / 2**20:,.0f} MiB |"
        )
    if scaling:
        lines += [
            "",
            "Worker processes on one Redis, sandbox on loopback (`SandboxServer`, one uvicorn "
            "thread, itself a process competing for the 2 cores):",
            "",
            "| workers | queries | wall (s) | queries/s | items asked (exact: no double asks) |",
            "| --- | --- | --- | --- | --- |",
        ]
        for s in scaling:
            lines.append(
                f"| {s['workers']} | {s['n']:,} | {s['wall_s']:.1f} | "
                f"{s['n'] / s['wall_s']:,.0f} | {s['items']:,} |"
            )
        lines += ["", NOTE]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        write_section(text)


if __name__ == "__main__":
    main()
