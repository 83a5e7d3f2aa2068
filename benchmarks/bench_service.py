"""A service's calls: many small lookups on one long-lived client (issue 11).

Scenarios, each against the sandbox in its own process on loopback (``python -m
partner_async.sandbox``), each client in a fresh process, clients interleaved, medians:

- ``sequential``: 1-, 10- and 500-item calls one after the other on one warm client:
  client CPU and wall time per call. ``partner_async`` (``multi_status``, and ``status()``
  for 1 item) against ``aiohttp_orjson``: one ``aiohttp.ClientSession``, ``orjson`` both
  ways, dicts out (the hand-written floor).
- ``burst``: 200 concurrent single lookups at 0 and 50 ms latency: upstream requests,
  p50/p99 latency per lookup, client CPU per lookup (one unmeasured burst, then the median
  of five in the same process: a long-lived service's steady state). ``partner_async``
  (``status()``) against ``aiohttp_orjson`` sending one request per lookup (8 in flight,
  the SDK's default limit) and ``aiohttp_orjson_all`` sending one request with all 200.
- ``trickle``: 300 lookups arriving 2 ms apart at 50 ms latency: the same measures.
- ``lone``: one lookup at a time (the latency a lookup has on its own).

    python benchmarks/bench_service.py               # every scenario, 5 repetitions
    python benchmarks/bench_service.py --reps 3 --scenarios burst trickle

Prints Markdown tables; ``--write`` replaces the "Services" section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
CONCURRENCY = 8  # the SDK's default max_concurrency, used by every client here


def phone(i: int) -> str:
    return f"+336{(i * 7919 + 12345) % 100_000_000:08d}"


def pairs(n: int, start: int = 0) -> list[tuple[str, int]]:
    return [(phone(i), 1_000 + i) for i in range(start, start + n)]


# ----------------------------------------------------------------------------- clients


class Hand:
    """The hand-written floor: one aiohttp session, orjson both ways, dicts out."""

    def __init__(self, url: str) -> None:
        import aiohttp

        self.endpoint = url + "/multi-status"
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY))
        self.headers = {"Content-Type": "application/json"}
        self.requests = 0
        self.semaphore = asyncio.Semaphore(CONCURRENCY)

    async def call(self, chunk: list[tuple[str, int]]) -> list[dict[str, Any]]:
        import orjson

        body = orjson.dumps(
            {
                "apiKey": "sandbox",
                "SMSStatut_List": [{"phoneNumber": p, "messageId": m} for p, m in chunk],
            }
        )
        async with self.semaphore:
            self.requests += 1
            async with self.session.post(self.endpoint, data=body, headers=self.headers) as r:
                raw = await r.read()
        data = orjson.loads(raw)
        if data.get("success") is not True:
            raise RuntimeError(f"unexpected answer {data!r:.200}")
        entries: list[dict[str, Any]] = data["StatutResponse_List"]
        return entries

    async def lookup(self, p: str, m: int) -> dict[str, Any]:
        return (await self.call([(p, m)]))[0]

    async def aclose(self) -> None:
        await self.session.close()


class SDK:
    """``partner_async``, requests counted at the transport (one attribute increment)."""

    def __init__(self, url: str, linger: float) -> None:
        import partner_async
        from partner_async import _transport

        self.requests = 0
        original = _transport.Transport.request

        async def counted(transport: Any, *args: Any, **kwargs: Any) -> Any:
            self.requests += 1
            return await original(transport, *args, **kwargs)

        _transport.Transport.request = counted  # type: ignore[method-assign]
        self.client = partner_async.SMSPartnerClient(
            api_key="sandbox", base_url=url, max_concurrency=CONCURRENCY, linger=linger
        )

    async def start(self) -> None:
        await self.client.__aenter__()

    async def call(self, chunk: list[tuple[str, int]]) -> Any:
        if len(chunk) == 1:
            return await self.client.status(*chunk[0])
        return await self.client.multi_status(chunk)

    async def lookup(self, p: str, m: int) -> Any:
        return await self.client.status(p, m)

    async def aclose(self) -> None:
        await self.client.aclose()


def cpu() -> float:
    return time.process_time()


async def sequential(client: Any, sizes: list[int], calls: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for size in sizes:
        chunks = [pairs(size, start=k * size) for k in range(calls + 20)]
        for chunk in chunks[:20]:  # warm up
            await client.call(chunk)
        c0, t0 = cpu(), time.perf_counter()
        for chunk in chunks[20:]:
            await client.call(chunk)
        out[str(size)] = {
            "cpu_ms": (cpu() - c0) / calls * 1e3,
            "wall_ms": (time.perf_counter() - t0) / calls * 1e3,
        }
    return out


async def arrivals(
    client: Any, n: int, gap: float, all_in_one: bool, bursts: int = 5
) -> dict[str, Any]:
    """``n`` lookups, started ``gap`` seconds apart (0: all at once), ``bursts`` times after
    one unmeasured burst (a service's steady state, not its first request): medians."""
    await client.call(pairs(3, start=90_000))  # warm: connections open
    runs: list[dict[str, float]] = []
    for burst in range(bursts + 1):
        queries = pairs(n, start=10_000 + burst * n)
        requests0 = client.requests
        latencies: list[float] = []
        c0, t0 = cpu(), time.perf_counter()
        if all_in_one:
            await client.call(queries)
            latencies = [time.perf_counter() - t0] * n
        else:

            async def one(p: str, m: int, latencies: list[float] = latencies) -> None:
                started = time.perf_counter()
                await client.lookup(p, m)
                latencies.append(time.perf_counter() - started)

            async with asyncio.TaskGroup() as tg:
                for p, m in queries:
                    tg.create_task(one(p, m))
                    if gap:
                        await asyncio.sleep(gap)
        cpu_s = cpu() - c0
        latencies.sort()
        if burst:  # the first burst warms caches and the allocator, as a service's first does
            runs.append(
                {
                    "requests": client.requests - requests0,
                    "p50_ms": statistics.median(latencies) * 1e3,
                    "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3,
                    "cpu_per_lookup_us": cpu_s / n * 1e6,
                }
            )
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


async def lone(client: Any, calls: int) -> dict[str, Any]:
    await client.call(pairs(3, start=90_000))
    latencies = []
    for p, m in pairs(calls, start=20_000):
        t0 = time.perf_counter()
        await client.lookup(p, m)
        latencies.append(time.perf_counter() - t0)
    return {"p50_ms": statistics.median(latencies) * 1e3}


async def worker(args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp  # noqa: F401 - every client's libraries are imported before timing
    import orjson  # noqa: F401

    if args.client == "partner_async":
        import anyio._backends._asyncio  # noqa: F401

        client: Any = SDK(args.url, args.linger)
        await client.start()
    else:
        client = Hand(args.url)
    try:
        if args.scenario == "sequential":
            return await sequential(client, [1, 10, 500], args.calls)
        if args.scenario == "lone":
            return await lone(client, 20)
        gap = 0.002 if args.scenario == "trickle" else 0.0
        n = 300 if args.scenario == "trickle" else 200
        return await arrivals(client, n, gap, args.client == "aiohttp_orjson_all")
    finally:
        await client.aclose()


# ----------------------------------------------------------------------------- driver


def run_one(scenario: str, client: str, url: str, extra: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [PY, __file__, "worker", scenario, client, "--url", url, *extra],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise RuntimeError(f"{scenario}/{client}: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def values(rows: list[dict[str, Any]], *path: str) -> list[float]:
    """The value at ``path`` in each row."""
    out = []
    for row in rows:
        value: Any = row
        for key in path:
            value = value[key]
        out.append(float(value))
    return out


def med(rows: list[dict[str, Any]], *path: str) -> float:
    return statistics.median(values(rows, *path))


def spread(rows: list[dict[str, Any]], *path: str) -> str:
    found = values(rows, *path)
    return f"{min(found):.3g}-{max(found):.3g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    w = sub.add_parser("worker")
    w.add_argument("scenario")
    w.add_argument("client")
    w.add_argument("--url", required=True)
    w.add_argument("--calls", type=int, default=300)
    w.add_argument("--linger", type=float, default=0.0)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument(
        "--scenarios", nargs="+", default=["sequential", "lone", "burst", "trickle"]
    )
    parser.add_argument("--write", action="store_true", help="update RESULTS.md")
    args = parser.parse_args()
    if args.command == "worker":
        print(json.dumps(asyncio.run(worker(args))))
        return

    sys.path.insert(0, str(HERE))
    from run import Sandbox, machine, machine_md, write_section

    command = "python benchmarks/bench_service.py " + " ".join(sys.argv[1:])
    lines = [machine_md(machine(), command), ""]
    servers = {0.0: Sandbox(0.0), 0.05: Sandbox(0.05)}
    try:
        rows: dict[tuple[str, float, str], list[dict[str, Any]]] = {}
        plan: list[tuple[str, float, list[str]]] = []
        if "sequential" in args.scenarios:
            plan.append(("sequential", 0.0, ["partner_async", "aiohttp_orjson"]))
        if "lone" in args.scenarios:
            plan.append(("lone", 0.05, ["partner_async", "aiohttp_orjson"]))
        if "burst" in args.scenarios:
            for latency in (0.0, 0.05):
                plan.append(
                    ("burst", latency, ["partner_async", "aiohttp_orjson", "aiohttp_orjson_all"])
                )
        if "trickle" in args.scenarios:
            plan.append(("trickle", 0.05, ["partner_async", "aiohttp_orjson"]))
        for _ in range(args.reps):
            for scenario, latency, clients in plan:
                for client in clients:
                    result = run_one(scenario, client, servers[latency].url, [])
                    rows.setdefault((scenario, latency, client), []).append(result)
                    print(scenario, latency, client, json.dumps(result), file=sys.stderr)
    finally:
        for server in servers.values():
            server.stop()

    reps = args.reps
    if "sequential" in args.scenarios:
        sdk = rows[("sequential", 0.0, "partner_async")]
        hand = rows[("sequential", 0.0, "aiohttp_orjson")]
        lines += [
            "### Sequential calls on one warm client (latency 0, 300 calls each, "
            f"median of {reps} processes)",
            "",
            "| items per call | partner_async CPU ms/call | aiohttp_orjson CPU ms/call "
            "| CPU ratio | partner_async wall ms/call | aiohttp_orjson wall ms/call |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for size in ("1", "10", "500"):
            a, b = med(sdk, size, "cpu_ms"), med(hand, size, "cpu_ms")
            lines.append(
                f"| {size} | {a:.3f} ({spread(sdk, size, 'cpu_ms')}) | {b:.3f} "
                f"({spread(hand, size, 'cpu_ms')}) | {a / b:.2f}x | "
                f"{med(sdk, size, 'wall_ms'):.3f} | {med(hand, size, 'wall_ms'):.3f} |"
            )
        lines.append("")
    lone_ms = None
    if "lone" in args.scenarios:
        lone_ms = med(rows[("lone", 0.05, "partner_async")], "p50_ms")
        hand_lone = med(rows[("lone", 0.05, "aiohttp_orjson")], "p50_ms")
        lines += [
            f"A lone lookup at 50 ms: partner_async p50 {lone_ms:.1f} ms, "
            f"aiohttp_orjson {hand_lone:.1f} ms.",
            "",
        ]
    for scenario, title, latencies in (
        ("burst", "200 concurrent single lookups", (0.0, 0.05)),
        ("trickle", "300 lookups arriving 2 ms apart", (0.05,)),
    ):
        if scenario not in args.scenarios:
            continue
        lines += [
            f"### {title} (median of {reps} processes; 8 in flight at most)",
            "",
            "| latency | client | upstream requests | p50 ms | p99 ms | p50 / lone lookup "
            "| client CPU µs per lookup |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for latency in latencies:
            for client in ("partner_async", "aiohttp_orjson", "aiohttp_orjson_all"):
                got = rows.get((scenario, latency, client))
                if not got:
                    continue
                p50 = med(got, "p50_ms")
                ratio = f"{p50 / lone_ms:.2f}x" if lone_ms and latency else "-"
                name = {
                    "aiohttp_orjson": "aiohttp_orjson, a request per lookup",
                    "aiohttp_orjson_all": "aiohttp_orjson, one request with all",
                }.get(client, "partner_async `status()`")
                lines.append(
                    f"| {latency * 1000:g} ms | {name} | {med(got, 'requests'):g} "
                    f"({spread(got, 'requests')}) | {p50:.1f} ({spread(got, 'p50_ms')}) | "
                    f"{med(got, 'p99_ms'):.1f} | {ratio} | {med(got, 'cpu_per_lookup_us'):.0f} |"
                )
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section("## Services: many small calls on one client", text)


if __name__ == "__main__":
    if os.environ.get("PYTHONDONTWRITEBYTECODE") is None:
        os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
