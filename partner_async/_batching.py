"""Input queries -> normalised, de-duplicated batches, consumed lazily."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

import anyio.lowlevel
import attrs

from ._models import Unresolved, UnresolvedReason
from ._normalize import FAST_ID_BOUND, InvalidQuery, all_normal, is_e164, raw_key
from ._results import CallStats

__all__ = ["Batch", "BatchBuilder", "iter_batches"]

Key = tuple[object, object]

#: At most this many batches of an in-memory list are built at once, ahead of sending.
READ_AHEAD = 8


@attrs.define(slots=True)
class Batch:
    """One request's worth of queries, and what was read while it filled.

    Attributes:
        number: 0-based, in input order.
        slots: per sent query, its slot (see :class:`BatchBuilder`).
        pairs: per sent query, ``(e164_phone, message_id)``.
        settled: invalid queries read while this batch filled, with their slots.
        repeats: in positional mode, ``(position, first position)`` of each input item read
            while this batch filled that repeated an earlier query.
        read: input items read while this batch filled, duplicates included.
    """

    number: int
    slots: list[int] = attrs.Factory(list)
    pairs: list[tuple[str, int]] = attrs.Factory(list)
    settled: list[tuple[int, Unresolved]] = attrs.Factory(list)
    repeats: list[tuple[int, int]] = attrs.Factory(list)
    read: int = 0


class _Window:
    """The ``size`` most recently seen distinct keys, with their slots (a bounded
    de-duplication map)."""

    __slots__ = ("_order", "_seen", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._seen: dict[Key, int] = {}
        self._order: deque[Key] = deque()

    def __contains__(self, key: Key) -> bool:
        return key in self._seen

    def __getitem__(self, key: Key) -> int:
        return self._seen[key]

    def add(self, key: Key, slot: int) -> None:
        if not self.size:
            return
        self._seen[key] = slot
        self._order.append(key)
        if len(self._order) > self.size:
            del self._seen[self._order.popleft()]

    def isdisjoint(self, keys: list[Key]) -> bool:
        return self._seen.keys().isdisjoint(keys)

    def add_all(self, keys: list[Key], first: int) -> None:
        """``add`` each of ``keys``, which are distinct and new, at slots from ``first``."""
        if not self.size:
            return
        self._seen.update(zip(keys, range(first, first + len(keys)), strict=True))
        self._order.extend(keys)
        popleft, seen = self._order.popleft, self._seen
        for _ in range(len(self._order) - self.size):
            del seen[popleft()]


class _Every:
    """Every distinct key, and their order (their slots): what ``multi_status`` remembers.

    A set and a list rather than a dict of key -> slot: a new key costs a set insertion and
    a list append, with no int object per slot and a smaller table to probe (which matters
    most when the table is out of the caches between batches). The key -> slot mapping is
    built from the list only if the caller looks a query up (:class:`SlotIndex`).
    """

    __slots__ = ("_seen", "keys")

    def __init__(self) -> None:
        self._seen: set[Key] = set()
        self.keys: list[Key] = []

    def __contains__(self, key: Key) -> bool:
        return key in self._seen

    def add(self, key: Key, slot: int) -> None:  # slot: the key's rank, its list position
        self._seen.add(key)
        self.keys.append(key)

    def take(self, chunk: list[Key]) -> bool:
        """Add every key of ``chunk`` if all are new and distinct; else add none."""
        # The chunk's own set first (its hashes computed once, in a small table in the
        # caches); the big set is then probed and grown with the stored hashes.
        fresh = set(chunk)
        if len(fresh) != len(chunk) or not self._seen.isdisjoint(fresh):
            return False
        if self._seen:
            self._seen |= fresh
        else:
            self._seen = fresh
        self.keys.extend(chunk)
        return True


class SlotIndex(Mapping[Key, int]):
    """Key -> slot of the keys of an :class:`_Every`, built on first use."""

    __slots__ = ("_index", "_keys")

    def __init__(self, keys: list[Key]) -> None:
        self._keys = keys
        self._index: dict[Key, int] | None = None

    def _built(self) -> dict[Key, int]:
        if self._index is None or len(self._index) != len(self._keys):
            self._index = {key: slot for slot, key in enumerate(self._keys)}
        return self._index

    def __getitem__(self, key: Key) -> int:
        return self._built()[key]

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


class BatchBuilder:
    """Normalises input items, drops duplicates, and groups queries into batches.

    With ``window=None`` every distinct query is remembered (``index`` maps it to its
    slot); with an int, only the last ``window`` distinct queries are, and memory stays
    bounded. A query's *slot* is its rank among distinct queries (what ``multi_status``
    merges by), or with ``positional=True`` its input position (what a stream reports).
    """

    __slots__ = (
        "_batch",
        "_normalize",
        "_seen",
        "_start",
        "batch_size",
        "batches",
        "distinct",
        "position",
        "positional",
        "stats",
    )

    def __init__(
        self,
        normalize: Callable[[object, int], tuple[str, int]],
        batch_size: int,
        stats: CallStats,
        *,
        window: int | None = None,
        positional: bool = False,
    ) -> None:
        self.positional = positional
        self._normalize = normalize
        self.batch_size = batch_size
        self.stats = stats
        self._seen: dict[Key, int] | _Every | _Window
        if window is not None:
            self._seen = _Window(window)
        elif positional:
            self._seen = {}  # key -> input position
        else:
            self._seen = _Every()
        self.position = 0
        self.distinct = 0
        self.batches = 0
        self._batch = Batch(0)
        self._start = 0  # the input position the current batch started filling at

    @property
    def index(self) -> Mapping[Key, int]:
        """Every remembered query -> its slot (empty with a bounded window)."""
        seen = self._seen
        if type(seen) is _Every:
            return SlotIndex(seen.keys)
        return seen if type(seen) is dict else {}

    def extend(self, items: Iterable[object]) -> list[Batch]:
        """Take input items; return the batches they filled (the hot loop of the SDK)."""
        if type(items) is list and self._take_new_normal(items):
            return self._fill(items)
        full: list[Batch] = []
        normalize = self._normalize
        seen = self._seen
        index = seen if type(seen) is dict else None
        remember = None if index is not None else seen.add  # type: ignore[union-attr]
        positional = self.positional
        size = self.batch_size
        position = self.position
        distinct = self.distinct
        duplicates = 0
        batch = self._batch
        slots, pairs = batch.slots, batch.pairs
        filled = len(pairs)
        for item in items:
            invalid: InvalidQuery | None = None
            if (  # fast path: is_normal(*item), inlined (the hot loop); the tuple is the key
                type(item) is tuple
                and len(item) == 2
                and type(item[1]) is int
                and 0 < item[1] < FAST_ID_BOUND
                and type(item[0]) is str
                and is_e164(item[0]) is not None
            ):
                key: Key = item
            else:
                try:
                    key = normalize(item, position)
                except InvalidQuery as exc:
                    invalid = exc
                    key = raw_key(exc.query.phone_number, exc.query.message_id)
            position += 1
            if key in seen:
                duplicates += 1
                if positional:
                    batch.repeats.append((position - 1, seen[key]))  # type: ignore[index]
                continue
            slot = position - 1 if positional else distinct
            distinct += 1
            if index is not None:
                index[key] = slot
            else:
                remember(key, slot)  # type: ignore[misc]
            if invalid is not None:
                reason = UnresolvedReason.INVALID_QUERY
                batch.settled.append((slot, Unresolved(invalid.query, reason, invalid.detail)))
                continue
            slots.append(slot)
            pairs.append(key)  # type: ignore[arg-type]
            filled += 1
            if filled >= size:
                batch.read = position - self._start
                self._start = position
                full.append(batch)
                self.batches += 1
                batch = Batch(self.batches)
                slots, pairs = batch.slots, batch.pairs
                filled = 0
        self.position = position
        self.distinct = distinct
        self.stats.duplicates += duplicates
        self._batch = batch
        return full

    def _take_new_normal(self, chunk: list[Any]) -> bool:
        """Take a whole chunk at once if every item in it is already normal and new (no
        duplicate within it or earlier): the common case, with no Python code per item.
        False (nothing taken) otherwise; the per-item loop then handles it."""
        if not all_normal(chunk):
            return False
        count = len(chunk)
        seen = self._seen
        if type(seen) is _Every:
            return seen.take(chunk)
        if isinstance(seen, _Window):
            if seen.size:  # (a window of 0 de-duplicates nothing)
                if len(set(chunk)) != count or not seen.isdisjoint(chunk):
                    return False
                seen.add_all(chunk, self.position if self.positional else self.distinct)
            return True
        assert type(seen) is dict
        if not seen.keys().isdisjoint(chunk):
            return False
        first = self.position if self.positional else self.distinct
        seen.update(zip(chunk, range(first, first + count), strict=True))
        if len(seen) != self.distinct + count:  # a duplicate within the chunk: undo
            for key in chunk:
                seen.pop(key, None)
            return False
        return True

    def _fill(self, chunk: list[tuple[str, int]]) -> list[Batch]:
        """Add a taken chunk of new, normal queries to the batches; return those filled."""
        full: list[Batch] = []
        first_slot = self.position if self.positional else self.distinct
        position = self.position
        batch, size, taken = self._batch, self.batch_size, 0
        while taken < len(chunk):
            part = chunk[taken : taken + size - len(batch.pairs)]
            batch.pairs.extend(part)
            batch.slots.extend(range(first_slot + taken, first_slot + taken + len(part)))
            taken += len(part)
            if len(batch.pairs) >= size:
                batch.read = position + taken - self._start
                self._start = position + taken
                full.append(batch)
                self.batches += 1
                batch = self._batch = Batch(self.batches)
        self.position += len(chunk)
        self.distinct += len(chunk)
        return full

    def flush(self) -> Batch | None:
        """The batch being filled, if anything was read into it."""
        batch = self._batch
        batch.read = self.position - self._start
        if not batch.read:
            return None
        self._start = self.position
        self.batches += 1
        self._batch = Batch(self.batches)
        return batch


async def iter_batches(
    queries: Iterable[object] | AsyncIterable[object],
    builder: BatchBuilder,
    prefix: list[object] | None = None,
) -> AsyncGenerator[Batch, None]:
    """Read ``queries`` lazily (sync or async) and yield full batches, then the last one.

    ``prefix``: items already read from ``queries`` (an iterator then), taken first.
    Items are read ``batch_size`` at a time (a batch is only sent once full anyway), or
    for a list or tuple in growing chunks of up to :data:`READ_AHEAD` batches, with a
    checkpoint after each chunk, so a long run of duplicates or invalid items never
    starves the event loop.
    """
    size = builder.batch_size
    if prefix:
        for batch in builder.extend(prefix):
            yield batch
    if isinstance(queries, AsyncIterable):
        chunk: list[object] = []
        async for item in queries:
            chunk.append(item)
            if len(chunk) >= size:
                for batch in builder.extend(chunk):
                    yield batch
                chunk = []
        for batch in builder.extend(chunk):
            yield batch
    else:
        # A list or tuple is in memory already: it is read ahead in growing chunks (1, 2,
        # 4 ... READ_AHEAD batches), each validated and de-duplicated in one pass while
        # its data is in the CPU's caches, and the first request still leaves at once.
        # Any other iterable is read one batch at a time (it may be lazy, or costly).
        limit = READ_AHEAD if isinstance(queries, (list, tuple)) else 1
        ahead = 1
        iterator = iter(queries)
        while chunk := list(islice(iterator, size * ahead)):
            for batch in builder.extend(chunk):
                yield batch
            await anyio.lowlevel.checkpoint()
            ahead = min(2 * ahead, limit)
    builder.stats.queries = builder.position
    last = builder.flush()
    if last is not None:
        yield last
