"""Fan-out: batches from the input to ``workers`` concurrent requests, outcomes to a sink.

One anyio task group per call. The input is read by the calling task and handed over a
zero-buffer memory stream, so it is never read more than a batch ahead of the workers;
no task outlives the call; the first fatal error (or a failure of the input iterator)
cancels the rest and is raised as itself, not wrapped in an exception group.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Sized
from contextlib import aclosing, asynccontextmanager
from itertools import islice
from operator import countOf
from typing import Any

import anyio
import anyio.abc

from ._batching import Batch, BatchBuilder, iter_batches
from ._exceptions import InputError, PartnerError
from ._limits import RequestLimiter
from ._models import Unresolved, public_all
from ._results import Answer, BatchResult, CallStats, Outcome, Progress
from ._runner import BatchSettings, run_batch

__all__ = [
    "BatchStream",
    "Deliver",
    "ProgressCallback",
    "ProgressTracker",
    "input_error",
    "read_head",
    "run_pipeline",
]

#: Receives each completed batch and its sent queries' outcomes (aligned with ``pairs``).
Deliver = Callable[[Batch, list[Answer]], Awaitable[None]]
#: What callers pass as ``progress=``.
ProgressCallback = Callable[[Progress], Any]


def input_error(exc: Exception) -> InputError:
    """What a call raises when iterating its queries raised ``exc`` (chained as the cause)."""
    error = InputError(f"iterating the queries raised {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


async def read_head(
    queries: Iterable[Any] | AsyncIterable[Any], size: int
) -> tuple[list[Any] | None, Iterable[Any] | AsyncIterable[Any]]:
    """The first items of ``queries`` when they decide a call's path, and what is left to
    read: all of them (and nothing left) when there are at most ``size``; ``size + 1``
    of them and the rest otherwise; (None, ``queries``) for a longer sized input, which
    needs no reading to know. Raises what iterating ``queries`` raises."""
    if isinstance(queries, AsyncIterable):
        iterator = aiter(queries)
        head: list[Any] = []
        async for item in iterator:
            head.append(item)
            if len(head) > size:
                break
        return head, iterator if len(head) > size else ()
    if isinstance(queries, Sized):
        if len(queries) > size:
            return None, queries
        return _as_list(queries), ()
    sync_iterator = iter(queries)
    head = list(islice(sync_iterator, size + 1))
    return head, sync_iterator if len(head) > size else ()


def _as_list(items: Iterable[Any]) -> list[Any]:
    return items if isinstance(items, list) else list(items)


class ProgressTracker:
    """Counts what a call has settled and reports it to a callback."""

    __slots__ = ("_callback", "_limiter", "_stats", "done", "total", "unresolved")

    def __init__(
        self,
        callback: ProgressCallback | None,
        queries: object,
        stats: CallStats,
        limiter: RequestLimiter,
    ) -> None:
        self._callback = callback
        self._stats = stats
        self._limiter = limiter
        self.total = len(queries) if isinstance(queries, Sized) else None
        self.done = 0
        self.unresolved = 0

    def batch_done(self, batch: Batch, outcomes: list[Answer]) -> None:
        """Account for one delivered batch and report."""
        self.done += batch.read
        if self._callback is not None:  # (counted only for a callback: a pass per item)
            self.unresolved += len(batch.settled) + countOf(map(type, outcomes), Unresolved)
            stats = self._stats
            self._callback(
                Progress(
                    done=self.done,
                    total=self.total,
                    in_flight=self._limiter.in_flight,
                    requests=stats.requests,
                    retries=stats.retries,
                    unresolved=self.unresolved,
                )
            )


async def run_pipeline(
    queries: Iterable[object] | AsyncIterable[object],
    builder: BatchBuilder,
    settings: BatchSettings,
    stats: CallStats,
    deliver: Deliver,
    workers: int,
    prefix: list[object] | None = None,
) -> None:
    """Send every batch of ``queries`` and deliver its outcomes; raise the first failure.

    At most ``workers`` batches are in progress at once. A worker task is started only
    when a batch finds every started worker busy, so a call of few batches starts few
    tasks whatever the client's ``max_concurrency``.
    """
    failures: list[Exception] = []
    idle = 0

    async def work(receive: anyio.abc.ObjectReceiveStream[Batch]) -> None:
        nonlocal idle
        async with receive:
            while True:
                idle += 1
                try:
                    batch = await receive.receive()
                except anyio.EndOfStream:
                    return
                finally:
                    idle -= 1
                try:
                    outcomes = await run_batch(settings, batch.pairs, stats) if batch.pairs else []
                    await deliver(batch, outcomes)
                except Exception as exc:  # fatal API errors, or a failing sink
                    failures.append(exc)
                    tg.cancel_scope.cancel()
                    return

    async with anyio.create_task_group() as tg:
        send, receive = anyio.create_memory_object_stream[Batch](0)
        started = 0
        try:
            with receive:
                async with send, aclosing(iter_batches(queries, builder, prefix)) as batches:
                    async for batch in batches:
                        if not idle and started < workers:
                            tg.start_soon(work, receive.clone())
                            started += 1
                        await send.send(batch)
        except Exception as exc:  # bad input, or the caller's iterator failing
            failures.append(exc if isinstance(exc, PartnerError) else input_error(exc))
            tg.cancel_scope.cancel()
    if failures:
        raise failures[0]


def batch_result(batch: Batch, outcomes: list[Answer]) -> BatchResult:
    """The public view of a delivered batch: outcomes with their input positions, in order."""
    public = public_all(outcomes)
    repeats = tuple(batch.repeats)
    if not batch.settled:
        return BatchResult(batch.number, tuple(batch.slots), tuple(public), repeats)
    pairs = sorted([*zip(batch.slots, public, strict=True), *batch.settled], key=_position)
    return BatchResult(
        batch.number, tuple(p for p, _ in pairs), tuple(o for _, o in pairs), repeats
    )


def _position(pair: tuple[int, Outcome]) -> int:
    return pair[0]


class BatchStream:
    """The async iterator ``iter_multi_status`` yields; raises the pipeline's failure."""

    __slots__ = ("_failures", "_receive")

    def __init__(
        self, receive: anyio.abc.ObjectReceiveStream[BatchResult], failures: list[Exception]
    ) -> None:
        self._receive = receive
        self._failures = failures

    def __aiter__(self) -> BatchStream:
        return self

    async def __anext__(self) -> BatchResult:
        try:
            return await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            if self._failures:
                error = self._failures.pop(0)
                error.__suppress_context__ = True  # not "during EndOfStream"; keep __cause__
                raise error  # noqa: B904
            raise StopAsyncIteration from None


@asynccontextmanager
async def stream_batches(
    run: Callable[[Deliver], Awaitable[None]], *, ordered: bool, buffer: int = 1
) -> AsyncIterator[BatchStream]:
    """Run ``run(deliver)`` in the background and expose its batches as a stream.

    ``buffer`` completed batches may wait for the consumer; beyond that, workers wait
    (backpressure). Leaving the block early cancels the work.
    """
    send, receive = anyio.create_memory_object_stream[BatchResult](buffer)
    failures: list[Exception] = []
    next_number = 0
    turns: dict[int, anyio.Event] = {}

    async def deliver(batch: Batch, outcomes: list[Answer]) -> None:
        nonlocal next_number
        result = batch_result(batch, outcomes)
        if not ordered:
            await send.send(result)
            return
        while batch.number != next_number:
            await turns.setdefault(batch.number, anyio.Event()).wait()
        await send.send(result)
        next_number += 1
        event = turns.pop(next_number, None)
        if event is not None:
            event.set()

    async def pump() -> None:
        async with send:
            try:
                await run(deliver)
            except Exception as exc:
                failures.append(exc)

    consumer_error: BaseException | None = None
    async with anyio.create_task_group() as tg:
        tg.start_soon(pump)
        try:
            with receive:
                yield BatchStream(receive, failures)
        except BaseException as exc:  # re-raised below, as itself (not in a group)
            consumer_error = exc
        finally:
            tg.cancel_scope.cancel()
    if consumer_error is not None:
        raise consumer_error
