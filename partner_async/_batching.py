"""Input queries -> normalised, de-duplicated batches, consumed lazily."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable
from itertools import islice

import anyio.lowlevel

from ._models import Unresolved, UnresolvedReason
from ._normalize import InvalidQuery, raw_key
from ._results import CallStats, Outcome

__all__ = ["Batch", "BatchBuilder", "iter_batches"]

#: A batch: the outcome slots of its queries, and the ``(e164_phone, message_id)`` pairs.
Batch = tuple[list[int], list[tuple[str, int]]]


class BatchBuilder:
    """Gives each distinct query a slot (its position among distinct queries), settles
    invalid ones at once, and groups the valid ones into batches of ``batch_size``.

    ``outcomes`` grows by one slot per distinct query; workers fill the slots of the
    batches they complete.
    """

    __slots__ = (
        "_normalize",
        "_pairs",
        "_slots",
        "batch_size",
        "index",
        "outcomes",
        "position",
        "stats",
    )

    def __init__(
        self,
        normalize: Callable[[object, int], tuple[str, int]],
        batch_size: int,
        stats: CallStats,
    ) -> None:
        self._normalize = normalize
        self.batch_size = batch_size
        self.stats = stats
        self.index: dict[tuple[object, object], int] = {}
        self.outcomes: list[Outcome | None] = []
        self.position = 0
        self._slots: list[int] = []
        self._pairs: list[tuple[str, int]] = []

    def add(self, item: object) -> Batch | None:
        """Take one input item; return a batch when it fills one."""
        position = self.position
        self.position = position + 1
        invalid: InvalidQuery | None = None
        try:
            key: tuple[object, object] = self._normalize(item, position)
        except InvalidQuery as exc:
            invalid = exc
            key = raw_key(exc.query.phone_number, exc.query.message_id)
        index = self.index
        if key in index:
            self.stats.duplicates += 1
            return None
        slot = index[key] = len(self.outcomes)
        if invalid is not None:
            self.outcomes.append(
                Unresolved(invalid.query, UnresolvedReason.INVALID_QUERY, invalid.detail)
            )
            return None
        self.outcomes.append(None)
        self._slots.append(slot)
        self._pairs.append(key)  # type: ignore[arg-type]
        if len(self._slots) >= self.batch_size:
            return self.flush()
        return None

    def flush(self) -> Batch | None:
        """The partial batch, if any."""
        if not self._slots:
            return None
        batch = (self._slots, self._pairs)
        self._slots, self._pairs = [], []
        return batch


async def iter_batches(
    queries: Iterable[object] | AsyncIterable[object], builder: BatchBuilder
) -> AsyncGenerator[Batch, None]:
    """Read ``queries`` lazily (sync or async) and yield full batches, then the last one.

    A sync iterable is read in chunks of ``batch_size`` between checkpoints, so a long
    run of duplicates or invalid items never starves the event loop.
    """
    add = builder.add
    if isinstance(queries, AsyncIterable):
        async for item in queries:
            batch = add(item)
            if batch is not None:
                yield batch
    else:
        iterator = iter(queries)
        while chunk := list(islice(iterator, builder.batch_size)):
            for item in chunk:
                batch = add(item)
                if batch is not None:
                    yield batch
            await anyio.lowlevel.checkpoint()
    builder.stats.queries = builder.position
    last = builder.flush()
    if last is not None:
        yield last
