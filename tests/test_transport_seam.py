"""The transport as a seam (issue 14 section 3): the SDK's aiohttp pool is an
``httpx.AsyncBaseTransport``; respx mocks, mounts and a caller's ``http_client`` see every
request; errors keep their cause; no private name of httpx is used."""

from __future__ import annotations

import gzip
import json
import re
import traceback
from collections.abc import Iterator
from pathlib import Path

import anyio
import anyio.abc
import httpx
import pytest
import respx

import partner_async
from partner_async import AuthenticationError, MultiStatusResult, SMSPartnerClient, TransportError
from partner_async._transport import AiohttpTransport
from partner_async.sandbox import SandboxConfig, SandboxServer

from ._fakes import API_KEY, FakeAPI, count_sends
from ._loopback import closed_port, raw_server
from .test_sandbox_e2e import assert_matches_truth, random_queries

pytestmark = pytest.mark.anyio
asyncio_only = pytest.mark.parametrize("anyio_backend", ["asyncio"])  # aiohttp is asyncio's


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(seed=14, waiting_polls=None)) as running:
        yield running


def gzipped_json(request: bytes) -> bytes:
    body = gzip.compress(json.dumps({"echo": len(request)}).encode())
    return (
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        + b"X-Thing: a\r\nX-Thing: b\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


# ------------------------------------------------------ the transport, for any httpx client


@asyncio_only
async def test_the_aiohttp_transport_serves_a_plain_httpx_client() -> None:
    async with (
        raw_server(gzipped_json) as (url, seen),
        httpx.AsyncClient(transport=AiohttpTransport()) as http,
    ):
        response = await http.post(
            f"{url}/path", params={"a": "1", "b": "2"}, json={"k": "v"}, headers={"X-Mine": "yes"}
        )
        assert response.status_code == 201
        assert response.reason_phrase == "Created"
        assert response.http_version == "HTTP/1.1"
        assert response.headers.get_list("x-thing") == ["a", "b"]
        assert response.json() == {"echo": len(seen[0])}  # httpx decompressed the gzip body
        assert response.request.url == f"{url}/path?a=1&b=2"
        head, _, body = seen[0].partition(b"\r\n\r\n")
        assert head.startswith(b"POST /path?a=1&b=2 HTTP/1.1\r\n")
        assert b"\r\nx-mine: yes" in head.lower() and b"transfer-encoding" not in head.lower()
        assert json.loads(body) == {"k": "v"}

        streamed = await http.get(url, params={"q": "x y"})  # a second one, then streamed
        assert streamed.status_code == 201 and b"GET /?q=x+y HTTP/1.1" in seen[1]


@asyncio_only
async def test_the_transport_raises_httpx_errors_caused_by_aiohttp_errors() -> None:
    import aiohttp

    async with httpx.AsyncClient(transport=AiohttpTransport()) as http:
        with pytest.raises(httpx.ConnectError) as refused:
            await http.get(f"http://127.0.0.1:{closed_port()}/")
    assert isinstance(refused.value.__cause__, aiohttp.ClientConnectorError)

    async with (
        raw_server(None) as (url, _),
        httpx.AsyncClient(transport=AiohttpTransport()) as http,
    ):
        # httpx's timeout phases reach aiohttp: read=0.05 s is the one that expires
        with anyio.fail_after(10), pytest.raises(httpx.ReadTimeout) as late:
            await http.get(url, timeout=httpx.Timeout(5.0, read=0.05))
    assert isinstance(late.value.__cause__, aiohttp.SocketTimeoutError)


def cut_short(request: bytes) -> bytes:
    """An answer announcing 100 bytes of body and sending 5."""
    return b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nhello"


def long_body(request: bytes) -> bytes:
    body = b"x" * 300_000
    return b"HTTP/1.1 200 OK\r\n" + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


@asyncio_only
async def test_a_body_cut_short_is_an_httpx_error_and_an_unread_body_is_closed() -> None:
    import aiohttp

    async with httpx.AsyncClient(transport=AiohttpTransport()) as http:
        async with raw_server(cut_short) as (url, _):
            with pytest.raises(httpx.ReadError) as cut:
                await http.get(url)
            assert isinstance(cut.value.__cause__, aiohttp.ClientPayloadError)
        async with raw_server(long_body) as (url, _):
            async with http.stream("GET", url) as response:
                assert response.status_code == 200  # left unread, closed without a warning
            assert (await http.get(url)).content == b"x" * 300_000


@asyncio_only
async def test_the_fast_method_maps_timeouts_and_errors_like_httpx_requests() -> None:
    transport = AiohttpTransport()
    try:
        async with raw_server(None) as (url, _):
            with anyio.fail_after(10), pytest.raises(httpx.ReadTimeout):
                await transport.fetch("GET", url, timeout=httpx.Timeout(5.0, read=0.05))
        with pytest.raises(httpx.ConnectError):
            await transport.fetch("GET", f"http://127.0.0.1:{closed_port()}/", timeout=5.0)
        async with raw_server(gzipped_json) as (url, seen):
            raw = await transport.fetch("POST", url, params={"a": "1"}, body=b"{}", timeout=5.0)
        assert raw.status_code == 201 and raw.content_type == "application/json"
        assert json.loads(raw.content) == {"echo": len(seen[0])}  # decompressed by the SDK
        assert seen[0].startswith(b"POST /?a=1 HTTP/1.1\r\n") and seen[0].endswith(b"\r\n{}")
    finally:
        await transport.aclose()
        await transport.aclose()  # idempotent


# ------------------------------------------------------ the SDK: errors keep their cause


async def test_a_connection_error_is_caused_by_an_httpx_error_on_both_backends() -> None:
    base = f"http://127.0.0.1:{closed_port()}/v1"
    async with SMSPartnerClient(api_key=API_KEY, base_url=base, max_retries=0) as c:
        with pytest.raises(TransportError) as caught:
            await c.bulk_status(111)  # a GET: the key is in the URL
    cause = caught.value.__cause__
    assert isinstance(cause, httpx.ConnectError)  # the same type under asyncio and trio
    with pytest.raises(RuntimeError):
        cause.request  # noqa: B018 - a copy without the request (its URL has the key)
    text = "".join(traceback.format_exception(caught.value))
    assert "ConnectError" in text and API_KEY not in text


# ------------------------------------------------------ mocks, mounts, a caller's client


async def test_respx_sees_every_request_and_passes_the_rest_to_the_sdk_pool(
    server: SandboxServer, monkeypatch: pytest.MonkeyPatch, anyio_backend_name: str
) -> None:
    sends = count_sends(monkeypatch)
    queries = random_queries(700, seed=14)
    with respx.mock(using="httpx") as router:  # entered before the client exists
        passed = router.post(f"{server.sms_base_url}/multi-status").pass_through()
        refused = router.get(url__startswith=f"{server.sms_base_url}/message-status").respond(
            json={"success": False, "code": 10, "message": "Invalid API key"}
        )
        async with SMSPartnerClient(api_key="sandbox", base_url=server.sms_base_url) as client:
            results = await client.multi_status(queries)  # mocked as passing through
            with pytest.raises(AuthenticationError):
                await client.message_status("+33612345678", 1)
            assert passed.call_count == 2 and refused.call_count == 1
            assert len(sends) == 3
            sends.clear()
            router.stop()  # the mock ends: the same client goes back to its fast path
            again = await client.multi_status(queries[:10])
    assert_matches_truth(results, server.app.config)
    assert len(results.answered) == len(set(queries))
    assert isinstance(again, MultiStatusResult) and len(again.answered) == 10
    assert len(sends) == (0 if anyio_backend_name == "asyncio" else 1)


async def test_respx_s_default_mock_sees_every_request_on_both_backends(
    server: SandboxServer,
) -> None:
    """``respx.mock()`` mocks at httpcore's level, which the aiohttp pool never reaches: while
    it is active the SDK sends through httpcore under asyncio too, never past the mock."""
    queries = random_queries(700, seed=15)
    with respx.mock() as router:  # respx's default: using="httpcore"
        passed = router.post(f"{server.sms_base_url}/multi-status").pass_through()
        refused = router.get(url__startswith=f"{server.sms_base_url}/message-status").respond(
            json={"success": False, "code": 10, "message": "Invalid API key"}
        )
        async with SMSPartnerClient(api_key="sandbox", base_url=server.sms_base_url) as client:
            results = await client.multi_status(queries)
            with pytest.raises(AuthenticationError):
                await client.message_status("+33612345678", 1)
            # (respx counts a passed-through request at the pool and at the connection)
            assert passed.called and refused.call_count == 1
            router.stop()  # the mock ends: the same client goes back to its own pool
            again = await client.multi_status(queries[:10])
    assert_matches_truth(results, server.app.config)
    assert len(again.answered) == 10


async def test_a_mount_of_a_caller_supplied_client_sees_every_request() -> None:
    api = FakeAPI()
    fallback = httpx.MockTransport(lambda request: httpx.Response(599))
    async with (
        httpx.AsyncClient(
            transport=fallback, mounts={"https://partner.test": httpx.MockTransport(api)}
        ) as http,
        SMSPartnerClient(
            api_key="k3y-0123456789", base_url="https://partner.test/v1", http_client=http
        ) as client,
    ):
        results = await client.multi_status(random_queries(1200, seed=3))
    assert len(results.answered) == len(results)
    assert len(api.requests) == 3


# ------------------------------------------------------ public names only


def test_the_package_uses_no_private_name_of_httpx() -> None:
    root = Path(partner_async.__file__).parent
    # httpx.AsyncClient's routing and mounts, its exceptions' request slot, httpx-aiohttp
    private = re.compile(r"_transport_for_url|\._mounts\b|[\"']_request[\"']|httpx_aiohttp")
    offenders = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if private.search(line)
    ]
    assert offenders == []
