"""Client-wide request limits: concurrency, start rate, and the pause a 429 imposes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from ._clock import Clock

__all__ = ["RequestLimiter"]


class RequestLimiter:
    """Shared by every call on one client.

    - at most ``max_concurrency`` requests in flight (an anyio ``CapacityLimiter``);
    - at most ``max_requests_per_second`` request starts per second, evenly spaced;
    - after a 429, no request starts before the server's ``Retry-After`` has passed.
    """

    def __init__(
        self, max_concurrency: int, max_requests_per_second: float | None, clock: Clock
    ) -> None:
        self._max_concurrency = max_concurrency
        self._interval = 1.0 / max_requests_per_second if max_requests_per_second else 0.0
        self._clock = clock
        self._capacity: anyio.CapacityLimiter | None = None
        self._next_start = float("-inf")
        self._paused_until = float("-inf")

    def pause_until(self, when: float) -> None:
        """Start no request before ``when`` (clock time)."""
        self._paused_until = max(self._paused_until, when)

    @property
    def in_flight(self) -> int:
        """Requests holding a slot now."""
        return 0 if self._capacity is None else self._capacity.borrowed_tokens

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one request slot, waiting for capacity, the start rate and any 429 pause."""
        if self._capacity is None:
            self._capacity = anyio.CapacityLimiter(self._max_concurrency)
        async with self._capacity:
            clock = self._clock
            if self._interval:
                now = clock.now()
                start = max(now, self._next_start)
                self._next_start = start + self._interval
                if start > now:
                    await clock.sleep(start - now)
            while (wait := self._paused_until - clock.now()) > 0:
                await clock.sleep(wait)
            yield
