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
from collections.abc import Callable, Sequence
from typing import TypeVar

import attrs

from ._clock import Clock
from ._codes import CodeKind, api_error, code_kind
from ._exceptions import (
    AuthenticationError,
    PartnerError,
    PermissionDeniedError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    TransportError,
)
from ._limits import RequestLimiter
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
    "run_batch",
]

logger = logging.getLogger("partner_async")

T = TypeVar("T")

_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class RetryableFailure(Exception):
    """Internal: an attempt failed in a way a later attempt may not."""

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
        """The public exception for this failure once retries are exhausted."""
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
        error = api_error(code, message, status_code=status)
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
    if status in _RETRY_STATUSES:
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
    """One client's way of sending a request: slot, send, classify, retry."""

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
    ) -> T:
        """Send until an answer decodes, a failure is final, or retries run out.

        Raises the last :class:`RetryableFailure` when retries run out, :class:`Rejected`
        for a final refusal, and public errors for fatal ones.
        """
        path = url.rsplit("/", 1)[-1]
        clock = self.clock
        attempt = 0
        while True:
            try:
                async with self.limiter.slot():
                    stats.requests += 1
                    if attempt:
                        stats.retries += 1
                    started = clock.now()
                    status: int | str = "-"
                    try:
                        raw = await self.transport.request(
                            method, url, params=params, json_body=json_body, timeout=timeout
                        )
                        status = raw.status_code
                    except TransportError as exc:
                        status = type(exc).__name__
                        raise RetryableFailure(UnresolvedReason.TRANSPORT_ERROR, str(exc)) from None
                    except ResponseFormatError as exc:  # too large, or a corrupt encoding
                        status = exc.status_code or "-"
                        raise RetryableFailure(
                            UnresolvedReason.MALFORMED_RESPONSE,
                            str(exc),
                            status_code=exc.status_code,
                        ) from None
                    finally:
                        if logger.isEnabledFor(logging.DEBUG):
                            logger.debug(
                                "%s /%s items=%d status=%s attempt=%d elapsed=%.3fs",
                                method,
                                path,
                                items,
                                status,
                                attempt + 1,
                                clock.now() - started,
                            )
                    return classify(raw, decode)
            except RetryableFailure as failure:
                rate_limited = failure.reason is UnresolvedReason.RATE_LIMITED
                delay = policy.delay(attempt, failure.retry_after, self._rng)
                if rate_limited:
                    # A 429 slows the whole client: no request of it starts before then.
                    self.limiter.pause_until(clock.now() + delay)
                if attempt >= policy.max_retries:
                    raise
                logger.warning(
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


async def run_batch(
    settings: BatchSettings,
    batch: Sequence[tuple[str, int]],
    stats: CallStats,
    *,
    reask: bool = True,
) -> list[Outcome]:
    """One outcome per query of ``batch``, in order. Raises only fatal errors."""
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
        )
    except RetryableFailure as failure:
        return _unresolved(batch, failure.reason, failure.detail, failure.code)
    except Split as refusal:
        if len(batch) == 1:
            return _unresolved(batch, UnresolvedReason.REJECTED, str(refusal.error), refusal.code)
        middle = len(batch) // 2
        logger.info(
            "batch of %d refused (%s); splitting it to isolate the cause",
            len(batch),
            refusal.error,
        )
        first = await run_batch(settings, batch[:middle], stats)
        second = await run_batch(settings, batch[middle:], stats)
        return first + second
    except Rejected as refusal:
        return _unresolved(batch, UnresolvedReason.REJECTED, str(refusal.error), refusal.code)

    stats.batches += 1
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
        again = await run_batch(settings, missing_queries, stats, reask=False)
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


def _unresolved(
    batch: Sequence[tuple[str, int]], reason: UnresolvedReason, detail: str, code: int | None
) -> list[Outcome]:
    return [Unresolved(StatusQuery(p, m), reason, detail, code) for p, m in batch]
