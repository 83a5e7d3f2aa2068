"""Delivery statuses, and the mapping of every documented spelling onto them."""

from __future__ import annotations

import enum

__all__ = ["DeliveryStatus", "parse_status"]


class DeliveryStatus(str, enum.Enum):
    """The delivery status of one message to one recipient.

    The vendor documents three statuses and several spellings of each (``delivered``,
    ``DELIVRD``, ``ko``, ``UNDELIV``, ``PENDING``...). Every documented spelling maps onto
    one of them; anything else (including "Number not found") is :attr:`UNKNOWN`.
    The raw text is always kept beside it (``StatusResult.status_text``).

    >>> parse_status("DELIVRD")
    <DeliveryStatus.DELIVERED: 'Delivered'>
    """

    DELIVERED = "Delivered"
    NOT_DELIVERED = "Not delivered"
    WAITING = "Waiting"
    UNKNOWN = "Unknown"

    @property
    def is_final(self) -> bool:
        """True for Delivered and Not delivered: the status will not change any more."""
        return self is DeliveryStatus.DELIVERED or self is DeliveryStatus.NOT_DELIVERED

    def __str__(self) -> str:
        return self.value


_SPELLINGS: dict[str, DeliveryStatus] = {
    "delivered": DeliveryStatus.DELIVERED,
    "delivrd": DeliveryStatus.DELIVERED,
    "not delivered": DeliveryStatus.NOT_DELIVERED,
    "ko": DeliveryStatus.NOT_DELIVERED,
    "undeliv": DeliveryStatus.NOT_DELIVERED,
    "expired": DeliveryStatus.NOT_DELIVERED,
    "rejectd": DeliveryStatus.NOT_DELIVERED,
    "waiting": DeliveryStatus.WAITING,
    "pending": DeliveryStatus.WAITING,
    "acceptd": DeliveryStatus.WAITING,
    "enroute": DeliveryStatus.WAITING,
}

# Exact raw texts seen so far -> status. The texts a server sends are few, so this cache
# stays tiny and makes the per-item cost one dict lookup.
_CACHE: dict[str, DeliveryStatus] = {}
_CACHE_MAX = 1024


def parse_status(text: object) -> DeliveryStatus:
    """Map a raw status text onto a :class:`DeliveryStatus` (case and spaces ignored)."""
    if not isinstance(text, str):
        return DeliveryStatus.UNKNOWN
    status = _CACHE.get(text)
    if status is None:
        status = _SPELLINGS.get(" ".join(text.split()).lower(), DeliveryStatus.UNKNOWN)
        if len(_CACHE) < _CACHE_MAX:
            _CACHE[text] = status
    return status
