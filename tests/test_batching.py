"""Batch building: the whole-chunk fast path agrees with the per-item loop, item for item."""

from __future__ import annotations

import enum
import random
from typing import Any

import pytest

from partner_async import InvalidInputError
from partner_async._batching import Batch, BatchBuilder
from partner_async._normalize import all_normal, is_normal, make_normalizer
from partner_async._results import CallStats

GOOD = ("+33612345678", 1226613)


class _Id(enum.IntEnum):
    ONE = 1226613


class _Phone(str, enum.Enum):
    MOBILE = "+33612345678"


# Each is one item that the per-item fast path would not take as already normal.
NOT_NORMAL: list[Any] = [
    ("+33612345678", _Id.ONE),  # an enum: written as its value, still not an int
    (_Phone.MOBILE, 1226613),
    ("+3361234567", 0),  # id 0
    ("+3361234567", -5),
    ("+3361234567", True),  # a bool is not an id
    ("+3361234567", 10**18),  # valid, 19 digits: normalised by the per-item path
    ("+3361234567", 2**63 - 1),
    ("+3361234567", "12"),  # a str id (valid input, but it needs normalising)
    ("+3361234567", 12.0),
    ("+1234567", 1),  # 7 digits
    ("+1234567890123456", 1),  # 16 digits
    ("33612345678", 1),  # no +
    ("+336+12345678", 1),  # a + inside
    ("++33612345678", 1),
    ("+33 612345678", 1),
    ("+33612345678\n", 1),
    ("+٣٣٦١٢٣٤٥٦٧٨", 1),  # Arabic-Indic digits: digits, but not ASCII
    ("+33612345678²", 1),
    ("", 1),
    (33612345678, 1),
    ["+33612345678", 1],  # a list, not a tuple
    ("+33612345678", 1, 2),
    ("+33612345678",),
    (),
    "+33612345678",
    None,
]
NORMAL = [("+12345678", 1), ("+123456789012345", 10**12), GOOD]


def taken_as_is_by_the_loop(item: Any) -> bool:
    """Whether the per-item loop takes ``item`` as already normal: its own key, unchanged."""
    builder = BatchBuilder(make_normalizer("FR"), 1, CallStats())
    try:
        batches = builder.extend(iter([item]))
    except InvalidInputError:
        return False
    return bool(batches) and batches[0].pairs[0] is item


@pytest.mark.parametrize("item", NOT_NORMAL + NORMAL, ids=repr)
def test_chunk_rule_is_the_per_item_rule(item: Any) -> None:
    expected = taken_as_is_by_the_loop(item)
    assert expected is any(item is normal for normal in NORMAL)
    assert all_normal([item]) is expected
    assert all_normal([*NORMAL, item, GOOD]) is expected  # anywhere in a chunk
    pair = type(item) is tuple and len(item) == 2
    assert (pair and is_normal(*item)) is expected


def test_chunk_of_two_character_strings_is_not_normal() -> None:
    assert not all_normal(["ab", "cd"])
    assert not all_normal([])


def build(chunks: list[list[Any]], via_list: bool, **options: Any) -> tuple[Any, ...]:
    """Everything a builder produces, feeding each chunk as a list (fast path allowed) or
    as an iterator (per-item loop only)."""
    stats = CallStats()
    builder = BatchBuilder(make_normalizer("FR"), 7, stats, **options)
    batches: list[Batch] = []
    for chunk in chunks:
        batches.extend(builder.extend(chunk if via_list else iter(chunk)))
    last = builder.flush()
    if last is not None:
        batches.append(last)
    return (
        [(b.number, b.slots, b.pairs, b.settled, b.read) for b in batches],
        builder.index,
        builder.position,
        builder.distinct,
        stats.duplicates,
    )


def phones(n: int, seed: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    return [(f"+336{rng.randrange(10**8):08d}", rng.randrange(1, 50)) for _ in range(n)]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"positional": True},
        {"window": 5, "positional": True},
        {"window": 0, "positional": True},
        {"window": 1000},
    ],
    ids=repr,
)
def test_fast_path_builds_exactly_what_the_loop_builds(options: dict[str, Any]) -> None:
    fresh = phones(60, seed=1)
    chunks: list[list[Any]] = [
        fresh[0:10],  # all new and normal: taken whole
        fresh[10:20],
        [*fresh[20:25], fresh[21]],  # a duplicate inside the chunk
        [*fresh[25:30], fresh[3]],  # a repeat of an earlier chunk
        [*fresh[30:33], ("06 12 34 56 78", "5"), ("bad", 1)],  # needs normalising, invalid
        fresh[33:34],
        fresh[34:50],  # spans several batches of 7
        fresh[0:4],  # repeats (a window of 5 has forgotten some of them)
        [],
        fresh[50:60],
    ]
    assert build(chunks, via_list=True, **options) == build(chunks, via_list=False, **options)
