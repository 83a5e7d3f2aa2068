"""Client configuration, lifecycle, and the API key kept secret."""

from __future__ import annotations

import logging
import ssl
import traceback
from typing import Any

import httpx
import pytest
import respx

from partner_async import (
    ClientClosedError,
    ConfigurationError,
    RetryPolicy,
    SMSPartnerClient,
    TransportError,
)

from ._fakes import API_KEY, SMS_BASE, FakeAPI, fixture_json

pytestmark = pytest.mark.anyio


def test_missing_api_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMSPARTNER_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="SMSPARTNER_API_KEY"):
        SMSPartnerClient()


async def test_api_key_from_environment(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAPI) -> None:
    monkeypatch.setenv("SMSPARTNER_API_KEY", API_KEY)
    async with SMSPartnerClient(base_url=SMS_BASE) as client:
        assert API_KEY not in repr(client)
        await client.multi_status([("+33612345678", 1)])
    assert fake_api.requests[0]["apiKey"] == API_KEY


@pytest.mark.parametrize("size", [0, 501, -1, 1.5, "500", None])
def test_batch_size_outside_1_to_500_is_a_value_error(size: Any) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        SMSPartnerClient(api_key="k", batch_size=size)


@pytest.mark.parametrize("size", [1, 250, 500])
def test_batch_size_accepted(size: int) -> None:
    assert SMSPartnerClient(api_key="k", batch_size=size).batch_size == size


@pytest.mark.parametrize("value", [0, -3, 2.0])
def test_max_concurrency_must_be_positive_int(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_concurrency"):
        SMSPartnerClient(api_key="k", max_concurrency=value)


@pytest.mark.parametrize(
    "url",
    ["http://api.smspartner.fr/v1", "http://10.0.0.5/v1", "ftp://x/v1", "api.smspartner.fr/v1"],
)
def test_plain_http_only_for_loopback(url: str) -> None:
    with pytest.raises(ConfigurationError):
        SMSPartnerClient(api_key="k", base_url=url)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/v1", "http://localhost/v1", "http://[::1]:9/v1", "https://x.fr/v1/"],
)
def test_loopback_and_https_base_urls(url: str) -> None:
    assert SMSPartnerClient(api_key="k", base_url=url).base_url == url.rstrip("/")


@pytest.mark.parametrize(
    ("url", "verifies_with_ca_bundle"),
    [("https://api.smspartner.fr/v1", True), ("http://127.0.0.1:8080/v1", False)],
)
async def test_tls_always_verifies_and_plain_http_loads_no_ca_bundle(
    url: str, verifies_with_ca_bundle: bool
) -> None:
    async with SMSPartnerClient(api_key="k", base_url=url) as client:
        context = client._transport.tls_context
    # Verification is on whatever the URL; a plain-http (loopback) client never does TLS,
    # so it skips loading the CA bundle (~20 ms) and trusts no CA: it would fail closed.
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert (context.cert_store_stats()["x509_ca"] > 0) is verifies_with_ca_bundle


def test_max_retries_overrides_the_policy() -> None:
    client = SMSPartnerClient(api_key="k", retry=RetryPolicy(backoff_base=2), max_retries=7)
    assert client.retry == RetryPolicy(max_retries=7, backoff_base=2)


async def test_closed_client_is_a_clear_error_and_aclose_is_idempotent(fake_api: FakeAPI) -> None:
    client = SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE)
    async with client:
        await client.multi_status([("+33612345678", 1)])
    await client.aclose()
    assert client.is_closed
    with pytest.raises(ClientClosedError):
        await client.multi_status([("+33612345678", 1)])
    with pytest.raises(ClientClosedError):
        await client.bulk_status(1)
    with pytest.raises(ClientClosedError):
        async with client:
            pass


async def test_caller_owned_http_client_is_used_and_never_closed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=fixture_json("sms_bulk_status.json"))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, http_client=http) as c:
            await c.bulk_status(111)
        assert not http.is_closed
        assert len(seen) == 1


async def test_api_key_never_in_logs_errors_or_reprs(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    router.get(f"{SMS_BASE}/bulk-status").mock(
        side_effect=[
            httpx.Response(503),
            httpx.ConnectError(f"refused {SMS_BASE}/bulk-status?apiKey={API_KEY}"),
            httpx.Response(200, json={"success": False, "code": 10, "message": "Invalid API key"}),
        ]
    )
    router.post(f"{SMS_BASE}/multi-status").mock(
        return_value=httpx.Response(200, json=fixture_json("multi_status.en.json"))
    )
    texts: list[str] = []
    async with SMSPartnerClient(
        api_key=API_KEY, base_url=SMS_BASE, retry=RetryPolicy(max_retries=2, backoff_base=0)
    ) as c:
        texts.append(repr(c))
        try:
            await c.bulk_status(111)
        except Exception as exc:
            chain: BaseException | None = exc
            while chain is not None:
                texts += [str(chain), repr(chain), repr(chain.args)]
                chain = chain.__cause__ or chain.__context__
        results = await c.multi_status([("+33699999993", 111111), ("bad", 1)])
        texts += [repr(results), *map(repr, results), repr(results.stats)]
    texts += [r.getMessage() for r in caplog.records]
    assert any("bulk-status" in t for t in texts)  # the logs did record the requests
    assert texts and all(API_KEY not in t for t in texts)


async def test_a_transport_error_keeps_its_cause_without_the_key(
    router: respx.MockRouter,
) -> None:
    router.get(f"{SMS_BASE}/bulk-status").mock(
        side_effect=httpx.ConnectError(f"refused {SMS_BASE}/bulk-status?apiKey={API_KEY}")
    )
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, max_retries=0) as c:
        with pytest.raises(TransportError) as caught:
            await c.bulk_status(111)
    cause = caught.value.__cause__
    assert isinstance(cause, httpx.ConnectError)  # the library's error, as its own type
    assert "refused" in str(cause) and API_KEY not in str(cause)
    with pytest.raises(RuntimeError):
        cause.request  # noqa: B018 - the copy holds no request (its URL has the key)
    text = "".join(traceback.format_exception(caught.value))
    assert "ConnectError" in text and API_KEY not in text
