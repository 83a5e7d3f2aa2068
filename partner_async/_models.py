"""Value classes: the queries users pass in and the typed results they get back."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Annotated, Any, Final, overload

import attrs
import msgspec

from ._serialize import JSONReady, attrs_dict
from ._status import DeliveryStatus, is_final_answer, parse_status

__all__ = [
    "Answered",
    "Reported",
    "MailBulkReport",
    "MailRecipient",
    "SMSBulkReport",
    "SMSRecipient",
    "StatusQuery",
    "StatusResult",
    "Unresolved",
    "UnresolvedReason",
    "WireResult",
    "MAX_TIMESTAMP",
    "needs_poll",
    "public",
    "public_all",
    "replaces",
    "to_wire",
]


#: The latest Unix time a date can have (9999-12-31T23:59:59Z). An answer's date outside
#: 0..MAX_TIMESTAMP is unreadable: it reads as None, like any other unreadable field.
MAX_TIMESTAMP: Final = 253_402_300_799

#: A readable answer date, checked by msgspec in C while decoding.
Timestamp = Annotated[int, msgspec.Meta(ge=0, le=MAX_TIMESTAMP)]


def _to_datetime(timestamp: int | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, timezone.utc)


class Dated:
    """The ``date`` of a value that has a ``timestamp`` field (a mixin of attrs classes)."""

    __slots__ = ()
    timestamp: int | None

    @property
    def date(self) -> datetime | None:
        """``timestamp`` as a timezone-aware UTC datetime."""
        return _to_datetime(self.timestamp)


@attrs.frozen(slots=True)
class StatusQuery(JSONReady):
    """One ``(phone_number, message_id)`` pair to look up.

    Plain tuples are accepted wherever a ``StatusQuery`` is. Values are normalised by the
    client (national numbers to E.164, numeric strings to ``int``), not here, so that an
    invalid query can still be reported back exactly as it was given.

    >>> StatusQuery("+33612345678", 1226613)
    StatusQuery(phone_number='+33612345678', message_id=1226613)
    """

    phone_number: str
    message_id: int | str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this value (``json.dumps`` takes it)."""
        return attrs_dict(self)


class Reported(Dated):
    """The ``status`` of a value, derived from its ``status_text`` (as the API sent it):
    one source, so the two never disagree (a mixin of every value that has a status)."""

    __slots__ = ()
    status_text: str

    @property
    def status(self) -> DeliveryStatus:
        """The delivery status, mapped from ``status_text`` (every documented spelling)."""
        return parse_status(self.status_text)


class Answered(Reported):
    """What an answer to one query derives from its fields: ``status``, ``query``,
    ``is_final`` and ``date`` (a mixin of :class:`StatusResult` and of the form the SDK
    keeps answers in, :class:`WireResult`)."""

    __slots__ = ()
    phone_number: str
    message_id: int
    code: int

    @property
    def query(self) -> StatusQuery:
        """The (normalised) query this result answers."""
        return StatusQuery(self.phone_number, self.message_id)

    @property
    def is_final(self) -> bool:
        """Whether the answer will not change any more (see ``is_final_answer``): a
        per-item code other than 200 (4, not found) is final; otherwise only Delivered and
        Not delivered are (Waiting and Unknown are followed by ``wait_for_final``)."""
        return is_final_answer(parse_status(self.status_text), self.code)


class WireResult(
    Answered,
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    gc=False,
    forbid_unknown_fields=True,
    rename={
        "phone_number": "phoneNumber",
        "message_id": "messageId",
        "status_text": "status",
        "timestamp": "date",
        "stop_sms": "stopSms",
        "is_spam": "isSpam",
    },
):
    """Internal: one answer as decoded and kept by the SDK (the fields of
    :class:`StatusResult`). The documented answer decodes straight into it in C, and it
    holds only atomic values, so the garbage collector never tracks it: a million kept
    answers cost no collector time. Users get :class:`StatusResult` objects, made from
    these when read (:func:`public`)."""

    phone_number: str
    message_id: int
    success: bool
    code: int
    status_text: str
    timestamp: Timestamp | None = None
    stop_sms: bool | None = None
    is_spam: bool | None = None


@attrs.frozen(slots=True, kw_only=True)
class StatusResult(Answered, JSONReady):
    """The API's answer for one query: an immutable, hashable attrs value.

    ``success`` and ``code`` are the API's own per-item fields: a number the API does not
    know for this message comes back with ``success=False, code=4`` and
    ``status=DeliveryStatus.UNKNOWN`` (``status_text`` "Number not found"). Fields are
    keyword-only; ``attrs.evolve`` and ``to_dict()`` work on it, as on every other value.

    >>> r = StatusResult(phone_number="+33612345678", message_id=1226613, success=True,
    ...                  code=200, status_text="DELIVRD", timestamp=1517934416)
    >>> r.status, r.is_final, r.date.year
    (<DeliveryStatus.DELIVERED: 'Delivered'>, True, 2018)

    Attributes:
        phone_number: the query's phone number, normalised to E.164.
        message_id: the query's message id.
        success: the API's per-item ``success``.
        code: the API's per-item ``code`` (200, or 4 when not found).
        status_text: the status exactly as the API sent it.
        timestamp: when the status was reported (Unix seconds), if sent.
        stop_sms: the recipient replied STOP, if sent.
        is_spam: the message was flagged as spam, if sent.
    """

    phone_number: str
    message_id: int
    success: bool
    code: int
    status_text: str
    timestamp: int | None = None
    stop_sms: bool | None = None
    is_spam: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this result: its fields, then ``status`` (the mapped
        value), ``date`` (ISO 8601, UTC) and ``is_final``."""
        return attrs_dict(self, ("status", "date", "is_final"))


_ONE = msgspec.convert
_MANY = list[StatusResult]


@overload
def public(outcome: WireResult | StatusResult) -> StatusResult: ...
@overload
def public(outcome: Unresolved) -> Unresolved: ...
@overload
def public(outcome: WireResult | StatusResult | Unresolved) -> StatusResult | Unresolved: ...
def public(outcome: WireResult | StatusResult | Unresolved) -> StatusResult | Unresolved:
    """``outcome`` as users see it: a :class:`WireResult` made a :class:`StatusResult`
    (anything else as it is)."""
    if isinstance(outcome, WireResult):
        made: StatusResult = _ONE(outcome, StatusResult, from_attributes=True)
        return made
    return outcome


def public_all(outcomes: list[Any]) -> list[Any]:
    """:func:`public` of each outcome, the answers converted together in C (0.4 µs each)."""
    wire = [i for i, o in enumerate(outcomes) if type(o) is WireResult]
    if not wire:
        return list(outcomes)
    out = list(outcomes)
    if len(wire) == len(out):
        return _ONE(out, _MANY, from_attributes=True)
    made = _ONE([out[i] for i in wire], _MANY, from_attributes=True)
    for i, result in zip(wire, made, strict=True):
        out[i] = result
    return out


def to_wire(result: StatusResult | WireResult) -> WireResult:
    """A :class:`StatusResult` as the SDK keeps it."""
    if type(result) is WireResult:
        return result
    return WireResult(**{name: getattr(result, name) for name in WireResult.__struct_fields__})


class UnresolvedReason(str, enum.Enum):
    """Why a query got no answer. See the README's table of outcomes."""

    INVALID_QUERY = "invalid_query"
    """The query was not sent: its phone number or message id is invalid."""
    MISSING_FROM_RESPONSE = "missing_from_response"
    """The API answered the batch but had no entry for this query, even when re-asked."""
    REJECTED = "rejected"
    """The API rejected the request with an error code that retrying will not change."""
    RATE_LIMITED = "rate_limited"
    """The API kept answering "too many requests" until retries ran out."""
    SERVER_ERROR = "server_error"
    """The API kept failing (HTTP 5xx, queue error) until retries ran out."""
    TRANSPORT_ERROR = "transport_error"
    """No HTTP answer (connection error, timeout) until retries ran out."""
    MALFORMED_RESPONSE = "malformed_response"
    """The answer could not be decoded until retries ran out."""
    DEADLINE_EXCEEDED = "deadline_exceeded"
    """The call's ``deadline`` passed before the query was answered."""

    def __str__(self) -> str:
        return self.value

    @property
    def is_transient(self) -> bool:
        """Whether asking again later may get an answer: a failure of the moment (rate
        limited, server or transport errors, a malformed answer, an entry missing from
        one), not an invalid or rejected query or a passed deadline. ``wait_for_final``
        asks such queries again."""
        return self in _TRANSIENT_REASONS


_TRANSIENT_REASONS = frozenset(
    {
        UnresolvedReason.MISSING_FROM_RESPONSE,
        UnresolvedReason.RATE_LIMITED,
        UnresolvedReason.SERVER_ERROR,
        UnresolvedReason.TRANSPORT_ERROR,
        UnresolvedReason.MALFORMED_RESPONSE,
    }
)


@attrs.frozen(slots=True)
class Unresolved(JSONReady):
    """A query that ended without an answer, and why.

    Attributes:
        query: the query as sent (normalised), or as given when it was invalid.
        reason: the kind of failure.
        detail: a human-readable explanation naming the offending value or error.
        code: the vendor's error code, when the API gave one.
    """

    query: StatusQuery
    reason: UnresolvedReason
    detail: str
    code: int | None = None

    @property
    def phone_number(self) -> str:
        """The query's phone number."""
        return self.query.phone_number

    @property
    def message_id(self) -> int | str:
        """The query's message id."""
        return self.query.message_id

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this value (``json.dumps`` takes it)."""
        return attrs_dict(self)


def replaces(
    new: StatusResult | WireResult | Unresolved,
    known: StatusResult | WireResult | Unresolved | None,
) -> bool:
    """Whether ``new`` takes the place of ``known`` as a query's outcome: anything replaces
    nothing, but a known status is never replaced by a later failure to fetch it.

    The one rule of :meth:`SMSPartnerClient.wait_for_final` and of the CLI's
    ``status --wait``."""
    return known is None or not (type(new) is Unresolved and type(known) is not Unresolved)


def needs_poll(
    outcome: StatusResult | WireResult | Unresolved, retry_unresolved: bool = True
) -> bool:
    """Whether asking again later may change ``outcome``: a status that is not final, or
    (with ``retry_unresolved``) a transient failure. The one rule of
    :meth:`SMSPartnerClient.wait_for_final` and of the CLI's ``status --wait``."""
    if isinstance(outcome, Unresolved):
        return retry_unresolved and outcome.reason.is_transient
    return not outcome.is_final


@attrs.frozen(slots=True)
class SMSRecipient(Reported, JSONReady):
    """One recipient of an SMS in a bulk-status report.

    >>> r = SMSRecipient("+33612345678", "Delivered", 1517934416)
    >>> r.status, r.date.year
    (<DeliveryStatus.DELIVERED: 'Delivered'>, 2018)

    Attributes:
        phone_number: the recipient, as the API sent it.
        status_text: the status exactly as the API sent it (``status``: its mapped value).
        timestamp: when the status was reported (Unix seconds), if readable.
        stop_sms: the recipient replied STOP, if sent.
    """

    phone_number: str
    status_text: str
    timestamp: int | None = None
    stop_sms: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this value: its fields, then ``status`` and ``date``."""
        return attrs_dict(self, ("status", "date"))


@attrs.frozen(slots=True)
class MailRecipient(Reported, JSONReady):
    """One recipient of an e-mail in a Mail Partner bulk-status report.

    Attributes:
        email: the recipient's address.
        status_text: the status exactly as the API sent it (``status``: its mapped value).
        token: the message's token, if sent.
        cost: what the e-mail cost, if sent and readable.
        stop_mail: the recipient unsubscribed, if sent.
        timestamp: when the status was reported (Unix seconds), if readable.
    """

    email: str
    status_text: str
    token: str | None = None
    cost: float | None = None
    stop_mail: bool | None = None
    timestamp: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this value: its fields, then ``status`` and ``date``."""
        return attrs_dict(self, ("status", "date"))


class _Report(JSONReady):
    __slots__ = ()
    recipients: tuple[SMSRecipient, ...] | tuple[MailRecipient, ...]

    def __len__(self) -> int:
        return len(self.recipients)

    def counts_by_status(self) -> Counter[DeliveryStatus]:
        """How many recipients have each status."""
        return Counter(r.status for r in self.recipients)


@attrs.frozen(slots=True)
class SMSBulkReport(_Report):
    """Every recipient of one SMS message (``SMSPartnerClient.bulk_status``)."""

    message_id: str
    recipients: tuple[SMSRecipient, ...]

    def __iter__(self) -> Iterator[SMSRecipient]:
        return iter(self.recipients)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this value (``json.dumps`` takes it)."""
        return attrs_dict(self)


@attrs.frozen(slots=True)
class MailBulkReport(_Report):
    """Every recipient of one e-mail (``MailPartnerClient.bulk_status``)."""

    message_id: str
    recipients: tuple[MailRecipient, ...]

    def __iter__(self) -> Iterator[MailRecipient]:
        return iter(self.recipients)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this value (``json.dumps`` takes it)."""
        return attrs_dict(self)
