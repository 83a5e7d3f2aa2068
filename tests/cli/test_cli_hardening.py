"""Issue 12: the CLI with a failing input, an output that is its input, Ctrl-C, key files."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from partner_async.sandbox import SandboxApp

from .conftest import Invoke, make_queries, read_csv, write_csv
from .test_status import check_against_truth


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, batches: int) -> None:
    """A real SIGINT (what Ctrl-C sends), raised after ``batches`` progress reports."""
    from partner_async.cli import _commands

    seen = 0
    original = _commands._Counting.__call__

    def counting(self: Any, progress: Any) -> None:
        nonlocal seen
        original(self, progress)
        seen += 1
        if seen == batches:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(_commands._Counting, "__call__", counting)


def test_ctrl_c_in_the_first_pass_of_wait_writes_what_was_answered(
    tmp_path: Path, invoke: Invoke, sandbox_app: SandboxApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    _interrupt_after(monkeypatch, 3)
    queries = make_queries(2000, seed=8)
    source = write_csv(tmp_path / "in.csv", queries)
    out = tmp_path / "out.csv"

    result = invoke(
        "status", str(source), "--wait", "-o", str(out), "--batch-size", "100",
        "--concurrency", "1",
    )  # fmt: skip

    assert result.exit_code == 130, result.output
    assert "Traceback" not in result.stderr
    rows = read_csv(out.read_text(encoding="utf-8"))
    assert 100 <= len(rows) < 2000  # was 0: the first pass's answers were dropped
    assert [(r["phone_number"], int(r["message_id"])) for r in rows] == queries[: len(rows)]
    for row in rows:
        check_against_truth(row, sandbox_app)
    assert f"Interrupted: {len(rows):,} result rows written to {out}." in result.stderr
    assert not list(tmp_path.glob(".out.csv*"))  # no temporary file left behind
