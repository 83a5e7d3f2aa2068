"""The exception hierarchy. Every error the SDK raises is a :class:`PartnerError`::

    PartnerError                    partial_results, request, response, status_code
    ├── ConfigurationError          (also a ValueError) a bad option, key or base URL
    ├── ClientClosedError           (also a RuntimeError) used or closed while in use
    ├── InputError                  iterating the caller's queries raised (its __cause__)
    ├── InvalidInputError           (also a TypeError) an input item that is not a pair
    ├── TransportError              no HTTP answer (connection, DNS, TLS)
    │   └── RequestTimeoutError     ... within the timeout or the deadline
    ├── ResponseFormatError         an answer that is not the documented JSON or XML
    │   └── ResponseTooLargeError   ... larger than max_response_bytes (compressed or not)
    ├── ServerError                 an HTTP error status with no vendor error body
    ├── StoreError                  the tracker's store failed (unreachable, corrupt, foreign)
    └── APIError                    success: false with a vendor code (code, message, errors)
        ├── AuthenticationError     codes 1, 10; HTTP 401
        ├── PermissionDeniedError   codes 20, 30, 40, 96; HTTP 403
        ├── InsufficientCreditError code 11
        ├── MessageNotFoundError    code 4
        ├── MessageIdRequiredError  code 3
        ├── RateLimitError          code 429, HTTP 429 (retry_after)
        └── InvalidRequestError     codes 2, 5, 6, 9, 50, 90

No message, ``repr`` or chained exception ever carries the API key: messages are built
from vendor codes and texts (the key masked in whatever the server sends back), and a
:class:`TransportError` keeps the HTTP library's error as its ``__cause__`` only as a copy
of the same type (``httpx.ConnectError``, ``httpx.ReadTimeout``...) with the redacted
message and no request (the original holds the request URL, which for GET endpoints
contains the key).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ._events import RequestInfo, ResponseInfo
    from ._results import MultiStatusResult

__all__ = [
    "APIError",
    "AuthenticationError",
    "ClientClosedError",
    "ConfigurationError",
    "InputError",
    "InsufficientCreditError",
    "InvalidInputError",
    "InvalidRequestError",
    "MessageIdRequiredError",
    "MessageNotFoundError",
    "PartnerError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseFormatError",
    "ResponseTooLargeError",
    "ServerError",
    "StoreError",
    "TransportError",
]

_E = TypeVar("_E", bound="PartnerError")


class PartnerError(Exception):
    """Base class of every error raised by ``partner_async``.

    Attributes:
        partial_results: set when a ``multi_status`` call raises after some of its queries
            were settled (a fatal API error, the input failing, the client closed): a
            :class:`~partner_async.MultiStatusResult` of every outcome settled so far, in
            input order. None otherwise.
        request: for an error that came from a request, the :class:`RequestInfo` of its
            last attempt (method, URL without the key, attempt, items); else None.
        response: the :class:`ResponseInfo` of that attempt (HTTP status, elapsed time,
            or the transport error when no answer came); else None.

    Every error pickles and copies (``pickle``, ``copy.copy``, passing it between
    processes) with all its attributes. A copy keeps the chained ``__cause__``; a pickle
    leaves it out, as Python does for every exception.
    """

    partial_results: MultiStatusResult | None = None
    request: RequestInfo | None = None
    response: ResponseInfo | None = None
    status_code: int | None = None
    """The HTTP status of the answer the error came from, when there was one."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its message and attributes, without calling __init__ (whose
        # arguments differ per class and would otherwise have to be kept in step here).
        return (_rebuild, (type(self), self.args), self.__dict__ or None)

    def __copy__(self: _E) -> _E:
        clone = _rebuild(type(self), self.args)
        clone.__dict__.update(self.__dict__)
        clone.__cause__, clone.__context__ = self.__cause__, self.__context__
        clone.__suppress_context__ = self.__suppress_context__
        return clone


def _rebuild(cls: type[_E], args: tuple[Any, ...]) -> _E:
    """An error of class ``cls`` with ``args``, its attributes set afterwards."""
    return cls.__new__(cls, *args)


class ConfigurationError(PartnerError, ValueError):
    """The client was configured wrongly: no API key, a bad option or base URL."""


class ClientClosedError(PartnerError, RuntimeError):
    """The client was used after :meth:`aclose` (or after its ``async with`` block), or
    was closed while the call was in progress."""


class InputError(PartnerError):
    """The caller's own input failed: iterating the queries raised.

    The caller's exception is chained as ``__cause__``; ``partial_results`` holds what was
    settled before it.
    """


class InvalidInputError(PartnerError, TypeError):
    """An input item is not a ``StatusQuery`` or a ``(phone_number, message_id)`` pair.

    Invalid *values* (a malformed number, a non-numeric message id) do not raise: such a
    query becomes an :class:`~partner_async.Unresolved` outcome. A wrongly *shaped* item is
    a programming error, and raising names it and its position.
    """


class TransportError(PartnerError):
    """The request did not get an HTTP answer: connection refused or reset, DNS, TLS...

    Raised by single-request endpoints once retries are exhausted; in ``multi_status``
    the queries of such a batch become :class:`~partner_async.Unresolved` instead.
    """


class RequestTimeoutError(TransportError):
    """The request did not complete within the configured timeout."""


class ResponseFormatError(PartnerError):
    """The server answered with a body that is not the documented JSON or XML."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ResponseTooLargeError(ResponseFormatError):
    """The answer was larger than the client's ``max_response_bytes``, as received or
    decompressed: no complete answer is that large, so it is taken as malformed."""


class ServerError(PartnerError):
    """The server answered with an HTTP error status and no usable vendor error body."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class StoreError(PartnerError):
    """The tracker's store failed: unreachable, corrupt, or not a tracker store.

    Nothing already stored is lost: every change is written in one transaction (SQLite)
    or one atomic script (Redis) before it is reported.
    """


class APIError(PartnerError):
    """The API answered ``success: false`` with a vendor error ``code``.

    Attributes:
        code: the vendor's numeric error code (``10`` for an invalid key, ...).
        message: the vendor's message, as sent.
        status_code: the HTTP status that carried the error body.
        errors: the vendor's validation detail, when it sent one (code 9 carries an
            ``errors`` or ``error`` array of ``{elementId, message}``): ``(element_id,
            message)`` pairs, as sent. Also part of ``str(error)``.
    """

    def __init__(
        self,
        code: int,
        message: str,
        *,
        status_code: int | None = None,
        errors: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.code = code
        self.message = message
        self.status_code = status_code
        self.errors = errors
        detail = "; ".join(f"{e}: {m}" if e else m for e, m in errors)
        detail = f" ({detail})" if detail else ""
        super().__init__(f"[code {code}] {message}{detail}{_ADVICE.get(code, '')}")


class AuthenticationError(APIError):
    """The API key is missing (code 1) or not accepted (code 10)."""


class PermissionDeniedError(APIError):
    """The account may not use the API: disabled (20), blocked (30), API access denied (40)
    or calling IP not authorised (96)."""


class InsufficientCreditError(APIError):
    """The account has not enough credit (code 11)."""


class MessageNotFoundError(APIError):
    """No message with this id exists for this account (code 4)."""


class MessageIdRequiredError(APIError):
    """The request had no message id (code 3)."""


class RateLimitError(APIError):
    """Too many requests (code 429 or HTTP 429) and retries were exhausted.

    Attributes:
        retry_after: the seconds the server asked to wait (``Retry-After``), if it said.
    """

    retry_after: float | None = None


class InvalidRequestError(APIError):
    """The request was rejected as malformed: codes 2, 5, 6, 9, 50, 90."""


_ADVICE: dict[int, str] = {
    1: " - pass api_key=... or set the API key environment variable",
    10: " - check the API key in your account settings",
    11: " - top up the account",
    20: " - the account is disabled; contact the vendor",
    30: " - the account is blocked; contact the vendor",
    40: " - API access is not enabled for this account",
    96: " - add this machine's IP address to the account's authorised IPs",
    3: " - pass a message id",
    4: " - check the message id and that it belongs to this account",
}
