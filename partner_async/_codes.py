"""The vendor's error codes, and what the SDK does with each (one table, used everywhere)."""

from __future__ import annotations

import enum

from ._exceptions import (
    APIError,
    AuthenticationError,
    InsufficientCreditError,
    InvalidRequestError,
    MessageIdRequiredError,
    MessageNotFoundError,
    PermissionDeniedError,
    RateLimitError,
)


class CodeKind(enum.Enum):
    """How a request-level vendor code is handled."""

    FATAL = "fatal"  # no retry can fix it for any batch: raise at once, cancel the rest
    RETRY = "retry"  # transient: retry with backoff
    SPLIT = "split"  # the request is rejected because of some of its items: bisect the batch
    REJECT = "reject"  # the request is rejected as a whole; retrying will not change it


#: code -> (meaning, kind, exception class raised for it)
CODES: dict[int, tuple[str, CodeKind, type[APIError]]] = {
    1: ("API key required", CodeKind.FATAL, AuthenticationError),
    2: ("phone number required", CodeKind.SPLIT, InvalidRequestError),
    3: ("message id required", CodeKind.REJECT, MessageIdRequiredError),
    4: ("message not found", CodeKind.REJECT, MessageNotFoundError),
    5: ("number list empty", CodeKind.REJECT, InvalidRequestError),
    6: ("bad phone number format", CodeKind.SPLIT, InvalidRequestError),
    9: ("not a mobile number", CodeKind.SPLIT, InvalidRequestError),
    10: ("invalid API key", CodeKind.FATAL, AuthenticationError),
    11: ("not enough credit", CodeKind.FATAL, InsufficientCreditError),
    20: ("account disabled", CodeKind.FATAL, PermissionDeniedError),
    30: ("account blocked", CodeKind.FATAL, PermissionDeniedError),
    40: ("API access denied", CodeKind.FATAL, PermissionDeniedError),
    50: ("at most 500 numbers per request", CodeKind.SPLIT, InvalidRequestError),
    90: ("malformed JSON", CodeKind.REJECT, InvalidRequestError),
    96: ("IP address not authorised", CodeKind.FATAL, PermissionDeniedError),
    429: ("too many requests", CodeKind.RETRY, RateLimitError),
    500: ("queue error", CodeKind.RETRY, APIError),
}


def code_kind(code: int) -> CodeKind:
    """How to handle a request-level error ``code``; unknown codes are rejections."""
    entry = CODES.get(code)
    return entry[1] if entry else CodeKind.REJECT


def api_error(
    code: int,
    message: str | None,
    *,
    status_code: int | None = None,
    errors: tuple[tuple[str, str], ...] = (),
) -> APIError:
    """The exception for a vendor error body (``message`` defaults to the code's meaning;
    ``errors``: the body's validation detail, kept as sent)."""
    entry = CODES.get(code)
    cls = entry[2] if entry else APIError
    text = message or (entry[0] if entry else "unknown error")
    return cls(code, text, status_code=status_code, errors=errors)
