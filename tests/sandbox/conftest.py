"""Helpers for the sandbox's own tests: in-process httpx clients over SandboxTransport.

The sandbox fixtures themselves (sandbox_config, sandbox_app, ...) come from the
``partner_async.sandbox.pytest_plugin`` plugin; ``anyio_backend`` (asyncio and trio)
from the project's tests/conftest.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from partner_async.sandbox import SandboxApp, SandboxConfig, SandboxTransport, create_app

BASE = "http://127.0.0.1"


@pytest.fixture
async def client(sandbox_app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking in-process to this test's sandbox_app."""
    async with httpx.AsyncClient(transport=SandboxTransport(sandbox_app), base_url=BASE) as c:
        yield c


@pytest.fixture
def sandbox_client() -> Callable[..., contextlib.AbstractAsyncContextManager[Any]]:
    """``async with sandbox_client(config) as (client, app)``: a client on a new app."""

    @contextlib.asynccontextmanager
    async def make(
        config: SandboxConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[tuple[httpx.AsyncClient, SandboxApp]]:
        app = create_app(config if config is not None else SandboxConfig(**kwargs))
        transport = SandboxTransport(app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
            yield c, app

    return make
