"""Sending requests: limits, retries, and what each kind of answer means.

:class:`Requester` is the client-wide stage between batches and the wire: it holds a
request slot (concurrency, start rate, 429 pause), sends, classifies the answer, and
retries what is transient. :func:`run_batch` turns one multi-status batch into one
outcome per query, splitting batches the API rejects because of some of their items and
re-asking, once, the queries an answer left out.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

import attrs

from ._clock import Clock
from ._codes import CodeKind, api_error, code_kind
from ._events import (
    EventHooks,
    RequestInfo,
    ResponseInfo,
    end_span,
    fire,
    start_span,
    tracer,
    tracing,
)
from ._exceptions import (
    AuthenticationError,
    PartnerError,
    PermissionDeniedError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    TransportError,
)
from ._limits import DeadlinePassed, RequestLimiter, Slot
from ._merge import match_entries
from ._models import StatusQuery, Unresolved, UnresolvedReason
from ._results import CallStats, Outcome
from ._retry import RetryPolicy, parse_retry_after
from ._secret import Secret, SecretBody
from ._transport import Params, RawResponse, Timeout, Transport
from ._wire import ErrorBody, MultiStatusBody, decode_multi_status, encode_multi_status

__all__ = [
    "BatchSettings",
    "Rejected",
    "Requester",
    "RetryableFailure",
    "Split",
    "is_retryable_status",
    "run_batch",
]

logger = logging.getLogger("partner_async")

T = TypeVar("T")

#: HTTP statuses that say "not now" rather than "never": retried with backoff.
_RETRY_4XX = frozenset({408, 425, 429})
#: 5xx statuses that no retry can change: the server does not implement the method (501)
#: or the HTTP version (505).
_FINAL_5XX = frozenset({501, 505})


def is_retryable_status(status: int) -> bool:
    """Whether an HTTP error status is retried: 408, 425, 429, and every 5xx except 501
    and 505 (the README's table is checked against this rule by the tests)."""
    return status in _RETRY_4XX or (500 <= status <= 599 and status not in _FINAL_5XX)


class RetryableFailure(Exception):
    """Internal: an attempt failed in a way a later attempt may not."""

    request: RequestInfo | None = None
    response: ResponseInfo | None = None

    def __init__(
        self,
        reason: UnresolvedReason,
        detail: str,
        *,
        retry_after: float | None = None,
        code: int | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.retry_after = retry_after
        self.code = code
        self.status_code = status_code

    def to_error(self) -> PartnerError:
        """The public exception for this failure once retries are exhausted, with the
        ``request`` and ``response`` of the last attempt."""
        error = self._error()
        error.request, error.response = self.request, self.response
        return error

    def _error(self) -> PartnerError:
        if self.reason is UnresolvedReason.TRANSPORT_ERROR:
            return TransportError(self.detail)
        if self.reason is UnresolvedReason.MALFORMED_RESPONSE:
            return ResponseFormatError(self.detail, status_code=self.status_code)
        if self.code is not None:
            return api_error(self.code, self.detail, status_code=self.status_code)
        if self.reason is UnresolvedReason.RATE_LIMITED:
            return RateLimitError(429, self.detail, status_code=self.status_code)
        return ServerError(self.detail, status_code=self.status_code or 0)


class Rejected(Exception):
    """Internal: the API refused the request for good (not fatal for other requests)."""

    def __init__(self, error: PartnerError, code: int | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.code = code


class Split(Rejected):
    """Internal: the API refused the request because of some of its items."""


def classify(raw: RawResponse, decode: Callable[[bytes], T | ErrorBody]) -> T:
    """The decoded answer, or the failure it stands for (raised)."""
    status = raw.status_code
    try:
        decoded: T | ErrorBody | None = decode(raw.content)
        format_problem = ""
    except ResponseFormatError as exc:
        decoded, format_problem = None, str(exc)
    if isinstance(decoded, ErrorBody):
        code, message = decoded.code, decoded.message
        kind = code_kind(code)
        error = api_error(code, message, status_code=status, errors=decoded.errors)
        if kind is CodeKind.FATAL:
            raise error
        if kind is CodeKind.RETRY:
            reason = UnresolvedReason.RATE_LIMITED if code == 429 else UnresolvedReason.SERVER_ERROR
            raise RetryableFailure(
                reason,
                f"code {code}: {error.message}",
                retry_after=parse_retry_after(raw.retry_after),
                code=code,
                status_code=status,
            )
        if kind is CodeKind.SPLIT:
            raise Split(error, code)
        raise Rejected(error, code)
    if 200 <= status < 300:
        if decoded is None:
            raise RetryableFailure(
                UnresolvedReason.MALFORMED_RESPONSE, format_problem, status_code=status
            )
        return decoded
    if is_retryable_status(status):
        reason = UnresolvedReason.RATE_LIMITED if status == 429 else UnresolvedReason.SERVER_ERROR
        raise RetryableFailure(
            reason,
            f"HTTP {status}",
            retry_after=parse_retry_after(raw.retry_after),
            status_code=status,
        )
    if status == 401:
        raise AuthenticationError(401, "HTTP 401 Unauthorized", status_code=status)
    if status == 403:
        raise PermissionDeniedError(403, "HTTP 403 Forbidden", status_code=status)
    raise Rejected(ServerError(f"HTTP {status}", status_code=status), None)


class Requester:
    """One client's way of sending a request: slot, send, classify, retry.

    Every attempt of every request passes here, whatever the backend and transport path,
    so this is where ``event_hooks`` fire, OpenTelemetry spans start, and errors get the
    ``request`` / ``response`` of their last attempt.
    """

    def __init__(
        self,
        transport: Transport,
        limiter: RequestLimiter,
        clock: Clock,
        rng: random.Random | None = None,
    ) -> None:
        self.transport = transport
        self.limiter = limiter
        self.clock = clock
        self._rng = rng
        self.event_hooks = EventHooks()
        self._tracer = tracer()

    async def call(
        self,
        method: str,
        url: str,
        decode: Callable[[bytes], T | ErrorBody],
        *,
        policy: RetryPolicy,
        timeout: Timeout,
        stats: CallStats,
        params: Params | None = None,
        json_body: SecretBody | None = None,
        items: int = 0,
        reserved: Slot | None = None,
        deadline: float | None = None,
        pace: Callable[[], Awaitable[None]] | None = None,
    ) -> T:
        """Send until an answer decodes, a failure is final, or retries run out.

        ``reserved``: a slot already held for the first attempt (released after it).
        ``deadline`` (clock time): no wait, attempt or retry goes past it.
        ``pace``, when given, is awaited before every attempt (an endpoint's own rate
        limit, such as cost-resume's 5 requests per minute).

        Raises the last :class:`RetryableFailure` when retries run out or the deadline
        passes, :class:`Rejected` for a final refusal, and public errors for fatal ones.
        """
        path = url.rsplit("/", 1)[-1]
        clock = self.clock
        attempt = 0
        last: RetryableFailure | None = None
        while True:
            if pace is not None:
                await pace()
            try:
                async with self.limiter.slot(reserved, deadline):
                    reserved = None
                    stats.requests += 1
                    if attempt:
                        stats.retries += 1
                    return await self._attempt(
                        method,
                        url,
                        decode,
                        timeout,
                        params,
                        json_body,
                        items,
                        attempt + 1,
                        None if deadline is None else deadline - clock.now(),
                    )
            except DeadlinePassed:
                raise _deadline_failure(last) from None
            except RetryableFailure as failure:
                if failure.reason is UnresolvedReason.DEADLINE_EXCEEDED:
                    raise
                rate_limited = failure.reason is UnresolvedReason.RATE_LIMITED
                delay = policy.delay(attempt, failure.retry_after, self._rng)
                if rate_limited:
                    # A 429 slows the whole client: no request of it starts before then.
                    self.limiter.pause_until(clock.now() + delay)
                if (
                    deadline is not None
                    and clock.now() + (0.0 if attempt >= policy.max_retries else delay) >= deadline
                ):
                    raise _deadline_failure(failure) from None
                if attempt >= policy.max_retries:
                    raise
                last = failure
                logger.info(
                    "%s /%s failed (%s); retry %d/%d in %.2fs",
                    method,
                    path,
                    failure.detail,
                    attempt + 1,
                    policy.max_retries,
                    delay,
                )
                attempt += 1
                if not rate_limited:
                    await clock.sleep(delay)

    async def _attempt(
        self,
        method: str,
        url: str,
        decode: Callable[[bytes], T | ErrorBody],
        timeout: Timeout,
        params: Params | None,
        json_body: SecretBody | None,
        items: int,
        attempt: int,
        limit: float | None = None,
    ) -> T:
        """One attempt, within ``limit`` seconds if given: hooks and span around the send,
        then the answer classified."""
        clock = self.clock
        hooks = self.event_hooks
        request: RequestInfo | None = None
        if hooks["request"] or hooks["response"] or tracing(self._tracer):
            request = RequestInfo(method, url, urlsplit(url).path, attempt, items)
            if hooks["request"]:
                await fire(hooks["request"], request)
        raw: RawResponse | None = None
        error: TransportError | ResponseFormatError | None = None
        with start_span(self._tracer, request) as span:
            started = clock.now()
            try:
                raw = await self.transport.request(
                    method, url, params=params, json_body=json_body, timeout=timeout, limit=limit
                )
            except (TransportError, ResponseFormatError) as exc:  # no answer, or one too large
                error = exc
            elapsed = clock.now() - started
            if span is not None:
                end_span(span, None if raw is None else raw.status_code, error)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s /%s items=%d status=%s attempt=%d elapsed=%.3fs",
                method,
                url.rsplit("/", 1)[-1],
                items,
                type(error).__name__ if raw is None else raw.status_code,
                attempt,
                elapsed,
            )
        response: ResponseInfo | None = None
        if request is not None:
            response = _response_info(request, raw, error, elapsed)
            if hooks["response"]:
                await fire(hooks["response"], response)
        try:
            if isinstance(error, ResponseFormatError):  # too large, or a corrupt encoding
                raise RetryableFailure(
                    UnresolvedReason.MALFORMED_RESPONSE, str(error), status_code=error.status_code
                )
            if raw is None:
                raise RetryableFailure(UnresolvedReason.TRANSPORT_ERROR, str(error))
            return classify(raw, decode)
        except (PartnerError, Rejected, RetryableFailure) as exc:
            # The error carries its attempt (built now if no hook or span needed it).
            if request is None:
                request = RequestInfo(method, url, urlsplit(url).path, attempt, items)
                response = _response_info(request, raw, error, elapsed)
            carrier = exc.error if isinstance(exc, Rejected) else exc
            carrier.request, carrier.response = request, response
            raise


def _response_info(
    request: RequestInfo, raw: RawResponse | None, error: Exception | None, elapsed: float
) -> ResponseInfo:
    if raw is None:
        return ResponseInfo(request, None, elapsed, f"{type(error).__name__}: {error}")
    return ResponseInfo(request, raw.status_code, elapsed, None, raw.content_type, raw.retry_after)


@attrs.frozen
class BatchSettings:
    """Everything one call's batches are sent with."""

    requester: Requester
    url: str
    api_key: Secret
    region: str
    policy: RetryPolicy
    timeout: Timeout
    decode: Callable[[bytes], MultiStatusBody | ErrorBody] = decode_multi_status
    params: Params | None = None
    isolation_budget: int = 32
    deadline: float | None = None  # clock time; None: no deadline


async def run_batch(
    settings: BatchSettings,
    batch: Sequence[tuple[str, int]],
    stats: CallStats,
    *,
    reask: bool = True,
    reserved: Slot | None = None,
    budget: list[int] | None = None,
) -> list[Outcome]:
    """One outcome per query of ``batch``, in order. Raises only fatal errors.

    ``reserved``: a request slot already held for the first attempt. ``budget`` (one
    mutable count shared by a batch and its halves) bounds the extra requests spent
    isolating the queries of a refused batch: each split costs two; once it is spent, the
    rest of the refused queries end ``Unresolved(REJECTED, code)``.
    """
    deadline = settings.deadline
    if deadline is not None and settings.requester.clock.now() >= deadline:
        if reserved is not None:
            reserved.release()
        failure = _deadline_failure(None)
        return _unresolved(batch, failure.reason, failure.detail, None)
    if budget is None:
        budget = [settings.isolation_budget]
    try:
        body: MultiStatusBody = await settings.requester.call(
            "POST",
            settings.url,
            settings.decode,
            policy=settings.policy,
            timeout=settings.timeout,
            stats=stats,
            params=settings.params,
            json_body=encode_multi_status(settings.api_key, batch),
            items=len(batch),
            reserved=reserved,
            deadline=deadline,
        )
    except RetryableFailure as failure:
        return _unresolved(batch, failure.reason, failure.detail, failure.code)
    except Split as refusal:
        if len(batch) == 1:
            return _unresolved(batch, UnresolvedReason.REJECTED, str(refusal.error), refusal.code)
        if budget[0] < 2:
            logger.warning(
                "batch of %d refused (%s); not isolated: the isolation budget of %d extra "
                "requests is spent",
                len(batch),
                refusal.error,
                settings.isolation_budget,
            )
            detail = (
                f"{refusal.error} (a batch refused as a whole; not isolated further: the "
                f"isolation budget of {settings.isolation_budget} extra requests is spent)"
            )
            return _unresolved(batch, UnresolvedReason.REJECTED, detail, refusal.code)
        budget[0] -= 2
        middle = len(batch) // 2
        logger.info(
            "batch of %d refused (%s); splitting it to isolate the cause",
            len(batch),
            refusal.error,
        )
        first = await run_batch(settings, batch[:middle], stats, budget=budget)
        second = await run_batch(settings, batch[middle:], stats, budget=budget)
        return first + second
    except Rejected as refusal:
        return _unresolved(batch, UnresolvedReason.REJECTED, str(refusal.error), refusal.code)

    stats.batches += 1
    if body.unreadable_fields:
        if not stats.unreadable_fields:  # once per call
            logger.warning(
                "unreadable fields in multi-status entries, read as None (first: %s); "
                "the entries keep their status (counted in stats.unreadable_fields)",
                body.first_unreadable,
            )
        stats.unreadable_fields += body.unreadable_fields
    matched, unexpected, conflicting = match_entries(batch, body.entries, settings.region)
    stats.unexpected_entries += unexpected
    if conflicting:
        if not stats.conflicting_entries:
            logger.warning(
                "an answer gave %d queries two different statuses; the first entry wins "
                "(counted in CallStats.conflicting_entries, logged once per call)",
                conflicting,
            )
        stats.conflicting_entries += conflicting
    if None not in matched:
        return matched  # type: ignore[return-value]
    missing = [i for i, result in enumerate(matched) if result is None]
    outcomes: list[Outcome | None] = list(matched)
    missing_queries = [batch[i] for i in missing]
    if reask:
        stats.reasked += len(missing)
        logger.info("%d queries missing from an answer; asking again", len(missing))
        again = await run_batch(settings, missing_queries, stats, reask=False, budget=budget)
    else:
        again = _unresolved(
            missing_queries,
            UnresolvedReason.MISSING_FROM_RESPONSE,
            "the API's answer had no entry for this query",
            None,
        )
    for i, outcome in zip(missing, again, strict=True):
        outcomes[i] = outcome
    return outcomes  # type: ignore[return-value]


def _deadline_failure(last: RetryableFailure | None) -> RetryableFailure:
    detail = "the call's deadline passed before an answer came"
    if last is not None:
        detail += f" (last failure: {last.detail})"
    return RetryableFailure(UnresolvedReason.DEADLINE_EXCEEDED, detail)


def _unresolved(
    batch: Sequence[tuple[str, int]], reason: UnresolvedReason, detail: str, code: int | None
) -> list[Outcome]:
    return [Unresolved(StatusQuery(p, m), reason, detail, code) for p, m in batch]
