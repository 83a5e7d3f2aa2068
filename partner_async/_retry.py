"""The retry policy: what waits how long between attempts."""

from __future__ import annotations

import email.utils
import math
import random
import time
from typing import Any

import attrs

from ._serialize import JSONReady, attrs_dict

__all__ = ["RetryPolicy", "parse_retry_after"]


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


@attrs.frozen(slots=True)
class RetryPolicy(JSONReady):
    """How failed requests are retried: exponential backoff with full jitter.

    Attempt ``n`` (0-based) waits a uniformly random time in
    ``[0, min(backoff_max, backoff_base * 2**n)]``, or the server's ``Retry-After`` when it
    sent a longer one (capped at ``max_retry_after``). What is retried is fixed by the SDK (see the
    README's table); how often and how long is this object.

    >>> policy = RetryPolicy(max_retries=5, backoff_base=0.2)
    >>> client = SMSPartnerClient(retry=policy)  # doctest: +SKIP

    Attributes:
        max_retries: retries after the first attempt (0 disables retrying).
        backoff_base: the first backoff's upper bound, in seconds.
        backoff_max: the cap on any backoff, in seconds.
        max_retry_after: the cap on a server's ``Retry-After``, in seconds.
    """

    max_retries: int = attrs.field(default=3)
    backoff_base: float = attrs.field(default=0.5, validator=_non_negative)
    backoff_max: float = attrs.field(default=30.0, validator=_non_negative)
    max_retry_after: float = attrs.field(default=120.0, validator=_non_negative)

    @max_retries.validator
    def _check_max_retries(self, _: attrs.Attribute[int], value: int) -> None:
        if type(value) is not int or value < 0:
            raise ValueError(f"max_retries must be an int >= 0, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this policy (``json.dumps`` takes it)."""
        return attrs_dict(self)

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (full jitter)."""
        ceiling = min(self.backoff_max, self.backoff_base * (2.0**attempt))
        return (rng or random).uniform(0.0, ceiling)

    def delay(
        self, attempt: int, retry_after: float | None, rng: random.Random | None = None
    ) -> float:
        """The wait before the next attempt: the backoff, or the server's ``Retry-After``
        (capped at ``max_retry_after``) when that is longer. A ``Retry-After`` of 0 or less
        never makes retries immediate."""
        backoff = self.backoff(attempt, rng)
        if retry_after is not None:
            return max(min(retry_after, self.max_retry_after), backoff)
        return backoff


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date; None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)
