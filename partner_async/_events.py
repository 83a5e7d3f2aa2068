"""Observability: what each request attempt looks like to hooks, spans and errors.

Every attempt passes through ``_runner.Requester.call``, whichever the backend (asyncio or
trio) and the transport path (aiohttp directly, or ``httpx.AsyncClient.send``), so the
hooks fire there. Nothing here ever holds the API key: the URL is without its query
string and the request body is not kept.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any, TypeAlias

import attrs

from ._exceptions import ConfigurationError
from ._serialize import JSONReady, attrs_dict
from ._version import __version__

__all__ = [
    "EventHook",
    "EventHooks",
    "RequestInfo",
    "ResponseInfo",
    "end_span",
    "fire",
    "setup_logging",
    "start_span",
    "tracer",
]


@attrs.frozen(slots=True)
class RequestInfo(JSONReady):
    """One attempt of one HTTP request, as hooks and errors see it (never the API key).

    Attributes:
        method: ``"POST"`` (multi-status) or ``"GET"`` (bulk-status).
        url: the endpoint's URL, without query string (the GET endpoints carry the key
            there) and without the body (the POST endpoint carries it there).
        path: the URL's path, such as ``"/v1/multi-status"``.
        attempt: 1 for the first try, 2 for the first retry...
        items: the queries in a multi-status request; 0 for bulk-status.
    """

    method: str
    url: str
    path: str
    attempt: int
    items: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this value (``json.dumps`` takes it)."""
        return attrs_dict(self)


@attrs.frozen(slots=True)
class ResponseInfo(JSONReady):
    """What one attempt got back.

    Attributes:
        request: the :class:`RequestInfo` of the attempt.
        status_code: the HTTP status, or None when no HTTP answer came (see ``error``).
        elapsed: seconds from sending to the whole body read (by the client's clock).
        error: when no HTTP answer came, the transport error (type and message, no key).
        content_type: the answer's ``Content-Type``.
        retry_after: the answer's ``Retry-After`` header, as sent.
    """

    request: RequestInfo
    status_code: int | None
    elapsed: float
    error: str | None = None
    content_type: str = ""
    retry_after: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this value, ``request`` nested (``json.dumps`` takes it)."""
        return attrs_dict(self)


#: A hook: a function or coroutine function of one :class:`RequestInfo` (``"request"``
#: hooks) or :class:`ResponseInfo` (``"response"`` hooks).
EventHook: TypeAlias = Callable[[Any], Any]

_KINDS = ("request", "response")


class EventHooks(dict[str, list[EventHook]]):
    """``{"request": [...], "response": [...]}``, as httpx's ``event_hooks``."""

    def __init__(self, hooks: Mapping[str, Iterable[EventHook]] | None = None) -> None:
        super().__init__(request=[], response=[])
        for kind, functions in (hooks or {}).items():
            if kind not in _KINDS:
                raise ConfigurationError(
                    f"event_hooks keys are 'request' and 'response', got {kind!r}"
                )
            functions = list(functions)
            for function in functions:
                if not callable(function):
                    raise ConfigurationError(f"an event hook must be callable, got {function!r}")
            self[kind] = functions


async def fire(hooks: list[EventHook], info: RequestInfo | ResponseInfo) -> None:
    """Call every hook with ``info``, awaiting those that return an awaitable."""
    for hook in hooks:
        result = hook(info)
        if inspect.isawaitable(result):
            await result


@functools.cache
def tracer() -> Any:
    """OpenTelemetry's tracer for the SDK, or None when ``opentelemetry-api`` is absent
    (the ``otel`` extra). Without a configured SDK the tracer is OpenTelemetry's no-op."""
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    return trace.get_tracer("partner_async", __version__)


@functools.cache
def _default_provider() -> tuple[Callable[[], Any], type]:
    from opentelemetry import trace

    return trace.get_tracer_provider, trace.ProxyTracerProvider


def tracing(otel_tracer: Any) -> bool:
    """Whether an attempt gets a span: ``opentelemetry-api`` is installed *and* a tracer
    provider is configured (checked at each attempt, so one set up after the client was
    made counts). With only the API, spans would be no-ops that still cost their objects
    on every request."""
    if otel_tracer is None:
        return False
    get_provider, proxy = _default_provider()
    return not isinstance(get_provider(), proxy)


def start_span(otel_tracer: Any, request: RequestInfo | None) -> AbstractContextManager[Any]:
    """An OpenTelemetry client span for one attempt, current while it runs (a no-op
    context without a tracer)."""
    if request is None or not tracing(otel_tracer):
        return contextlib.nullcontext()
    from opentelemetry.trace import SpanKind

    return otel_tracer.start_as_current_span(  # type: ignore[no-any-return]
        f"{request.method} {request.path}",
        kind=SpanKind.CLIENT,
        attributes={
            "http.request.method": request.method,
            "url.full": request.url,
            "http.request.resend_count": request.attempt - 1,
            "partner_async.items": request.items,
        },
        record_exception=False,
        set_status_on_exception=False,
    )


def end_span(span: Any, status_code: int | None, error: Exception | None) -> None:
    """Record the attempt's outcome on its span: the HTTP status, or the transport error."""
    from opentelemetry.trace import StatusCode

    if status_code is not None:
        span.set_attribute("http.response.status_code", status_code)
        if status_code >= 400:
            span.set_attribute("error.type", str(status_code))
            span.set_status(StatusCode.ERROR)
    else:
        span.set_attribute("error.type", type(error).__name__)
        span.set_status(StatusCode.ERROR, str(error))


_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}


def setup_logging(environ: Mapping[str, str] = os.environ) -> None:
    """``PARTNER_ASYNC_LOG=debug`` (or ``info``): log the SDK's records to stderr at that
    level (one line per request attempt at ``debug``), as ``OPENAI_LOG`` does."""
    level = _LEVELS.get(environ.get("PARTNER_ASYNC_LOG", "").strip().lower())
    if level is None:
        return
    logger = logging.getLogger("partner_async")
    logger.setLevel(level)
    if not any(getattr(h, "_partner_async", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s %(levelname)s %(name)s] %(message)s"))
        handler._partner_async = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
