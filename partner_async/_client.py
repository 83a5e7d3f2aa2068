"""The clients: configuration, lifecycle, and the wiring of the pipeline's stages.

Data flows one way: input queries -> ``_normalize`` -> ``_batching`` -> ``_runner``
(limits, retries over ``_transport``) -> ``_wire`` -> ``_merge`` -> ``_results``.
"""

from __future__ import annotations

import copy
import os
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
    Iterable,
    Mapping,
)
from contextlib import AbstractAsyncContextManager
from datetime import date
from types import TracebackType
from typing import Any, ClassVar, Final, Generic, Literal, TypeVar, cast

import anyio
import attrs

from ._batching import Batch, BatchBuilder
from ._clock import AnyioClock, Clock
from ._coalesce import Coalescer, SendBatch
from ._collect import Collector
from ._config import (
    NOT_GIVEN,
    NotGiven,
    RequestSettings,
    check_base_url,
    check_proxy,
    cost_period,
    deadline_at,
    non_negative_int,
    positive_int,
    resolve_policy,
    resolve_timeout,
    seconds_or_none,
)
from ._events import EventHook, EventHooks
from ._exceptions import (
    ClientClosedError,
    ConfigurationError,
    InvalidInputError,
    PartnerError,
)
from ._limits import RequestLimiter, Slot
from ._models import (
    MailBulkReport,
    SMSBulkReport,
    Unresolved,
    UnresolvedReason,
    public,
)
from ._normalize import (
    InvalidQuery,
    QueryLike,
    is_normal,
    make_normalizer,
    normalize_message_id,
)
from ._pacing import WindowPacer
from ._pipeline import (
    Deliver,
    ProgressCallback,
    ProgressTracker,
    input_error,
    read_head,
    run_pipeline,
    stream_batches,
)
from ._polling import PollSchedule, poll_until_final
from ._reports import CostInterval, CostStatistics, MessageStatus, TagStatusReport
from ._results import (
    Answer,
    BatchResult,
    CallStats,
    MultiStatusResult,
    Outcome,
    StatusUpdate,
)
from ._retry import RetryPolicy
from ._runner import (
    BatchSettings,
    Failure,
    Requester,
    run_batch,
)
from ._secret import Secret
from ._transport import (
    DEFAULT_MAX_RESPONSE_BYTES,
    HTTPClient,
    Timeout,
    Transport,
    check_timeout,
    redact,
)
from ._wire import DECODERS, cost_resume_params

__all__ = ["MailPartnerClient", "SMSPartnerClient"]

MAX_BATCH_SIZE: Final = 500
COST_REQUESTS_PER_MINUTE: Final = 5
DEFAULT_ISOLATION_BUDGET: Final = 32

R = TypeVar("R", SMSBulkReport, MailBulkReport)


class _Client(Generic[R]):
    """What both clients share: key, settings, transport, limits, lifecycle."""

    _env_var: ClassVar[str]
    _base_url_env_var: ClassVar[str]
    _default_base_url: ClassVar[str]
    #: The client whose pool this one shares (set by ``with_options``).
    _origin: _Client[Any] | None = None

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
        deadline: float | None = None,
        response_format: Literal["json", "xml"] = "json",
        http_client: HTTPClient | None = None,
        clock: Clock | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        proxy: str | None = None,
    ) -> None:
        self.deadline = seconds_or_none("deadline", deadline)
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
        self.base_url = check_base_url(
            base_url or os.environ.get(self._base_url_env_var) or self._default_base_url
        )
        self.max_concurrency = positive_int("max_concurrency", max_concurrency)
        if max_requests_per_second is not None and not max_requests_per_second > 0:
            raise ConfigurationError(
                f"max_requests_per_second must be > 0, got {max_requests_per_second!r}"
            )
        self.timeout = check_timeout(timeout)
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
            max_response_bytes=positive_int("max_response_bytes", max_response_bytes),
            proxy=check_proxy(proxy, http_client is not None),
            base_url=self.base_url,
        )
        self._limiter = RequestLimiter(self.max_concurrency, max_requests_per_second, self._clock)
        self._requester = Requester(self._transport, self._limiter, self._clock)
        self._closed = False
        self._scopes: set[anyio.CancelScope] = set()  # calls in progress, cancelled by aclose

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
        """Close the client: calls in progress end with :class:`ClientClosedError` (with
        what they had settled as ``partial_results``), then the connection pool is closed
        (unless it is a caller-owned ``http_client``).

        Idempotent. The client cannot be used afterwards.
        """
        if self._closed:
            return
        self._closed = True
        for scope in self._scopes:
            scope.cancel()
        await self._transport.aclose()

    def _call_scope(self) -> anyio.CancelScope:
        """A cancel scope for one call, cancelled if the client closes under it."""
        self._check_open()
        scope = anyio.CancelScope()
        self._scopes.add(scope)
        return scope

    def _end_call(self, scope: anyio.CancelScope) -> None:
        """Forget a call's scope; raise :class:`ClientClosedError` if aclose cancelled it."""
        self._scopes.discard(scope)
        if scope.cancel_called:
            raise ClientClosedError(
                f"this {type(self).__name__} was closed while the call was in progress"
            )

    def _deadline_at(self, deadline: float | NotGiven | None) -> float | None:
        """A call's ``deadline`` (seconds from now, or the client's) as clock time."""
        return deadline_at(self.deadline, deadline, self._clock)

    @property
    def is_closed(self) -> bool:
        """True once :meth:`aclose` has been called (on this client, or on the client
        that :meth:`with_options` derived it from)."""
        return self._closed or (self._origin is not None and self._origin._closed)

    def _check_open(self) -> None:
        if self.is_closed:
            raise ClientClosedError(f"this {type(self).__name__} is closed")

    def _call_options(
        self, timeout: Timeout | NotGiven, max_retries: int | None
    ) -> tuple[RetryPolicy, Timeout]:
        return resolve_policy(self.retry, max_retries), resolve_timeout(self.timeout, timeout)

    def _request_settings(
        self,
        timeout: Timeout | NotGiven,
        max_retries: int | None,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> RequestSettings:
        """A call's options: this client's, overridden by those the call gives."""
        self._check_open()
        policy, effective_timeout = self._call_options(timeout, max_retries)
        return RequestSettings(policy, effective_timeout, self._deadline_at(deadline))

    async def _get(
        self,
        path: str,
        endpoint: str,
        params: dict[str, str],
        settings: RequestSettings,
        pace: Callable[[float | None], Awaitable[bool]] | None = None,
    ) -> Any:
        """One GET endpoint: ``apiKey`` and ``params`` in the query string, the answer
        decoded by ``DECODERS[endpoint]`` (XML where the vendor documents ``_format`` for
        it), vendor codes raised as :class:`APIError` subclasses, the key redacted."""
        self._check_open()
        json_decoder, xml_decoder = DECODERS[endpoint]
        xml = self._xml and xml_decoder is not None
        if xml:
            params = {**params, "_format": "xml"}
        try:
            answer = await self._requester.call(
                "GET",
                f"{self.base_url}/{path}",
                xml_decoder if xml else json_decoder,
                settings,
                stats=CallStats(),
                # built in the call, never bound to a local: no frame of this method
                # (kept in a raised error's traceback) holds the key
                params={"apiKey": self.__api_key, **params},
                pace=pace,
            )
            if isinstance(answer, Failure):  # refused, or retries ran out
                raise answer.to_error()
        except PartnerError as exc:
            exc.args = tuple(redact(str(a), self.__api_key) for a in exc.args)
            exc.__suppress_context__ = True
            raise
        return answer

    async def _bulk_status(self, message_id: str, endpoint: str, settings: RequestSettings) -> R:
        report: R = await self._get("bulk-status", endpoint, {"messageId": message_id}, settings)
        return report

    @property
    def event_hooks(self) -> dict[str, list[EventHook]]:
        """Functions called for every request attempt, on every backend and path:
        ``{"request": [...], "response": [...]}``, as in httpx.

        A ``"request"`` hook gets a :class:`RequestInfo` (method, URL without the key,
        path, attempt, items) before the attempt is sent; a ``"response"`` hook gets a
        :class:`ResponseInfo` (status code, elapsed seconds, or the transport error when
        no answer came) once it is read. Hooks may be coroutine functions; an exception
        raised by a hook propagates out of the call. Assign a new mapping, or append to
        the lists in place.
        """
        return self._requester.event_hooks

    @event_hooks.setter
    def event_hooks(self, hooks: Mapping[str, Iterable[EventHook]]) -> None:
        self._requester.event_hooks = EventHooks(hooks)

    def with_options(
        self: _C,
        *,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
    ) -> _C:
        """A client with other defaults for ``timeout`` and/or ``max_retries``, sharing
        this one's connection pool, limits (``max_concurrency``, start rate, 429 pause)
        and clock, as in openai's SDK:

        >>> patient = client.with_options(timeout=120, max_retries=8)  # doctest: +SKIP
        >>> report = await patient.bulk_status(1226613)  # doctest: +SKIP

        It starts with a copy of this client's ``event_hooks``. Closing it (or leaving its
        ``async with``) closes only it; closing this client closes the pool, and with it
        every client derived from it.
        """
        try:
            settings = self._request_settings(timeout, max_retries)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(str(exc)) from None
        clone = copy.copy(self)
        clone.timeout, clone.retry = settings.timeout, settings.policy
        clone._origin = self._origin or self
        clone._transport = self._transport.borrow()
        requester = clone._requester = copy.copy(self._requester)
        requester.event_hooks = EventHooks(self._requester.event_hooks)
        clone._own_state()
        return clone

    def _own_state(self) -> None:
        """What a :meth:`with_options` client must not share with its origin."""
        self._closed = False
        self._scopes = set()


_C = TypeVar("_C", bound=_Client[Any])


class SMSPartnerClient(_Client[SMSBulkReport]):
    """Async client for the SMS Partner delivery-status API.

    >>> async with SMSPartnerClient() as client:  # doctest: +SKIP
    ...     outcome = await client.status("+33612345678", 1226613)
    ...     results = await client.multi_status([("+33612345678", 1226613)])
    ...     report = await client.bulk_status(1226613)

    Args:
        api_key: the account's API key; None reads ``SMSPARTNER_API_KEY``.
        base_url: the API root; None reads ``SMSPARTNER_BASE_URL``, else
            ``https://api.smspartner.fr/v1``. Plain ``http`` is accepted only for
            loopback hosts, such as the embedded sandbox.
        max_concurrency: requests in flight at once, across every call on this client.
        batch_size: queries per multi-status request, 1 to 500.
        timeout: seconds (also a cap on each whole attempt) or an ``httpx.Timeout``.
        max_retries: retries after a failed attempt (overrides ``retry.max_retries``).
        retry: the backoff policy (:class:`RetryPolicy`).
        max_requests_per_second: a cap on request starts per second, client-wide.
        deadline: seconds a call may take in all, retries and waits included (None: no
            limit); what is not settled by then is ``Unresolved(DEADLINE_EXCEEDED)``.
            Each call can override it.
        default_region: the region national numbers are parsed in (ISO 3166, ``"FR"``).
        linger: seconds a request shared by concurrent lookups (:meth:`status`, small
            :meth:`multi_status` calls) waits for more of them, counted from the oldest;
            0 (default) sends as soon as a request slot is free.
        isolation_budget: the most extra requests spent per batch isolating the queries of
            a batch the API refuses because of some of them (codes 2, 6, 9, 50); past it
            the rest end ``Unresolved(REJECTED, code)``. 0 never splits.
        response_format: ``"json"`` (default) or ``"xml"``: the vendor's ``_format``; both
            decode to the same typed results.
        http_client: a caller-owned ``httpx.AsyncClient``; the SDK never closes it.
        clock: a :class:`Clock` to drive time in tests.
        max_response_bytes: the most one answer may take, as received and decompressed
            (16 MiB: over 150x a 500-entry answer); a larger one is a malformed answer.
        proxy: an ``http://`` or ``https://`` proxy URL for the SDK's own pool
            (``http://user:password@proxy:3128``; errors never show the password). Without
            it, ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` and ``NO_PROXY`` are honoured
            on asyncio as on trio. Not with ``http_client=`` (configure that client).
    """

    _env_var = "SMSPARTNER_API_KEY"
    _base_url_env_var = "SMSPARTNER_BASE_URL"
    _default_base_url = "https://api.smspartner.fr/v1"
    _cost_pacer: WindowPacer | None = None  # created on first use, bound to the clock

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
        deadline: float | None = None,
        default_region: str = "FR",
        linger: float = 0.0,
        response_format: Literal["json", "xml"] = "json",
        http_client: HTTPClient | None = None,
        clock: Clock | None = None,
        isolation_budget: int = DEFAULT_ISOLATION_BUDGET,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        proxy: str | None = None,
    ) -> None:
        self.batch_size = positive_int("batch_size", batch_size, MAX_BATCH_SIZE)
        linger_seconds = seconds_or_none("linger", linger)
        if linger_seconds is None or linger_seconds == float("inf"):
            raise ConfigurationError(f"linger must be a number of seconds >= 0, got {linger!r}")
        self.linger = linger_seconds
        self.isolation_budget = non_negative_int("isolation_budget", isolation_budget)
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
            deadline=deadline,
            response_format=response_format,
            http_client=http_client,
            clock=clock,
            max_response_bytes=max_response_bytes,
            proxy=proxy,
        )
        self._coalescer = Coalescer(self._limiter, self._clock, self.batch_size, self.linger)
        self._lanes: dict[tuple[object, object], tuple[Hashable, SendBatch]] = {}

    async def aclose(self) -> None:
        """Close the client: waiting lookups end with :class:`ClientClosedError`, then the
        connection pool is closed (unless it is a caller-owned ``http_client``).

        Idempotent. The client cannot be used afterwards.
        """
        if self._origin is None:  # the queues are shared with with_options() clients
            self._coalescer.close()
        await super().aclose()

    def _own_state(self) -> None:
        super()._own_state()
        self._lanes = {}  # its lanes send with its own defaults

    def _lane(
        self, timeout: Timeout | NotGiven, max_retries: int | None
    ) -> tuple[Hashable, SendBatch]:
        """The coalescing lane of a call's options, and how its batches are sent."""
        options = (repr(timeout), max_retries)
        lane = self._lanes.get(options)
        if lane is None:
            settings = self._settings(timeout, max_retries)

            async def send(
                keys: list[tuple[str, int]],
                stats: CallStats,
                slot: Slot,
                deadline: float | None,
            ) -> list[Answer]:
                return await run_batch(settings.until(deadline), keys, stats, reserved=slot)

            lane = ((settings.request.policy, repr(settings.request.timeout)), send)
            if len(self._lanes) < 32:  # options computed per call must not grow it forever
                self._lanes[options] = lane
        return lane

    def _settings(
        self,
        timeout: Timeout | NotGiven,
        max_retries: int | None,
        deadline: float | None = None,
    ) -> BatchSettings:
        policy, effective_timeout = self._call_options(timeout, max_retries)
        return BatchSettings(
            requester=self._requester,
            url=f"{self.base_url}/multi-status",
            api_key=self._api_key,
            region=self.default_region,
            request=RequestSettings(policy, effective_timeout, deadline),
            decode=DECODERS["multi"][self._xml],
            params=self._format_params,
            isolation_budget=self.isolation_budget,
        )

    async def status(
        self,
        phone_number: str,
        message_id: int | str,
        *,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> Outcome:
        """The status of one message to one number: a :class:`StatusResult`, or
        :class:`Unresolved` with the reason.

        The lookup for services: concurrent calls on one client are coalesced into shared
        multi-status requests of up to ``batch_size`` queries. A request leaves as soon as
        a request slot of the client is free, carrying every lookup queued by then (after
        ``linger`` seconds, if set); equal lookups in progress share one entry. The rules
        are those of :meth:`multi_status`: an invalid query is :class:`Unresolved` and never
        sent; a refused key or account raises (in every caller waiting on that request);
        transient failures are retried under the client's limits; a lookup not answered
        within ``deadline`` seconds is ``Unresolved(DEADLINE_EXCEEDED)``. Cancelling one
        lookup withdraws only it; closing the client ends every waiting lookup with
        :class:`ClientClosedError`.

        >>> outcome = await client.status("06 12 34 56 78", 1226613)  # doctest: +SKIP
        >>> outcome.status  # doctest: +SKIP
        <DeliveryStatus.DELIVERED: 'Delivered'>
        """
        self._check_open()
        key: tuple[str, int]
        if is_normal(phone_number, message_id):
            key = (phone_number, cast(int, message_id))
        else:
            try:
                key = self._normalize((phone_number, message_id), 0)
            except InvalidQuery as exc:
                return Unresolved(exc.query, UnresolvedReason.INVALID_QUERY, exc.detail)
        options, send = self._lane(timeout, max_retries)
        (outcome,) = await self._coalescer.lookup(
            options, send, (key,), CallStats(), self._deadline_at(deadline)
        )
        return public(outcome)

    async def multi_status(
        self,
        queries: Iterable[QueryLike] | AsyncIterable[QueryLike],
        *,
        progress: ProgressCallback | None = None,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> MultiStatusResult:
        """The status of every distinct query, merged into one :class:`MultiStatusResult`.

        ``queries`` is any iterable or async iterable of :class:`StatusQuery` or
        ``(phone_number, message_id)`` pairs, of any length; it is read lazily. Queries
        are normalised, de-duplicated, sent in batches of ``batch_size`` with at most
        ``max_concurrency`` requests in flight, and matched back by content. A call of
        fewer distinct queries than ``batch_size`` shares requests with the client's other
        small calls in progress, as :meth:`status` does.

        Every distinct query ends in exactly one outcome. ``deadline`` (seconds; default:
        the client's) bounds the whole call: queries not settled by then, and those read
        after it, are ``Unresolved(DEADLINE_EXCEEDED)``. Raises
        :class:`AuthenticationError` or :class:`PermissionDeniedError` at once (cancelling
        the other batches) when the key or account is refused, :class:`InputError` when
        iterating ``queries`` raises, :class:`ClientClosedError` when the client is closed
        meanwhile; each carries what was settled so far as ``partial_results``. Any other
        failure of a batch leaves its queries :class:`Unresolved` with the reason.
        ``progress`` is called with a :class:`Progress` after every batch.

        >>> results = await client.multi_status([("0612345678", 1226613)])  # doctest: +SKIP
        >>> results.get("+33612345678", 1226613).status  # doctest: +SKIP
        <DeliveryStatus.DELIVERED: 'Delivered'>
        """
        self._check_open()
        deadline_at = self._deadline_at(deadline)
        size = self.batch_size
        stats = CallStats()
        builder = BatchBuilder(self._normalize, size, stats)
        collector = Collector(builder, self._normalize)
        try:
            head, rest = await read_head(queries, size)
        except Exception as exc:
            error = input_error(exc)
            error.partial_results = collector.partial()
            raise error from exc
        tracker = ProgressTracker(progress, queries, stats, self._limiter)
        if head is not None and len(head) <= size:
            return await self._small_call(
                head, builder, collector, tracker, timeout, max_retries, deadline_at
            )

        settings = self._settings(timeout, max_retries, deadline_at)

        async def collect(batch: Batch, sent: list[Answer]) -> None:
            collector.place(batch, sent)
            tracker.batch_done(batch, sent)

        scope = self._call_scope()
        try:
            with scope:
                await run_pipeline(
                    rest, builder, settings, stats, collect, self.max_concurrency, head
                )
            self._end_call(scope)
        except PartnerError as exc:
            self._scopes.discard(scope)
            exc.partial_results = collector.partial()
            raise
        return collector.result()

    async def _small_call(
        self,
        items: list[Any],
        builder: BatchBuilder,
        collector: Collector,
        tracker: ProgressTracker,
        timeout: Timeout | NotGiven,
        max_retries: int | None,
        deadline: float | None,
    ) -> MultiStatusResult:
        """A call of at most one batch, in the caller's task: a partial batch joins the
        shared requests of the client's coalescer, a full one is sent as it is."""
        stats = builder.stats
        try:
            full = builder.extend(items)
        except PartnerError as exc:  # bad input: nothing was asked yet
            exc.partial_results = collector.partial()
            raise
        stats.queries = builder.position
        batch = full[0] if full else builder.flush()
        if batch is not None:
            collector.settle(batch)
            sent: list[Answer] = []
            scope = self._call_scope()
            try:
                with scope:
                    if len(batch.pairs) >= builder.batch_size:
                        settings = self._settings(timeout, max_retries, deadline)
                        sent = await run_batch(settings, batch.pairs, stats)
                    elif batch.pairs:
                        options, send = self._lane(timeout, max_retries)
                        sent = await self._coalescer.lookup(
                            options, send, batch.pairs, stats, deadline
                        )
                self._end_call(scope)
            except PartnerError as exc:
                self._scopes.discard(scope)
                exc.partial_results = collector.partial()
                raise
            collector.place(batch, sent)
            tracker.batch_done(batch, sent)
        return collector.result()

    def iter_multi_status(
        self,
        queries: Iterable[QueryLike] | AsyncIterable[QueryLike],
        *,
        ordered: bool = False,
        dedupe_window: int | None = 100_000,
        progress: ProgressCallback | None = None,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> AbstractAsyncContextManager[AsyncIterator[BatchResult]]:
        """Stream results batch by batch, in memory bounded whatever the input's length.

        >>> async with client.iter_multi_status(rows, ordered=True) as batches:  # doctest: +SKIP
        ...     async for batch in batches:
        ...         save(batch.outcomes)

        The input is read lazily, at most a few batches ahead of the requests; a slow
        consumer slows the requests (backpressure). ``ordered=True`` yields batches in
        input order. Leaving the block early, or an exception in it, cancels the requests
        in flight. Each :class:`BatchResult` gives the input positions of its outcomes.
        ``deadline`` bounds the stream as it bounds :meth:`multi_status`; the iterator
        raises :class:`InputError` if iterating ``queries`` raises, and
        :class:`ClientClosedError` if the client is closed meanwhile.

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
        settings = self._settings(timeout, max_retries, self._deadline_at(deadline))
        stats = CallStats()
        builder = BatchBuilder(
            self._normalize, self.batch_size, stats, window=dedupe_window, positional=True
        )
        tracker = ProgressTracker(progress, queries, stats, self._limiter)

        async def run(deliver: Deliver) -> None:
            async def report(batch: Batch, sent: list[Answer]) -> None:
                tracker.batch_done(batch, sent)
                await deliver(batch, sent)

            scope = self._call_scope()
            try:
                with scope:
                    await run_pipeline(
                        queries, builder, settings, stats, report, self.max_concurrency
                    )
            finally:
                self._end_call(scope)

        return stream_batches(run, ordered=ordered)

    async def wait_for_final(
        self,
        queries: Iterable[QueryLike] | AsyncIterable[QueryLike],
        *,
        deadline: float | None = None,
        poll_interval: float = 30.0,
        backoff: float = 1.5,
        max_interval: float = 1800.0,
        retry_unresolved: bool = True,
        on_update: Callable[[StatusUpdate], Any] | None = None,
        progress: ProgressCallback | None = None,
        timeout: float | None = None,
    ) -> MultiStatusResult:
        """Query once, then re-query what is not final until it is, or ``deadline`` passes.

        After the first pass, only the queries still ``Waiting`` (and, with
        ``retry_unresolved``, those left unresolved by a transient failure) are asked
        again, first after ``poll_interval`` seconds, then at intervals growing by
        ``backoff`` up to ``max_interval``. Returns the merged result set; queries still
        Waiting at the deadline stay Waiting (see :attr:`MultiStatusResult.waiting`).

        ``on_update`` (a function or coroutine function) receives a
        :class:`StatusUpdate` for every outcome that changes, as it happens, so a
        service can persist statuses incrementally. A known status is never replaced
        by a later failure to fetch it.

        >>> results = await client.wait_for_final(pairs, deadline=48 * 3600)  # doctest: +SKIP

        ``deadline`` is the whole wait in seconds, the same notion as the ``deadline`` of
        :meth:`multi_status` (requests keep the client's own timeout); ``timeout`` is its
        former name, still accepted.
        """
        if timeout is not None:
            if deadline is not None:
                raise ConfigurationError("pass deadline= (timeout= is its former name), not both")
            deadline = timeout
        deadline = seconds_or_none("deadline", deadline)
        if deadline is None:
            raise ConfigurationError("wait_for_final needs deadline= (seconds to wait in all)")
        schedule = PollSchedule(poll_interval, backoff, max_interval)
        end = self._clock.now() + deadline
        results = await self.multi_status(queries, progress=progress, deadline=deadline)

        def ask(
            pairs: list[tuple[str, int | str]], progress: ProgressCallback | None, deadline: float
        ) -> Awaitable[MultiStatusResult]:
            return self.multi_status(pairs, progress=progress, deadline=deadline)

        return await poll_until_final(
            results,
            ask,
            clock=self._clock,
            end=end,
            schedule=schedule,
            retry_unresolved=retry_unresolved,
            on_update=on_update,
            progress=progress,
        )

    async def bulk_status(
        self,
        message_id: int | str,
        *,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> SMSBulkReport:
        """Every recipient of one SMS and its status (``GET /bulk-status``).

        Raises :class:`MessageNotFoundError` (code 4) for an unknown message id, and the
        other :class:`APIError` subclasses for the other vendor codes. ``deadline``
        (seconds; default: the client's) bounds the call, retries and waits included:
        :class:`RequestTimeoutError` when it passes first.

        >>> report = await client.bulk_status(1226613)  # doctest: +SKIP
        >>> report.counts_by_status()  # doctest: +SKIP
        """
        try:
            normal_id = normalize_message_id(message_id)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        settings = self._request_settings(timeout, max_retries, deadline)
        return await self._bulk_status(str(normal_id), "sms_bulk", settings)

    async def message_status(
        self,
        phone_number: str,
        message_id: int | str,
        *,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> MessageStatus:
        """The status of one SMS to one recipient (``GET /message-status``).

        ``phone_number`` is normalised like a multi-status query (national numbers in
        ``default_region``) and sent in E.164. Raises :class:`MessageNotFoundError` (code
        4) and the other :class:`APIError` subclasses for the vendor's codes 1, 2, 3, 10;
        :class:`ConfigurationError` naming the value for an invalid number or id.

        ``deadline``: as in :meth:`bulk_status`.

        >>> status = await client.message_status("0612345678", 1226613)  # doctest: +SKIP
        >>> status.status, status.cost, status.date  # doctest: +SKIP
        (<DeliveryStatus.DELIVERED: 'Delivered'>, Decimal('0.045'), datetime.datetime(...))
        """
        try:
            phone, normal_id = self._normalize((phone_number, message_id), 0)
        except InvalidQuery as exc:
            raise ConfigurationError(exc.detail) from None
        except InvalidInputError as exc:
            raise ConfigurationError(str(exc)) from None
        settings = self._request_settings(timeout, max_retries, deadline)
        status: MessageStatus = await self._get(
            "message-status",
            "message",
            {"messageId": str(normal_id), "phoneNumber": phone},
            settings,
        )
        return attrs.evolve(status, phone_number=phone, message_id=normal_id)

    async def bulk_status_by_tag(
        self,
        tag: str,
        *,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> TagStatusReport:
        """Every recipient of the SMS sent with ``tag`` (``GET /bulk-status-by-tag``).

        The vendor's answer carries ``currentPage`` and ``total`` but no page parameter is
        documented: check :attr:`TagStatusReport.is_complete` (a warning is logged when
        ``total`` exceeds the recipients listed). Raises the :class:`APIError`
        subclasses for the vendor's codes (:class:`MessageNotFoundError` for 4).

        ``deadline``: as in :meth:`bulk_status`.

        >>> report = await client.bulk_status_by_tag("campaign-42")  # doctest: +SKIP
        >>> report.counts_by_status(), report.is_complete  # doctest: +SKIP
        """
        if not isinstance(tag, str) or not tag.strip():
            raise ConfigurationError(f"invalid tag {tag!r}: expected a non-empty string")
        settings = self._request_settings(timeout, max_retries, deadline)
        report: TagStatusReport = await self._get(
            "bulk-status-by-tag", "tag", {"tag": tag.strip()}, settings
        )
        return attrs.evolve(report, tag=tag.strip())

    async def cost_statistics(
        self,
        interval: CostInterval = "last_twelve_months",
        *,
        start: date | None = None,
        end: date | None = None,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> CostStatistics:
        """Sending statistics (SMS sent, cost) per period (``GET /statistics/cost-resume``).

        ``interval`` is ``"last_twelve_months"`` (default), ``"last_month"`` or
        ``"custom"``, which needs ``start`` and ``end`` (``datetime.date``; sent as the
        vendor's ``from``/``to`` in ``DD-MM-YYYY``). The vendor allows 5 requests per
        minute: this client spaces its cost-resume requests (retries included) so that
        no more than 5 start in any 60 seconds of its clock.

        ``deadline``: as in :meth:`bulk_status`.

        >>> stats = await client.cost_statistics("last_month")  # doctest: +SKIP
        >>> stats.total_cost, [row.messages_sent for row in stats]  # doctest: +SKIP
        """
        params = cost_resume_params(*cost_period(interval, start, end))
        if self._cost_pacer is None:
            self._cost_pacer = WindowPacer(COST_REQUESTS_PER_MINUTE, 60.0, self._clock)
        settings = self._request_settings(timeout, max_retries, deadline)
        statistics: CostStatistics = await self._get(
            "statistics/cost-resume", "cost", params, settings, self._cost_pacer
        )
        return attrs.evolve(statistics, interval=interval)


class MailPartnerClient(_Client[MailBulkReport]):
    """Async client for the Mail Partner delivery-status API.

    >>> async with MailPartnerClient() as mail:  # doctest: +SKIP
    ...     report = await mail.bulk_status("300")

    Takes the same options as :class:`SMSPartnerClient` except those of multi-status;
    ``api_key=None`` reads ``MAILPARTNER_API_KEY``; ``base_url=None`` reads
    ``MAILPARTNER_BASE_URL``, else ``https://api.mailpartner.fr/v1``.
    """

    _env_var = "MAILPARTNER_API_KEY"
    _base_url_env_var = "MAILPARTNER_BASE_URL"
    _default_base_url = "https://api.mailpartner.fr/v1"

    async def bulk_status(
        self,
        message_id: int | str,
        *,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> MailBulkReport:
        """Every recipient of one e-mail and its status (``GET /bulk-status``), with the
        rules of :meth:`SMSPartnerClient.bulk_status` (``deadline`` included)."""
        text = str(message_id).strip() if isinstance(message_id, (int, str)) else ""
        if not text or isinstance(message_id, bool):
            raise ConfigurationError(f"invalid message id {message_id!r}: expected an id")
        settings = self._request_settings(timeout, max_retries, deadline)
        return await self._bulk_status(text, "mail_bulk", settings)
