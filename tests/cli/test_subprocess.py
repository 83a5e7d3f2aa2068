"""``python -m partner_async`` as a real process, with its own embedded sandbox."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from partner_async.cli._io import COLUMNS
from partner_async.sandbox import SandboxConfig, ground_truth

from .conftest import make_queries, read_csv, write_csv

STATUS_OF_TRUTH = {"Number not found": "Unknown"}


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("PARTNER_API_KEY")}
    return subprocess.run(
        [sys.executable, "-m", "partner_async", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def test_status_subprocess_round_trip_against_embedded_sandbox(tmp_path: Path) -> None:
    queries = make_queries(700, seed=21)
    source = write_csv(tmp_path / "in.csv", [*queries, ("+33 6 12", "1")])
    out = tmp_path / "out.csv"

    done = run_cli("status", str(source), "--sandbox", "-o", str(out))

    assert done.returncode == 2, done.stderr  # the invalid row is unresolved
    rows = read_csv(out.read_text(encoding="utf-8"))
    assert [(r["phone_number"], r["message_id"]) for r in rows[:-1]] == [
        (p, str(m)) for p, m in queries
    ]
    config = SandboxConfig()  # what --sandbox serves
    for row in rows[:-1]:
        truth = ground_truth(row["phone_number"], int(row["message_id"]), config=config)
        assert row["status"] == STATUS_OF_TRUTH.get(truth.status, truth.status)
        assert row["code"] == str(truth.code)
    assert rows[-1]["reason"] == "invalid_query"
    assert "700 answered" in done.stderr
    assert "1 unresolved (invalid_query 1)" in done.stderr


def test_usage_error_subprocess(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", [("+33612345678", 1)], header=("phone", "x"))
    done = run_cli("status", str(source), "--sandbox")
    assert done.returncode == 1
    assert done.stderr.startswith("Error: ")
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_cleanly_and_keeps_written_rows(tmp_path: Path) -> None:
    queries = make_queries(60_000, seed=2)
    source = write_csv(tmp_path / "in.csv", queries)
    env = {k: v for k, v in os.environ.items() if not k.endswith("PARTNER_API_KEY")}
    process = subprocess.Popen(
        [sys.executable, "-m", "partner_async", "status", str(source), "--sandbox",
         "--concurrency", "1", "--batch-size", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        header = process.stdout.readline()  # blocks until the first batch is written
        first = process.stdout.readline()
        assert header.strip() == ",".join(["phoneNumber", "messageId", *COLUMNS])
        assert first.startswith("+33")
        process.send_signal(signal.SIGINT)
        # Read on through the same buffered reader: communicate() would read the pipe
        # itself and lose what readline() had already buffered (a row cut in two).
        assert process.stderr is not None
        rest = process.stdout.read()
        errors = process.stderr.read()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
    assert process.returncode == 130, errors
    assert "Interrupted:" in errors
    assert "Traceback" not in errors
    rows = list(csv.reader([first, *rest.splitlines()]))
    assert 1 <= len(rows) < len(queries)
    half_written = [(i, row) for i, row in enumerate(rows) if len(row) != 2 + len(COLUMNS)]
    assert not half_written, (half_written[:3], len(rows))
    expected = {(p, str(m)) for p, m in queries}
    assert all((row[0], row[1]) in expected for row in rows)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")
def test_a_closed_pipe_ends_quietly_with_141(tmp_path: Path) -> None:
    """`partner-async status big.csv | head -1`: the reader goes away; the command stops
    without a traceback or an Error: line, with 128 + SIGPIPE like a C tool."""
    source = write_csv(tmp_path / "in.csv", make_queries(20_000, seed=3))
    errors = tmp_path / "stderr.txt"
    env = {k: v for k, v in os.environ.items() if not k.endswith("PARTNER_API_KEY")}
    done = subprocess.run(
        ["bash", "-c",
         f'"{sys.executable}" -m partner_async status "{source}" --sandbox -q 2> "{errors}"'
         " | head -1; echo \"${PIPESTATUS[0]}\""],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )  # fmt: skip
    first, status = done.stdout.splitlines()
    assert first.startswith("phoneNumber,messageId,phone_number")
    assert status == "141"
    assert errors.read_text() == ""
