"""Pytest fixtures that run your tests against the embedded vendor sandbox.

The plugin is registered automatically (``pytest11`` entry point) when ``partner-async``
is installed. It imports nothing heavy until a fixture is used, and needs ``uvicorn``
only for :func:`sandbox_server`.

Every fixture is synchronous, so they work the same under anyio's pytest plugin
(``@pytest.mark.anyio``, asyncio and trio), pytest-asyncio in strict mode
(``@pytest.mark.asyncio``) and in auto mode: no async fixture, nothing bound to an event
loop before the test runs.

Fixtures:

- ``sandbox_config``: the :class:`~partner_async.sandbox.SandboxConfig` (default
  ``SandboxConfig()``); override it in your ``conftest.py`` to change seed, keys,
  faults...
- ``sandbox_clock``: a :class:`~partner_async.sandbox.VirtualClock`, the test's time:
  the clients below sleep on it, so retries, ``Retry-After`` and ``wait_for_final``
  polls take no real time, and the sandbox's ``waiting_seconds`` counts it too.
- ``sandbox_app``: a fresh :class:`~partner_async.sandbox.SandboxApp` built from
  ``sandbox_config`` (on ``sandbox_clock`` unless the config sets its own ``clock``).
- ``sandbox_transport``: a :class:`~partner_async.sandbox.SandboxTransport` serving that
  app in-process (give it to ``httpx.AsyncClient(transport=...)``).
- ``sandbox_server``: a loopback :class:`~partner_async.sandbox.SandboxServer` (one
  uvicorn server per session) serving that same ``sandbox_app`` for this test.
- ``sms_client`` / ``mail_client``: ``SMSPartnerClient`` / ``MailPartnerClient`` wired
  in-process to the sandbox, on ``sandbox_clock``. Use them directly or in
  ``async with``; they hold no connection, so there is nothing to close.

Example, to copy into your own tests::

    import pytest
    from partner_async.sandbox import FaultConfig, SandboxConfig, ground_truth


    @pytest.fixture
    def anyio_backend() -> str:
        return "asyncio"


    @pytest.fixture
    def sandbox_config() -> SandboxConfig:
        # the first request answers HTTP 503: the client must retry it
        return SandboxConfig(seed=7, faults=FaultConfig(schedule={0: "http_503"}))


    @pytest.mark.anyio
    async def test_statuses(sms_client, sandbox_app) -> None:
        results = await sms_client.multi_status([("+33612345678", 1226613)])
        truth = ground_truth("+33612345678", 1226613, config=sandbox_app.config)
        ...  # compare results with truth.status / truth.code
        assert sandbox_app.stats.faults["http_503"] == 1

With pytest-asyncio, mark the test ``@pytest.mark.asyncio`` instead (or nothing, in
auto mode).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from partner_async.sandbox import (
        SandboxApp,
        SandboxConfig,
        SandboxServer,
        SandboxTransport,
        VirtualClock,
    )

__all__ = [
    "mail_client",
    "sandbox_app",
    "sandbox_clock",
    "sandbox_config",
    "sandbox_server",
    "sandbox_transport",
    "sms_client",
]


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """The sandbox's configuration: ``SandboxConfig()``; override it to change it."""
    from partner_async.sandbox import SandboxConfig

    return SandboxConfig()


@pytest.fixture
def sandbox_clock() -> VirtualClock:
    """The :class:`~partner_async.sandbox.VirtualClock` of this test: the plugin's
    clients sleep on it (instantly) and the sandbox's ``waiting_seconds`` counts it."""
    from partner_async.sandbox import VirtualClock

    return VirtualClock()


@pytest.fixture
def sandbox_app(sandbox_config: SandboxConfig, sandbox_clock: VirtualClock) -> SandboxApp:
    """A fresh sandbox ASGI app (fresh counters) built from ``sandbox_config``; unless
    the config has its own ``clock``, its time is ``sandbox_clock``'s."""
    import time

    import attrs

    from partner_async.sandbox import create_app

    if sandbox_config.clock is time.monotonic:
        sandbox_config = attrs.evolve(sandbox_config, clock=sandbox_clock.now)
    return create_app(sandbox_config)


@pytest.fixture
def sandbox_transport(sandbox_app: SandboxApp) -> SandboxTransport:
    """An httpx transport serving ``sandbox_app`` in-process (no socket)."""
    from partner_async.sandbox import SandboxTransport

    return SandboxTransport(sandbox_app)


@pytest.fixture(scope="session")
def _partner_async_sandbox_server() -> Iterator[SandboxServer]:
    """One loopback uvicorn server for the session; tests swap the app it serves."""
    from partner_async.sandbox import SandboxServer

    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox_server(
    _partner_async_sandbox_server: SandboxServer, sandbox_app: SandboxApp
) -> Iterator[SandboxServer]:
    """A started loopback server (``.sms_base_url``, ``.mail_base_url``, ``.port``)
    serving this test's ``sandbox_app``."""
    server = _partner_async_sandbox_server
    previous = server.app
    server.app = sandbox_app
    try:
        yield server
    finally:
        server.app = previous


def _first_key(config: SandboxConfig) -> str:
    return config.api_keys[0]


def _client(
    client_class: str, path: str, config: SandboxConfig, transport: Any, clock: VirtualClock
) -> Any:
    import httpx

    import partner_async

    # Never entered, so never bound to an event loop and nothing to close: the transport
    # runs the app in-process and holds no connection.
    http_client = httpx.AsyncClient(transport=transport)
    return getattr(partner_async, client_class)(
        api_key=_first_key(config),
        base_url=f"http://127.0.0.1{path}",
        http_client=http_client,
        clock=clock,
    )


@pytest.fixture
def sms_client(
    sandbox_config: SandboxConfig,
    sandbox_transport: SandboxTransport,
    sandbox_clock: VirtualClock,
) -> Any:
    """A ``partner_async.SMSPartnerClient`` talking to the sandbox in-process, on
    ``sandbox_clock`` (retries and polling do not wait for real)."""
    return _client("SMSPartnerClient", "/v1", sandbox_config, sandbox_transport, sandbox_clock)


@pytest.fixture
def mail_client(
    sandbox_config: SandboxConfig,
    sandbox_transport: SandboxTransport,
    sandbox_clock: VirtualClock,
) -> Any:
    """A ``partner_async.MailPartnerClient`` talking to the sandbox in-process, on
    ``sandbox_clock`` (retries do not wait for real)."""
    return _client(
        "MailPartnerClient", "/mail/v1", sandbox_config, sandbox_transport, sandbox_clock
    )
