"""Shared fixtures: both async backends, and the fake vendor API mounted with respx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from ._fakes import SMS_BASE, FakeAPI


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs under asyncio and under trio."""
    return str(request.param)


@pytest.fixture
def fake_api() -> Iterator[FakeAPI]:
    """A FakeAPI mounted at the SMS base URL (any transport: respx patches httpx's client)."""
    api = FakeAPI()
    with respx.mock(using="httpx", assert_all_called=False) as router:
        router.post(f"{SMS_BASE}/multi-status").mock(side_effect=api)
        yield api


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """A bare respx router (httpx-level patching, so the aiohttp transport is mocked too)."""
    with respx.mock(using="httpx", assert_all_called=False) as mock_router:
        yield mock_router
