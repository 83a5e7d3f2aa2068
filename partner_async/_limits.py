"""Client-wide request limits: concurrency, start rate, and the pause a 429 imposes."""

from __future__ import annotations

import anyio

from ._clock import Clock

__all__ = ["RequestLimiter", "Slot"]


class Slot:
    """One request slot, held from :meth:`RequestLimiter.reserve` until released.

    The token's borrower is this object, not a task: a slot reserved by one stage (the
    coalescer choosing what a request carries) is spent by the next (the request).
    """

    __slots__ = ("_limiter",)

    def __init__(self, limiter: anyio.CapacityLimiter) -> None:
        self._limiter: anyio.CapacityLimiter | None = limiter

    def release(self) -> None:
        """Give the slot back (idempotent)."""
        limiter, self._limiter = self._limiter, None
        if limiter is not None:
            limiter.release_on_behalf_of(self)


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

    async def reserve(self, deadline: float | None = None) -> Slot | None:
        """Wait for a free slot, the start rate and any 429 pause; the slot is then held
        until :meth:`Slot.release`. None, and no slot held, rather than wait past
        ``deadline`` (clock time)."""
        if self._capacity is None:
            self._capacity = anyio.CapacityLimiter(self._max_concurrency)
        capacity = self._capacity
        clock = self._clock
        if deadline is not None and clock.now() >= deadline:
            return None
        slot = Slot(capacity)
        try:  # a free slot is taken at once: no checkpoint (the request awaits anyway)
            capacity.acquire_on_behalf_of_nowait(slot)
        except anyio.WouldBlock:
            if not await self._wait_for_slot(capacity, slot, deadline):
                return None
        try:
            if self._interval:
                now = clock.now()
                start = max(now, self._next_start)
                if deadline is not None and start >= deadline:
                    slot.release()
                    return None
                self._next_start = start + self._interval
                if start > now:
                    await clock.sleep(start - now)
            while (wait := self._paused_until - clock.now()) > 0:
                if deadline is not None and self._paused_until >= deadline:
                    slot.release()
                    return None
                await clock.sleep(wait)
        except BaseException:
            slot.release()
            raise
        return slot

    async def _wait_for_slot(
        self, capacity: anyio.CapacityLimiter, slot: Slot, deadline: float | None
    ) -> bool:
        """Wait in line for a slot; False (none held) if ``deadline`` comes first."""
        if deadline is None:
            await capacity.acquire_on_behalf_of(slot)
            return True
        with anyio.move_on_after(deadline - self._clock.now()):
            await capacity.acquire_on_behalf_of(slot)
        return slot in capacity.statistics().borrowers
