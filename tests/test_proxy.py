"""Proxies: ``proxy=`` and the environment's HTTP(S)_PROXY, on asyncio as on trio."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from partner_async import SMSPartnerClient, StatusResult

from ._fakes import default_entry
from ._loopback import closed_port, raw_server

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def answering_proxy() -> AsyncIterator[tuple[str, list[str]]]:
    """A loopback HTTP proxy that answers every multi-status request itself, and the
    request lines it received (absolute-form URLs, as a client sends to a proxy)."""
    seen: list[str] = []

    def answer(request: bytes) -> bytes:
        head, _, body = request.partition(b"\r\n\r\n")
        seen.append(head.decode("latin-1").split("\r\n")[0])
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
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(answer)}\r\n\r\n".encode()
            + answer
        )

    async with raw_server(answer) as (url, _):
        yield url, seen


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
