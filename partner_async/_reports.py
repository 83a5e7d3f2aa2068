"""Value classes of the single-request SMS endpoints: message-status, bulk-status-by-tag
and statistics/cost-resume."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Literal

import attrs

from ._models import Dated, Reported, SMSRecipient
from ._serialize import JSONReady, attrs_dict
from ._status import DeliveryStatus

__all__ = ["CostInterval", "CostRow", "CostStatistics", "MessageStatus", "TagStatusReport"]

#: The ``interval`` values of ``GET /statistics/cost-resume``.
CostInterval = Literal["last_month", "last_twelve_months", "custom"]


@attrs.frozen(slots=True)
class MessageStatus(Reported, JSONReady):
    """The status of one SMS to one recipient (``SMSPartnerClient.message_status``).

    Attributes:
        phone_number: the recipient, in E.164 (the number asked about; the vendor echoes
            it in national form).
        message_id: the message id.
        status_text: the status exactly as the API sent it (the ``statut`` field);
            ``status`` is its mapped value.
        timestamp: when the status was reported (Unix seconds, UTC), if readable. The
            vendor sends a Unix timestamp string or ``YYYY-MM-DD HH:MM:SS`` in its local
            time (read as Europe/Paris).
        stop_sms: the recipient replied STOP, if sent.
        cost: what the message cost, as a ``Decimal``, if sent.
        country_code: the recipient's country (ISO 3166, ``"FR"``), if sent.
        currency: the currency of ``cost`` (``"EUR"``), if sent.
    """

    phone_number: str
    message_id: int
    status_text: str
    timestamp: int | None = None
    stop_sms: bool | None = None
    cost: Decimal | None = None
    country_code: str | None = None
    currency: str | None = None

    @property
    def is_final(self) -> bool:
        """True once the status will not change (see the README's finality rule)."""
        return self.status.is_final

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this value (``json.dumps`` takes it)."""
        return attrs_dict(self, ("status", "date", "is_final"))


@attrs.frozen(slots=True)
class TagStatusReport(JSONReady):
    """Every recipient of the SMS sent with one tag (``SMSPartnerClient.bulk_status_by_tag``).

    The vendor pages its answer (``currentPage``, ``total``) but documents no parameter
    to ask for another page: :attr:`is_complete` tells whether every recipient came.

    Attributes:
        tag: the tag asked about.
        current_page: the answer's ``currentPage``, if sent.
        total: the answer's ``total`` (recipients in all), if sent.
        recipients: the recipients this answer lists.
    """

    tag: str
    current_page: int | None
    total: int | None
    recipients: tuple[SMSRecipient, ...]

    def __len__(self) -> int:
        return len(self.recipients)

    def __iter__(self) -> Iterator[SMSRecipient]:
        return iter(self.recipients)

    @property
    def is_complete(self) -> bool:
        """False when ``total`` says there are more recipients than this answer lists."""
        return self.total is None or self.total <= len(self.recipients)

    def counts_by_status(self) -> Counter[DeliveryStatus]:
        """How many recipients have each status."""
        return Counter(r.status for r in self.recipients)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this value (``json.dumps`` takes it)."""
        return attrs_dict(self, ("is_complete",))


@attrs.frozen(slots=True)
class CostRow(Dated, JSONReady):
    """One period of ``GET /statistics/cost-resume``.

    Attributes:
        month: the month's name as the vendor wrote it (``"october"``).
        year: the year.
        month_number: 1 to 12 (the ``m`` field), if sent.
        timestamp: the period's start (Unix seconds), if sent.
        type: the period's kind as sent (``"month"``).
        cost: what was spent, as a ``Decimal`` (None if unreadable).
        messages_sent: how many SMS were sent (the ``nb_send`` field; None if unreadable).
    """

    month: str
    year: int | None
    month_number: int | None
    timestamp: int | None
    type: str
    cost: Decimal | None
    messages_sent: int | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this value (``json.dumps`` takes it)."""
        return attrs_dict(self, ("date",))


@attrs.frozen(slots=True)
class CostStatistics(JSONReady):
    """Sending statistics (``SMSPartnerClient.cost_statistics``): one row per period.

    Attributes:
        interval: the interval asked for.
        rows: the periods, as the API listed them.
    """

    interval: str
    rows: tuple[CostRow, ...]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[CostRow]:
        return iter(self.rows)

    @property
    def total_cost(self) -> Decimal:
        """The sum of the rows' costs (rows without a readable cost count 0)."""
        return sum((r.cost for r in self.rows if r.cost is not None), Decimal(0))

    @property
    def total_messages(self) -> int:
        """The sum of the rows' messages sent."""
        return sum(r.messages_sent for r in self.rows if r.messages_sent is not None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this value (``json.dumps`` takes it)."""
        return attrs_dict(self, ("total_cost", "total_messages"))
