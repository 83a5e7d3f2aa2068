"""Input validation and normalisation: raw pairs in, E.164 ``StatusQuery`` or a reason out."""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from typing import Any, Union

import msgspec

from ._exceptions import InvalidInputError
from ._models import StatusQuery

__all__ = [
    "FAST_ID_BOUND",
    "MAX_MESSAGE_ID",
    "InvalidQuery",
    "QueryLike",
    "all_normal",
    "is_e164",
    "is_normal",
    "make_normalizer",
    "normalize_message_id",
    "normalize_phone",
    "raw_key",
]

#: The largest message id accepted (2**63 - 1, a signed 64-bit integer: what the vendor's
#: PHP integers and any BIGINT column hold). Ids are 1 ..= this; a larger one is an
#: invalid query, never sent (it could not be encoded as a JSON integer anyway).
MAX_MESSAGE_ID = 2**63 - 1

#: What callers may pass as one query.
QueryLike = Union[StatusQuery, "tuple[str, int | str]"]


def _as_pair(item: object, position: int) -> tuple[Any, Any]:
    if type(item) is tuple and len(item) == 2:
        return item
    if isinstance(item, StatusQuery):
        return item.phone_number, item.message_id
    if isinstance(item, (tuple, list)) and len(item) == 2:
        return item[0], item[1]
    raise InvalidInputError(
        f"query #{position} is {item!r}: expected a StatusQuery or a "
        "(phone_number, message_id) pair"
    )


#: ``+`` and 8 to 15 ASCII digits: a phone number already in E.164 form.
_E164 = r"\+[0-9]{8,15}"
is_e164: Callable[[str], object] = re.compile(_E164).fullmatch

#: Ids of at most this many digits are "normal" for the fast paths; the larger valid ids
#: (up to :data:`MAX_MESSAGE_ID`) take the per-item normaliser, with the same result.
_FAST_ID_DIGITS = 18
FAST_ID_BOUND = 10**_FAST_ID_DIGITS


def is_normal(phone_number: object, message_id: object) -> bool:
    """Whether a query is already in normal form, as every fast path decides it: an
    E.164 ``str`` (:data:`is_e164`) and an ``int`` id in 1 .. :data:`FAST_ID_BOUND`
    (exclusive). The one rule of every fast path (the batch builder inlines it in its hot
    loop; :func:`all_normal` checks it chunk-wide); anything else is normalised."""
    return (
        type(message_id) is int
        and 0 < message_id < FAST_ID_BOUND
        and type(phone_number) is str
        and is_e164(phone_number) is not None
    )


_TUPLE, _INT, _STR = {tuple}, {int}, {str}
_phones, _ids = operator.itemgetter(0), operator.itemgetter(1)
_write = msgspec.json.Encoder().encode
#: A JSON array of ``["+digits", id]`` pairs: E.164 numbers and ids below
#: :data:`FAST_ID_BOUND`, as msgspec writes a list of ``(str, int)`` tuples (built from
#: the same two rules as :func:`is_normal`).
_PAIR = rf'\["{_E164}",[1-9][0-9]{{0,{_FAST_ID_DIGITS - 1}}}\]'
_NORMAL_PAIRS = re.compile(rf"\[(?:{_PAIR},)*{_PAIR}\]".encode()).fullmatch


def all_normal(items: list[Any]) -> bool:
    """True when every item is an ``(E.164 str, int id)`` tuple: already normalised.

    The rule of :func:`is_normal` (``+`` and 8 to 15 ASCII digits; an ``int`` id of 1 to
    18 digits), checked over a whole chunk in C: the chunk is written as JSON by msgspec
    and matched by one regular expression, and the types are checked exactly (msgspec
    refuses subclasses of ``str`` and ``int`` but writes an enum as its value).
    """
    if not items or set(map(type, items)) != _TUPLE:
        return False
    try:
        written = _write(items)
    except (TypeError, ValueError):  # a subclass; an int too long to write
        return False
    return (
        _NORMAL_PAIRS(written) is not None
        and set(map(type, map(_ids, items))) == _INT
        and set(map(type, map(_phones, items))) == _STR
    )


def normalize_message_id(value: object) -> int:
    """An ``int`` in 1 ..= :data:`MAX_MESSAGE_ID` from an int or a numeric string;
    ``ValueError`` naming the value otherwise."""
    if type(value) is int and 0 < value <= MAX_MESSAGE_ID:
        return value
    number = 0
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 19:  # 2**63 - 1 has 19 digits
            number = int(text)
    elif type(value) is int:
        number = value
    if 0 < number <= MAX_MESSAGE_ID:
        return number
    raise ValueError(f"invalid message id {_shown(value)}: expected an integer from 1 to 2**63 - 1")


def _shown(value: object) -> str:
    """``repr(value)``, shortened for huge values (a 5,000-digit id stays one short line)."""
    if type(value) is int and value.bit_length() > 128:
        return f"<an integer of {value.bit_length()} bits>"
    if isinstance(value, str) and len(value) > 40:
        return f"{value[:24]!r}... ({len(value)} characters)"
    try:
        return repr(value)
    except ValueError:  # an int subclass too long for repr()
        return f"<{type(value).__name__}>"


@functools.lru_cache(maxsize=65536)
def _parse_phone(text: str, region: str) -> str:
    import phonenumbers  # imported on first use: it costs ~60 ms and E.164 input never needs it

    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"invalid phone number {text!r}: {exc.args[0]}") from None
    # "possible" (right length for its country), not "valid" (in an allocated range): the
    # metadata of allocated ranges lags behind operators, and E.164 input is not checked
    # against it either.
    if not phonenumbers.is_possible_number(number):
        raise ValueError(
            f"invalid phone number {text!r}: not a possible number for region {region}"
        )
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalize_phone(value: object, region: str) -> str:
    """E.164 form of ``value``; ``ValueError`` naming the value when it is not a number.

    ``+`` followed by 8 to 15 ASCII digits is taken as is (no parsing: the fast path for
    input that is already normalised). Anything else is parsed with ``phonenumbers``
    against ``region``.
    """
    if type(value) is str:
        return value if is_e164(value) else _parse_phone(value, region)
    raise ValueError(f"invalid phone number {value!r}: expected a string")


class InvalidQuery(Exception):
    """Internal: one query's values are invalid (``query`` holds them as given)."""

    def __init__(self, query: StatusQuery, detail: str) -> None:
        super().__init__(detail)
        self.query = query
        self.detail = detail


def make_normalizer(region: str) -> Callable[[object, int], tuple[str, int]]:
    """A function ``(item, position) -> (e164_phone, message_id)`` for one client's settings.

    It raises :class:`InvalidInputError` for a wrongly shaped item and
    :class:`InvalidQuery` (internal) for invalid values. The batch builder recognises
    items already in the normal form without calling it (its fast path). It pickles (a
    result set holding it does, and so does an error carrying that result set).
    """
    return functools.partial(_normalize, region)


def _normalize(region: str, item: object, position: int) -> tuple[str, int]:
    phone, message_id = _as_pair(item, position)
    try:
        return normalize_phone(phone, region), normalize_message_id(message_id)
    except ValueError as exc:
        raise InvalidQuery(StatusQuery(phone, message_id), str(exc)) from None


def raw_key(phone_number: object, message_id: object) -> tuple[object, object]:
    """The de-duplication key of an invalid query: its values, or their reprs if unhashable."""
    try:
        hash((phone_number, message_id))
    except TypeError:
        return (repr(phone_number), repr(message_id))
    return (phone_number, message_id)
