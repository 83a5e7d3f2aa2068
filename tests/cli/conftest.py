"""Fixtures of the CLI tests: the CLI driven in-process (click's CliRunner) against a
loopback sandbox server (the ``sandbox_server`` fixture of the sandbox's pytest plugin),
with a distinctive API key that must never appear in any output."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import orjson
import pytest
from click.testing import CliRunner, Result

from partner_async.cli import cli
from partner_async.sandbox import SandboxConfig, SandboxServer

#: The key the test sandbox accepts. Tests assert it never shows in stdout or stderr.
KEY = "cli-key-9f2Kq7Zx41"
SEED = 11


class Invoke(Protocol):
    """``invoke(*args, input=None, connect=True)``: run the CLI; ``connect`` appends the
    sandbox server's ``--base-url`` and ``--api-key``."""

    def __call__(self, *args: str, input: str | None = None, connect: bool = True) -> Result: ...


@pytest.fixture(autouse=True)
def _no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMSPARTNER_API_KEY", raising=False)
    monkeypatch.delenv("MAILPARTNER_API_KEY", raising=False)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """The sandbox of these tests: seed 11, only ``KEY`` accepted, bad items refusing
    their whole request (so that the CLI's rejected rows show)."""
    return SandboxConfig(seed=SEED, api_keys=(KEY,), item_errors="request")


@pytest.fixture
def invoke(sandbox_server: SandboxServer) -> Invoke:
    """Run the CLI in-process against the loopback sandbox server; checks that the API
    key appears in no output."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None, connect: bool = True) -> Result:
        extra = ["--base-url", sandbox_server.sms_base_url, "--api-key", KEY] if connect else []
        result = runner.invoke(cli, [*args, *extra], input=input, catch_exceptions=False)
        assert KEY not in result.output
        assert KEY not in result.stderr
        return result

    return run


def make_queries(count: int, seed: int = 5) -> list[tuple[str, int]]:
    """``count`` distinct valid French mobile queries."""
    rng = random.Random(seed)
    seen: dict[tuple[str, int], None] = {}
    while len(seen) < count:
        phone = f"+33{rng.choice('67')}{rng.randrange(10**8):08d}"
        seen[(phone, rng.randrange(1, 10**7))] = None
    return list(seen)


def write_csv(
    path: Path,
    rows: Sequence[tuple[Any, Any]],
    header: Sequence[str] = ("phoneNumber", "messageId"),
) -> Path:
    """A CSV file of queries under ``header``."""
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """A JSONL file, one object per row."""
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return path


def read_csv(text: str) -> list[dict[str, str]]:
    """The rows of the CLI's CSV output."""
    return list(csv.DictReader(io.StringIO(text)))


def read_jsonl(text: str) -> list[dict[str, Any]]:
    """The rows of the CLI's JSONL output."""
    return [orjson.loads(line) for line in text.splitlines() if line]
