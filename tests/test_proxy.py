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


PROXY_VARIABLES = (
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
    "http_proxy", "https_proxy", "all_proxy", "no_proxy",
)  # fmt: skip


def proxy_environment(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


async def test_all_proxy_alone_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    base = f"http://127.0.0.1:{closed_port()}/v1"
    async with answering_proxy() as (proxy, seen):
        proxy_environment(monkeypatch, ALL_PROXY=proxy)
        async with SMSPartnerClient(api_key="k3y-0123456789", base_url=base) as c:
            outcome = await c.status("+33612345678", 1, max_retries=0)
    assert isinstance(outcome, StatusResult)
    assert seen == [f"POST {base}/multi-status HTTP/1.1"]


async def test_no_proxy_sends_a_host_it_names_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    async with answering_proxy() as (server, direct), answering_proxy() as (proxy, proxied):
        proxy_environment(monkeypatch, HTTP_PROXY=proxy, ALL_PROXY=proxy, NO_PROXY="127.0.0.1")
        async with SMSPartnerClient(api_key="k3y-0123456789", base_url=f"{server}/v1") as c:
            outcome = await c.status("+33612345678", 1, max_retries=0)
    assert isinstance(outcome, StatusResult)
    assert proxied == [] and direct == ["POST /v1/multi-status HTTP/1.1"]


async def test_https_goes_through_https_proxy_with_connect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An https base URL is tunnelled (``CONNECT host:443``); the proxy refuses here, so
    nothing leaves the machine."""
    from partner_async import Unresolved, UnresolvedReason

    async with raw_server(lambda _: b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n") as (
        proxy,
        seen,
    ):
        proxy_environment(monkeypatch, HTTPS_PROXY=proxy)
        async with SMSPartnerClient(api_key="k3y-0123456789") as c:  # api.smspartner.fr
            outcome = await c.status("+33612345678", 1, max_retries=0)
    assert isinstance(outcome, Unresolved)
    assert outcome.reason is UnresolvedReason.TRANSPORT_ERROR
    assert [r.split(b"\r\n")[0] for r in seen] == [b"CONNECT api.smspartner.fr:443 HTTP/1.1"]


async def test_a_proxy_s_password_never_shows_in_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from partner_async import Unresolved

    proxy_environment(monkeypatch)
    refusal = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
    async with raw_server(lambda _: refusal) as (proxy, seen):
        authenticated = proxy.replace("http://", "http://user:S3cret-pr0xy@")
        async with SMSPartnerClient(
            api_key="k3y-0123456789", base_url="https://api.smspartner.fr/v1", proxy=authenticated
        ) as c:
            outcome = await c.status("+33612345678", 1, max_retries=0)
    assert seen  # the proxy was asked (with the password, in Proxy-Authorization)
    assert isinstance(outcome, Unresolved)
    assert "S3cret-pr0xy" not in repr(outcome) and "S3cret-pr0xy" not in outcome.detail


@pytest.mark.parametrize(
    "bad", ["not a url", "127.0.0.1:3128", "socks5://127.0.0.1:1080", "http://", 3128]
)
def test_a_bad_proxy_is_a_configuration_error_naming_it(bad: object) -> None:
    from partner_async import ConfigurationError

    with pytest.raises(ConfigurationError, match="proxy must be"):
        SMSPartnerClient(api_key="k3y-0123456789", proxy=bad)  # type: ignore[arg-type]


def test_a_proxy_with_a_caller_s_client_is_refused_not_ignored() -> None:
    import httpx

    from partner_async import ConfigurationError

    with pytest.raises(ConfigurationError, match="http_client"):
        SMSPartnerClient(
            api_key="k3y-0123456789", http_client=httpx.AsyncClient(), proxy="http://p:3128"
        )


async def test_a_socks_proxy_in_the_environment_is_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``ALL_PROXY=socks5://...`` is set for other tools: the SDK, which speaks to http(s)
    proxies only, goes direct on both backends instead of failing every request."""
    async with answering_proxy() as (server, direct):
        proxy_environment(monkeypatch, ALL_PROXY=f"socks5://127.0.0.1:{closed_port()}")
        async with SMSPartnerClient(api_key="k3y-0123456789", base_url=f"{server}/v1") as c:
            outcome = await c.status("+33612345678", 1, max_retries=0)
    assert isinstance(outcome, StatusResult)
    assert direct == ["POST /v1/multi-status HTTP/1.1"]


@pytest.mark.parametrize(
    "no_proxy", ["http://127.0.0.1", "127.0.0.1:{port}", ".0.0.1", "localhost,127.0.0.1", "*"]
)
async def test_no_proxy_entries_as_httpx_reads_them(
    monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    async with answering_proxy() as (server, direct), answering_proxy() as (proxy, proxied):
        port = server.rpartition(":")[2]
        proxy_environment(monkeypatch, HTTP_PROXY=proxy, NO_PROXY=no_proxy.format(port=port))
        async with SMSPartnerClient(api_key="k3y-0123456789", base_url=f"{server}/v1") as c:
            outcome = await c.status("+33612345678", 1, max_retries=0)
    assert isinstance(outcome, StatusResult)
    assert proxied == [] and direct == ["POST /v1/multi-status HTTP/1.1"]


@pytest.mark.parametrize("no_proxy", ["https://127.0.0.1", "127.0.0.1:1"])
async def test_a_no_proxy_entry_for_another_scheme_or_port_keeps_the_proxy(
    monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    base = f"http://127.0.0.1:{closed_port()}/v1"
    async with answering_proxy() as (proxy, seen):
        proxy_environment(monkeypatch, HTTP_PROXY=proxy, NO_PROXY=no_proxy)
        async with SMSPartnerClient(api_key="k3y-0123456789", base_url=base) as c:
            outcome = await c.status("+33612345678", 1, max_retries=0)
    assert isinstance(outcome, StatusResult)
    assert seen == [f"POST {base}/multi-status HTTP/1.1"]


@pytest.mark.parametrize(
    "bad", ["socks5://user:p@ss-w0rd@127.0.0.1:1080", b"http://u:p@ss-w0rd@p:1"]
)
def test_a_refused_proxy_s_password_is_not_in_the_error(bad: object) -> None:
    from partner_async import ConfigurationError

    with pytest.raises(ConfigurationError, match="proxy must be") as caught:
        SMSPartnerClient(api_key="k3y-0123456789", proxy=bad)  # type: ignore[arg-type]
    assert "ss-w0rd" not in str(caught.value)
