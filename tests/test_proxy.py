"""Proxies: ``proxy=`` and the environment's HTTP(S)_PROXY, on asyncio as on trio."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.abc
import pytest

from partner_async import SMSPartnerClient, StatusResult

from ._fakes import default_entry

pytestmark = pytest.mark.anyio


def closed_port() -> int:
    """A loopback port nobody listens on: without the proxy, a request there fails."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def answering_proxy() -> AsyncIterator[tuple[str, list[str]]]:
    """A loopback HTTP proxy that answers every multi-status request itself, and the
    request lines it received (absolute-form URLs, as a client sends to a proxy)."""
    seen: list[str] = []

    async def serve(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            data = b""
            while b"\r\n\r\n" not in data:
                data += await stream.receive()
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            seen.append(lines[0])
            length = next(
                (int(v) for k, _, v in (h.partition(":") for h in lines[1:])
                 if k.lower() == "content-length"), 0,
            )  # fmt: skip
            while len(body) < length:
                body += await stream.receive()
            items = json.loads(body)["SMSStatut_List"]
            answer = json.dumps(
                {
                    "success": True,
                    "code": 200,
                    "StatutResponse_List": [
                        default_entry(i["phoneNumber"], i["messageId"]) for i in items
                    ],
                }
            ).encode()
            await stream.send(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(answer)}\r\n\r\n".encode()
                + answer
            )

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, serve)
        yield f"http://127.0.0.1:{port}", seen
        tg.cancel_scope.cancel()


async def test_the_proxy_option(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    base = f"http://127.0.0.1:{closed_port()}/v1"
    async with (
        answering_proxy() as (proxy, seen),
        SMSPartnerClient(api_key="k3y-0123456789", base_url=base, proxy=proxy) as c,
    ):
        results = await c.multi_status([("+33612345678", 1)], max_retries=0)
    assert isinstance(results[0], StatusResult)
    assert seen == [f"POST {base}/multi-status HTTP/1.1"]


async def test_the_environment_s_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "https_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    base = f"http://127.0.0.1:{closed_port()}/v1"
    async with answering_proxy() as (proxy, seen):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("http_proxy", proxy)
        async with SMSPartnerClient(api_key="k3y-0123456789", base_url=base) as c:
            outcome = await c.status("+33612345678", 1, max_retries=0)
    assert isinstance(outcome, StatusResult)
    assert seen == [f"POST {base}/multi-status HTTP/1.1"]
