"""The clients: configuration, lifecycle, and the wiring of the pipeline's stages.

Data flows one way: input queries -> ``_normalize`` -> ``_batching`` -> ``_runner``
(limits, retries over ``_transport``) -> ``_wire`` -> ``_merge`` -> ``_results``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import AsyncIterable, Iterable
from contextlib import aclosing
from types import TracebackType
from typing import Any, ClassVar, Final, Generic, TypeVar
from urllib.parse import urlsplit

import anyio
import anyio.abc
import attrs

from ._batching import Batch, BatchBuilder, iter_batches
from ._clock import AnyioClock, Clock
from ._exceptions import ClientClosedError, ConfigurationError, PartnerError
from ._limits import RequestLimiter
from ._models import MailBulkReport, SMSBulkReport
from ._normalize import QueryLike, make_normalizer, normalize_message_id
from ._results import CallStats, MultiStatusResult, Outcome
from ._retry import RetryPolicy
from ._runner import (
    FATAL_ERRORS,
    BatchSettings,
    Rejected,
    Requester,
    RetryableFailure,
    run_batch,
)
from ._transport import Timeout, Transport, redact
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
        response_format: str = "json",
        http_client: Any = None,
        clock: Clock | None = None,
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
        self.__api_key = key
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
            # One connection per request slot, and a spare for bulk calls: no request
            # ever waits for a pooled connection (no pool timeouts under load).
            max_connections=self.max_concurrency + 1,
        )
        self._limiter = RequestLimiter(self.max_concurrency, max_requests_per_second, self._clock)
        self._requester = Requester(self._transport, self._limiter, self._clock)
        self._closed = False

    @property
    def _api_key(self) -> str:
        return self.__api_key

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key=<redacted>)"

    async def __aenter__(self: _C) -> _C:
        self._check_open()
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
            exc.args = tuple(redact(str(a), self.__api_key) for a in exc.args)
            raise
        return report


_C = TypeVar("_C", bound=_Client[Any])


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
        response_format: str = "json",
        http_client: Any = None,
        clock: Clock | None = None,
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
        )

    async def multi_status(
        self,
        queries: Iterable[QueryLike] | AsyncIterable[QueryLike],
        *,
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
        batch leaves its queries :class:`Unresolved` with the reason.

        >>> results = await client.multi_status([("0612345678", 1226613)])  # doctest: +SKIP
        >>> results.get("+33612345678", 1226613).status  # doctest: +SKIP
        <DeliveryStatus.DELIVERED: 'Delivered'>
        """
        self._check_open()
        policy, effective_timeout = self._call_options(timeout, max_retries)
        stats = CallStats()
        builder = BatchBuilder(self._normalize, self.batch_size, stats)
        outcomes = builder.outcomes
        url = f"{self.base_url}/multi-status"
        fatal: list[Exception] = []
        settings = BatchSettings(
            requester=self._requester,
            url=url,
            api_key=self._api_key,
            region=self.default_region,
            policy=policy,
            timeout=effective_timeout,
            decode=DECODERS["multi"][self._xml],
            params=self._format_params,
        )

        async def work(receive: anyio.abc.ObjectReceiveStream[Batch]) -> None:
            async with receive:
                async for slots, pairs in receive:
                    try:
                        results = await run_batch(settings, pairs, stats)
                    except FATAL_ERRORS as exc:
                        fatal.append(exc)
                        tg.cancel_scope.cancel()
                        return
                    for slot, outcome in zip(slots, results, strict=True):
                        outcomes[slot] = outcome

        async with anyio.create_task_group() as tg:
            send, receive = anyio.create_memory_object_stream[Batch](0)
            with receive:
                for _ in range(self.max_concurrency):
                    tg.start_soon(work, receive.clone())
            try:
                async with send, aclosing(iter_batches(queries, builder)) as batches:
                    async for batch in batches:
                        await send.send(batch)
            except Exception as exc:  # bad input or the caller's iterator failing
                fatal.append(exc)
                tg.cancel_scope.cancel()
        if fatal:
            # Raised as itself, not wrapped in an exception group.
            raise fatal[0]
        if None in outcomes:  # pragma: no cover - an invariant, guarded for safety
            raise RuntimeError("partner_async bug: a query ended without an outcome")
        done: list[Outcome] = outcomes  # type: ignore[assignment]
        return MultiStatusResult(done, builder.index, self._normalize, stats)

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
