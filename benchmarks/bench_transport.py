"""Client CPU of one HTTP request through the SDK's transport, against aiohttp by hand.

Issue 14 section 3 (the transport as a seam): the SDK's own pool under asyncio must stay as
cheap as driving aiohttp directly, now that it sits behind ``httpx.AsyncBaseTransport``.
Sequential multi-status POSTs (one in flight) against ``python -m partner_async.sandbox`` in
its own process on loopback. Every path runs in each client process, interleaved in blocks
of requests (so that load from elsewhere on the machine falls on all alike), each on its own
connection pool; medians over several processes. Only the transport is measured: the body
is encoded once, and the answer is read as bytes, not decoded.

Paths:

- ``aiohttp``: one ``aiohttp.ClientSession``, ``session.post(...)`` then ``read()`` (the floor).
- ``sdk@REF``: the SDK's ``Transport.request`` as it is in git revision REF (extracted with
  ``git archive`` into a temporary directory, imported as ``partner_async_REF``), e.g.
  ``sdk@main``; ``sdk`` is this tree. A revision from before the SDK's own transport
  (main before issue 14 section 3) imports httpx-aiohttp: ``pip install httpx-aiohttp``.
- ``handle``: this tree's aiohttp transport through ``handle_async_request`` (an
  ``httpx.Request`` in, an ``httpx.Response`` read out), as any httpx client would use it.
- ``send``: ``httpx.AsyncClient(transport=<that transport>).send``, the whole httpx client.

    flock /tmp/bench.lock python benchmarks/bench_transport.py              # 500 and 1 item
    flock /tmp/bench.lock python benchmarks/bench_transport.py --paths aiohttp sdk@main sdk

Prints a Markdown table: µs of client CPU per request and per item, its ratio to the first
path's (paired per process), wall µs per request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable


def body(items: int) -> bytes:
    """One multi-status request of ``items`` distinct E.164 queries."""
    entries = [
        {"phoneNumber": f"+336{(i * 7919 + 12345) % 100_000_000:08d}", "messageId": 1000 + i}
        for i in range(items)
    ]
    return json.dumps({"apiKey": "sandbox", "SMSStatut_List": entries}).encode()


@contextlib.asynccontextmanager
async def sender(
    path: str, endpoint: str, data: bytes
) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """An async function sending one request along ``path`` (its pool opened and closed here)."""
    kind, _, ref = path.partition("@")
    if kind == "aiohttp":
        import aiohttp

        headers = {"Content-Type": "application/json"}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=4)) as session:

            async def send() -> None:
                async with session.post(endpoint, data=data, headers=headers) as r:
                    assert r.status == 200
                    await r.read()

            yield send
    elif kind == "sdk":
        package = "partner_async" if not ref else "partner_async_" + re.sub(r"\W", "_", ref)
        secret = importlib.import_module(package + "._secret")
        module = importlib.import_module(package + "._transport")
        transport = module.Transport(http_client=None, timeout=30.0, max_connections=4, tls=False)
        payload = secret.SecretBody(data, secret.Secret("sandbox"))

        async def send() -> None:
            raw = await transport.request("POST", endpoint, timeout=30.0, json_body=payload)
            assert raw.status_code == 200

        try:
            yield send
        finally:
            await transport.aclose()
    elif kind in ("handle", "send"):
        import httpx

        from partner_async._transport import AiohttpTransport

        pool = AiohttpTransport(max_connections=4)
        headers = {"Content-Type": "application/json"}
        if kind == "handle":
            timeout = httpx.Timeout(30.0).as_dict()

            async def send() -> None:
                request = httpx.Request(
                    "POST", endpoint, content=data, headers=headers, extensions={"timeout": timeout}
                )
                response = await pool.handle_async_request(request)
                assert response.status_code == 200
                await response.aread()
                await response.aclose()

            try:
                yield send
            finally:
                await pool.aclose()
        else:
            async with httpx.AsyncClient(transport=pool, timeout=30.0) as client:

                async def send() -> None:
                    response = await client.post(endpoint, content=data, headers=headers)
                    assert response.status_code == 200

                yield send
    else:
        raise SystemExit(f"unknown path {path!r}")


async def worker(paths: list[str], url: str, items: int, rounds: int, block: int) -> dict[str, Any]:
    """Every path in this one process, interleaved: ``rounds`` times, a block of ``block``
    requests on each path in turn (the order rotating), so that load on the machine
    falls on all paths alike."""
    endpoint = url + "/multi-status"
    data = body(items)
    cpu = dict.fromkeys(paths, 0.0)
    wall = dict.fromkeys(paths, 0.0)
    async with contextlib.AsyncExitStack() as stack:
        senders = {p: await stack.enter_async_context(sender(p, endpoint, data)) for p in paths}
        for send in senders.values():
            for _ in range(20):  # warm: connection open, caches filled
                await send()
        for r in range(rounds):
            order = paths[r % len(paths) :] + paths[: r % len(paths)]
            for p in order:
                send = senders[p]
                c0, w0 = time.process_time(), time.perf_counter()
                for _ in range(block):
                    await send()
                cpu[p] += time.process_time() - c0
                wall[p] += time.perf_counter() - w0
    n = rounds * block
    return {p: {"cpu_us": cpu[p] / n * 1e6, "wall_us": wall[p] / n * 1e6} for p in paths}


def extract(ref: str, into: Path) -> Path:
    """The ``partner_async`` package of git revision ``ref``, in a directory of its own."""
    archive = subprocess.run(
        ["git", "archive", ref, "partner_async"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    # its modules import each other relatively: it runs under a name of its own
    target = into / ("partner_async_" + re.sub(r"\W", "_", ref))
    (into / "partner_async").rename(target)
    return into


def run(
    paths: list[str], url: str, items: int, args: argparse.Namespace, tmp: Path
) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [PY, __file__, "--worker", url, str(items), str(args.rounds), str(args.block), *paths],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"the worker failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--paths", nargs="+", default=["aiohttp", "sdk@main", "sdk", "handle", "send"]
    )
    parser.add_argument("--items", nargs="+", type=int, default=[500, 1])
    parser.add_argument("--rounds", type=int, default=10, help="blocks per path per process")
    parser.add_argument("--block", type=int, default=30, help="requests per block")
    parser.add_argument("--reps", type=int, default=5, help="processes per item count")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        url, items, rounds, block, *paths = args.worker
        print(json.dumps(asyncio.run(worker(paths, url, int(items), int(rounds), int(block)))))
        return
    sys.path.insert(0, str(HERE))
    from run import Sandbox  # the suite's sandbox process (loopback checked, output drained)

    with tempfile.TemporaryDirectory() as tmp:
        for ref in sorted({p.partition("@")[2] for p in args.paths} - {""}):
            extract(ref, Path(tmp))
        server = Sandbox(0.0)
        try:
            rows: dict[int, list[dict[str, Any]]] = {}
            for rep in range(args.reps):
                for items in args.items:
                    rows.setdefault(items, []).append(
                        run(args.paths, server.url, items, args, Path(tmp))
                    )
                print(f"rep {rep + 1}/{args.reps} done", file=sys.stderr)
        finally:
            server.stop()
    base = args.paths[0]
    print(
        f"\n{args.rounds} x {args.block} sequential requests per path per process, the paths "
        f"interleaved in blocks; median of {args.reps} processes (min-max in brackets); "
        f"`/ {base}`: the median of the per-process ratios\n"
    )
    print(f"| items | path | CPU µs/request | CPU µs/item | / {base} | wall µs/request |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for items in args.items:
        for p in args.paths:
            cpu = [r[p]["cpu_us"] for r in rows[items]]
            ratio = statistics.median(r[p]["cpu_us"] / r[base]["cpu_us"] for r in rows[items])
            wall = statistics.median(r[p]["wall_us"] for r in rows[items])
            med = statistics.median(cpu)
            print(
                f"| {items} | {p} | {med:.0f} ({min(cpu):.0f}-{max(cpu):.0f}) | "
                f"{med / items:.3f} | {ratio:.2f}x | {wall:.0f} |"
            )


if __name__ == "__main__":
    main()
