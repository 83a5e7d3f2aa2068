"""The clients: configuration, lifecycle, and the wiring of the pipeline's stages.

Data flows one way: input queries -> ``_normalize`` -> ``_batching`` -> ``_runner``
(limits, retries over ``_transport``) -> ``_wire`` -> ``_merge`` -> ``_results``.
"""

from __future__ import annotations

import inspect
import ipaddress
import os
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, ClassVar, Final, Generic, Literal, TypeVar
from urllib.parse import urlsplit

import attrs

from ._batching import Batch, BatchBuilder
from ._clock import AnyioClock, Clock
from ._exceptions import ClientClosedError, ConfigurationError, PartnerError
from ._limits import RequestLimiter
from ._models import MailBulkReport, SMSBulkReport, StatusResult, Unresolved, UnresolvedReason
from ._normalize import QueryLike, make_normalizer, normalize_message_id
from ._pipeline import Deliver, ProgressCallback, ProgressTracker, run_pipeline, stream_batches
from ._results import BatchResult, CallStats, MultiStatusResult, Outcome, StatusUpdate
from ._retry import RetryPolicy
from ._runner import (
    BatchSettings,
    Rejected,
    Requester,
    RetryableFailure,
)
from ._secret import Secret
from ._status import DeliveryStatus
from ._transport import DEFAULT_MAX_RESPONSE_BYTES, HTTPClient, Timeout, Transport, redact
from ._wire import DECODERS

__all__ = ["MailPartnerClient", "SMSPartnerClient"]

MAX_BATCH_SIZE: Final = 500

R = TypeVar("R", SMSBulkReport, MailBulkReport)


class _NotGiven:
    """Sentinel: an option not given for this call (the client's setting applies)."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = _NotGiven()


def _check_base_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url.rstrip("/")
    if parts.scheme == "http" and host:
        if host == "localhost":
            return url.rstrip("/")
        try:
            if ipaddress.ip_address(host).is_loopback:
                return url.rstrip("/")
        except ValueError:
            pass
        raise ConfigurationError(
            f"base_url {url!r} is plain http to a non-loopback host: the API key would "
            "travel in clear text. Use https (plain http is accepted only for loopback)"
        )
    raise ConfigurationError(f"base_url {url!r} is not an http(s) URL")


def _positive_int(name: str, value: object, maximum: int | None = None) -> int:
    if type(value) is not int or value < 1 or (maximum is not None and value > maximum):
        bound = f"1..{maximum}" if maximum else ">= 1"
        raise ConfigurationError(f"{name} must be an int in {bound}, got {value!r}")
    return value


class _Client(Generic[R]):
    """What both clients share: key, settings, transport, limits, lifecycle."""

    _env_var: ClassVar[str]
    _default_base_url: ClassVar[str]

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        max_concurrency: int = 8,
        timeout: Timeout = 30.0,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        max_requests_per_second: float | None = None,
        response_format: Literal["json", "xml"] = "json",
        http_client: HTTPClient | None = None,
        clock: Clock | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        if response_format not in ("json", "xml"):
            raise ConfigurationError(
                f"response_format must be 'json' or 'xml', got {response_format!r}"
            )
        self.response_format = response_format
        self._xml = int(response_format == "xml")
        self._format_params = {"_format": "xml"} if self._xml else None
        key = api_key if api_key is not None else os.environ.get(self._env_var)
        if not key:
            raise ConfigurationError(
                f"no API key: pass api_key=... or set the {self._env_var} environment variable"
            )
        self.__api_key = Secret(key)
        self.base_url = _check_base_url(base_url or self._default_base_url)
        self.max_concurrency = _positive_int("max_concurrency", max_concurrency)
        if max_requests_per_second is not None and not max_requests_per_second > 0:
            raise ConfigurationError(
                f"max_requests_per_second must be > 0, got {max_requests_per_second!r}"
            )
        self.timeout = timeout
        policy = retry or RetryPolicy()
        if max_retries is not None:
            policy = attrs.evolve(policy, max_retries=max_retries)
        self.retry = policy
        self._clock = clock or AnyioClock()
        self._transport = Transport(
            http_client=http_client,
            timeout=timeout,
            # The limiter never lets more than max_concurrency requests run, so with one
            # connection per slot (and a spare) no request waits for a pooled connection.
            max_connections=self.max_concurrency + 1,
            tls=self.base_url.startswith("https:"),
            max_response_bytes=_positive_int("max_response_bytes", max_response_bytes),
        )
        self._limiter = RequestLimiter(self.max_concurrency, max_requests_per_second, self._clock)
        self._requester = Requester(self._transport, self._limiter, self._clock)
        self._closed = False

    @property
    def _api_key(self) -> Secret:
        return self.__api_key

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key=<redacted>)"

    async def __aenter__(self: _C) -> _C:
        self._check_open()
        # Set the pool up now (imports, TLS context: ~100 ms once per process), so that
        # a service pays it at start-up rather than on its first request.
        self._transport.prepare()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (unless it is a caller-owned ``http_client``).

        Idempotent. The client cannot be used afterwards.
        """
        if self._closed:
            return
        self._closed = True
        await self._transport.aclose()

    @property
    def is_closed(self) -> bool:
        """True once :meth:`aclose` has been called."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError(f"this {type(self).__name__} is closed")

    def _call_options(
        self, timeout: Timeout | _NotGiven, max_retries: int | None
    ) -> tuple[RetryPolicy, Timeout]:
        policy = self.retry
        if max_retries is not None:
            policy = attrs.evolve(policy, max_retries=max_retries)
        return policy, self.timeout if isinstance(timeout, _NotGiven) else timeout

    async def _bulk_status(
        self,
        message_id: str,
        endpoint: str,
        timeout: Timeout | _NotGiven,
        max_retries: int | None,
    ) -> R:
        self._check_open()
        policy, effective_timeout = self._call_options(timeout, max_retries)
        try:
            report: R = await self._requester.call(
                "GET",
                f"{self.base_url}/bulk-status",
                DECODERS[endpoint][self._xml],
                policy=policy,
                timeout=effective_timeout,
                stats=CallStats(),
                params={
                    "apiKey": self.__api_key,
                    "messageId": message_id,
                    **(self._format_params or {}),
                },
            )
        except RetryableFailure as failure:
            raise failure.to_error() from None
        except Rejected as refusal:
            raise refusal.error from None
        except PartnerError as exc:
            exc.args = tuple(redact(self.__api_key.redact(str(a))) for a in exc.args)
            raise
        return report


_C = TypeVar("_C", bound=_Client[Any])

_RETRYABLE_REASONS = frozenset(
    {
        UnresolvedReason.MISSING_FROM_RESPONSE,
        UnresolvedReason.RATE_LIMITED,
        UnresolvedReason.SERVER_ERROR,
        UnresolvedReason.TRANSPORT_ERROR,
        UnresolvedReason.MALFORMED_RESPONSE,
    }
)


def _needs_poll(outcome: Outcome, retryable: frozenset[UnresolvedReason]) -> bool:
    if type(outcome) is StatusResult:
        return outcome.status is DeliveryStatus.WAITING
    return type(outcome) is Unresolved and outcome.reason in retryable


def _add_stats(total: CallStats, more: CallStats) -> None:
    for field in attrs.fields(CallStats):
        if field.name not in ("queries", "duplicates"):
            setattr(total, field.name, getattr(total, field.name) + getattr(more, field.name))


class SMSPartnerClient(_Client[SMSBulkReport]):
    """Async client for the SMS Partner delivery-status API.

    >>> async with SMSPartnerClient() as client:  # doctest: +SKIP
    ...     results = await client.multi_status([("+33612345678", 1226613)])
    ...     report = await client.bulk_status(1226613)

    Args:
        api_key: the account's API key; None reads ``SMSPARTNER_API_KEY``.
        base_url: the API root (``https://api.smspartner.fr/v1``). Plain ``http`` is
            accepted only for loopback hosts, such as the embedded sandbox.
        max_concurrency: requests in flight at once, across every call on this client.
        batch_size: queries per multi-status request, 1 to 500.
        timeout: seconds (also a cap on each whole attempt) or an ``httpx.Timeout``.
        max_retries: retries after a failed attempt (overrides ``retry.max_retries``).
        retry: the backoff policy (:class:`RetryPolicy`).
        max_requests_per_second: a cap on request starts per second, client-wide.
        default_region: the region national numbers are parsed in (ISO 3166, ``"FR"``).
        response_format: ``"json"`` (default) or ``"xml"``: the vendor's ``_format``; both
            decode to the same typed results.
        http_client: a caller-owned ``httpx.AsyncClient``; the SDK never closes it.
        clock: a :class:`Clock` to drive time in tests.
        max_response_bytes: the most one answer may take, as received and decompressed
            (16 MiB: over 150x a 500-entry answer); a larger one is a malformed answer.
    """

    _env_var = "SMSPARTNER_API_KEY"
    _default_base_url = "https://api.smspartner.fr/v1"

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        max_concurrency: int = 8,
        batch_size: int = MAX_BATCH_SIZE,
        timeout: Timeout = 30.0,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        max_requests_per_second: float | None = None,
        default_region: str = "FR",
        response_format: Literal["json", "xml"] = "json",
        http_client: HTTPClient | None = None,
        clock: Clock | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.batch_size = _positive_int("batch_size", batch_size, MAX_BATCH_SIZE)
        if not (isinstance(default_region, str) and len(default_region) == 2):
            raise ConfigurationError(
                f"default_region must be a two-letter region code, got {default_region!r}"
            )
        self.default_region = default_region.upper()
        self._normalize = make_normalizer(self.default_region)
        super().__init__(
            api_key,
            base_url=base_url,
            max_concurrency=max_concurrency,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            max_requests_per_second=max_requests_per_second,
            response_format=response_format,
            http_client=http_client,
            clock=clock,
            max_response_bytes=max_response_bytes,
        )

    def _settings(self, timeout: Timeout | _NotGiven, max_retries: int | None) -> BatchSettings:
        policy, effective_timeout = self._call_options(timeout, max_retries)
        return BatchSettings(
            requester=self._requester,
            url=f"{self.base_url}/multi-status",
            api_key=self._api_key,
            region=self.default_region,
            policy=policy,
            timeout=effective_timeout,
            decode=DECODERS["multi"][self._xml],
            params=self._format_params,
        )

    async def multi_status(
        self,
        queries: Iterable[QueryLike] | AsyncIterable[QueryLike],
        *,
        progress: ProgressCallback | None = None,
        timeout: Timeout | _NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
    ) -> MultiStatusResult:
        """The status of every distinct query, merged into one :class:`MultiStatusResult`.

        ``queries`` is any iterable or async iterable of :class:`StatusQuery` or
        ``(phone_number, message_id)`` pairs, of any length; it is read lazily. Queries
        are normalised, de-duplicated, sent in batches of ``batch_size`` with at most
        ``max_concurrency`` requests in flight, and matched back by content.

        Every distinct query ends in exactly one outcome. Raises
        :class:`AuthenticationError` or :class:`PermissionDeniedError` at once (cancelling
        the other batches) when the key or account is refused; any other failure of a
        batch leaves its queries :class:`Unresolved` with the reason. ``progress`` is
        called with a :class:`Progress` after every batch.

        >>> results = await client.multi_status([("0612345678", 1226613)])  # doctest: +SKIP
        >>> results.get("+33612345678", 1226613).status  # doctest: +SKIP
        <DeliveryStatus.DELIVERED: 'Delivered'>
        """
        self._check_open()
        settings = self._settings(timeout, max_retries)
        stats = CallStats()
        builder = BatchBuilder(self._normalize, self.batch_size, stats)
        tracker = ProgressTracker(progress, queries, stats, self._limiter)
        outcomes: list[Outcome | None] = []

        async def collect(batch: Batch, sent: list[Outcome]) -> None:
            if len(outcomes) < builder.distinct:
                outcomes.extend([None] * (builder.distinct - len(outcomes)))
            slots = batch.slots
            if slots and slots[-1] - slots[0] == len(slots) - 1:  # consecutive slots
                outcomes[slots[0] : slots[-1] + 1] = sent
            else:
                for slot, outcome in zip(slots, sent, strict=True):
                    outcomes[slot] = outcome
            for slot, outcome in batch.settled:
                outcomes[slot] = outcome
            tracker.batch_done(batch, sent)

        await run_pipeline(queries, builder, settings, stats, collect, self.max_concurrency)
        if len(outcomes) != builder.distinct or None in outcomes:
            raise RuntimeError("partner_async bug: a query ended without an outcome")
        done: list[Outcome] = outcomes  # type: ignore[assignment]
        return MultiStatusResult(done, builder.index, self._normalize, stats)

    def iter_multi_status(
        self,
        queries: Iterable[QueryLike] | AsyncIterable[QueryLike],
        *,
        ordered: bool = False,
        dedupe_window: int | None = 100_000,
        progress: ProgressCallback | None = None,
        timeout: Timeout | _NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
    ) -> AbstractAsyncContextManager[AsyncIterator[BatchResult]]:
        """Stream results batch by batch, in memory bounded whatever the input's length.

        >>> async with client.iter_multi_status(rows, ordered=True) as batches:  # doctest: +SKIP
        ...     async for batch in batches:
        ...         save(batch.outcomes)

        The input is read lazily, at most a few batches ahead of the requests; a slow
        consumer slows the requests (backpressure). ``ordered=True`` yields batches in
        input order. Leaving the block early, or an exception in it, cancels the requests
        in flight. Each :class:`BatchResult` gives the input positions of its outcomes.

        De-duplication: a stream remembers the last ``dedupe_window`` distinct queries
        (100,000 by default, a few MB), so a repeat further back than that is asked and
        reported again. ``None`` remembers every query (memory grows with the input, as in
        :meth:`multi_status`); ``0`` turns de-duplication off.
        """
        self._check_open()
        if dedupe_window is not None and (type(dedupe_window) is not int or dedupe_window < 0):
            raise ConfigurationError(
                f"dedupe_window must be None or an int >= 0, got {dedupe_window!r}"
            )
        settings = self._settings(timeout, max_retries)
        stats = CallStats()
        builder = BatchBuilder(
            self._normalize, self.batch_size, stats, window=dedupe_window, positional=True
        )
        tracker = ProgressTracker(progress, queries, stats, self._limiter)

        async def run(deliver: Deliver) -> None:
            async def report(batch: Batch, sent: list[Outcome]) -> None:
                tracker.batch_done(batch, sent)
                await deliver(batch, sent)

            await run_pipeline(queries, builder, settings, stats, report, self.max_concurrency)

        return stream_batches(run, ordered=ordered)

    async def wait_for_final(
        self,
        queries: Iterable[QueryLike] | AsyncIterable[QueryLike],
        *,
        timeout: float,
        poll_interval: float = 30.0,
        backoff: float = 1.5,
        max_interval: float = 1800.0,
        retry_unresolved: bool = True,
        on_update: Callable[[StatusUpdate], Any] | None = None,
        progress: ProgressCallback | None = None,
    ) -> MultiStatusResult:
        """Query once, then re-query what is not final until it is, or ``timeout`` passes.

        After the first pass, only the queries still ``Waiting`` (and, with
        ``retry_unresolved``, those left unresolved by a transient failure) are asked
        again, first after ``poll_interval`` seconds, then at intervals growing by
        ``backoff`` up to ``max_interval``. Returns the merged result set; queries still
        Waiting at the deadline stay Waiting (see :attr:`MultiStatusResult.waiting`).

        ``on_update`` (a function or coroutine function) receives a
        :class:`StatusUpdate` for every outcome that changes, as it happens, so a
        service can persist statuses incrementally. A known status is never replaced
        by a later failure to fetch it.

        >>> results = await client.wait_for_final(pairs, timeout=48 * 3600)  # doctest: +SKIP

        ``timeout`` is the whole wait in seconds (requests keep the client's own timeout).
        """
        for name, value in (
            ("timeout", timeout),
            ("poll_interval", poll_interval),
            ("max_interval", max_interval),
        ):
            if not (isinstance(value, (int, float)) and value >= 0):
                raise ConfigurationError(f"{name} must be a number >= 0, got {value!r}")
        if not (isinstance(backoff, (int, float)) and backoff >= 1):
            raise ConfigurationError(f"backoff must be a number >= 1, got {backoff!r}")
        clock = self._clock
        deadline = clock.now() + timeout
        results = await self.multi_status(queries, progress=progress)
        retryable = _RETRYABLE_REASONS if retry_unresolved else frozenset()
        interval = float(poll_interval)
        round_number = 0
        while True:
            pending = [o for o in results if _needs_poll(o, retryable)]
            remaining = deadline - clock.now()
            if not pending or remaining <= 0:
                break
            await clock.sleep(min(interval, remaining))
            interval = min(interval * backoff, max_interval)
            round_number += 1
            again = await self.multi_status(
                [(o.query.phone_number, o.query.message_id) for o in pending], progress=progress
            )
            _add_stats(results.stats, again.stats)
            for previous, current in zip(pending, again, strict=True):
                if current == previous or (
                    type(current) is Unresolved and type(previous) is StatusResult
                ):
                    continue
                query = previous.query
                results._replace(results._slot(query.phone_number, query.message_id), current)  # type: ignore[arg-type]
                if on_update is not None:
                    outcome = on_update(StatusUpdate(previous, current, round_number))
                    if inspect.isawaitable(outcome):
                        await outcome
        return results

    async def bulk_status(
        self,
        message_id: int | str,
        *,
        timeout: Timeout | _NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
    ) -> SMSBulkReport:
        """Every recipient of one SMS and its status (``GET /bulk-status``).

        Raises :class:`MessageNotFoundError` (code 4) for an unknown message id, and the
        other :class:`APIError` subclasses for the other vendor codes.

        >>> report = await client.bulk_status(1226613)  # doctest: +SKIP
        >>> report.counts_by_status()  # doctest: +SKIP
        """
        try:
            normal_id = normalize_message_id(message_id)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        return await self._bulk_status(str(normal_id), "sms_bulk", timeout, max_retries)


class MailPartnerClient(_Client[MailBulkReport]):
    """Async client for the Mail Partner delivery-status API.

    >>> async with MailPartnerClient() as mail:  # doctest: +SKIP
    ...     report = await mail.bulk_status("300")

    Takes the same options as :class:`SMSPartnerClient` except those of multi-status;
    ``api_key=None`` reads ``MAILPARTNER_API_KEY``; the default ``base_url`` is
    ``https://api.mailpartner.fr/v1``.
    """

    _env_var = "MAILPARTNER_API_KEY"
    _default_base_url = "https://api.mailpartner.fr/v1"

    async def bulk_status(
        self,
        message_id: int | str,
        *,
        timeout: Timeout | _NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
    ) -> MailBulkReport:
        """Every recipient of one e-mail and its status (``GET /bulk-status``)."""
        text = str(message_id).strip() if isinstance(message_id, (int, str)) else ""
        if not text or isinstance(message_id, bool):
            raise ConfigurationError(f"invalid message id {message_id!r}: expected an id")
        return await self._bulk_status(text, "mail_bulk", timeout, max_retries)
