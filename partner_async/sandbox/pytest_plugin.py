"""Pytest fixtures that run your tests against the embedded vendor sandbox.

The plugin is registered automatically (``pytest11`` entry point) when ``partner-async``
is installed. It imports nothing heavy until a fixture is used, and needs ``uvicorn``
only for :func:`sandbox_server`.

Fixtures:

- ``sandbox_config``: the :class:`~partner_async.sandbox.SandboxConfig` (default
  ``SandboxConfig()``); override it in your ``conftest.py`` to change seed, keys,
  faults...
- ``sandbox_app``: a fresh :class:`~partner_async.sandbox.SandboxApp` built from it.
- ``sandbox_transport``: a :class:`~partner_async.sandbox.SandboxTransport` serving that
  app in-process (give it to ``httpx.AsyncClient(transport=...)``).
- ``sandbox_server``: a loopback :class:`~partner_async.sandbox.SandboxServer` (one
  uvicorn server per session) serving that same ``sandbox_app`` for this test.
- ``sms_client`` / ``mail_client``: ready ``SMSPartnerClient`` / ``MailPartnerClient``
  wired in-process to the sandbox (async fixtures, for ``@pytest.mark.anyio`` tests).

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
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from partner_async.sandbox import SandboxApp, SandboxConfig, SandboxServer, SandboxTransport

__all__ = [
    "mail_client",
    "sandbox_app",
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
def sandbox_app(sandbox_config: SandboxConfig) -> SandboxApp:
    """A fresh sandbox ASGI app (fresh counters) built from ``sandbox_config``."""
    from partner_async.sandbox import create_app

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


@contextlib.asynccontextmanager
async def _client(
    client_class: str, path: str, config: SandboxConfig, transport: SandboxTransport
) -> AsyncIterator[Any]:
    import httpx

    import partner_async

    async with (
        httpx.AsyncClient(transport=transport) as http_client,
        getattr(partner_async, client_class)(
            api_key=_first_key(config),
            base_url=f"http://127.0.0.1{path}",
            http_client=http_client,
        ) as client,
    ):
        yield client


@pytest.fixture
async def sms_client(
    sandbox_config: SandboxConfig, sandbox_transport: SandboxTransport
) -> AsyncIterator[Any]:
    """A ready ``partner_async.SMSPartnerClient`` talking to the sandbox in-process."""
    async with _client("SMSPartnerClient", "/v1", sandbox_config, sandbox_transport) as client:
        yield client


@pytest.fixture
async def mail_client(
    sandbox_config: SandboxConfig, sandbox_transport: SandboxTransport
) -> AsyncIterator[Any]:
    """A ready ``partner_async.MailPartnerClient`` talking to the sandbox in-process."""
    async with _client(
        "MailPartnerClient", "/mail/v1", sandbox_config, sandbox_transport
    ) as client:
        yield client
