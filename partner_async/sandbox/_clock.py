"""A clock for tests: real time plus the waits it skipped."""

from __future__ import annotations

import time

import anyio.lowlevel

__all__ = ["VirtualClock"]


class VirtualClock:
    """Monotonic time in which sleeping costs nothing: ``sleep(s)`` is a checkpoint that
    moves this clock ``s`` seconds forward instead of waiting.

    It has the ``now()`` / ``async sleep()`` of the SDK's ``Clock``, so give it to a
    client (``clock=``) to make backoff, ``Retry-After`` waits, rate limits and polling
    instantaneous; give its ``now`` to ``SandboxConfig(clock=...)`` so the sandbox's
    ``waiting_seconds`` counts the same skipped time. The pytest plugin does both.

    ``now()`` is ``time.monotonic()`` plus the time skipped so far, so it also advances
    with real time and works outside an event loop. Sleepers that overlap share the skip:
    two tasks sleeping 1 s at once move the clock 1 s, not 2.
    """

    __slots__ = ("_skipped",)

    def __init__(self) -> None:
        self._skipped = 0.0

    def now(self) -> float:
        """Monotonic seconds: real time plus every skipped wait."""
        return time.monotonic() + self._skipped

    @property
    def skipped(self) -> float:
        """Seconds of sleeping skipped so far."""
        return self._skipped

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward (without a checkpoint)."""
        if not seconds >= 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        self._skipped += seconds

    async def sleep(self, seconds: float) -> None:
        """A checkpoint (cancellation is delivered here), then the clock is moved forward
        so that ``seconds`` have passed since the call."""
        wake = self.now() + max(seconds, 0.0)
        await anyio.lowlevel.checkpoint()
        late = wake - self.now()
        if late > 0:
            self._skipped += late

    def __repr__(self) -> str:
        return f"VirtualClock(skipped={self._skipped:g})"
