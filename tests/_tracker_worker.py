"""A tracker worker process for the crash and multi-worker tests.

    python -m tests._tracker_worker STORE BASE_URL WORKER_NAME [CLAIM_SIZE]

Runs ``StatusTracker.run`` to the end and prints each update as one JSON line, flushed,
so the test can kill it at a known point.
"""

from __future__ import annotations

import sys

import anyio
import orjson

from partner_async import SMSPartnerClient, StatusResult, StatusTracker


async def main(store: str, base_url: str, worker: str, claim_size: int) -> None:
    async with (
        SMSPartnerClient(api_key="sandbox", base_url=base_url) as client,
        StatusTracker(
            client,
            store=store,
            worker=worker,
            poll_interval=0.02,
            backoff=1.0,
            lease=5.0,
            claim_size=claim_size,
        ) as tracker,
    ):
        async for update in tracker.run(until_final=True, deadline=60):
            current = update.current
            status = current.status_text if isinstance(current, StatusResult) else None
            line = orjson.dumps({"id": update.id, "status": status, "final": update.is_final})
            sys.stdout.write(line.decode() + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 250
    anyio.run(main, sys.argv[1], sys.argv[2], sys.argv[3], size)
