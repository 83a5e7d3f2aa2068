"""Delivery statuses, and the mapping of every documented spelling onto them."""

from __future__ import annotations

import enum

__all__ = ["DeliveryStatus", "is_final_answer", "parse_status"]


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
        """True for Delivered and Not delivered: the status will not change any more.

        Waiting and Unknown (an unrecognised status text, the operator code ``UNKNOWN``)
        are not final. For a whole answer see :func:`is_final_answer`.
        """
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


def is_final_answer(status: DeliveryStatus, code: int) -> bool:
    """THE finality rule of the SDK (``StatusResult.is_final``, ``wait_for_final``,
    ``MultiStatusResult.waiting``, the CLI's ``--wait`` all use it):

    - an answer with a per-item code other than 200 is final: the API answered for good
      about this item (code 4 "Number not found", or 2/3/6/9 for a bad item);
    - otherwise the status decides: Delivered and Not delivered are final; Waiting and
      Unknown (an unrecognised status text, the operator code ``UNKNOWN``) are not, and
      ``wait_for_final`` keeps asking until they change or its deadline passes.
    """
    return (
        code != 200 or status is DeliveryStatus.DELIVERED or status is DeliveryStatus.NOT_DELIVERED
    )


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
