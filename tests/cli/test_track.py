"""``partner-async track``: add (idempotent), run to final against the sandbox, status,
export, and a store error as a clean ``Error:``."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from partner_async.cli import _track, cli
from partner_async.cli._progress import reporter
from partner_async.sandbox import SandboxConfig, SandboxServer, ground_truth


def test_track_add_run_status_export(tmp_path: Path) -> None:
    source = tmp_path / "q.csv"
    rows = [(f"+3361234{i:04d}", 1000 + i) for i in range(300)]
    source.write_text("phone_number,message_id\n" + "".join(f"{p},{m}\n" for p, m in rows))
    store = f"sqlite:///{tmp_path / 't.db'}"
    runner = CliRunner()
    first = runner.invoke(cli, ["track", "add", str(source), "--store", store])
    assert first.exit_code == 0, first.output
    assert "300 new" in first.output
    again = runner.invoke(cli, ["track", "add", str(source), "--store", store])
    assert "0 new" in again.output
    config = SandboxConfig(seed=2, waiting_polls=1, api_keys=("k-track",))
    updates = tmp_path / "updates.jsonl"
    with SandboxServer(config) as server:
        run = runner.invoke(
            cli,
            [
                "track",
                "run",
                "--store",
                store,
                "-o",
                str(updates),
                "--until-final",
                "--poll-interval",
                "0.01",
                "--deadline",
                "60",
                "--api-key",
                "k-track",
                "--base-url",
                server.sms_base_url,
            ],
        )
    assert run.exit_code == 0, run.output
    assert "k-track" not in run.output
    records = [orjson.loads(line) for line in updates.read_text().splitlines()]
    assert len({r["id"] for r in records}) == len(records) >= 300
    status = runner.invoke(cli, ["track", "status", "--store", store, "--json"])
    counts = orjson.loads(status.stdout)
    assert (
        counts["pending"] == 0
        and sum(v for k, v in counts.items() if k not in ("pending", "undelivered")) == 300
    )
    out = tmp_path / "out.csv"
    export = runner.invoke(cli, ["track", "export", "--store", store, "-o", str(out)])
    assert export.exit_code == 0, export.output
    with out.open() as f:
        exported = list(csv.DictReader(f))
    assert len(exported) == 300
    for row in exported:
        truth = ground_truth(row["phone_number"], int(row["message_id"]), config=config, polls=9)
        assert row["status_text"] == truth.wire_status


def test_track_status_of_a_corrupt_store_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(b"garbage" * 500)
    result = CliRunner().invoke(cli, ["track", "status", "--store", f"sqlite:///{path}"])
    assert result.exit_code == 1
    assert "StoreError" in result.output and "bad.db" in result.output


def test_track_run_interrupted_by_sigint_leaves_the_store_consistent(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    source = tmp_path / "q.csv"
    rows = [(f"+3361235{i:04d}", 2000 + i) for i in range(3000)]
    source.write_text("phone_number,message_id\n" + "".join(f"{p},{m}\n" for p, m in rows))
    store = f"sqlite:///{tmp_path / 't.db'}"
    env = {k: v for k, v in os.environ.items() if not k.endswith("PARTNER_API_KEY")}
    command = [sys.executable, "-m", "partner_async", "track"]
    added = subprocess.run([*command, "add", str(source), "--store", store], env=env,
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert added.returncode == 0, added.stderr
    run = [*command, "run", "--store", store, "--sandbox", "--poll-interval", "0.01", "-o", "-"]
    first = subprocess.Popen(run, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)  # fmt: skip
    assert first.stdout is not None
    seen = [first.stdout.readline() for _ in range(100)]
    first.send_signal(signal.SIGINT)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 130
    assert "Traceback" not in err
    second = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120,
                            check=False)  # fmt: skip
    assert second.returncode == 0, second.stderr

    def ids(lines: list[str]) -> set[str]:
        found = set()
        for line in lines:
            # the interrupted process may have been stopped in the middle of a line
            with contextlib.suppress(orjson.JSONDecodeError):
                found.add(orjson.loads(line)["id"])
        return found

    all_ids = ids(seen + out.splitlines()) | ids(second.stdout.splitlines())
    finals = {i.rsplit("/", 1)[0] for i in all_ids}
    assert len(finals) == 3000  # every query reported, none lost by the interruption
    status = subprocess.run([*command, "status", "--store", store, "--json"], env=env,
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert orjson.loads(status.stdout)["pending"] == 0


def _track_run(tmp_path: Path, *extra: str) -> tuple[Result, Path]:
    """Add 20 queries to a fresh SQLite store, run them to final against the sandbox
    (Waiting once, then final); returns the run's result and its updates file."""
    source = tmp_path / "q.csv"
    rows = [(f"+3361236{i:04d}", 3000 + i) for i in range(20)]
    source.write_text("phone_number,message_id\n" + "".join(f"{p},{m}\n" for p, m in rows))
    store = f"sqlite:///{tmp_path / 't.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["track", "add", str(source), "--store", store]).exit_code == 0
    updates = tmp_path / "updates.jsonl"
    config = SandboxConfig(seed=2, waiting_polls=1, api_keys=("k-track",))
    with SandboxServer(config) as server:
        args = ["track", "run", "--store", store, "-o", str(updates), "--poll-interval", "0"]
        args += ["--api-key", "k-track", "--base-url", server.sms_base_url, *extra]
        result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result, updates


def test_track_run_writes_log_lines_when_stderr_is_not_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_track, "_LOG_INTERVAL", 0.0)  # a line for every snapshot
    monkeypatch.setattr(_track, "_SHOW", 0.0)  # a snapshot for every update
    result, updates = _track_run(tmp_path)
    delivered = len(updates.read_text().splitlines())
    lines = result.stderr.splitlines()
    line = re.compile(
        r"partner-async: tracking (\d+)/20 \(\d+\.\d%\) [\d,]+/s, "
        r"(\d+) pending, (\d+) updates, round (\d)"
    )
    logged = [line.fullmatch(text) for text in lines[:-1]]
    assert all(logged), lines
    first, last = logged[0], logged[-1]
    assert first is not None and last is not None
    assert first.groups() == ("0", "20", "0", "0")  # at start: nothing final, no update yet
    assert last.groups() == ("20", "0", str(delivered), "2")  # all final after 2 polls
    # the counts move with the updates: final + pending = 20 on every line
    assert all(int(m[1]) + int(m[2]) == 20 for m in logged if m)
    assert (
        lines[-1] == f"{delivered} updates; 20/20 final, 0 pending in sqlite:///{tmp_path / 't.db'}"
    )
    assert "k-track" not in result.output


def test_track_run_quiet_writes_nothing_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_track, "_LOG_INTERVAL", 0.0)
    monkeypatch.setattr(_track, "_SHOW", 0.0)
    result, updates = _track_run(tmp_path, "--quiet")
    assert result.stderr == "" and result.stdout == ""
    assert {orjson.loads(u)["phone_number"] for u in updates.read_text().splitlines()} == {
        f"+3361236{i:04d}" for i in range(20)
    }


def test_track_run_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Tty()
    monkeypatch.setattr(sys, "stderr", screen)  # rich's Console(stderr=True) writes here
    progress = _track._RunProgress()
    progress.recount({"Delivered": 3, "Waiting": 5, "new": 2, "pending": 7, "undelivered": 1})
    with reporter(False, detail=_track._run_detail, fill=False) as bar:
        bar.start("tracking", progress.total, progress.done)
        progress.delivered, progress.round = 4, 2
        bar(progress)
        bar.finish()
    shown = screen.getvalue()
    assert "tracking" in shown and "3/10" in shown
    assert "7 pending, 4 updates, round 2" in shown
