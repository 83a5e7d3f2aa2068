"""The merged result set of a ``multi_status`` call."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeAlias, Union, overload

import attrs

from ._exceptions import InvalidInputError
from ._models import (
    StatusQuery,
    StatusResult,
    Unresolved,
    UnresolvedReason,
    WireResult,
    public,
    public_all,
    to_wire,
)
from ._normalize import InvalidQuery, raw_key
from ._serialize import JSONReady, attrs_dict
from ._status import DeliveryStatus

__all__ = [
    "BatchResult",
    "CallStats",
    "MultiStatusResult",
    "Answer",
    "Outcome",
    "add_request_counts",
    "answers_of",
    "Progress",
    "StatusUpdate",
]

#: What one distinct query ends as.
Outcome: TypeAlias = Union[StatusResult, Unresolved]  # noqa: UP007 - runtime alias, py3.10
#: An outcome as the SDK keeps it (answers as untracked :class:`WireResult` structs until
#: read; :func:`public` makes the :class:`Outcome` users see).
Answer: TypeAlias = Union[WireResult, StatusResult, Unresolved]  # noqa: UP007


@attrs.define(slots=True)
class CallStats(JSONReady):
    """Counters of one call (or one client, summed over its calls).

    Attributes:
        queries: input items read, duplicates included.
        duplicates: input items that repeated an earlier query.
        requests: HTTP requests sent, retries included.
        retries: requests that were retries of a failed one.
        batches: batches completed.
        reasked: queries re-asked because an answer missed them.
        unexpected_entries: answer entries that matched no query of their batch (repeats,
            and entries beyond twice the batch's size, included).
        conflicting_entries: answer entries for a query the same answer had already
            answered with another status (``success``, ``code`` or ``status_text``); the
            first entry in the answer wins, and the first of a call is logged at WARNING.
        unreadable_fields: answer fields that could not be read (a date in an unknown
            format, a flag like ``"oui"``...): each read as None, its entry kept.
    """

    queries: int = 0
    duplicates: int = 0
    requests: int = 0
    retries: int = 0
    batches: int = 0
    reasked: int = 0
    unexpected_entries: int = 0
    conflicting_entries: int = 0
    unreadable_fields: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this value (``json.dumps`` takes it)."""
        return attrs_dict(self)


def add_request_counts(total: CallStats, more: CallStats) -> None:
    """Add ``more``'s request and answer counters to ``total``'s: every counter but the
    input's (``queries``, ``duplicates``), which count one call's own input only. Written
    out: it runs once per shared request and per caller (a loop over the fields cost ~1 µs)."""
    total.requests += more.requests
    total.retries += more.retries
    total.batches += more.batches
    total.reasked += more.reasked
    total.unexpected_entries += more.unexpected_entries
    total.conflicting_entries += more.conflicting_entries
    total.unreadable_fields += more.unreadable_fields


@attrs.frozen(slots=True)
class Progress(JSONReady):
    """Where a call stands, passed to its ``progress`` callback after every batch.

    Attributes:
        done: input items settled, duplicates included (ends equal to ``total``).
        total: input items in all, or None for an unsized input (a generator, a stream).
        in_flight: requests of the client in flight now.
        requests: requests this call sent, retries included.
        retries: retries this call made.
        unresolved: distinct queries of this call that ended unresolved so far.
        round: the polling round of :meth:`~SMSPartnerClient.wait_for_final` the call
            belongs to (0: the first pass over every query, then 1, 2 ...); 0 for every
            other call. ``done`` and ``total`` count within the round.
    """

    done: int
    total: int | None
    in_flight: int
    requests: int
    retries: int
    unresolved: int
    round: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this value (``json.dumps`` takes it)."""
        return attrs_dict(self)


@attrs.frozen(slots=True)
class BatchResult(JSONReady):
    """The outcomes of one batch of a stream (``iter_multi_status``).

    ``positions[i]`` is the input position (0-based, first appearance) of the query that
    ``outcomes[i]`` answers; both are in input order. Invalid queries read while the batch
    filled are part of it, as :class:`Unresolved` outcomes.

    ``repeats`` accounts for every other input item read while the batch filled: one
    ``(position, first_position)`` per item that repeated an earlier query, whose outcome
    is the one at ``first_position`` (in this batch or an earlier one). Together,
    ``positions`` and ``repeats`` name every input position exactly once, so a script can
    write one result per input row, duplicates included:

    >>> async with client.iter_multi_status(rows, ordered=True) as batches:  # doctest: +SKIP
    ...     async for batch in batches:
    ...         for position, outcome in zip(batch.positions, batch.outcomes):
    ...             recent[position] = outcome
    ...         for position, first in batch.repeats:
    ...             save(position, recent[first])
    """

    number: int
    positions: tuple[int, ...]
    outcomes: tuple[Outcome, ...]
    repeats: tuple[tuple[int, int], ...] = ()

    def __len__(self) -> int:
        return len(self.outcomes)

    def __iter__(self) -> Iterator[Outcome]:
        return iter(self.outcomes)

    @property
    def results(self) -> list[StatusResult]:
        """The answered queries of this batch."""
        return [o for o in self.outcomes if type(o) is StatusResult]

    @property
    def unresolved(self) -> list[Unresolved]:
        """The unresolved queries of this batch."""
        return [o for o in self.outcomes if type(o) is Unresolved]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this value (``json.dumps`` takes it)."""
        return attrs_dict(self)


@attrs.frozen(slots=True)
class StatusUpdate(JSONReady):
    """A query's outcome changed while ``wait_for_final`` polled.

    Attributes:
        previous: the outcome before this round.
        current: the new outcome.
        round: the polling round (1 for the first re-query).
    """

    previous: Outcome
    current: Outcome
    round: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this value (``json.dumps`` takes it)."""
        return attrs_dict(self)


class MultiStatusResult(JSONReady):
    """Every distinct query of a ``multi_status`` call with its outcome, in input order.

    Iterating yields, for each distinct ``(phone_number, message_id)`` in order of first
    appearance, either a :class:`StatusResult` (the API answered; ``success`` may be False,
    e.g. code 4 "not found") or an :class:`Unresolved` (no answer, with a reason).
    ``len(results) == len(results.answered) + len(results.unresolved)`` always holds.

    >>> results = await client.multi_status(queries)  # doctest: +SKIP
    >>> results.get("0612345678", 1226613).status  # doctest: +SKIP
    <DeliveryStatus.DELIVERED: 'Delivered'>
    >>> results.counts_by_status()  # doctest: +SKIP
    Counter({<DeliveryStatus.DELIVERED: 'Delivered'>: 812, ...})
    """

    __slots__ = ("_index", "_normalize", "_outcomes", "_unresolved_count", "stats")

    def __init__(
        self,
        outcomes: list[Answer],
        index: Mapping[tuple[object, object], int],
        normalize: Callable[[object, int], tuple[str, int]],
        stats: CallStats,
    ) -> None:
        self._outcomes = outcomes
        self._index = index
        self._normalize = normalize
        self.stats = stats
        """Counters of the call that produced this result set."""
        self._unresolved_count: int | None = None  # cached for repr()

    def __len__(self) -> int:
        return len(self._outcomes)

    def __iter__(self) -> Iterator[Outcome]:
        outcomes = self._outcomes
        for start in range(0, len(outcomes), 512):  # converted a chunk at a time, in C
            yield from public_all(outcomes[start : start + 512])

    @overload
    def __getitem__(self, index: int) -> Outcome: ...
    @overload
    def __getitem__(self, index: slice) -> list[Outcome]: ...
    def __getitem__(self, index: int | slice) -> Outcome | list[Outcome]:
        if isinstance(index, slice):
            return public_all(self._outcomes[index])
        return public(self._outcomes[index])

    def __repr__(self) -> str:
        if self._unresolved_count is None:
            self._unresolved_count = sum(1 for o in self._outcomes if type(o) is Unresolved)
        unresolved = self._unresolved_count
        return (
            f"<MultiStatusResult {len(self)} queries: {len(self) - unresolved} answered, "
            f"{unresolved} unresolved>"
        )

    def _key(self, phone_number: object, message_id: object) -> tuple[object, object]:
        try:
            return self._normalize((phone_number, message_id), 0)
        except (InvalidQuery, InvalidInputError):
            return raw_key(phone_number, message_id)

    def get(self, phone_number: str, message_id: int | str) -> Outcome | None:
        """The outcome for a query, given in any accepted form (national number, str id).

        Returns None when the query was not part of the call.
        """
        position = self._index.get(self._key(phone_number, message_id))
        return None if position is None else public(self._outcomes[position])

    def __contains__(self, query: object) -> bool:
        if isinstance(query, StatusQuery):
            query = (query.phone_number, query.message_id)
        if not isinstance(query, tuple) or len(query) != 2:
            return False
        return self._key(*query) in self._index

    @property
    def answered(self) -> list[StatusResult]:
        """The queries the API answered (``success`` True or False), in input order."""
        return public_all([o for o in self._outcomes if type(o) is not Unresolved])

    @property
    def unresolved(self) -> list[Unresolved]:
        """The queries that got no answer, each with its reason, in input order."""
        return [o for o in self._outcomes if type(o) is Unresolved]

    @property
    def waiting(self) -> list[StatusResult]:
        """The answered queries that are not final yet: Waiting, or a status text the SDK
        does not recognise (``StatusResult.is_final`` is False)."""
        return public_all(
            [o for o in self._outcomes if not isinstance(o, Unresolved) and not o.is_final]
        )

    def update(self, outcome: Outcome) -> Outcome:
        """Put ``outcome`` in place of the outcome of the same query (a newer answer, as
        :meth:`~partner_async.SMSPartnerClient.wait_for_final` gets); returns the one it
        replaces. ``KeyError`` if the query is not part of this result set.

        >>> previous = results.update(newer)  # doctest: +SKIP
        """
        query = outcome.query
        slot = self._index.get(self._key(query.phone_number, query.message_id))
        if slot is None:
            raise KeyError(f"{query!r} is not a query of this result set")
        previous = public(self._outcomes[slot])
        self._outcomes[slot] = outcome if isinstance(outcome, Unresolved) else to_wire(outcome)
        self._unresolved_count = None
        return previous

    def counts_by_status(self) -> Counter[DeliveryStatus]:
        """How many answered queries have each delivery status."""
        return Counter(o.status for o in self._outcomes if not isinstance(o, Unresolved))

    def counts_by_code(self) -> Counter[int]:
        """How many answered queries have each per-item API code (200, 4, ...)."""
        return Counter(o.code for o in self._outcomes if not isinstance(o, Unresolved))

    def counts_by_reason(self) -> Counter[UnresolvedReason]:
        """How many unresolved queries have each reason."""
        return Counter(o.reason for o in self._outcomes if type(o) is Unresolved)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``outcomes`` (each outcome's ``to_dict()``, in input order),
        ``counts_by_status`` and ``stats``."""
        return {
            "outcomes": [outcome.to_dict() for outcome in self],
            "counts_by_status": {s.value: n for s, n in self.counts_by_status().items()},
            "stats": self.stats.to_dict(),
        }


def answers_of(results: MultiStatusResult) -> list[Answer]:
    """The outcomes of ``results`` as the SDK keeps them (answers not made
    :class:`StatusResult` objects): for the SDK's own passes over a result set."""
    return results._outcomes
