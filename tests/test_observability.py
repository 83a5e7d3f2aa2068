"""Observability: event hooks on every backend and transport path, OpenTelemetry spans,
errors carrying their request and response, log levels, and base URLs from the
environment."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

import partner_async._events
from partner_async import (
    AuthenticationError,
    ConfigurationError,
    MailPartnerClient,
    MessageNotFoundError,
    RequestInfo,
    ResponseInfo,
    SMSPartnerClient,
    TransportError,
)
from partner_async._events import setup_logging
from partner_async.sandbox import (
    FaultConfig,
    SandboxApp,
    SandboxConfig,
    SandboxServer,
    SandboxTransport,
    VirtualClock,
    bulk_recipients,
)

KEY = "sandbox-S3CRET-key"
PAIRS = [("+33612345678", 1226613), ("+33698765432", 42)]


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """The first request answers HTTP 503; a secret-looking key."""
    return SandboxConfig(api_keys=(KEY,), faults=FaultConfig(schedule={0: "http_503"}))


@asynccontextmanager
async def sms_on(
    path: str, app: SandboxApp, server: SandboxServer, **options: Any
) -> AsyncIterator[SMSPartnerClient]:
    """A client on the SDK's own pool over loopback (asyncio: aiohttp directly; trio:
    httpx's pool), or on a caller's ``httpx.AsyncClient`` (``send``)."""
    if path == "own pool":
        async with SMSPartnerClient(
            KEY, base_url=server.sms_base_url, clock=VirtualClock(), **options
        ) as client:
            yield client
    else:
        async with (
            httpx.AsyncClient(transport=SandboxTransport(app)) as http,
            SMSPartnerClient(
                KEY,
                base_url="http://127.0.0.1/v1",
                http_client=http,
                clock=VirtualClock(),
                **options,
            ) as client,
        ):
            yield client


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["own pool", "http_client"])
async def test_hooks_fire_for_every_attempt_on_every_backend_and_path(
    path: str, sandbox_app: SandboxApp, sandbox_server: SandboxServer
) -> None:
    seen: list[RequestInfo | ResponseInfo] = []

    async def on_response(info: ResponseInfo) -> None:  # coroutine hooks are awaited
        seen.append(info)

    async with sms_on(path, sandbox_app, sandbox_server) as client:
        client.event_hooks = {"request": [seen.append], "response": [on_response]}
        await client.multi_status(PAIRS)
        await client.bulk_status(1226613)

    requests = [e for e in seen if isinstance(e, RequestInfo)]
    responses = [e for e in seen if isinstance(e, ResponseInfo)]
    assert [(r.method, r.path, r.attempt, r.items) for r in requests] == [
        ("POST", "/v1/multi-status", 1, 2),
        ("POST", "/v1/multi-status", 2, 2),
        ("GET", "/v1/bulk-status", 1, 0),
    ]
    assert [r.status_code for r in responses] == [503, 200, 200]
    assert [r.request for r in responses] == requests
    assert all(r.elapsed >= 0 and r.error is None for r in responses)
    assert responses[0].content_type
    assert all(KEY not in repr(e) and "apiKey" not in repr(e) for e in seen)


@pytest.mark.anyio
async def test_hooks_can_be_appended_in_place_and_are_validated(sms_client: Any) -> None:
    statuses: list[int | None] = []
    sms_client.event_hooks["response"].append(lambda info: statuses.append(info.status_code))
    await sms_client.multi_status(PAIRS[:1])
    assert statuses == [503, 200]  # the first request's scheduled 503, then its retry
    with pytest.raises(ConfigurationError, match="'responses'"):
        sms_client.event_hooks = {"responses": []}
    with pytest.raises(ConfigurationError, match="callable"):
        sms_client.event_hooks = {"request": ["not a function"]}


@pytest.mark.anyio
async def test_errors_carry_the_request_and_response_of_their_last_attempt(
    sandbox_app: SandboxApp, sandbox_server: SandboxServer
) -> None:
    async with sms_on("own pool", sandbox_app, sandbox_server) as client:
        missing = next(
            m for m in range(1, 1000) if bulk_recipients(m, config=sandbox_app.config) is None
        )
        with pytest.raises(MessageNotFoundError) as not_found:
            await client.bulk_status(missing)
    error = not_found.value
    assert error.request is not None and error.response is not None
    # The last attempt: the first one got the scheduled 503.
    assert (error.request.method, error.request.path, error.request.attempt) == (
        "GET",
        "/v1/bulk-status",
        2,
    )
    assert error.response.status_code == 200 and error.response.request == error.request
    assert KEY not in repr(error.request) + repr(error.response)

    async with SMSPartnerClient(
        "wrong-key", base_url=sandbox_server.sms_base_url, clock=VirtualClock()
    ) as client:
        with pytest.raises(AuthenticationError) as refused:
            await client.multi_status(PAIRS)
    assert refused.value.request is not None and refused.value.request.items == 2


@pytest.mark.anyio
async def test_transport_errors_reach_the_response_hook_and_the_error() -> None:
    with socket.socket() as sock:  # a loopback port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    responses: list[ResponseInfo] = []
    async with SMSPartnerClient(
        KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=1, clock=VirtualClock()
    ) as client:
        client.event_hooks = {"response": [responses.append]}
        with pytest.raises(TransportError) as failed:
            await client.bulk_status(1226613)
    assert [(r.status_code, r.request.attempt) for r in responses] == [(None, 1), (None, 2)]
    assert all(r.error for r in responses)
    assert failed.value.response == responses[-1]


@pytest.fixture
def spans() -> Iterator[Any]:
    """OpenTelemetry's SDK, recording the spans of one test (the provider is global)."""
    trace = pytest.importorskip("opentelemetry.trace")
    sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")
    export = pytest.importorskip("opentelemetry.sdk.trace.export")
    memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")
    provider = trace.get_tracer_provider()
    if not isinstance(provider, sdk_trace.TracerProvider):
        provider = sdk_trace.TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = memory.InMemorySpanExporter()
    processor = export.SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    try:
        yield exporter
    finally:
        exporter.shutdown()


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["own pool", "http_client"])
async def test_one_opentelemetry_span_per_attempt(
    path: str, spans: Any, sandbox_app: SandboxApp, sandbox_server: SandboxServer
) -> None:
    async with sms_on(path, sandbox_app, sandbox_server) as client:
        await client.multi_status(PAIRS)
    finished = spans.get_finished_spans()
    assert [s.name for s in finished] == ["POST /v1/multi-status"] * 2
    first, second = (dict(s.attributes) for s in finished)
    assert first["http.response.status_code"] == 503
    assert first["error.type"] == "503"
    assert (first["http.request.resend_count"], second["http.request.resend_count"]) == (0, 1)
    assert second["http.response.status_code"] == 200
    assert second["partner_async.items"] == 2
    assert second["http.request.method"] == "POST"
    assert all(KEY not in repr(dict(s.attributes)) for s in finished)


@pytest.mark.anyio
async def test_without_opentelemetry_hooks_still_fire(
    monkeypatch: pytest.MonkeyPatch, sandbox_app: SandboxApp, sandbox_server: SandboxServer
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    partner_async._events.tracer.cache_clear()
    try:
        assert partner_async._events.tracer() is None
        statuses: list[int | None] = []
        async with sms_on("http_client", sandbox_app, sandbox_server) as client:
            client.event_hooks = {"response": [lambda r: statuses.append(r.status_code)]}
            results = await client.multi_status(PAIRS)
        assert statuses == [503, 200] and len(results) == 2
    finally:
        partner_async._events.tracer.cache_clear()


def test_partner_async_log_env_switch(tmp_path: Any) -> None:
    script = tmp_path / "check.py"
    script.write_text(
        textwrap.dedent(
            """
            import anyio, httpx
            from partner_async import SMSPartnerClient
            from partner_async.sandbox import SandboxTransport, create_app

            async def main():
                async with httpx.AsyncClient(transport=SandboxTransport(create_app())) as h:
                    client = SMSPartnerClient(
                        "sandbox", base_url="http://127.0.0.1/v1", http_client=h
                    )
                    await client.multi_status([("+33612345678", 1)])

            anyio.run(main)
            """
        )
    )
    env = {**os.environ, "PARTNER_ASYNC_LOG": "debug"}
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert "DEBUG partner_async] POST /multi-status items=1 status=200 attempt=1" in run.stderr
    env.pop("PARTNER_ASYNC_LOG")
    quiet = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60
    )
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_setup_logging_levels() -> None:
    logger = logging.getLogger("partner_async")
    before = list(logger.handlers)  # the library's NullHandler
    try:
        setup_logging({"PARTNER_ASYNC_LOG": "nonsense"})
        assert logger.level == logging.NOTSET and logger.handlers == before
        setup_logging({"PARTNER_ASYNC_LOG": "INFO"})
        setup_logging({"PARTNER_ASYNC_LOG": "info"})  # idempotent: one handler
        assert logger.level == logging.INFO and len(logger.handlers) == len(before) + 1
    finally:
        logger.setLevel(logging.NOTSET)
        logger.handlers[:] = before


def test_base_urls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMSPARTNER_BASE_URL", "http://127.0.0.1:8080/v1")
    monkeypatch.setenv("MAILPARTNER_BASE_URL", "https://mail.example/v1/")
    assert SMSPartnerClient("k").base_url == "http://127.0.0.1:8080/v1"
    assert MailPartnerClient("k").base_url == "https://mail.example/v1"
    assert SMSPartnerClient("k", base_url="https://x.example/v1").base_url == (
        "https://x.example/v1"
    )
    monkeypatch.setenv("SMSPARTNER_BASE_URL", "http://api.example/v1")
    with pytest.raises(ConfigurationError, match="plain http"):
        SMSPartnerClient("k")
    monkeypatch.delenv("SMSPARTNER_BASE_URL")
    assert SMSPartnerClient("k").base_url == "https://api.smspartner.fr/v1"
