"""The default clock: the running event loop's time, under asyncio and trio."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import anyio
import pytest
import sniffio

import partner_async
from partner_async import AnyioClock


@pytest.mark.anyio
async def test_the_default_clock_is_the_running_loops_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = AnyioClock()
    if sniffio.current_async_library() == "asyncio":
        loop = asyncio.get_running_loop()
        monkeypatch.setattr(loop, "time", lambda: 1234.5)  # the loop's clock, whatever it is
        assert clock.now() == 1234.5
    else:  # trio's clock (its own offset from time.monotonic())
        before = anyio.current_time()
        now = clock.now()
        assert before <= now <= anyio.current_time()


def test_the_package_uses_no_private_asyncio_name() -> None:
    private = re.compile(r"asyncio\._[a-z]|from asyncio(\.\w+)? import [^\n]*\b_[a-z]")
    package = Path(partner_async.__file__).parent
    for path in package.rglob("*.py"):
        assert not private.search(path.read_text(encoding="utf-8")), path
