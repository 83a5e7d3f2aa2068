"""Everything that touches the HTTP library lives here, so that changing it is one module.

The SDK speaks httpx. Under asyncio its own pool is aiohttp's (a fraction of httpcore's
CPU per request at high concurrency, see benchmarks/RESULTS.md), behind
:class:`AiohttpTransport`, an ``httpx.AsyncBaseTransport``: the SDK's own
``httpx.AsyncClient`` is built on it, and the SDK calls the same transport's typed fast
method, :meth:`AiohttpTransport.fetch`, without building httpx request and response
objects. While respx mocks httpx (``respx.mock(using="httpx")``), every request goes
through ``httpx.AsyncClient.send`` instead, so the mock sees it; while respx's default
mock (httpcore's level) is active, through a client on httpcore's pool. Under trio the SDK uses
httpx's own pool. A caller-supplied ``httpx.AsyncClient`` is used as is, through ``send``,
and never closed by the SDK.
"""

from __future__ import annotations

import functools
import logging
import re
import ssl
import sys
import urllib.request
import zlib
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, cast
from urllib.parse import SplitResult, urlsplit

import anyio
import attrs
import httpx
import sniffio

from ._exceptions import (
    ClientClosedError,
    ConfigurationError,
    RequestTimeoutError,
    ResponseFormatError,
    ResponseTooLargeError,
    TransportError,
)
from ._secret import MASK, Secret, SecretBody
from ._version import __version__

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "AiohttpTransport",
    "HTTPClient",
    "Params",
    "RawResponse",
    "Timeout",
    "Transport",
    "check_timeout",
    "install_log_redaction",
    "redact",
]

#: What a timeout option accepts.
Timeout: TypeAlias = "float | httpx.Timeout | None"
#: What ``http_client=`` accepts.
HTTPClient: TypeAlias = httpx.AsyncClient
#: Query parameters; a :class:`Secret` value is revealed only where the request is built.
Params: TypeAlias = "Mapping[str, str | Secret]"


def check_timeout(value: object) -> Timeout:
    """``value`` if it is a timeout option (None, a number of seconds >= 0, or an
    ``httpx.Timeout``); :class:`ConfigurationError` naming it otherwise."""
    if value is None or isinstance(value, httpx.Timeout):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    raise ConfigurationError(
        f"timeout must be None, a number of seconds >= 0 or an httpx.Timeout, got {value!r}"
    )


def _reveal(params: Params | None) -> dict[str, str] | None:
    if params is None:
        return None
    return {k: v.reveal() if isinstance(v, Secret) else v for k, v in params.items()}


def _secrets_of(params: Params | None, json_body: SecretBody | None) -> list[Secret]:
    found = [v for v in params.values() if isinstance(v, Secret)] if params else []
    if json_body is not None:
        found.append(json_body.secret)
    return found


#: The default cap on one answer, compressed and decompressed: 16 MiB. A 500-entry
#: multi-status answer is ~75 KB in JSON and ~105 KB in XML, so this is over 150x headroom
#: (and room for bulk-status reports of ~100,000 recipients).
DEFAULT_MAX_RESPONSE_BYTES = 16 * 2**20

_USER_AGENT = f"partner-async/{__version__}"
# Only encodings the SDK decompresses itself, incrementally and capped.
_HEADERS = {
    "User-Agent": _USER_AGENT,
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate",
}
_CHUNK = 65536
_JSON_BODY = {"Content-Type": "application/json"}
_API_KEY_IN_URL = re.compile(r"(?i)(apiKey=)[^&\s\"']*")
#: The password of a URL's ``user:password@`` (a proxy's, in an error message).
_PASSWORD_IN_URL = re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s]*@")


def redact(text: str, secret: Secret | None = None) -> str:
    """``text`` with any ``apiKey=...`` query value, any URL's password (a proxy's
    ``user:password@``), and ``secret`` in any of its forms (:meth:`Secret.redact`),
    masked."""
    text = _API_KEY_IN_URL.sub(r"\1" + MASK, text)
    if "@" in text:
        text = _PASSWORD_IN_URL.sub(r"\1" + MASK + "@", text)
    return text if secret is None else secret.redact(text)


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
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


@attrs.frozen(slots=True)
class RawResponse:
    """An HTTP answer reduced to what the decoders need."""

    status_code: int
    content: bytes = attrs.field(repr=False)  # the server's text: never shown in a repr
    content_type: str
    retry_after: str | None


class _Decompressor(Protocol):
    """What :class:`_Inflater` uses of ``zlib.decompressobj()``'s object."""

    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...
    def flush(self, length: int = ..., /) -> bytes: ...


class _Inflater:
    """Decompresses one ``Content-Encoding`` (identity, gzip, deflate) incrementally,
    never holding more than ``limit`` bytes of output: a gzip bomb stops at the cap."""

    __slots__ = ("_decoder", "_encoding", "_limit", "_parts", "_raw", "_size")

    def __init__(self, encoding: str, limit: int, status_code: int | None) -> None:
        self._encoding = encoding = encoding.strip().lower()
        self._limit = limit
        self._raw = 0
        self._size = 0
        self._parts: list[bytes] = []
        if encoding in ("", "identity"):
            self._decoder: _Decompressor | None = None
        elif encoding in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._decoder = zlib.decompressobj(zlib.MAX_WBITS)  # retried raw if no header
        else:
            raise ResponseFormatError(
                f"the answer uses Content-Encoding {encoding!r}, which was not asked for",
                status_code=status_code,
            )

    def _too_large(self, what: str) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"the answer exceeds max_response_bytes={self._limit} ({what}); not read further"
        )

    def feed(self, chunk: bytes) -> None:
        """Take one chunk of the body as received."""
        self._raw += len(chunk)
        if self._raw > self._limit:
            raise self._too_large("received")
        if self._decoder is None:
            self._keep(chunk)
            return
        room = self._limit - self._size + 1
        try:
            data = self._decoder.decompress(chunk, room)
        except zlib.error:
            if self._encoding != "deflate" or self._raw != len(chunk):
                raise
            self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, no header
            data = self._decoder.decompress(chunk, room)
        self._keep(data)

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            raise self._too_large("decompressed")
        if data:
            self._parts.append(data)

    def body(self) -> bytes:
        """The whole decompressed body."""
        if self._decoder is not None:
            self._keep(self._decoder.flush())
        return b"".join(self._parts)


async def read_capped(
    chunks: AsyncIterator[bytes], encoding: str, limit: int, status_code: int
) -> bytes:
    """The decompressed body of ``chunks``: :class:`ResponseTooLargeError` as soon as more
    than ``limit`` bytes arrive or would be decompressed, :class:`ResponseFormatError`
    for a corrupt or unknown encoding.

    Reading stops by cancelling the read in progress rather than by leaving the loop: the
    cancellation is delivered inside the HTTP library's own stream (httpx and httpcore
    stream through nested async generators), which then all unwind and close the
    connection, instead of being left unexhausted for the garbage collector.
    """
    inflater = _Inflater(encoding, limit, status_code)
    failure: Exception | None = None
    with anyio.CancelScope() as stop:
        async for chunk in chunks:
            if failure is None:
                try:
                    inflater.feed(chunk)
                except (ResponseFormatError, zlib.error) as exc:
                    failure = exc
                    stop.cancel()  # delivered at the next read
    try:
        if failure is not None:
            raise failure
        return inflater.body()
    except zlib.error as exc:
        raise ResponseFormatError(
            f"the answer's {encoding} body is corrupt ({exc})", status_code=status_code
        ) from None
    except ResponseFormatError as exc:
        exc.status_code = status_code
        raise


def _check_length(header: str | None, limit: int, status_code: int) -> None:
    """Refuse at once an answer whose ``Content-Length`` already exceeds the cap."""
    if header is not None and header.strip().isdigit() and int(header) > limit:
        raise ResponseTooLargeError(
            f"the answer exceeds max_response_bytes={limit} (Content-Length {int(header)}); "
            "not read",
            status_code=status_code,
        )


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


def _attempt_cap(timeout: Timeout) -> float | None:
    """How long one whole attempt may take: a number caps it as a whole; an
    ``httpx.Timeout`` by the sum of its phases (pool, connect, write, read), so a server
    trickling its answer a byte at a time cannot hold an attempt forever."""
    if isinstance(timeout, httpx.Timeout):
        phases = (timeout.pool, timeout.connect, timeout.write, timeout.read)
        if any(phase is None for phase in phases):
            return None
        return float(sum(phases))  # type: ignore[arg-type]
    return None if timeout is None else float(timeout)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process: building one (loading the CA bundle) costs
    ~20 ms, which every new client would otherwise pay. Verification is always on."""
    return httpx.create_ssl_context()


@functools.cache
def _trust_nothing_context() -> ssl.SSLContext:
    """The TLS context of a client whose base URL is plain http (loopback only): it never
    does TLS, so it loads no CA bundle (~20 ms saved). Verification stays on and no CA is
    trusted, so a TLS handshake through it would fail closed."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class Transport:
    """Sends one request and returns a :class:`RawResponse`, or raises ``TransportError``.

    The httpx client is created on first use (or in ``prepare``), inside the event loop,
    so the choice of pool can follow the running backend. Under asyncio, when the SDK owns
    the pool, the client is built on an :class:`AiohttpTransport` and requests go to that
    transport's :meth:`~AiohttpTransport.fetch` directly: the same connections, without
    building httpx request and response objects (half the client CPU per request, see
    benchmarks/RESULTS.md). While respx mocks (:func:`_respx_mocking`), they go through
    ``httpx.AsyncClient.send`` (the mock sees them; unmocked ones reach the same
    transport), and so does every request of a caller-supplied ``http_client``.
    """

    def __init__(
        self,
        *,
        http_client: httpx.AsyncClient | None,
        timeout: Timeout,
        max_connections: int,
        tls: bool = True,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        proxy: str | None = None,
        base_url: str | None = None,
    ) -> None:
        self._client = http_client
        self._proxy = proxy
        self._base_url = base_url  # where every request goes: its proxy is picked once
        self.max_response_bytes = max_response_bytes
        self._tls = tls
        self._owns_client = http_client is None
        self._timeout = timeout
        self._max_connections = max_connections
        self._fast: AiohttpTransport | None = None
        self._mocked: httpx.AsyncClient | None = None  # see _httpcore_client
        self._closed = False
        install_log_redaction()

    def prepare(self) -> httpx.AsyncClient:
        """Create the httpx client now (it needs the running event loop to pick a pool)."""
        if self._closed:
            raise ClientClosedError("the client is closed")
        if self._client is None:
            self._client = self._create_client()
        return self._client

    def _create_client(self) -> httpx.AsyncClient:
        timeout = self._httpx_timeout(self._timeout)
        verify = self.tls_context
        if sniffio.current_async_library() == "asyncio":
            self._fast = AiohttpTransport(
                max_connections=self._max_connections,
                verify=verify,
                proxy=self._pool_proxy(),
                trust_env=False,  # (the environment is read once, by _pool_proxy)
                max_response_bytes=self.max_response_bytes,
            )
            return httpx.AsyncClient(transport=self._fast, timeout=timeout, headers=_HEADERS)
        return self._httpx_pool_client(timeout, verify)

    def _httpx_pool_client(
        self, timeout: httpx.Timeout, verify: ssl.SSLContext
    ) -> httpx.AsyncClient:
        """An httpx client on httpx's own pool (httpcore): the SDK's pool under trio."""
        limits = httpx.Limits(
            max_connections=self._max_connections,
            max_keepalive_connections=self._max_connections,
        )
        return httpx.AsyncClient(
            limits=limits,
            timeout=timeout,
            headers=_HEADERS,
            verify=verify,
            proxy=self._pool_proxy(),
            trust_env=False,  # (the environment is read once, by _pool_proxy)
        )

    def _pool_proxy(self) -> str | None:
        """The proxy of the SDK's own pool, one rule for both backends: ``proxy=``, else
        the environment's for the base URL (:func:`_proxy_for`), read when the pool is
        made. Every request goes to the base URL's host, so it is picked once."""
        if self._proxy is not None or self._base_url is None:
            return self._proxy
        proxies = _environment_proxies()
        return None if proxies is None else _proxy_for(self._base_url, proxies)

    def _httpcore_client(self) -> httpx.AsyncClient:
        """Under asyncio, while respx's default (httpcore-level) mock is active: a client
        on httpcore's pool, made once and closed with this transport, so that the mock
        sees the SDK's requests as it does under trio."""
        client = self._mocked
        if client is None:
            client = self._mocked = self._httpx_pool_client(
                self._httpx_timeout(self._timeout), self.tls_context
            )
        return client

    @property
    def tls_context(self) -> ssl.SSLContext:
        """The TLS context of the SDK's own pool (always verifying)."""
        return _ssl_context() if self._tls else _trust_nothing_context()

    @staticmethod
    def _httpx_timeout(timeout: Timeout) -> httpx.Timeout:
        return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)

    async def request(
        self,
        method: str,
        url: str,
        *,
        timeout: Timeout,
        params: Params | None = None,
        json_body: SecretBody | None = None,
        limit: float | None = None,
    ) -> RawResponse:
        """Send one request and read the whole body (at most ``max_response_bytes``,
        compressed and decompressed), within ``limit`` seconds if given (the caller's
        deadline) and the attempt cap of ``timeout``.

        The secrets in ``params`` and ``json_body`` are revealed only to the HTTP library,
        and masked in the answer's body before anything reads it (a server echoing the
        request cannot put the key into an error, a log line or a result).

        Raises :class:`RequestTimeoutError` or :class:`TransportError` (messages redacted,
        the library's error chained as a redacted copy) when no HTTP answer arrives,
        :class:`ResponseFormatError` when the body is larger than the cap or its encoding
        is corrupt, and :class:`ClientClosedError` once :meth:`aclose` was called.
        """
        if self._closed:
            raise ClientClosedError("the client is closed")
        client = self._client or self.prepare()
        fast = self._fast
        if fast is not None and (mocked := _respx_mocking()) is not None:
            fast = None  # through httpx.AsyncClient.send, where an httpx-level mock sees it
            if mocked == "httpcore":  # and through httpcore's pool, where respx's default sees it
                client = self._httpcore_client()
        deadline = _attempt_cap(timeout)
        if limit is not None and (deadline is None or limit < deadline):
            deadline = max(limit, 0.0)
        error: str | None = None
        failure: BaseException | None = None
        timed_out = False
        response: RawResponse | None = None
        with anyio.move_on_after(deadline) as scope:
            try:
                if fast is not None:
                    response = await fast.fetch(
                        method,
                        url,
                        params=_reveal(params),
                        body=None if json_body is None else json_body.reveal(),
                        timeout=timeout,
                    )
                else:
                    response = await self._send(client, method, url, params, json_body, timeout)
            except (httpx.TimeoutException, TimeoutError) as exc:
                timed_out = True
                error, failure = f"{type(exc).__name__}: {exc}", exc
            except (httpx.HTTPError, OSError, EOFError) as exc:
                error, failure = f"{type(exc).__name__}: {exc}", exc
        if scope.cancelled_caught:
            raise RequestTimeoutError(f"no complete answer within {deadline:g} s")
        secrets = _secrets_of(params, json_body)
        if error is not None:
            for secret in secrets:
                error = secret.redact(error)
            error = redact(error)
            # The library's error references the request (its URL carries the key for GET
            # endpoints): it is chained as a copy of its type with the redacted message.
            cause = _redacted_copy(failure, error.partition(": ")[2])
            if timed_out:
                raise RequestTimeoutError(error) from cause
            raise TransportError(error) from cause
        assert response is not None
        if secrets:
            content = response.content
            for secret in secrets:
                content = secret.redact_bytes(content)
            if content is not response.content:
                response = attrs.evolve(response, content=content)
        return response

    async def _send(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        params: Params | None,
        json_body: SecretBody | None,
        timeout: Timeout,
    ) -> RawResponse:
        """One request through ``httpx.AsyncClient.send``."""
        request = client.build_request(
            method,
            url,
            params=_reveal(params),
            content=None if json_body is None else json_body.reveal(),
            headers=_JSON_BODY if json_body is not None else None,
            timeout=self._httpx_timeout(timeout),
        )
        if json_body is not None:
            request.stream = _Body(json_body.reveal())
        request.headers["Accept-Encoding"] = _HEADERS["Accept-Encoding"]
        response = await client.send(request, stream=True)
        try:
            headers = response.headers
            limit = self.max_response_bytes
            _check_length(headers.get("content-length"), limit, response.status_code)
            if response.is_stream_consumed:  # a canned response (a mock) already read
                content = await read_capped(
                    _Body(response.content).__aiter__(), "", limit, response.status_code
                )
            else:
                content = await read_capped(
                    response.aiter_raw(_CHUNK),
                    headers.get("content-encoding", ""),
                    limit,
                    response.status_code,
                )
        finally:
            await response.aclose()
        return RawResponse(
            status_code=response.status_code,
            content=content,
            content_type=headers.get("content-type", ""),
            retry_after=headers.get("retry-after"),
        )

    def borrow(self) -> Transport:
        """This transport as another client shares it (``with_options``): the same pool
        and settings; closing the borrower leaves the pool open."""
        return cast(Transport, _Borrowed(self))

    async def aclose(self) -> None:
        """Close the httpx client if the SDK created it (and with it the SDK's aiohttp
        transport); no request is sent afterwards."""
        self._closed = True
        client, self._client = self._client, None
        if client is not None and self._owns_client:
            await client.aclose()
        fast, self._fast = self._fast, None
        if fast is not None:
            await fast.aclose()  # (already closed with the client: idempotent)
        mocked, self._mocked = self._mocked, None
        if mocked is not None:
            await mocked.aclose()
        if not self._owns_client:
            self._client = client


class _Borrowed:
    """Another client's :class:`Transport`: everything is the owner's, except that closing
    it leaves the pool open."""

    __slots__ = ("_owner",)

    def __init__(self, owner: Transport) -> None:
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._owner, name)

    async def aclose(self) -> None:
        """Nothing to close: the pool belongs to the client it was borrowed from."""


def _redacted_copy(error: BaseException | None, message: str) -> BaseException:
    """An exception of ``error``'s type (when it can be built from a message alone) with
    ``message`` and nothing else: no request, URL or headers; else a plain ``Exception``
    naming the type."""
    if error is None:
        return Exception(message)
    kind = type(error)
    try:
        copy = kind(message)
    except Exception:
        return Exception(f"{kind.__name__}: {message}")
    try:
        held = getattr(copy, "request", None)
    except RuntimeError:  # httpx's errors: "The .request property has not been set."
        held = None
    if held is not None:
        return Exception(f"{kind.__name__}: {message}")  # (it would hold a request)
    return copy


def _environment_proxies() -> dict[str, str] | None:
    """The environment's proxies by scheme (``http``, ``https``, ``all``: from
    ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, any case) and ``no`` (``NO_PROXY``), or
    None when none names an ``http(s)://`` proxy. A proxy of another kind (``ALL_PROXY=
    socks5://...``, set for other tools) is not used: the SDK speaks to http(s) proxies
    only, on both backends, and goes direct rather than fail."""
    found = urllib.request.getproxies_environment()
    proxies = {
        scheme: url
        for scheme, url in found.items()
        if scheme in ("http", "https", "all") and urlsplit(url).scheme in ("http", "https")
    }
    if not proxies:
        return None
    if found.get("no"):
        proxies["no"] = found["no"]
    return proxies


def _proxy_for(url: str, proxies: dict[str, str]) -> str | None:
    """The proxy of :func:`_environment_proxies` that ``url`` takes: ``<scheme>_PROXY``,
    else ``ALL_PROXY``, unless ``NO_PROXY`` names its host."""
    parts = urlsplit(url)
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if proxy and _bypassed(parts, proxies.get("no", "")):
        return None
    return proxy


def _bypassed(url: SplitResult, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` names ``url``'s host, as httpx reads it. Entries are
    comma-separated: ``*`` (every host), a host or a domain it is in (``example.com`` and
    ``.example.com`` both cover ``api.example.com``), optionally with a scheme
    (``http://host``: that scheme only) or a port (``host:8080``: that port only)."""
    host = (url.hostname or "").lower().rstrip(".")
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    for raw in no_proxy.lower().split(","):
        entry = raw.strip()
        if entry == "*":
            return True
        if "://" in entry:
            entry_scheme, _, entry = entry.partition("://")
            if entry_scheme not in ("all", url.scheme):
                continue
        entry = entry.strip("/")
        if entry.count(":") == 1:  # host:port (an IPv6 address has more colons)
            entry, _, entry_port = entry.partition(":")
            if not entry_port.isdigit() or int(entry_port) != port:
                continue
        entry = entry.lstrip("*").lstrip(".")
        if entry and (host == entry or host.endswith("." + entry)):
            return True
    return False


def _respx_mocking() -> str | None:
    """Which respx mock is active, asked through respx's registry of mockers: ``"httpx"``
    (``respx.mock(using="httpx")``: it sees a request only when it goes through
    ``httpx.AsyncClient.send``), ``"httpcore"`` (respx's default: it sees a request only
    when it goes through httpcore's pool), or None. None at the cost of one dictionary
    lookup when respx was never imported; ``"httpx"`` when respx is imported but cannot be
    asked (through ``send``, mocked or not, every request is answered right)."""
    mocks = sys.modules.get("respx.mocks")
    if mocks is None:
        return None
    try:
        registry = mocks.Mocker.registry
        httpx_mocker = registry.get("httpx")
        if httpx_mocker is None or httpx_mocker.routers:
            return "httpx"
        httpcore_mocker = registry.get("httpcore")
        return "httpcore" if httpcore_mocker is not None and httpcore_mocker.routers else None
    except AttributeError:  # pragma: no cover - a respx that no longer has this registry
        return "httpx"


def _timeout_phases(timeout: Timeout | Mapping[str, float | None]) -> tuple[Any, Any, Any]:
    """``(connect, read, pool)`` of a timeout option, an ``httpx.Timeout``, or the
    ``"timeout"`` extension of an ``httpx.Request``."""
    if timeout is None or isinstance(timeout, (int, float)):
        return timeout, timeout, timeout
    if isinstance(timeout, httpx.Timeout):
        return timeout.connect, timeout.read, timeout.pool
    return timeout.get("connect"), timeout.get("read"), timeout.get("pool")


@functools.lru_cache(maxsize=64)
def _aiohttp_timeout(
    connect: float | None, read: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    """httpx's timeout phases as aiohttp's, the one mapping: ``pool`` (waiting for a
    connection) bounds aiohttp's ``connect`` (getting one, opening included), ``connect``
    its ``sock_connect``, ``read`` its ``sock_read``. httpx's ``write`` has no aiohttp
    counterpart: the SDK bounds the whole attempt (``_attempt_cap``)."""
    import aiohttp

    return aiohttp.ClientTimeout(total=None, connect=pool, sock_connect=connect, sock_read=read)


@functools.cache
def _aiohttp_errors() -> tuple[tuple[type[Exception], type[httpx.TransportError]], ...]:
    """aiohttp's errors and the httpx error each one is raised as, most specific first."""
    import aiohttp

    return (
        (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
        (aiohttp.ServerTimeoutError, httpx.TimeoutException),
        (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
        (aiohttp.ClientHttpProxyError, httpx.ProxyError),
        (aiohttp.ClientConnectorError, httpx.ConnectError),
        (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError, httpx.ReadError),
        (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
        (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
        (aiohttp.ClientOSError, httpx.NetworkError),
        (aiohttp.ClientError, httpx.TransportError),
    )


def _as_httpx_error(error: Exception) -> httpx.TransportError:
    """The httpx error that aiohttp's ``error`` stands for, with its message (the caller
    chains ``error`` to it)."""
    for kind, mapped in _aiohttp_errors():
        if isinstance(error, kind):
            return mapped(str(error))
    return httpx.TransportError(str(error))  # pragma: no cover - every ClientError maps


_NO_TIMEOUT_YET = object()


class _AiohttpStream(httpx.AsyncByteStream):
    """The body of an aiohttp response, as received (not decompressed), for httpx."""

    def __init__(self, response: aiohttp.ClientResponse, client_error: type[Exception]) -> None:
        self._response = response
        self._client_error = client_error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(_CHUNK):
                yield chunk
        except self._client_error as exc:
            raise _as_httpx_error(exc) from exc

    async def aclose(self) -> None:
        if self._response.content.is_eof():
            self._response.release()  # read whole: the connection goes back to the pool
        else:
            self._response.close()  # not read to the end: the connection is dropped


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncBaseTransport`` over one ``aiohttp.ClientSession`` (asyncio only):
    the SDK's own pool under asyncio, usable by any ``httpx.AsyncClient``
    (``httpx.AsyncClient(transport=AiohttpTransport())``).

    :meth:`handle_async_request` serves httpx; :meth:`fetch` is the SDK's typed fast
    method on the same session, timeout mapping and errors: one request, its whole body
    read within ``max_response_bytes``, without httpx request or response objects.
    aiohttp's errors are raised as httpx's (``httpx.ConnectError``, ``httpx.ReadTimeout``,
    ...), aiohttp's own chained as their ``__cause__``. Redirects are not followed (httpx
    follows them itself when asked) and bodies are handed over as received (httpx
    decompresses them; the SDK does it itself, capped).

    Args:
        max_connections: the session's connection limit.
        verify: the TLS context (default: a verifying one, loaded once per process).
        proxy: an ``http://`` proxy URL for every request; None honours
            ``HTTP(S)_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY`` when ``trust_env``.
        trust_env: whether the environment's proxy variables apply.
        max_response_bytes: the cap of :meth:`fetch` on one answer, compressed and
            decompressed.
    """

    def __init__(
        self,
        *,
        max_connections: int = 100,
        verify: ssl.SSLContext | None = None,
        proxy: str | None = None,
        trust_env: bool = True,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        import aiohttp

        self._aiohttp = aiohttp
        self._client_error: type[Exception] = aiohttp.ClientError
        self._limit = max_connections
        self._verify = _ssl_context() if verify is None else verify
        self._proxy = proxy
        self._trust_env = trust_env
        self._max_response_bytes = max_response_bytes
        self._session: aiohttp.ClientSession | None = None  # opened by the first request
        # The environment's proxies, read when the session opens (None: none apply), and
        # the proxy each URL takes (NO_PROXY applied), worked out once per URL.
        self._env_proxies: dict[str, str] | None = None
        self._proxy_of_url: dict[str, str | None] = {}
        self._post_headers = {**_HEADERS, **_JSON_BODY}
        self._last_timeout: object = _NO_TIMEOUT_YET
        self._last_mapped: aiohttp.ClientTimeout | None = None

    def _session_now(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None:
            aiohttp = self._aiohttp
            if self._trust_env and self._proxy is None:
                self._env_proxies = _environment_proxies()
            session = self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit, ssl=self._verify),
                headers=_HEADERS,
                proxy=self._proxy,
            )
        return session

    def _env_proxy(self, url: str) -> str | None:
        """The environment's proxy for ``url`` (:func:`_proxy_for`), worked out once per
        URL."""
        proxies = self._env_proxies
        if proxies is None:
            return None
        known = self._proxy_of_url
        if url in known:
            return known[url]
        proxy = _proxy_for(url, proxies)
        if len(known) < 64:  # a client asks a handful of URLs (query strings go apart)
            known[url] = proxy
        return proxy

    def _client_timeout(
        self, timeout: Timeout | Mapping[str, float | None]
    ) -> aiohttp.ClientTimeout:
        mapped = self._last_mapped
        if timeout is self._last_timeout and mapped is not None:
            return mapped  # the same option as the last request's: most requests
        mapped = self._last_mapped = _aiohttp_timeout(*_timeout_phases(timeout))
        self._last_timeout = timeout
        return mapped

    async def fetch(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: Timeout = None,
    ) -> RawResponse:
        """One request (``body``, if any, sent as JSON), its whole body read: at once when
        ``Content-Length`` declares it within the cap, else decompressed incrementally and
        capped (:func:`read_capped`). Raises httpx's errors, as
        :meth:`handle_async_request` does, and :class:`ResponseFormatError` for an answer
        over the cap."""
        try:
            async with self._session_now().request(
                method,
                url,
                params=params,
                proxy=self._env_proxy(url),
                data=body,
                headers=self._post_headers if body is not None else None,
                timeout=self._client_timeout(timeout),
                allow_redirects=False,
                auto_decompress=False,  # decompressed by read_capped, incrementally
            ) as response:
                headers = response.headers
                limit = self._max_response_bytes
                length = headers.get("Content-Length")
                encoding = headers.get("Content-Encoding", "")
                try:
                    _check_length(length, limit, response.status)
                    if length is not None and encoding in ("", "identity"):
                        # Within the cap and read exactly as declared: one read, no loop.
                        content = await response.read()
                    else:
                        content = await read_capped(
                            response.content.iter_chunked(_CHUNK), encoding, limit, response.status
                        )
                except ResponseFormatError:
                    response.close()  # the rest of the body is not read: drop the connection
                    raise
                return RawResponse(
                    status_code=response.status,
                    content=content,
                    content_type=headers.get("Content-Type", ""),
                    retry_after=headers.get("Retry-After"),
                )
        except self._client_error as exc:
            raise _as_httpx_error(exc) from exc

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send an httpx request on the session; the answer's body streams from aiohttp
        as received (httpx decompresses it)."""
        data = await request.aread()
        # aiohttp frames the body itself (it is read whole here)
        headers = [
            (name, value)
            for name, value in request.headers.multi_items()
            if name.lower() != "transfer-encoding"
        ]
        try:
            session = self._session_now()
            target = str(request.url)
            response = await session.request(
                request.method,
                target,
                proxy=self._env_proxy(target.partition("?")[0]),
                data=data or None,
                headers=headers,
                timeout=self._client_timeout(request.extensions.get("timeout", {})),
                allow_redirects=False,
                auto_decompress=False,
            )
        except self._client_error as exc:
            raise _as_httpx_error(exc) from exc
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_AiohttpStream(response, self._client_error),
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
            },
        )

    async def aclose(self) -> None:
        """Close the session, if it was opened (idempotent)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()
