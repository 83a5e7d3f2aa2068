"""Match the entries of a multi-status answer to the queries of its batch, by content.

The server may reorder entries, echo a number in another format (the vendor's own sample
echoes ``0619922264`` as ``+33619922264``), drop entries or add ones nobody asked for.
Position is only a fast path: an entry is taken for the query at its position when both
the phone number and the message id are equal; every other entry is matched by content.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import NamedTuple

import msgspec

from ._models import WireResult
from ._normalize import normalize_phone

__all__ = ["Matched", "match_entries"]


_QUERY_OF = operator.attrgetter("phone_number", "message_id")

#: Entries past ``MAX_ENTRIES_FACTOR`` times the batch's size are not looked at: an answer
#: has one entry per query, and a server sending more gets no more work out of the client.
MAX_ENTRIES_FACTOR = 2


class Matched(NamedTuple):
    """What :func:`match_entries` found."""

    #: Per query of the batch, its entry (with the query's phone number), or None.
    results: list[WireResult | None]
    #: Entries that matched no query, exact duplicates and entries past the cap included.
    unexpected: int
    #: Entries for a query already answered in the same answer with another status
    #: (``success``, ``code`` or ``status_text`` differ): the first entry wins.
    conflicting: int


def _same_answer(a: WireResult, b: WireResult) -> bool:
    return a.success == b.success and a.code == b.code and a.status_text == b.status_text


def match_entries(
    batch: Sequence[tuple[str, int]], entries: Sequence[WireResult], region: str
) -> Matched:
    """Align ``entries`` to ``batch``: a result (or None if missing) per query, the
    number of entries that matched no query, and the number that contradicted an earlier
    entry for the same query.

    Every returned result carries the *query's* phone number, whatever the echo was. The
    work is O(entries) with a bounded number of phone parses: at most
    ``MAX_ENTRIES_FACTOR * len(batch)`` entries are looked at, and only an entry whose
    message id is asked in the batch is parsed. An echo is attributed to a query only
    when it is the query's own E.164 number written another way (national, ``00``
    prefix, no ``+``, spaced): never an entry of another country code.
    """
    size = len(batch)
    if len(entries) == size and list(map(_QUERY_OF, entries)) == batch:
        # every entry echoes its query, in order (no Python per item)
        return Matched(list(entries), 0, 0)
    limit = MAX_ENTRIES_FACTOR * size
    unexpected = max(len(entries) - limit, 0)  # entries past the cap: ignored
    conflicting = 0
    results: list[WireResult | None] = [None] * size
    index: dict[tuple[str, int], int] | None = None
    asked_ids: set[int] = set()
    for i, entry in enumerate(entries[:limit] if unexpected else entries):
        if i < size:  # fast path: the entry echoes the query at its own position
            phone, message_id = batch[i]
            if (
                entry.phone_number == phone
                and entry.message_id == message_id
                and results[i] is None
            ):
                results[i] = entry
                continue
        if index is None:
            index = {query: n for n, query in enumerate(batch)}
            asked_ids = {message_id for _, message_id in batch}
        position = index.get((entry.phone_number, entry.message_id))
        if position is None and entry.message_id in asked_ids:
            position = _match_reformatted(entry, index, region)
        if position is None:
            unexpected += 1
            continue
        known = results[position]
        if known is not None:  # answered already: the first entry in the answer wins
            if _same_answer(known, entry):
                unexpected += 1  # an exact repeat
            else:
                conflicting += 1
            continue
        phone = batch[position][0]
        if entry.phone_number != phone:
            entry = msgspec.structs.replace(entry, phone_number=phone)
        results[position] = entry
    return Matched(results, unexpected, conflicting)


def _match_reformatted(
    entry: WireResult, index: dict[tuple[str, int], int], region: str
) -> int | None:
    """The query this entry answers when its number was echoed in another format: what it
    parses to in ``region`` (national, ``00`` prefix, separators), else its digits read
    as an international number without the ``+``. Either way only the query's own E.164
    number matches: at most one (cached) phone parse and two dictionary lookups."""
    text = entry.phone_number
    if len(text) > 32:  # no phone number is that long: not worth a parse
        return None
    message_id = entry.message_id
    try:
        position = index.get((normalize_phone(text, region), message_id))
    except ValueError:
        position = None
    if position is None:
        digits = "".join(c for c in text if c.isdigit())
        if digits and not digits.startswith("0"):
            position = index.get(("+" + digits, message_id))
    return position
