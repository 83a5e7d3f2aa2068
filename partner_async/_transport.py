"""Everything that touches the HTTP library lives here, so that changing it is one module.

The SDK speaks httpx. Under asyncio it drives httpx through ``httpx_aiohttp``'s transport
(aiohttp's connection pool costs a fraction of httpcore's CPU per request at high
concurrency, see benchmarks/RESULTS.md); under trio it uses httpx's own pool. A
caller-supplied ``httpx.AsyncClient`` is used as is and never closed by the SDK.
"""

from __future__ import annotations

import functools
import logging
import re
import ssl
from typing import TypeAlias

import anyio
import attrs
import httpx
import sniffio

from ._exceptions import RequestTimeoutError, TransportError
from ._version import __version__

__all__ = [
    "HTTPClient",
    "RawResponse",
    "Timeout",
    "Transport",
    "install_log_redaction",
    "redact",
]

#: What a timeout option accepts.
Timeout: TypeAlias = "float | httpx.Timeout | None"
#: What ``http_client=`` accepts.
HTTPClient: TypeAlias = httpx.AsyncClient

_USER_AGENT = f"partner-async/{__version__}"
_API_KEY_IN_URL = re.compile(r"(?i)(apiKey=)[^&\s\"']*")


def redact(text: str, secret: str | None = None) -> str:
    """``text`` with any ``apiKey=...`` query value, and ``secret`` itself, masked."""
    text = _API_KEY_IN_URL.sub(r"\1***", text)
    if secret:
        text = text.replace(secret, "***")
    return text


class _RedactFilter(logging.Filter):
    """Masks API keys in httpx's own request log lines (the GET endpoints put it in the URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(
                redact(str(a)) if isinstance(a, (httpx.URL, str)) else a for a in args
            )
        if isinstance(record.msg, str) and "apiKey" in record.msg:
            record.msg = redact(record.msg)
        return True


_FILTER = _RedactFilter()


def install_log_redaction() -> None:
    """Attach the redacting filter to httpx's and httpcore's loggers (idempotent)."""
    for name in ("httpx", "httpcore", "httpx_aiohttp"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


@attrs.frozen(slots=True)
class RawResponse:
    """An HTTP answer reduced to what the decoders need."""

    status_code: int
    content: bytes
    content_type: str
    retry_after: str | None


class _Body(httpx.AsyncByteStream):
    """A request body as one chunk, iterated without an async generator.

    httpx's own ``ByteStream`` iterates through an async generator; when a connection
    dies mid-request, httpcore abandons it unexhausted and trio reports it at garbage
    collection. A plain iterator has nothing to finalise.
    """

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data

    def __aiter__(self) -> _Body:
        return _Body(self._data or b"")

    async def __anext__(self) -> bytes:
        data, self._data = self._data, None
        if data is None:
            raise StopAsyncIteration
        return data


def _deadline(timeout: Timeout) -> float | None:
    """The overall per-attempt deadline: a number is also a cap on the whole attempt."""
    return float(timeout) if isinstance(timeout, (int, float)) else None


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process: building one (loading the CA bundle) costs
    ~20 ms, which every new client would otherwise pay. Verification is always on."""
    return httpx.create_ssl_context()


def _extra_transport_errors() -> tuple[type[Exception], ...]:
    try:
        import aiohttp
    except ImportError:  # pragma: no cover - httpx-aiohttp depends on aiohttp
        return ()
    return (aiohttp.ClientError,)


class Transport:
    """Sends one request and returns a :class:`RawResponse`, or raises ``TransportError``.

    The httpx client is created on first use, inside the event loop, so the choice of
    pool can follow the running backend.
    """

    def __init__(
        self,
        *,
        http_client: httpx.AsyncClient | None,
        timeout: Timeout,
        max_connections: int,
    ) -> None:
        self._client = http_client
        self._owns_client = http_client is None
        self._timeout = timeout
        self._max_connections = max_connections
        self._other_errors: tuple[type[Exception], ...] = (OSError, EOFError)
        install_log_redaction()

    def prepare(self) -> httpx.AsyncClient:
        """Create the httpx client now (it needs the running event loop to pick a pool)."""
        if self._client is None:
            self._client = self._create_client()
        return self._client

    def _create_client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(
            max_connections=self._max_connections,
            max_keepalive_connections=self._max_connections,
        )
        timeout = self._httpx_timeout(self._timeout)
        headers = {"User-Agent": _USER_AGENT, "Accept": "application/json"}
        if sniffio.current_async_library() == "asyncio":
            from httpx_aiohttp import AiohttpTransport

            self._other_errors = (OSError, EOFError, *_extra_transport_errors())
            return httpx.AsyncClient(
                transport=AiohttpTransport(limits=limits, verify=_ssl_context()),
                timeout=timeout,
                headers=headers,
            )
        return httpx.AsyncClient(
            limits=limits, timeout=timeout, headers=headers, verify=_ssl_context()
        )

    @staticmethod
    def _httpx_timeout(timeout: Timeout) -> httpx.Timeout:
        return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)

    async def request(
        self,
        method: str,
        url: str,
        *,
        timeout: Timeout,
        params: dict[str, str] | None = None,
        json_body: bytes | None = None,
    ) -> RawResponse:
        """Send one request and read the whole body.

        Raises :class:`RequestTimeoutError` or :class:`TransportError` (messages redacted,
        no chained httpx error) when no HTTP answer arrives.
        """
        client = self._client or self.prepare()
        headers = {"Content-Type": "application/json"} if json_body is not None else None
        deadline = _deadline(timeout)
        error: str | None = None
        timed_out = False
        response: httpx.Response | None = None
        with anyio.move_on_after(deadline) as scope:
            try:
                request = client.build_request(
                    method,
                    url,
                    params=params,
                    content=json_body,
                    headers=headers,
                    timeout=self._httpx_timeout(timeout),
                )
                if json_body is not None:
                    request.stream = _Body(json_body)
                response = await client.send(request)
            except httpx.TimeoutException as exc:
                timed_out = True
                error = f"{type(exc).__name__}: {exc}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            except self._other_errors as exc:
                error = f"{type(exc).__name__}: {exc}"
        if scope.cancelled_caught:
            raise RequestTimeoutError(f"no complete answer within {deadline:g} s")
        if error is not None:
            # Raised without the httpx error chained: it references the request URL.
            if timed_out:
                raise RequestTimeoutError(redact(error)) from None
            raise TransportError(redact(error)) from None
        assert response is not None
        return RawResponse(
            status_code=response.status_code,
            content=response.content,
            content_type=response.headers.get("content-type", ""),
            retry_after=response.headers.get("retry-after"),
        )

    async def aclose(self) -> None:
        """Close the httpx client if the SDK created it."""
        client, self._client = self._client, None
        if client is not None and self._owns_client:
            await client.aclose()
        if not self._owns_client:
            self._client = client
