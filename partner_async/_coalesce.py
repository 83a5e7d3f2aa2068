"""Coalescing: concurrent small lookups on one client share multi-status requests.

A service makes many small calls at once (``client.status()``, ``multi_status`` of a few
pairs). Each call puts its queries in a queue shared by the client and waits. There is no
background task: the calls themselves do the work, in their own tasks.

- One waiting call at a time is the *candidate*: it waits for a request slot of the
  client (concurrency, start rate, 429 pause). When it gets one it takes everything
  queued by then (up to ``batch_size``, oldest first) and sends it: a request leaves as
  soon as a slot is free, and while every slot is busy new lookups pile up for the next
  request. With ``linger`` > 0 the candidate first waits until the oldest queued lookup
  is ``linger`` seconds old, for company.
- Having taken a batch, the candidate leads its request; another waiting call becomes the
  candidate for what is still queued. The leader hands every outcome to the calls that
  wait for it, and a fatal error (a refused key) to each of them.
- A lookup equal to one queued or in flight joins it: one entry, one answer, every caller.
- A call cancelled while waiting leaves only its own lookups (dropped from the queue if
  nobody else wants them). A leader cancelled mid-request puts the lookups others still
  wait for back at the head of the queue, and one of those callers takes over: nobody
  is left waiting on a request that no task drives.
- A candidate asks for a slot only as long as some caller of the lookups it would take
  still waits (the latest of their deadlines). When no request could start before that
  (a 429 pause, the start rate, every slot busy), the lookups whose every caller's
  deadline has come are settled ``Unresolved(DEADLINE_EXCEEDED)`` at once, without a
  request, as ``multi_status`` settles its batches.
- ``close()`` ends every waiting call with :class:`ClientClosedError`.

Calls with different per-call options (``timeout``, ``max_retries``) never share a
request: each set of options has its own lane.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from itertools import islice

import anyio
import anyio.lowlevel

from ._clock import Clock
from ._exceptions import ClientClosedError
from ._limits import RequestLimiter, Slot
from ._models import StatusQuery, Unresolved, UnresolvedReason
from ._results import Answer, CallStats, add_request_counts

__all__ = ["Coalescer", "SendBatch"]

Key = tuple[str, int]

#: Sends one batch, on a reserved slot and within a deadline (clock time, or None), and
#: returns one outcome per query, in order (``run_batch``).
SendBatch = Callable[[list[Key], CallStats, Slot, "float | None"], Awaitable[list[Answer]]]


class _Waiter:
    """One waiting call: how many of its lookups are still open, and its wake-up."""

    __slots__ = ("deadline", "event", "leading", "open", "stats", "woken")

    def __init__(self, stats: CallStats, deadline: float | None) -> None:
        self.stats = stats
        self.deadline = deadline
        self.open = 0
        self.woken = False
        self.leading = False  # sending a request: cannot be the candidate meanwhile
        self.event: anyio.Event | None = None  # made only when the call has to wait

    def wake(self) -> None:
        self.woken = True
        if self.event is not None:
            self.event.set()

    async def wait(self) -> None:
        """Until :meth:`wake` (at once if it was called since the last wait)."""
        if not self.woken:
            self.event = anyio.Event()
            await self.event.wait()
        self.woken = False
        self.event = None


class _Entry:
    """One distinct lookup, queued or in flight, and the calls waiting for it."""

    __slots__ = ("error", "key", "outcome", "queued_at", "sent", "waiters")

    def __init__(self, key: Key, queued_at: float) -> None:
        self.key = key
        self.queued_at = queued_at
        self.waiters: list[_Waiter] = []
        self.outcome: Answer | None = None
        self.error: BaseException | None = None
        self.sent = False


class _Lane:
    """The queue of one set of call options."""

    __slots__ = ("candidate", "entries", "queue", "send")

    def __init__(self, send: SendBatch) -> None:
        self.send = send
        self.entries: dict[Key, _Entry] = {}  # queued or in flight
        self.queue: dict[Key, _Entry] = {}  # queued, oldest first
        self.candidate: _Waiter | None = None


class Coalescer:
    """The shared queues of one client (see the module docstring)."""

    def __init__(
        self, limiter: RequestLimiter, clock: Clock, batch_size: int, linger: float
    ) -> None:
        self._limiter = limiter
        self._clock = clock
        self._batch_size = batch_size
        self._linger = linger
        self._lanes: dict[Hashable, _Lane] = {}
        self._leading: set[anyio.CancelScope] = set()
        self._closed = False

    async def lookup(
        self,
        options: Hashable,
        send: SendBatch,
        keys: Sequence[Key],
        stats: CallStats,
        deadline: float | None = None,
    ) -> list[Answer]:
        """The outcome of each of ``keys`` (distinct, normalised), in order.

        ``send`` sends one batch with the call's ``options`` (the lane's key); the first
        call of a lane provides the lane's. Shared requests are counted in ``stats`` of
        every call whose lookups they carried. Lookups not settled by ``deadline`` (clock
        time) are withdrawn and come back ``Unresolved(DEADLINE_EXCEEDED)``.
        """
        if self._closed:
            raise ClientClosedError("the client is closed")
        lane = self._lanes.get(options)
        if lane is None:
            lane = self._lanes[options] = _Lane(send)
        me = _Waiter(stats, deadline)
        now = self._clock.now()
        mine: list[_Entry] = []
        for key in keys:
            entry = lane.entries.get(key)
            if entry is None:
                entry = lane.entries[key] = lane.queue[key] = _Entry(key, now)
            entry.waiters.append(me)
            mine.append(entry)
        me.open = len(mine)
        wait = None if deadline is None else deadline - self._clock.now()
        try:
            with anyio.move_on_after(wait):
                while me.open:
                    if lane.candidate is me or (lane.candidate is None and lane.queue):
                        await self._lead(lane, me)
                    else:
                        await me.wait()
        finally:
            if me.open:  # cancelled, failing or out of time before every answer came
                self._leave(lane, me, mine)
        outcomes: list[Answer] = []
        for entry in mine:
            if entry.error is not None:
                clone = copy.copy(entry.error)  # each caller raises its own, attributes kept
                raise clone from clone.__cause__
            outcomes.append(_too_late(entry.key) if entry.outcome is None else entry.outcome)
        if not lane.entries and lane.candidate is None and self._lanes.get(options) is lane:
            del self._lanes[options]  # options computed per call must not pile up lanes
        return outcomes

    async def _lead(self, lane: _Lane, me: _Waiter) -> None:
        """Be the lane's candidate: get a slot, take what is queued, send it."""
        lane.candidate = me
        scope = anyio.CancelScope()  # cancelled by close()
        self._leading.add(scope)
        slot: Slot | None = None
        batch: list[_Entry] = []
        call_stats = CallStats()
        outcomes: list[Answer] | None = None
        error: BaseException | None = None
        try:
            with scope:
                # No slot is waited for past the time the last of these callers gives up.
                cutoff = _latest_deadline(islice(lane.queue.values(), self._batch_size))
                slot = await self._limiter.reserve(cutoff)
                if slot is None:  # no request could start before these callers give up
                    assert cutoff is not None  # without a deadline, reserve() waits
                    lane.candidate = None
                    batch = self._take_expired(lane, cutoff)
                    outcomes = [_too_late(entry.key) for entry in batch]
                    self._elect(lane)
                else:
                    # One turn of the event loop: lookups started in this same turn (a burst
                    # from a task group, a gather) join this request instead of each leaving
                    # alone while slots are free.
                    await anyio.lowlevel.checkpoint()
                    if self._linger and 0 < len(lane.queue) < self._batch_size:
                        oldest = next(iter(lane.queue.values())).queued_at
                        wait = oldest + self._linger - self._clock.now()
                        if wait > 0:
                            await self._clock.sleep(wait)
                    lane.candidate = None
                    batch = self._take(lane)
                    me.leading = bool(batch)
                    self._elect(lane)
                    if batch:
                        outcomes = await lane.send(
                            [e.key for e in batch], call_stats, slot, _latest_deadline(batch)
                        )
        except Exception as exc:  # a fatal API error: every caller of the batch gets it
            error = exc
        except BaseException:  # this caller was cancelled: the others still need answers
            if lane.candidate is me:
                lane.candidate = None
            self._requeue(lane, batch)
            raise
        finally:
            me.leading = False
            if slot is not None:
                slot.release()
            self._leading.discard(scope)
        if lane.candidate is me:  # close() cancelled the wait for a slot
            lane.candidate = None
        if batch:
            if outcomes is None and error is None:  # close() cancelled the request
                error = ClientClosedError("the client was closed while this lookup waited")
            self._settle(lane, batch, outcomes, error, call_stats)

    def _take_expired(self, lane: _Lane, cutoff: float) -> list[_Entry]:
        """Take the queued lookups whose every caller gives up by ``cutoff`` (clock time)."""
        expired = [
            entry
            for entry in lane.queue.values()
            if (latest := _latest_deadline((entry,))) is not None and latest <= cutoff
        ]
        for entry in expired:
            del lane.queue[entry.key]
        return expired

    def _take(self, lane: _Lane) -> list[_Entry]:
        queue = lane.queue
        batch: list[_Entry] = []
        for entry in queue.values():
            batch.append(entry)
            entry.sent = True
            if len(batch) >= self._batch_size:
                break
        if len(batch) == len(queue):
            queue.clear()
        else:
            for entry in batch:
                del queue[entry.key]
        return batch

    def _elect(self, lane: _Lane) -> None:
        """Make a waiting caller of the oldest queued lookups the candidate, if none is.

        A caller busy leading a request is passed over (it comes back for the queue
        when its request ends).
        """
        if lane.candidate is not None:
            return
        for entry in lane.queue.values():
            for waiter in entry.waiters:
                if not waiter.leading:
                    lane.candidate = waiter
                    waiter.wake()
                    return

    def _settle(
        self,
        lane: _Lane,
        batch: list[_Entry],
        outcomes: list[Answer] | None,
        error: BaseException | None,
        call_stats: CallStats,
    ) -> None:
        woken: set[_Waiter] = set()
        entries = lane.entries
        for i, entry in enumerate(batch):
            if outcomes is not None:
                entry.outcome = outcomes[i]
            else:
                entry.error = error
            if entries.get(entry.key) is entry:
                del entries[entry.key]
            for waiter in entry.waiters:
                waiter.open -= 1
                if waiter not in woken:
                    woken.add(waiter)
                    add_request_counts(waiter.stats, call_stats)
                if not waiter.open:
                    waiter.wake()

    def _requeue(self, lane: _Lane, batch: list[_Entry]) -> None:
        """Put a cancelled request's lookups that others still wait for back in front."""
        keep = {}
        for entry in batch:
            entry.sent = False
            if entry.waiters:
                keep[entry.key] = entry
        if keep:
            keep.update(lane.queue)
            lane.queue = keep
        self._elect(lane)

    def _leave(self, lane: _Lane, me: _Waiter, mine: list[_Entry]) -> None:
        """A call stops waiting (cancelled): withdraw its open lookups."""
        if lane.candidate is me:
            lane.candidate = None
        for entry in mine:
            if entry.outcome is not None or entry.error is not None:
                continue
            if me in entry.waiters:
                entry.waiters.remove(me)
            if not entry.waiters and not entry.sent:
                lane.queue.pop(entry.key, None)
                if lane.entries.get(entry.key) is entry:
                    del lane.entries[entry.key]
        self._elect(lane)

    def close(self) -> None:
        """End every waiting call with :class:`ClientClosedError` (idempotent)."""
        self._closed = True
        for scope in self._leading:
            scope.cancel()
        error = ClientClosedError("the client was closed while this lookup waited")
        for lane in self._lanes.values():
            queued = list(lane.queue.values())
            lane.queue.clear()
            lane.candidate = None
            self._settle(lane, queued, None, error, CallStats())


def _latest_deadline(batch: Iterable[_Entry]) -> float | None:
    """How long a shared request may go on: until no caller waits for it any more."""
    latest = float("-inf")
    for entry in batch:
        for waiter in entry.waiters:
            if waiter.deadline is None:
                return None
            latest = max(latest, waiter.deadline)
    return latest


def _too_late(key: Key) -> Answer:
    """The outcome of a lookup whose callers' deadlines came before an answer did."""
    return Unresolved(
        StatusQuery(*key),
        UnresolvedReason.DEADLINE_EXCEEDED,
        "the call's deadline passed before an answer came",
    )
