"""One measurement in a fresh process: a client asks the status of N queries, prints JSON.

Run by ``benchmarks/run.py`` (never imported by it), so that getrusage and peak RSS
are this client's alone:

    python benchmarks/_worker.py CLIENT --url http://127.0.0.1:PORT/v1 --n 100000 --c 16

CLIENT is one of ``vendor``, ``httpx_gather``, ``aiohttp_orjson``, ``aiohttp_attrs``,
``partner_async`` (status checks, timed), or ``stream`` / ``keep`` (memory:
``partner_async`` streaming a generator through ``iter_multi_status`` / keeping
``multi_status`` results),
``keep_dicts`` (memory: ``aiohttp_orjson`` keeping its dicts), ``bulk`` (repeated
``bulk_status`` calls). The queries are generated before timing starts; the JSON line
reports wall seconds and client CPU seconds of the timed part only, items answered,
peak RSS (``ru_maxrss``) and the RSS just before the timed part.

``--profile cprofile:PATH`` or ``--profile pyinstrument:PATH`` profiles the timed part.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

BATCH = 500
PAGE = os.sysconf("SC_PAGE_SIZE")


def queries(n: int) -> list[tuple[str, int]]:
    """N deterministic distinct ``(+336XXXXXXXX, message_id)`` pairs (E.164 mobiles)."""
    return list(iter_queries(n))


def iter_queries(n: int) -> Iterator[tuple[str, int]]:
    """The same pairs as :func:`queries`, lazily. 7919 is prime to 10**8: phones distinct."""
    for i in range(n):
        yield f"+336{(i * 7919 + 12345) % 100_000_000:08d}", 1_000 + (i * 31) % 900_000


def current_rss() -> int:
    """Resident set size now, in bytes (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


# --------------------------------------------------------------------------- clients
# Each takes (url, pairs, c) and returns the number of items answered (every entry the
# server sent back, found or not). Dict clients keep every entry in one list.


def run_vendor(url: str, pairs: list[tuple[str, int]], c: int) -> int:
    """The vendor's documented approach: requests.post per 500 queries, json, r.json()."""
    import requests

    endpoint = url + "/multi-status"
    results: list[dict[str, Any]] = []
    for chunk in chunks(pairs):
        data = {
            "apiKey": "sandbox",
            "SMSStatut_List": [{"phoneNumber": p, "messageId": m} for p, m in chunk],
        }
        r = requests.post(endpoint, data=json.dumps(data))
        r_json = r.json()
        if r_json.get("success") is not True:
            raise RuntimeError(f"vendor: unexpected answer {r_json!r:.200}")
        results.extend(r_json["StatutResponse_List"])
    return len(results)


async def run_httpx_gather(url: str, pairs: list[tuple[str, int]], c: int) -> int:
    """httpx.AsyncClient (limits = C) + gather + Semaphore(C), stdlib json, dicts out."""
    import httpx

    endpoint = url + "/multi-status"
    results: list[dict[str, Any]] = []
    sem = asyncio.Semaphore(c)
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)

    async with httpx.AsyncClient(limits=limits, timeout=120.0) as client:

        async def one(chunk: list[tuple[str, int]]) -> None:
            body = {
                "apiKey": "sandbox",
                "SMSStatut_List": [{"phoneNumber": p, "messageId": m} for p, m in chunk],
            }
            async with sem:
                r = await client.post(endpoint, json=body)
            r.raise_for_status()
            data = r.json()
            if data.get("success") is not True:
                raise RuntimeError(f"httpx: unexpected answer {data!r:.200}")
            results.extend(data["StatutResponse_List"])

        await asyncio.gather(*(one(chunk) for chunk in chunks(pairs)))
    return len(results)


async def aiohttp_orjson_answers(
    url: str, pairs: list[tuple[str, int]], c: int, take: Callable[[list[dict[str, Any]]], None]
) -> None:
    """aiohttp.ClientSession (TCPConnector(limit=C)) + Semaphore(C) + gather, orjson; each
    answer's entries go to ``take``."""
    import aiohttp
    import orjson

    endpoint = url + "/multi-status"
    sem = asyncio.Semaphore(c)
    headers = {"Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=120)

    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=c), timeout=timeout
    ) as session:

        async def one(chunk: list[tuple[str, int]]) -> None:
            body = orjson.dumps(
                {
                    "apiKey": "sandbox",
                    "SMSStatut_List": [{"phoneNumber": p, "messageId": m} for p, m in chunk],
                }
            )
            async with sem, session.post(endpoint, data=body, headers=headers) as r:
                r.raise_for_status()
                raw = await r.read()
            data = orjson.loads(raw)
            if data.get("success") is not True:
                raise RuntimeError(f"aiohttp: unexpected answer {data!r:.200}")
            take(data["StatutResponse_List"])

        await asyncio.gather(*(one(chunk) for chunk in chunks(pairs)))


async def aiohttp_orjson_results(
    url: str, pairs: list[tuple[str, int]], c: int
) -> list[dict[str, Any]]:
    """Every entry of :func:`aiohttp_orjson_answers`, as decoded dicts, in one list."""
    results: list[dict[str, Any]] = []
    await aiohttp_orjson_answers(url, pairs, c, results.extend)
    return results


async def run_aiohttp_orjson(url: str, pairs: list[tuple[str, int]], c: int) -> int:
    return len(await aiohttp_orjson_results(url, pairs, c))


async def run_aiohttp_attrs(url: str, pairs: list[tuple[str, int]], c: int) -> int:
    """``aiohttp_orjson`` + one frozen slotted attrs object per entry: the floor of typed
    results. Fields taken as sent (no status mapping, no date parsing, no validation),
    kept in one list."""
    results: list[Row] = []

    def take(entries: list[dict[str, Any]]) -> None:
        results.extend(
            Row(
                e["phoneNumber"],
                e["messageId"],
                e["success"],
                e["code"],
                e["status"],
                e.get("date"),
                e.get("stopSms"),
                e.get("isSpam"),
            )
            for e in entries
        )

    await aiohttp_orjson_answers(url, pairs, c, take)
    _keep.append(results)
    return len(results)


async def run_partner_async(url: str, pairs: list[tuple[str, int]], c: int) -> int:
    """The SDK as documented: typed results, retries on (defaults), all results kept."""
    from partner_async import SMSPartnerClient

    async with SMSPartnerClient(api_key="sandbox", base_url=url, max_concurrency=c) as client:
        results = await client.multi_status(pairs)
    _keep.append(results)
    return len(results)  # counted like the dict clients' len(); checked by count_answered() after


async def run_partner_async_nodedupe(url: str, pairs: list[tuple[str, int]], c: int) -> int:
    """Diagnostic: the same queries streamed with de-duplication off (``dedupe_window=0``),
    outcomes kept: what de-duplication costs per item."""
    from partner_async import SMSPartnerClient

    kept: list[Any] = []
    client = SMSPartnerClient(api_key="sandbox", base_url=url, max_concurrency=c)
    async with client, client.iter_multi_status(pairs, dedupe_window=0) as batches:
        async for batch in batches:
            kept.extend(batch.outcomes)
    _keep.append(kept)
    return len(kept)


def count_answered(results: Any) -> int:
    """How many outcomes of a kept ``MultiStatusResult`` are answers (after timing)."""
    from partner_async import StatusResult

    return sum(1 for outcome in results if type(outcome) is StatusResult)


_keep: list[Any] = []  # results stay alive until the measurement is printed


def _row_class() -> Any:
    import attrs

    @attrs.frozen(slots=True)
    class Row:
        phone_number: str
        message_id: int
        success: bool
        code: int
        status: str
        date: str | None
        stop_sms: str | None
        is_spam: str | None

    return Row


Row: Any = None  # the typed-floor client's class, built in main() before timing


# --------------------------------------------------------------------------- memory / bulk


async def run_stream(url: str, n: int, c: int) -> int:
    """iter_multi_status over a generator of N queries, every batch discarded."""
    from partner_async import SMSPartnerClient, StatusResult

    answered = 0
    async with (
        SMSPartnerClient(api_key="sandbox", base_url=url, max_concurrency=c) as client,
        client.iter_multi_status(iter_queries(n)) as batches,
    ):
        async for batch in batches:
            answered += sum(1 for o in batch.outcomes if type(o) is StatusResult)
    return answered


async def run_bulk(url: str, calls: int) -> dict[str, Any]:
    """``calls`` bulk_status calls on one warm client; per-call wall and CPU."""
    import statistics

    from partner_async import MessageNotFoundError, SMSPartnerClient

    async with SMSPartnerClient(api_key="sandbox", base_url=url, max_concurrency=4) as client:
        message_id, report = None, None
        for candidate in range(1226613, 1226713):  # the first id the sandbox knows
            try:
                report = await client.bulk_status(candidate)
            except MessageNotFoundError:
                continue
            message_id = candidate
            break
        assert message_id is not None
        assert report is not None
        for _ in range(20):  # warm-up
            await client.bulk_status(message_id)
        walls, cpus = [], []
        for _ in range(calls):
            c0, t0 = time.process_time(), time.perf_counter()
            await client.bulk_status(message_id)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
    # the same GET by hand: aiohttp + orjson, dicts out
    import aiohttp
    import orjson

    raw_walls, raw_cpus = [], []
    async with aiohttp.ClientSession() as session:
        params = {"apiKey": "sandbox", "messageId": str(message_id)}
        for i in range(calls + 20):
            c0, t0 = time.process_time(), time.perf_counter()
            async with session.get(url + "/bulk-status", params=params) as r:
                data = orjson.loads(await r.read())
            assert data["success"] is True
            if i >= 20:
                raw_walls.append(time.perf_counter() - t0)
                raw_cpus.append(time.process_time() - c0)
    return {
        "message_id": message_id,
        "recipients": len(report.recipients),
        "calls": calls,
        "wall_median": statistics.median(walls),
        "cpu_median": statistics.median(cpus),
        "wall_p90": statistics.quantiles(walls, n=10)[-1],
        "raw_wall_median": statistics.median(raw_walls),
        "raw_cpu_median": statistics.median(raw_cpus),
    }


# --------------------------------------------------------------------------- main

TIMED = {
    "vendor": run_vendor,
    "httpx_gather": run_httpx_gather,
    "aiohttp_orjson": run_aiohttp_orjson,
    "aiohttp_attrs": run_aiohttp_attrs,
    "partner_async": run_partner_async,
    "partner_async_nodedupe": run_partner_async_nodedupe,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "client", choices=[*TIMED, "stream", "keep", "keep_dicts", "bulk", "baseline"]
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--c", type=int, default=16)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--profile", default=None, help="cprofile:PATH or pyinstrument:PATH")
    parser.add_argument("--gc-off", action="store_true", help="diagnostic: gc.disable()")
    parser.add_argument(
        "--preimport",
        action="store_true",
        help="diagnostic: build partner_async's TLS context (once per process) before timing",
    )
    args = parser.parse_args()
    if args.gc_off:
        import gc

        gc.disable()
    if args.preimport:
        from partner_async import _transport  # private: a diagnostic only

        warm = getattr(_transport, "_ssl_context", None)  # cached per process in the SDK
        if warm is not None:
            warm()

    # Every client imports its libraries before the baseline and timing. The SDK imports
    # its asyncio pool (aiohttp) when its first client opens, and anyio
    # its asyncio backend on first use, not with the package (trio users never need
    # them): those imports are done here, as aiohttp_orjson's is.
    if args.client in ("partner_async", "partner_async_nodedupe", "stream", "keep", "bulk"):
        import aiohttp
        import anyio._backends._asyncio  # noqa: F401

        import partner_async  # noqa: F401
    elif args.client == "vendor":
        import requests  # noqa: F401
    elif args.client == "httpx_gather":
        import httpx  # noqa: F401
    elif args.client in ("aiohttp_orjson", "aiohttp_attrs", "keep_dicts"):
        import aiohttp  # noqa: F401
        import orjson  # noqa: F401
    if args.client == "aiohttp_attrs":
        global Row
        Row = _row_class()

    out: dict[str, Any] = {"client": args.client, "n": args.n, "c": args.c}
    if "partner_async" in sys.modules:
        out["sdk"] = sys.modules["partner_async"].__file__
    if args.client == "bulk":
        out.update(asyncio.run(run_bulk(args.url, args.calls)))
        print(json.dumps(out), flush=True)
        return

    pairs = queries(args.n) if args.client not in ("stream", "baseline") else []
    baseline = current_rss()

    profiler: Any = None
    if args.profile:
        kind, _, path = args.profile.partition(":")
        if kind == "cprofile":
            import cProfile

            profiler = cProfile.Profile()
        else:
            import pyinstrument

            profiler = pyinstrument.Profiler(interval=0.0005)

    c0, t0 = cpu(), time.perf_counter()
    if profiler is not None:
        profiler.enable() if args.profile.startswith("cprofile") else profiler.start()
    if args.client == "vendor":
        answered = run_vendor(args.url, pairs, args.c)
    elif args.client == "stream":
        answered = asyncio.run(run_stream(args.url, args.n, args.c))
    elif args.client == "keep":
        answered = asyncio.run(run_partner_async(args.url, pairs, args.c))
    elif args.client == "keep_dicts":
        kept = asyncio.run(aiohttp_orjson_results(args.url, pairs, args.c))
        _keep.append(kept)
        answered = len(kept)
    elif args.client == "baseline":
        answered = 0
    else:
        answered = asyncio.run(TIMED[args.client](args.url, pairs, args.c))
    wall, used = time.perf_counter() - t0, cpu() - c0
    if args.client in ("partner_async", "partner_async_nodedupe", "keep"):
        answered = count_answered(_keep[-1])
    if profiler is not None:
        kind, _, path = args.profile.partition(":")
        if kind == "cprofile":
            profiler.disable()
            profiler.dump_stats(path)
        else:
            profiler.stop()
            with open(path, "w") as f:
                f.write(profiler.output_text(unicode=False, color=False, show_all=False))
            with open(path + ".html", "w") as f:
                f.write(profiler.output_html())

    ru = resource.getrusage(resource.RUSAGE_SELF)
    out.update(
        wall=wall,
        answered=answered,
        cpu=used,
        maxrss=ru.ru_maxrss * 1024,
        baseline_rss=baseline,
        rss_end=current_rss(),
    )
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())
