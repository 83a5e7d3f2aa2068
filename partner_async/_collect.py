"""The last stage of a call: every batch's outcomes put back in input order, then the
call's :class:`MultiStatusResult` (or, when the call fails, what it settled so far)."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from ._batching import Batch, BatchBuilder
from ._results import Answer, MultiStatusResult

__all__ = ["Collector"]


class Collector:
    """One call's outcomes, one slot per distinct query (the builder numbers them)."""

    __slots__ = ("_builder", "_normalize", "_outcomes")

    def __init__(
        self, builder: BatchBuilder, normalize: Callable[[object, int], tuple[str, int]]
    ) -> None:
        self._builder = builder
        self._normalize = normalize
        self._outcomes: list[Answer | None] = []

    def _grow(self) -> list[Answer | None]:
        outcomes = self._outcomes
        missing = self._builder.distinct - len(outcomes)
        if missing > 0:
            outcomes.extend([None] * missing)
        return outcomes

    def settle(self, batch: Batch) -> None:
        """Put a batch's queries that are settled without a request (invalid ones) in
        their slots."""
        outcomes = self._grow()
        for slot, outcome in batch.settled:
            outcomes[slot] = outcome

    def place(self, batch: Batch, sent: list[Answer]) -> None:
        """Put a batch's outcomes (its sent queries', then its settled ones) in their
        slots."""
        outcomes = self._grow()
        slots = batch.slots
        if slots and slots[-1] - slots[0] == len(slots) - 1:  # consecutive slots
            outcomes[slots[0] : slots[-1] + 1] = sent
        else:
            for slot, outcome in zip(slots, sent, strict=True):
                outcomes[slot] = outcome
        for slot, outcome in batch.settled:
            outcomes[slot] = outcome

    def result(self) -> MultiStatusResult:
        """The call's result: every distinct query has its outcome."""
        builder = self._builder
        outcomes = self._grow()
        if len(outcomes) != builder.distinct or None in outcomes:
            raise RuntimeError("partner_async bug: a query ended without an outcome")
        done = cast("list[Answer]", outcomes)  # every slot filled, as just checked
        return MultiStatusResult(done, builder.index, self._normalize, builder.stats)

    def partial(self) -> MultiStatusResult:
        """The outcomes settled so far of a call that fails, in input order."""
        builder = self._builder
        outcomes = self._outcomes
        size = len(outcomes)  # the builder may have numbered queries no batch carried yet
        kept: list[Answer] = []
        index: dict[tuple[object, object], int] = {}
        for key, slot in sorted(builder.index.items(), key=_slot_of):
            outcome = outcomes[slot] if slot < size else None
            if outcome is not None:
                index[key] = len(kept)
                kept.append(outcome)
        return MultiStatusResult(kept, index, self._normalize, builder.stats)


def _slot_of(item: tuple[object, int]) -> int:
    return item[1]
