"""An endpoint's own rate limit: at most N request starts in any window of W seconds."""

from __future__ import annotations

from collections import deque

from ._clock import Clock

__all__ = ["WindowPacer"]


class WindowPacer:
    """At most ``limit`` starts in any ``window`` seconds of ``clock`` (a sliding window).

    Awaiting the pacer reserves the next start time and sleeps until it: the first
    ``limit`` calls go at once, the next one waits until the oldest start leaves the
    window. Reservation happens before the sleep, with no checkpoint in between, so
    concurrent callers never share a start; a cancelled wait keeps its reservation
    (conservative: never more than ``limit`` per window).
    """

    __slots__ = ("_clock", "_starts", "limit", "window")

    def __init__(self, limit: int, window: float, clock: Clock) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._starts: deque[float] = deque(maxlen=limit)

    async def __call__(self, deadline: float | None = None) -> bool:
        """Wait for this request's turn; False at once, and nothing reserved, when that
        turn would come at or after ``deadline`` (clock time)."""
        now = self._clock.now()
        start = now
        if len(self._starts) == self.limit:
            start = max(now, self._starts[0] + self.window)
        if deadline is not None and start > now and start >= deadline:
            return False
        self._starts.append(start)
        if start > now:
            await self._clock.sleep(start - now)
        return True
