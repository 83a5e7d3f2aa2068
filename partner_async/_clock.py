"""Time, behind a small interface so that tests (ours and users') can drive it."""

from __future__ import annotations

from asyncio import get_running_loop
from typing import Protocol, runtime_checkable

import anyio
import sniffio

__all__ = ["AnyioClock", "Clock"]

_LOCAL = sniffio.thread_local
_CVAR = sniffio.current_async_library_cvar


@runtime_checkable
class Clock(Protocol):
    """What the client needs of time: a monotonic ``now()`` and an awaitable ``sleep()``.

    The default is the event loop's clock. Pass your own (``clock=`` on a client) to make
    backoff, ``Retry-After`` waits, rate limits and polling instantaneous in tests.
    """

    def now(self) -> float:
        """Monotonic seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a checkpoint even when 0)."""
        ...


class AnyioClock:
    """The running event loop's clock (``anyio.current_time`` / ``anyio.sleep``)."""

    __slots__ = ()

    def now(self) -> float:
        """The event loop's monotonic time."""
        # anyio.current_time() asks sniffio which library runs (~2 µs, several times per
        # request); asyncio's own loop answers directly when trio has not claimed the
        # thread (sniffio's rule: trio names itself, asyncio is whatever loop runs).
        if _LOCAL.name is None and _CVAR.get() is None:
            try:
                return get_running_loop().time()
            except RuntimeError:  # no asyncio loop runs in this thread
                pass
        return anyio.current_time()

    async def sleep(self, seconds: float) -> None:
        """``anyio.sleep``."""
        await anyio.sleep(seconds)

    def __repr__(self) -> str:
        return "AnyioClock()"
