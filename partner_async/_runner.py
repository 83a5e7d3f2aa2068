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
from ._config import RequestSettings
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
    RequestTimeoutError,
    ResponseFormatError,
    ServerError,
    TransportError,
)
from ._limits import RequestLimiter, Slot
from ._merge import match_entries
from ._models import StatusQuery, Unresolved, UnresolvedReason
from ._results import Answer, CallStats
from ._retry import RetryPolicy, parse_retry_after
from ._secret import Secret, SecretBody
from ._transport import Params, RawResponse, Timeout, Transport
from ._wire import ErrorBody, MultiStatusBody, decode_multi_status, encode_multi_status

__all__ = [
    "BatchSettings",
    "Failure",
    "Requester",
    "classify",
    "is_retryable_status",
    "retry_delay",
    "run_batch",
    "should_retry",
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


@attrs.frozen
class Failure:
    """Why a request ended without a usable answer: a value, returned rather than raised.

    A ``retryable`` failure may not happen again on another attempt; a refusal (reason
    ``REJECTED``) will; ``split`` says the API refused the request because of some of its
    items (codes 2, 6, 9, 50), so a smaller request may pass. ``error`` is the public error
    when one exists already (the vendor's refusal, a transport or format error with its
    cause); ``request`` and ``response`` describe the attempt it came from.
    """

    reason: UnresolvedReason
    detail: str
    retryable: bool = False
    split: bool = False
    error: PartnerError | None = None
    retry_after: float | None = None
    code: int | None = None
    status_code: int | None = None
    request: RequestInfo | None = None
    response: ResponseInfo | None = None

    def to_error(self) -> PartnerError:
        """The public exception for this failure (a single-request endpoint raises it),
        with the ``request`` and ``response`` of its attempt."""
        error = self.error if self.error is not None else self._error()
        error.request, error.response = self.request, self.response
        if isinstance(error, RateLimitError):
            error.retry_after = self.retry_after
        return error

    def _error(self) -> PartnerError:
        if self.reason is UnresolvedReason.TRANSPORT_ERROR:
            return TransportError(self.detail)
        if self.reason is UnresolvedReason.MALFORMED_RESPONSE:
            return ResponseFormatError(self.detail, status_code=self.status_code)
        if self.reason is UnresolvedReason.DEADLINE_EXCEEDED:
            return RequestTimeoutError(self.detail)
        if self.code is not None:
            return api_error(self.code, self.detail, status_code=self.status_code)
        if self.reason is UnresolvedReason.RATE_LIMITED:
            return RateLimitError(429, self.detail, status_code=self.status_code)
        return ServerError(self.detail, status_code=self.status_code or 0)


def _transient(
    reason: UnresolvedReason,
    detail: str,
    *,
    retry_after: float | None = None,
    code: int | None = None,
    status_code: int | None = None,
    error: PartnerError | None = None,
) -> Failure:
    return Failure(
        reason,
        detail,
        True,
        error=error,
        retry_after=retry_after,
        code=code,
        status_code=status_code,
    )


def _try_later(
    raw: RawResponse, detail: str, *, code: int | None = None, error: PartnerError | None = None
) -> Failure:
    """A "not now" answer (a vendor ``code``, else the HTTP status): 429 is ``RATE_LIMITED``,
    anything else ``SERVER_ERROR``; retried after the server's ``Retry-After`` if it sent one."""
    rate_limited = (raw.status_code if code is None else code) == 429
    return _transient(
        UnresolvedReason.RATE_LIMITED if rate_limited else UnresolvedReason.SERVER_ERROR,
        detail,
        retry_after=parse_retry_after(raw.retry_after),
        code=code,
        status_code=raw.status_code,
        error=error,
    )


def _refused(error: PartnerError, code: int | None, *, split: bool = False) -> Failure:
    return Failure(UnresolvedReason.REJECTED, str(error), split=split, error=error, code=code)


def _deadline_failure(last: Failure | None) -> Failure:
    detail = "the call's deadline passed before an answer came"
    if last is not None:
        detail += f" (last failure: {last.detail})"
    return Failure(UnresolvedReason.DEADLINE_EXCEEDED, detail)


def should_retry(failure: Failure, attempt: int, policy: RetryPolicy) -> bool:
    """Whether attempt number ``attempt`` (0-based) is followed by another."""
    return failure.retryable and attempt < policy.max_retries


def retry_delay(
    failure: Failure, attempt: int, policy: RetryPolicy, rng: random.Random | None
) -> float:
    """Seconds before the next attempt: the backoff, or the server's ``Retry-After``."""
    return policy.delay(attempt, failure.retry_after, rng)


def classify(raw: RawResponse, decode: Callable[[bytes], T | ErrorBody]) -> T | Failure:
    """The decoded answer, or the :class:`Failure` it stands for. Only the errors that end
    the whole call (a refused key or account) are raised."""
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
            # (the error goes along, raised as it is: its message says the code once)
            return _try_later(raw, f"code {code}: {error.message}", code=code, error=error)
        return _refused(error, code, split=kind is CodeKind.SPLIT)
    if 200 <= status < 300:
        if decoded is None:
            return _transient(
                UnresolvedReason.MALFORMED_RESPONSE, format_problem, status_code=status
            )
        return decoded
    if is_retryable_status(status):
        return _try_later(raw, f"HTTP {status}")
    if status == 401:
        raise AuthenticationError(401, "HTTP 401 Unauthorized", status_code=status)
    if status == 403:
        raise PermissionDeniedError(403, "HTTP 403 Forbidden", status_code=status)
    return _refused(ServerError(f"HTTP {status}", status_code=status), None)


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
        settings: RequestSettings,
        *,
        stats: CallStats,
        params: Params | None = None,
        json_body: SecretBody | None = None,
        items: int = 0,
        reserved: Slot | None = None,
        pace: Callable[[float | None], Awaitable[bool]] | None = None,
    ) -> T | Failure:
        """Send until an answer decodes, a failure is final, or retries run out; the
        answer, or the last :class:`Failure` (``DEADLINE_EXCEEDED`` once the deadline
        passed). Raises only the errors that end the whole call.

        ``settings``: the call's retry policy, timeout and deadline (clock time: no wait,
        attempt or retry goes past it). ``reserved``: a slot already held for the first
        attempt (released after it). ``pace``, when given, is awaited before every attempt
        (an endpoint's own rate limit, such as cost-resume's 5 requests per minute) with
        the deadline; False: the turn would come after it.
        """
        policy, timeout, deadline = settings.policy, settings.timeout, settings.deadline
        path = url.rsplit("/", 1)[-1]
        clock = self.clock
        attempt = 0
        last: Failure | None = None
        while True:
            if pace is not None and not await pace(deadline):
                return _deadline_failure(last)
            slot = reserved if reserved is not None else await self.limiter.reserve(deadline)
            reserved = None
            if slot is None:  # no slot before the deadline
                return _deadline_failure(last)
            try:
                stats.requests += 1
                if attempt:
                    stats.retries += 1
                result = await self._attempt(
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
            finally:
                slot.release()
            if not isinstance(result, Failure):
                return result
            if not result.retryable:
                return result
            delay = retry_delay(result, attempt, policy, self._rng)
            rate_limited = result.reason is UnresolvedReason.RATE_LIMITED
            if rate_limited:
                # A 429 slows the whole client: no request of it starts before then.
                self.limiter.pause_until(clock.now() + delay)
            retry = should_retry(result, attempt, policy)
            if deadline is not None and clock.now() + (delay if retry else 0.0) >= deadline:
                return _deadline_failure(result)
            if not retry:
                return result
            last = result
            logger.info(
                "%s /%s failed (%s); retry %d/%d in %.2fs",
                method,
                path,
                result.detail,
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
    ) -> T | Failure:
        """One attempt, within ``limit`` seconds if given: hooks and span around the send,
        then the answer classified (a failure carries the attempt's request and response)."""
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
            result: T | Failure
            if isinstance(error, ResponseFormatError):  # too large, or a corrupt encoding
                result = Failure(
                    UnresolvedReason.MALFORMED_RESPONSE,
                    str(error),
                    True,
                    error=error,
                    status_code=error.status_code,
                )
            elif raw is None:
                # (the error itself goes along: a single-request endpoint raises it, its
                # cause chained)
                result = Failure(UnresolvedReason.TRANSPORT_ERROR, str(error), True, error=error)
            else:
                result = classify(raw, decode)
        except PartnerError as exc:  # ends the call: it carries its attempt
            if request is None:
                request = RequestInfo(method, url, urlsplit(url).path, attempt, items)
                response = _response_info(request, raw, error, elapsed)
            exc.request, exc.response = request, response
            raise
        if isinstance(result, Failure):
            if request is None:  # built now, if no hook or span needed it
                request = RequestInfo(method, url, urlsplit(url).path, attempt, items)
                response = _response_info(request, raw, error, elapsed)
            result = attrs.evolve(result, request=request, response=response)
        return result


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
    request: RequestSettings  # each request's retry policy, timeout and deadline
    decode: Callable[[bytes], MultiStatusBody | ErrorBody] = decode_multi_status
    params: Params | None = None
    isolation_budget: int = 32

    def until(self, deadline: float | None) -> BatchSettings:
        """These settings with another deadline (clock time), or as they are for None."""
        if deadline is None:
            return self
        return attrs.evolve(self, request=attrs.evolve(self.request, deadline=deadline))


async def run_batch(
    settings: BatchSettings,
    batch: Sequence[tuple[str, int]],
    stats: CallStats,
    *,
    reask: bool = True,
    reserved: Slot | None = None,
    budget: list[int] | None = None,
) -> list[Answer]:
    """One outcome per query of ``batch``, in order. Raises only fatal errors.

    ``reserved``: a request slot already held for the first attempt. ``budget`` (one
    mutable count shared by a batch and its halves) bounds the extra requests spent
    isolating the queries of a refused batch: each split costs two; once it is spent, the
    rest of the refused queries end ``Unresolved(REJECTED, code)``.
    """
    deadline = settings.request.deadline
    if deadline is not None and settings.requester.clock.now() >= deadline:
        if reserved is not None:
            reserved.release()
        late = _deadline_failure(None)
        return _unresolved(batch, late.reason, late.detail, None)
    if budget is None:
        budget = [settings.isolation_budget]
    answer = await settings.requester.call(
        "POST",
        settings.url,
        settings.decode,
        settings.request,
        stats=stats,
        params=settings.params,
        json_body=encode_multi_status(settings.api_key, batch),
        items=len(batch),
        reserved=reserved,
    )
    if isinstance(answer, Failure):
        if answer.split and len(batch) > 1:
            return await _isolate(settings, batch, stats, answer, budget)
        return _unresolved(batch, answer.reason, answer.detail, answer.code)
    body: MultiStatusBody = answer

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
    outcomes: list[Answer | None] = list(matched)
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


async def _isolate(
    settings: BatchSettings,
    batch: Sequence[tuple[str, int]],
    stats: CallStats,
    refusal: Failure,
    budget: list[int],
) -> list[Answer]:
    """A batch refused because of some of its items: split in halves to isolate them,
    within the isolation budget (each split costs two requests)."""
    if budget[0] < 2:
        logger.warning(
            "batch of %d refused (%s); not isolated: the isolation budget of %d extra "
            "requests is spent",
            len(batch),
            refusal.detail,
            settings.isolation_budget,
        )
        detail = (
            f"{refusal.detail} (a batch refused as a whole; not isolated further: the "
            f"isolation budget of {settings.isolation_budget} extra requests is spent)"
        )
        return _unresolved(batch, UnresolvedReason.REJECTED, detail, refusal.code)
    budget[0] -= 2
    middle = len(batch) // 2
    logger.info(
        "batch of %d refused (%s); splitting it to isolate the cause", len(batch), refusal.detail
    )
    first = await run_batch(settings, batch[:middle], stats, budget=budget)
    second = await run_batch(settings, batch[middle:], stats, budget=budget)
    return first + second


def _unresolved(
    batch: Sequence[tuple[str, int]], reason: UnresolvedReason, detail: str, code: int | None
) -> list[Answer]:
    return [Unresolved(StatusQuery(p, m), reason, detail, code) for p, m in batch]
