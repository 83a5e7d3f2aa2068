"""The SDK's per-item stages timed in isolation, in one process (run by ``run.py stages``).

    python benchmarks/_stages.py --url http://127.0.0.1:PORT/v1 [--n 100000]

Fetches real multi-status answers for N queries from the sandbox once (untimed), then
times each stage over all N items: best of ``--reps`` (process CPU time), with the
garbage collector on and off. Uses SDK internals (``partner_async._batching`` etc.): a
stage whose internals moved is reported as ``null``. Prints one JSON object:
``{"stage": [us_per_item_gc_on, us_per_item_gc_off], ...}``.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import attrs
import orjson
from _worker import queries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    n = args.n
    pairs = queries(n)
    chunks = [pairs[i : i + 500] for i in range(0, n, 500)]

    import requests

    session = requests.Session()
    bodies = [
        session.post(
            args.url + "/multi-status",
            data=orjson.dumps(
                {
                    "apiKey": "sandbox",
                    "SMSStatut_List": [{"phoneNumber": p, "messageId": m} for p, m in c],
                }
            ),
        ).content
        for c in chunks
    ]

    results: dict[str, list[float | None]] = {}

    def measure(name: str, setup: Callable[[], Callable[[], Any]]) -> None:
        try:
            fn = setup()
        except Exception as exc:  # internals moved: report, do not fail the suite
            print(f"{name}: unavailable ({type(exc).__name__}: {exc})", file=sys.stderr)
            results[name] = [None, None]
            return
        row: list[float | None] = []
        for gc_on in (True, False):
            gc.collect()
            if not gc_on:
                gc.disable()
            best = float("inf")
            try:
                for _ in range(args.reps):
                    t0 = time.process_time()
                    out = fn()
                    best = min(best, time.process_time() - t0)
                    del out
            finally:
                gc.enable()
            row.append(best / n * 1e6)
        results[name] = row

    # -- the hand-written path, for reference
    measure(
        "hand-written: dicts + orjson.dumps per 500",
        lambda: (
            lambda: [
                orjson.dumps(
                    {
                        "apiKey": "sandbox",
                        "SMSStatut_List": [{"phoneNumber": p, "messageId": m} for p, m in c],
                    }
                )
                for c in chunks
            ]
        ),
    )
    measure(
        "orjson.loads of the answers (dicts out)", lambda: lambda: [orjson.loads(b) for b in bodies]
    )

    # -- the SDK's stages
    def batching() -> Callable[[], Any]:
        from partner_async._batching import BatchBuilder
        from partner_async._normalize import make_normalizer
        from partner_async._results import CallStats

        normalize = make_normalizer("FR")

        def run() -> Any:  # fed 500 at a time, as iter_batches does
            builder = BatchBuilder(normalize, 500, CallStats())
            full = [batch for chunk in chunks for batch in builder.extend(chunk)]
            full.append(builder.flush())
            return full

        return run

    measure("SDK: normalise + de-duplicate + batch (BatchBuilder)", batching)

    def encode() -> Callable[[], Any]:
        from partner_async._secret import Secret
        from partner_async._wire import encode_multi_status

        key = Secret("sandbox")
        return lambda: [encode_multi_status(key, c) for c in chunks]

    measure("SDK: request encoding (encode_multi_status)", encode)

    def decode() -> Callable[[], Any]:
        from partner_async._wire import decode_multi_status

        return lambda: [decode_multi_status(b) for b in bodies]

    measure("SDK: decode_multi_status (msgspec, straight into StatusResult)", decode)

    def general() -> Callable[[], Any]:
        from partner_async._wire import _loads, _multi_status_body

        return lambda: [_multi_status_body(_loads(b)) for b in bodies]

    measure("SDK: the general path (orjson.loads + coercions), for variant answers", general)

    def match() -> Callable[[], Any]:
        from partner_async._merge import match_entries
        from partner_async._wire import decode_multi_status

        decoded = [decode_multi_status(b).entries for b in bodies]  # type: ignore[union-attr]
        return lambda: [match_entries(c, d, "FR") for c, d in zip(chunks, decoded, strict=True)]

    measure("SDK: match_entries", match)

    # -- result objects built in Python from decoded dicts: the models not chosen
    import msgspec

    from partner_async._models import StatusResult

    names = list(StatusResult.__struct_fields__)
    decoded_args: list[tuple[Any, ...]] = []

    def frozen_attrs() -> Callable[[], Any]:
        from partner_async._wire import decode_multi_status

        for b in bodies:
            for e in decode_multi_status(b).entries:  # type: ignore[union-attr]
                decoded_args.append(msgspec.structs.astuple(e))
        cls = attrs.make_class("AttrsStatusResult", names, slots=True, frozen=True)
        return lambda: [cls(*a) for a in decoded_args]

    measure("  not chosen: frozen slotted attrs built per entry (the previous model)", frozen_attrs)
    mutable = attrs.make_class("MutableStatusResult", names, slots=True)
    measure(
        "  not chosen: attrs slots, not frozen",
        lambda: lambda: [mutable(*a) for a in decoded_args],
    )
    nt = NamedTuple("StatusResultTuple", [(n, Any) for n in names])  # type: ignore[misc]
    new = tuple.__new__
    measure(
        "  not chosen: NamedTuple via tuple.__new__",
        lambda: lambda: [new(nt, a) for a in decoded_args],
    )

    print(json.dumps(results))


if __name__ == "__main__":
    main()
