"""``StatusTracker``: durable follow-up of queries to their final status, on a store."""

from __future__ import annotations

import contextlib
import math
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from types import TracebackType
from typing import Any, Final

import anyio
import attrs
import msgspec

from ._client import SMSPartnerClient
from ._exceptions import ConfigurationError, StoreError
from ._models import (
    StatusQuery,
    Unresolved,
    UnresolvedReason,
    WireResult,
    public,
    replaces,
    to_wire,
)
from ._normalize import InvalidQuery, QueryLike
from ._results import Answer, Outcome, answers_of
from ._serialize import JSONReady, attrs_dict
from ._store import Row, TrackerStore, open_store

__all__ = ["StatusTracker", "TrackerUpdate"]

#: Reasons that leave a query pending (asked again on the schedule): the transient ones
#: ``wait_for_final`` retries, and a call's deadline passing.
_TRANSIENT: Final = frozenset(
    {r for r in UnresolvedReason if r.is_transient} | {UnresolvedReason.DEADLINE_EXCEEDED}
)
_ADD_BATCH: Final = 2000
_SEP: Final = "\t"

_encode_result = msgspec.json.Encoder().encode
_decode_result = msgspec.json.Decoder(WireResult).decode  # the SDK's form: camelCase JSON


def _encode(outcome: Answer) -> bytes:
    if not isinstance(outcome, Unresolved):
        return _encode_result(to_wire(outcome))
    assert type(outcome) is Unresolved
    q = outcome.query
    return _encode_result(
        {
            "unresolved": outcome.reason.value,
            "phoneNumber": q.phone_number,
            "messageId": q.message_id,
            "detail": outcome.detail,
            "code": outcome.code,
        }
    )


def _decode(data: bytes) -> Outcome:
    """A stored outcome, as users see it."""
    if data.startswith(b'{"unresolved"'):
        raw = msgspec.json.decode(data)
        return Unresolved(
            StatusQuery(raw["phoneNumber"], raw["messageId"]),
            UnresolvedReason(raw["unresolved"]),
            raw["detail"],
            raw["code"],
        )
    return public(_decode_result(data))


def _label(outcome: Answer) -> str:
    if not isinstance(outcome, Unresolved):
        return outcome.status.value
    assert type(outcome) is Unresolved
    return outcome.reason.value


def _split(key: str) -> tuple[str, int | str]:
    phone, _, mid = key.partition(_SEP)
    return phone, int(mid) if mid.isdigit() else mid


@attrs.frozen(slots=True)
class TrackerUpdate(JSONReady):
    """A tracked query's outcome changed (persisted in the store before it is yielded).

    Delivery is at-least-once: after a crash, an update persisted but not yet handed
    over (or handed over while the worker died) is delivered again, with the same
    :attr:`id`, so consumers can be idempotent.

    Attributes:
        id: stable id of this change: ``"<phone>/<message id>/<version>"``.
        query: the (normalised) query.
        previous: the outcome before, None for the first answer.
        current: the new outcome.
        round: how many times the query was polled (1 for the first answer).
    """

    id: str
    query: StatusQuery
    previous: Outcome | None
    current: Outcome
    round: int

    @property
    def is_final(self) -> bool:
        """Whether :attr:`current` will not change any more."""
        return _is_final(self.current)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this update: its fields (outcomes nested as their own
        ``to_dict()``), then ``is_final``."""
        return attrs_dict(self, ("is_final",))


def _is_final(outcome: Answer) -> bool:
    if not isinstance(outcome, Unresolved):
        return outcome.is_final
    assert type(outcome) is Unresolved
    return outcome.reason not in _TRANSIENT


def _update(row: Row) -> TrackerUpdate:
    assert row.outcome is not None
    phone, mid = _split(row.key)
    return TrackerUpdate(
        id=f"{phone}/{mid}/{row.version}",
        query=StatusQuery(phone, mid),
        previous=_decode(row.previous) if row.previous is not None else None,
        current=_decode(row.outcome),
        round=row.polls,
    )


def _number(name: str, value: object, minimum: float, strict: bool = False) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or (value <= minimum if strict else value < minimum)
    ):
        bound = f"> {minimum}" if strict else f">= {minimum}"
        raise ConfigurationError(f"{name} must be a number {bound}, got {value!r}")
    return float(value)


class StatusTracker:
    """Follow queries to their final status, durably, on a store given by URL.

    ``store`` is ``sqlite:///path.db`` (default kind: one file, no server; WAL mode, used
    from a worker thread) or ``redis://host:port/db`` (needs the ``redis`` extra;
    redis-py's asyncio client, or under trio its blocking client in a worker thread), where
    several workers, in as many processes or machines, share the work: a due query is
    leased by one worker for ``lease`` seconds, so none is asked twice in one round, and
    a dead worker's queries are taken over once its leases expire.

    The schedule is :meth:`SMSPartnerClient.wait_for_final`'s: a query is first asked at
    once, then after ``poll_interval`` seconds, then at intervals growing by ``backoff``
    up to ``max_interval``; it is final when :attr:`StatusResult.is_final` says so, or
    when it is :class:`Unresolved` for a reason that retrying will not change
    (``invalid_query``, ``rejected``). Transient failures leave it pending, and a known
    status is never replaced by a failure (:meth:`~SMSPartnerClient.wait_for_final`'s
    rule): a query answered ``Waiting`` and refused later stays ``Waiting``, pending.

    ``worker`` names this worker (default: a random one). A worker restarted under the
    same name takes back its own leases at once instead of waiting for them to expire;
    two running workers must not share a name.

    >>> tracker = StatusTracker(client, store="sqlite:///campaign.db")  # doctest: +SKIP
    >>> async with tracker:  # doctest: +SKIP
    ...     await tracker.add(pairs)
    ...     async for update in tracker.run(until_final=True, deadline=48 * 3600):
    ...         print(update.id, update.current.status)
    """

    def __init__(
        self,
        client: SMSPartnerClient,
        *,
        store: str = "sqlite:///partner-async-tracker.db",
        poll_interval: float = 30.0,
        backoff: float = 1.5,
        max_interval: float = 1800.0,
        lease: float = 300.0,
        claim_size: int | None = None,
        worker: str | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(client, SMSPartnerClient):
            raise ConfigurationError(f"client must be an SMSPartnerClient, got {client!r}")
        self.client = client
        self.poll_interval = _number("poll_interval", poll_interval, 0)
        self.backoff = _number("backoff", backoff, 1)
        self.max_interval = _number("max_interval", max_interval, 0)
        self.lease = _number("lease", lease, 0, strict=True)
        if claim_size is None:
            claim_size = client.batch_size * client.max_concurrency
        if type(claim_size) is not int or claim_size < 1:
            raise ConfigurationError(f"claim_size must be an int >= 1, got {claim_size!r}")
        self.claim_size = claim_size
        if worker is not None and (not isinstance(worker, str) or not worker):
            raise ConfigurationError(f"worker must be a non-empty string, got {worker!r}")
        self.worker = worker or uuid.uuid4().hex
        self._now = now
        self._store: TrackerStore = open_store(store)
        self._open = False

    @property
    def store_url(self) -> str:
        """The store's URL."""
        return self._store.url

    def __repr__(self) -> str:
        return f"StatusTracker(store={self._store!r}, worker={self.worker!r})"

    async def __aenter__(self) -> StatusTracker:
        await self._store.open()
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the store's connection (what is stored stays)."""
        self._open = False
        with anyio.CancelScope(shield=True):
            await self._store.close()

    def _check_open(self) -> None:
        if not self._open:
            raise StoreError("the tracker is not open: use `async with StatusTracker(...)`")

    def _row(self, item: object, position: int) -> Row:
        try:
            phone, mid = self.client._normalize(item, position)
        except InvalidQuery as exc:
            q = exc.query
            key = f"{q.phone_number}{_SEP}{q.message_id}"
            outcome = Unresolved(q, UnresolvedReason.INVALID_QUERY, exc.detail)
            return Row(key, _encode(outcome), None, 1, 0, 0.0, 0, True, _label(outcome))
        return Row(f"{phone}{_SEP}{mid}")

    async def add(self, queries: Iterable[QueryLike] | AsyncIterable[QueryLike]) -> int:
        """Add queries to follow; returns how many were new.

        Any iterable or async iterable of ``(phone_number, message_id)`` pairs or
        :class:`StatusQuery`, read lazily and stored in batches (each one transaction).
        Idempotent: a query already in the store (in any form that normalises to it) is
        left as it is. An invalid query is stored as final ``Unresolved(INVALID_QUERY)``
        (reported once by :meth:`run`); a wrongly shaped item raises
        :class:`InvalidInputError` naming it, after the items before it are stored.
        """
        self._check_open()
        added = 0
        batch: dict[str, Row] = {}
        position = 0

        async def flush() -> None:
            nonlocal added
            if batch:
                added += await self._store.add(list(batch.values()), self._now())
                batch.clear()

        try:
            if isinstance(queries, AsyncIterable):
                async for item in queries:
                    row = self._row(item, position)
                    position += 1
                    batch.setdefault(row.key, row)
                    if len(batch) >= _ADD_BATCH:
                        await flush()
            else:
                for item in queries:
                    row = self._row(item, position)
                    position += 1
                    batch.setdefault(row.key, row)
                    if len(batch) >= _ADD_BATCH:
                        await flush()
                        await anyio.lowlevel.checkpoint()
        finally:
            with anyio.CancelScope(shield=True):
                await flush()
        return added

    async def counts(self) -> dict[str, int]:
        """How many queries have each latest status (``"Delivered"``, ``"Waiting"``...,
        an unresolved reason, or ``"new"`` before the first answer), plus ``"pending"``
        (not final yet) and ``"undelivered"`` (changes persisted, not yet yielded)."""
        self._check_open()
        return await self._store.counts()

    async def export(self) -> AsyncIterator[tuple[StatusQuery, Outcome | None]]:
        """Every query with its latest outcome (None before the first answer)."""
        self._check_open()
        async for row in self._store.export():
            phone, mid = _split(row.key)
            yield (
                StatusQuery(phone, mid),
                _decode(row.outcome) if row.outcome is not None else None,
            )

    def _poll_done(self, row: Row, outcome: Answer, now: float) -> None:
        """Fold one poll's outcome into the row (a change bumps its version)."""
        row.polls += 1
        interval = self.poll_interval if row.interval < 0 else row.interval
        row.after = now + interval
        row.interval = min(interval * self.backoff, self.max_interval)
        if type(outcome) is Unresolved and (
            outcome.reason in _TRANSIENT
            or (row.outcome is not None and not replaces(outcome, _decode(row.outcome)))
        ):
            return  # still pending; a known status is never replaced by a failure
        encoded = _encode(outcome)
        if encoded == row.outcome:
            return
        row.previous, row.outcome = row.outcome, encoded
        row.version += 1
        row.label = _label(outcome)
        row.final = _is_final(outcome)

    async def run(
        self, *, until_final: bool = True, deadline: float | None = None
    ) -> AsyncIterator[TrackerUpdate]:
        """Poll what is due, in multi-status batches, and yield every change.

        Each change is persisted in the store before it is yielded, and marked delivered
        once the consumer asks for the next one. With ``until_final`` (default) it runs
        until no query of the store is pending (waiting for what other workers hold and
        for what is due later); otherwise it returns once nothing is due now.
        ``deadline`` (seconds) ends it earlier, leaving the store consistent; so does
        cancelling it or breaking out of the loop: the worker's leases are handed back at
        once, and what was yielded but not yet marked delivered is delivered again by the
        next run.
        """
        self._check_open()
        if deadline is not None:
            _number("deadline", deadline, 0)
        store = self._store
        worker = self.worker
        client = self.client
        end = None if deadline is None else anyio.current_time() + deadline
        await store.reclaim(worker)
        try:
            while True:
                remaining = None if end is None else end - anyio.current_time()
                if remaining is not None and remaining <= 0:
                    return
                now = self._now()
                rows = await store.claim(worker, self.claim_size, now, self.lease)
                if not rows:
                    if not until_final:
                        return
                    due = await store.next_due()
                    if due is None:
                        return
                    wait = min(max(due - self._now(), 0.001), 1.0)
                    if remaining is not None:
                        wait = min(wait, remaining)
                    await anyio.sleep(wait)
                    continue
                undelivered = [r for r in rows if r.version > r.acked]
                polled = [r for r in rows if r.version == r.acked]
                for row in undelivered:
                    yield _update(row)
                if undelivered:
                    await store.ack(worker, undelivered)
                if not polled:
                    continue
                call_deadline = self.lease / 2
                if remaining is not None:
                    call_deadline = min(call_deadline, max(remaining, 0.0))
                results = await client.multi_status(
                    [_split(r.key) for r in polled], deadline=call_deadline
                )
                now = self._now()
                for row, outcome in zip(polled, answers_of(results), strict=True):
                    self._poll_done(row, outcome, now)
                await store.save(worker, polled, now)
                changed = [r for r in polled if r.version > r.acked]
                for row in changed:
                    yield _update(row)
                if changed:
                    await store.ack(worker, changed)
        except BaseException:
            # Stopped early (cancelled, Ctrl-C, the loop broken, an error): hand back what
            # this worker holds, so that any worker takes it at once, not after the lease.
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await store.reclaim(worker)
            raise
