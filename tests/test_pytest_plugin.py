"""The pytest plugin's fixtures in a user's project: under anyio's plugin (asyncio and
trio), pytest-asyncio's strict mode and its auto mode, and without real sleeps."""

from __future__ import annotations

import time

import anyio
import pytest

from partner_async import DeliveryStatus, SMSPartnerClient, StatusResult
from partner_async.sandbox import (
    FaultConfig,
    SandboxApp,
    SandboxConfig,
    VirtualClock,
    ground_truth,
)

pytest_plugins = ["pytester"]

# What the users' tests do, whatever runs them: a retried request, both clients.
_USER_FIXTURES = """
import pytest
from partner_async.sandbox import FaultConfig, SandboxConfig, ground_truth


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(seed=3, faults=FaultConfig(schedule={0: "http_503", 1: "http_429"}))
"""

_USER_BODY = """
    results = await sms_client.multi_status([("+33612345678", 1226613)])
    truth = ground_truth("+33612345678", 1226613, config=sandbox_app.config)
    assert results[0].status.value == truth.status
    assert sandbox_app.stats.faults["http_503"] == sandbox_app.stats.faults["http_429"] == 1
    assert sandbox_clock.skipped > 0  # the backoff and Retry-After were skipped, not slept
    report = await mail_client.bulk_status("300")
    assert report.recipients
"""

_SIGNATURE = "(sms_client, mail_client, sandbox_app, sandbox_clock) -> None:"

_ANYIO_TESTS = f"""
@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param


@pytest.mark.anyio
async def test_on_anyio{_SIGNATURE}{_USER_BODY}
"""


def _run(pytester: pytest.Pytester, ini: str, tests: str, passed: int) -> None:
    pytester.makepyfile(test_user=_USER_FIXTURES + tests)
    pytester.makeini(
        "[pytest]\nfilterwarnings = error\nasyncio_default_fixture_loop_scope = function\n" + ini
    )
    started = time.monotonic()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=passed)
    # The retries' waits (backoff, and 1 s of Retry-After per test) took no real time.
    assert time.monotonic() - started < 60


def test_fixtures_under_anyio_plugin_asyncio_and_trio(pytester: pytest.Pytester) -> None:
    _run(pytester, "", _ANYIO_TESTS, passed=2)


def test_fixtures_under_pytest_asyncio_strict_mode(pytester: pytest.Pytester) -> None:
    tests = f"""
@pytest.mark.asyncio
async def test_on_pytest_asyncio{_SIGNATURE}{_USER_BODY}
{_ANYIO_TESTS}
"""
    # The strict-mode test first, then anyio tests in the same session: both pass.
    _run(pytester, "asyncio_mode = strict\n", tests, passed=3)


def test_fixtures_under_pytest_asyncio_auto_mode(pytester: pytest.Pytester) -> None:
    tests = f"""
async def test_unmarked{_SIGNATURE}{_USER_BODY}
{_ANYIO_TESTS}
"""
    _run(pytester, "asyncio_mode = auto\n", tests, passed=3)


# The fixtures in this project's own tests (the plugin is installed with the package).


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Items wait 10 minutes of sandbox time, whatever the polls; the first request 503s."""
    return SandboxConfig(
        seed=5,
        waiting_polls=None,
        waiting_seconds=600,
        faults=FaultConfig(schedule={0: "http_503"}),
    )


@pytest.mark.anyio
async def test_plugin_clients_skip_waits_and_the_sandbox_counts_the_skipped_time(
    sms_client: SMSPartnerClient, sandbox_app: SandboxApp, sandbox_clock: VirtualClock
) -> None:
    pairs = [(f"+3361{i:07d}", 1000 + i) for i in range(200)]
    waiting = [
        p
        for p in pairs
        if ground_truth(*p, config=sandbox_app.config, elapsed=0).status == "Waiting"
    ]
    assert waiting, "the seed must give some Waiting items"
    started = time.monotonic()
    results = await sms_client.wait_for_final(pairs, timeout=3600, poll_interval=60)
    assert time.monotonic() - started < 5
    assert not results.waiting
    for pair in waiting:
        outcome = results.get(*pair)
        assert isinstance(outcome, StatusResult) and outcome.status is not DeliveryStatus.WAITING
    assert sandbox_app.stats.faults["http_503"] == 1
    assert sandbox_clock.skipped >= 600
    assert sandbox_app.elapsed() >= 600


def test_sandbox_config_with_its_own_clock_keeps_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_own_clock="""
import pytest
from partner_async.sandbox import SandboxConfig

NOW = [5.0]


@pytest.fixture
def sandbox_config():
    return SandboxConfig(clock=lambda: NOW[0])


def test_it(sandbox_app, sandbox_clock):
    NOW[0] = 12.0
    sandbox_clock.advance(100)
    assert sandbox_app.elapsed() == 7.0
"""
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.anyio
async def test_virtual_clock_sleeps_are_checkpoints_that_move_time() -> None:
    clock = VirtualClock()
    before = clock.now()
    real = time.monotonic()
    await clock.sleep(3600)
    assert clock.now() - before >= 3600
    assert time.monotonic() - real < 1
    # Overlapping sleepers share the skip.
    skipped = clock.skipped
    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(clock.sleep, 10)
    assert 9 < clock.skipped - skipped < 11
    # A sleep is a checkpoint: cancellation is delivered there.
    with anyio.move_on_after(0) as scope:
        await clock.sleep(0)
    assert scope.cancelled_caught
    with pytest.raises(ValueError, match="-1"):
        clock.advance(-1)
