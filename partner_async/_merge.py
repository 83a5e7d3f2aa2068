"""Match the entries of a multi-status answer to the queries of its batch, by content.

The server may reorder entries, echo a number in another format (the vendor's own sample
echoes ``0619922264`` as ``+33619922264``), drop entries or add ones nobody asked for.
Position is only a fast path: an entry is taken for the query at its position when both
the phone number and the message id are equal; every other entry is matched by content.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import msgspec

from ._models import StatusResult
from ._normalize import normalize_phone

__all__ = ["match_entries"]


_QUERY_OF = operator.attrgetter("phone_number", "message_id")


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def match_entries(
    batch: Sequence[tuple[str, int]], entries: Sequence[StatusResult], region: str
) -> tuple[list[StatusResult | None], int]:
    """Align ``entries`` to ``batch``: a result (or None if missing) per query, and the
    number of entries that matched no query (duplicates included).

    Every returned result carries the *query's* phone number, whatever the echo was.
    """
    size = len(batch)
    if len(entries) == size and list(map(_QUERY_OF, entries)) == batch:
        return list(entries), 0  # every entry echoes its query, in order (no Python per item)
    results: list[StatusResult | None] = [None] * size
    leftovers: list[StatusResult] = []
    for i, entry in enumerate(entries):
        if i < size:
            phone, message_id = batch[i]
            if (
                entry.phone_number == phone
                and entry.message_id == message_id
                and results[i] is None
            ):
                results[i] = entry
                continue
        leftovers.append(entry)
    if not leftovers:
        return results, 0

    pending = {batch[i]: i for i in range(size) if results[i] is None}
    unexpected = 0
    for entry in leftovers:
        position: int | None = pending.pop((entry.phone_number, entry.message_id), None)
        if position is None:
            position = _match_reformatted(entry, pending, region)
        if position is None:
            unexpected += 1
            continue
        phone = batch[position][0]
        if entry.phone_number != phone:
            entry = msgspec.structs.replace(entry, phone_number=phone)
        results[position] = entry
    return results, unexpected


def _match_reformatted(
    entry: StatusResult, pending: dict[tuple[str, int], int], region: str
) -> int | None:
    """The pending query this entry answers when its number was echoed in another format."""
    try:
        phone = normalize_phone(entry.phone_number, region)
    except ValueError:
        phone = None
    if phone is not None:
        position = pending.pop((phone, entry.message_id), None)
        if position is not None:
            return position
    # Last resort: same message id and the same national significant digits (``0033 6...``,
    # ``336...``): accepted only when exactly one pending query fits.
    tail = _digits(entry.phone_number)[-9:]
    if len(tail) < 6:
        return None
    candidates = [key for key in pending if key[1] == entry.message_id and key[0].endswith(tail)]
    if len(candidates) != 1:
        return None
    return pending.pop(candidates[0])
