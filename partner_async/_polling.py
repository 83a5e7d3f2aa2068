"""Polling until final (``wait_for_final``): ask again what a later answer may still
change, at growing intervals, until nothing may or the deadline passes."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from ._clock import Clock
from ._exceptions import ConfigurationError
from ._models import needs_poll, public, replaces
from ._pipeline import ProgressCallback
from ._results import MultiStatusResult, Progress, StatusUpdate, add_request_counts, answers_of

__all__ = ["Ask", "PollSchedule", "poll_until_final"]

#: Asks for some pairs again: ``(pairs, progress, deadline in seconds)`` to their results.
Ask = Callable[
    [list[tuple[str, int | str]], "ProgressCallback | None", float], Awaitable[MultiStatusResult]
]


@attrs.frozen
class PollSchedule:
    """When to ask again: ``poll_interval`` seconds after the first pass, then at
    intervals growing by ``backoff`` up to ``max_interval``. Checked when made."""

    poll_interval: float
    backoff: float
    max_interval: float

    def __attrs_post_init__(self) -> None:
        for name in ("poll_interval", "max_interval"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value >= 0):
                raise ConfigurationError(f"{name} must be a number >= 0, got {value!r}")
        backoff = self.backoff
        if not (isinstance(backoff, (int, float)) and backoff >= 1):
            raise ConfigurationError(f"backoff must be a number >= 1, got {backoff!r}")


async def poll_until_final(
    results: MultiStatusResult,
    ask: Ask,
    *,
    clock: Clock,
    end: float,
    schedule: PollSchedule,
    retry_unresolved: bool,
    on_update: Callable[[StatusUpdate], Any] | None,
    progress: ProgressCallback | None,
) -> MultiStatusResult:
    """Re-ask the outcomes of ``results`` that :func:`needs_poll` until none does or
    ``end`` (clock time) comes; put every newer outcome that :func:`replaces` the known
    one in ``results`` (and hand it to ``on_update``, awaited if it is a coroutine)."""
    interval = float(schedule.poll_interval)
    round_number = 0
    while True:
        pending = [o for o in answers_of(results) if needs_poll(o, retry_unresolved)]
        remaining = end - clock.now()
        if not pending or remaining <= 0:
            return results
        await clock.sleep(min(interval, remaining))
        interval = min(interval * schedule.backoff, schedule.max_interval)
        round_number += 1
        again = await ask(
            [(o.query.phone_number, o.query.message_id) for o in pending],
            None if progress is None else _in_round(progress, round_number),
            max(end - clock.now(), 0.0),
        )
        add_request_counts(results.stats, again.stats)
        for previous, current in zip(pending, answers_of(again), strict=True):
            if current == previous or not replaces(current, previous):
                continue
            now = public(current)
            results.update(now)
            if on_update is not None:
                outcome = on_update(StatusUpdate(public(previous), now, round_number))
                if inspect.isawaitable(outcome):
                    await outcome


def _in_round(progress: ProgressCallback, number: int) -> ProgressCallback:
    """``progress`` receiving its snapshots with ``round=number``."""

    def report(snapshot: Progress) -> None:
        progress(attrs.evolve(snapshot, round=number))

    return report
