"""Issue 12: the CLI with a failing input, an output that is its input, Ctrl-C, key files."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from partner_async.sandbox import SandboxApp

from .conftest import KEY, Invoke, make_queries, read_csv, write_csv
from .test_status import check_against_truth


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, batches: int) -> None:
    """A real SIGINT (what Ctrl-C sends), raised after ``batches`` progress reports."""
    from partner_async.cli import _status

    seen = 0
    original = _status._Counting.__call__

    def counting(self: Any, progress: Any) -> None:
        nonlocal seen
        original(self, progress)
        seen += 1
        if seen == batches:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(_status._Counting, "__call__", counting)


def _interrupted_status(
    tmp_path: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, seed: int, *options: str
) -> tuple[Result, list[tuple[str, int]], Path]:
    """``status`` of 2,000 queries into ``out.csv``, one request of 100 at a time, with
    Ctrl-C after 3 batches: the result, the queries and the output path."""
    _interrupt_after(monkeypatch, 3)
    queries = make_queries(2000, seed=seed)
    source = write_csv(tmp_path / "in.csv", queries)
    out = tmp_path / "out.csv"
    result = invoke(
        "status", str(source), *options, "-o", str(out), "--batch-size", "100",
        "--concurrency", "1",
    )  # fmt: skip
    return result, queries, out


def test_ctrl_c_in_the_first_pass_of_wait_writes_what_was_answered(
    tmp_path: Path, invoke: Invoke, sandbox_app: SandboxApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, queries, out = _interrupted_status(tmp_path, invoke, monkeypatch, 8, "--wait")
    assert result.exit_code == 130, result.output
    assert "Traceback" not in result.stderr
    rows = read_csv(out.read_text(encoding="utf-8"))
    assert 100 <= len(rows) < 2000  # was 0: the first pass's answers were dropped
    assert [(r["phone_number"], int(r["message_id"])) for r in rows] == queries[: len(rows)]
    for row in rows:
        check_against_truth(row, sandbox_app)
    assert f"Interrupted: {len(rows):,} result rows written to {out}." in result.stderr
    assert not list(tmp_path.glob(".out.csv*"))  # no temporary file left behind


@pytest.mark.parametrize("link", ["same", "hard", "symbolic"])
def test_an_output_that_is_the_input_is_refused_and_untouched(
    tmp_path: Path, invoke: Invoke, link: str
) -> None:
    source = write_csv(tmp_path / "in.csv", make_queries(500, seed=3))
    before = source.read_bytes()
    out = tmp_path / "alias.csv"
    if link == "same":
        out = source
    elif link == "hard":
        os.link(source, out)
    else:
        out.symlink_to(source)

    result = invoke("status", str(source), "-o", str(out))

    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: the output {out} is the input file")
    assert "Traceback" not in result.stderr
    assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"in.csv", out.name})


def test_the_output_is_renamed_into_place_at_the_end(
    tmp_path: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from partner_async.cli import _status

    queries = make_queries(1000, seed=4)
    source = write_csv(tmp_path / "in.csv", queries)
    out = tmp_path / "out.csv"
    out.write_text("previous results\n", encoding="utf-8")
    out.chmod(0o640)
    during: list[tuple[str, list[str]]] = []
    original = _status._Counting.__call__

    def spy(self: Any, progress: Any) -> None:
        original(self, progress)
        during.append((out.read_text(encoding="utf-8"), [p.name for p in tmp_path.iterdir()]))

    monkeypatch.setattr(_status._Counting, "__call__", spy)
    result = invoke(
        "status", str(source), "-o", str(out), "--batch-size", "100", "--concurrency", "1"
    )

    assert result.exit_code == 0, result.output
    assert len(during) == 10
    # mid-run: the old file untouched, the rows go to a temporary file next to it
    assert all(text == "previous results\n" for text, _ in during)
    temporary = [
        any(n.startswith(".out.csv.") and n.endswith(".partial") for n in names)
        for _, names in during
    ]
    assert sum(temporary) >= 8
    rows = read_csv(out.read_text(encoding="utf-8"))
    assert [(r["phone_number"], int(r["message_id"])) for r in rows] == queries
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]
    assert out.stat().st_mode & 0o777 == 0o640


def test_ctrl_c_while_streaming_to_a_file_renames_what_was_written(
    tmp_path: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, queries, out = _interrupted_status(tmp_path, invoke, monkeypatch, 9)
    assert result.exit_code == 130
    rows = read_csv(out.read_text(encoding="utf-8"))
    assert 100 <= len(rows) < 2000
    assert [(r["phone_number"], int(r["message_id"])) for r in rows] == queries[: len(rows)]
    assert f"Interrupted: {len(rows):,} result rows written to {out}." in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def _csv_lines(queries: list[tuple[str, int]]) -> bytes:
    return b"".join(f"{p},{m}\n".encode() for p, m in queries)


@pytest.mark.parametrize("problem", ["latin-1", "huge field"])
def test_an_input_failing_mid_run_gives_an_error_line_and_the_summary(
    tmp_path: Path, invoke: Invoke, problem: str
) -> None:
    queries = make_queries(1500, seed=12)
    bad = b"+33612345678,caf\xe9\n" if problem == "latin-1" else b'+336,"' + b"9" * 200_000
    source = tmp_path / "in.csv"
    source.write_bytes(b"phoneNumber,messageId\n" + _csv_lines(queries) + bad + b"\n")
    assert source.stat().st_size > 8192 + 200
    out = tmp_path / "out.csv"

    result = invoke("status", str(source), "-o", str(out), "--batch-size", "100")

    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    if problem == "latin-1":
        assert "not UTF-8 text (byte 0xe9" in error
    else:
        assert "a CSV field is larger than 131,072 characters" in error
    assert "distinct queries" in result.stderr.splitlines()[-1]  # the summary, last
    rows = read_csv(out.read_text(encoding="utf-8"))
    assert [(r["phone_number"], int(r["message_id"])) for r in rows] == queries[: len(rows)]
    assert len(rows) < len(queries)  # what was answered before the input failed


def test_a_latin_1_jsonl_input_is_an_error_line(tmp_path: Path, invoke: Invoke) -> None:
    source = tmp_path / "in.jsonl"
    line = b'{"phoneNumber": "+33612345678", "messageId": 1}\n'
    source.write_bytes(line * 300 + b'{"phoneNumber": "caf\xe9", "messageId": 2}\n')
    result = invoke("status", str(source))
    assert result.exit_code == 1
    assert "not UTF-8 text" in result.stderr and "Traceback" not in result.stderr


def test_the_key_from_a_file(tmp_path: Path, invoke: Invoke, sandbox_server: Any) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(f"{KEY}\n", encoding="utf-8")
    source = write_csv(tmp_path / "in.csv", make_queries(20, seed=1))
    base = ["--base-url", sandbox_server.sms_base_url]
    result = invoke("status", str(source), *base, "--api-key-file", str(key_file), connect=False)
    assert result.exit_code == 0, result.output
    assert len(read_csv(result.stdout)) == 20

    both = invoke("status", str(source), *base, "--api-key-file", str(key_file), "--api-key", KEY,
                  connect=False)  # fmt: skip
    assert both.exit_code == 1
    assert "Error: give --api-key or --api-key-file, not both" in both.stderr

    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    result = invoke("sms-status", "1", *base, "--api-key-file", str(empty), connect=False)
    assert result.exit_code == 1
    assert f"Error: the API key file {empty} is empty" in result.stderr

    missing = invoke("sms-status", "1", *base, "--api-key-file", str(tmp_path / "no"),
                     connect=False)  # fmt: skip
    assert missing.exit_code == 1 and "cannot read the API key file" in missing.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["sms-status", "1"],
        ["mail-status", "1"],
        ["message-status", "+33612345678", "1"],
        ["tag-status", "campaign"],
        ["costs"],
    ],
    ids=lambda command: command[0],
)
def test_every_single_request_command_reads_the_key_file(
    tmp_path: Path, invoke: Invoke, sandbox_server: Any, command: list[str]
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(f"{KEY}\n", encoding="utf-8")
    mail = command[0] == "mail-status"
    url = sandbox_server.mail_base_url if mail else sandbox_server.sms_base_url
    result = invoke(
        *command, "--json", "--base-url", url, "--api-key-file", str(key_file), connect=False
    )
    assert "no API key" not in result.stderr
    assert result.exit_code == 0, result.output


def test_track_run_reads_the_key_file(tmp_path: Path, invoke: Invoke, sandbox_server: Any) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(f"{KEY}\n", encoding="utf-8")
    source = write_csv(tmp_path / "in.csv", make_queries(5, seed=2))
    store = f"sqlite:///{tmp_path / 't.db'}"
    added = invoke("track", "add", str(source), "--store", store, connect=False)
    assert added.exit_code == 0, added.output
    url = sandbox_server.sms_base_url
    result = invoke(
        "track", "run", "--store", store, "--once", "--quiet", "--base-url", url,
        "--api-key-file", str(key_file), connect=False,
    )  # fmt: skip
    assert "no API key" not in result.stderr
    assert result.exit_code == 0, result.output


def test_a_hidden_prompt_on_a_terminal_when_no_key_is_given(
    tmp_path: Path, invoke: Invoke, sandbox_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from partner_async.cli import _options

    monkeypatch.setattr(_options, "stdin_is_terminal", lambda: True)
    source = write_csv(tmp_path / "in.csv", make_queries(20, seed=1))
    result = invoke(
        "status", str(source), "--base-url", sandbox_server.sms_base_url,
        input=f"{KEY}\n", connect=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "API key:" in result.stderr
    assert len(read_csv(result.stdout)) == 20


@pytest.mark.parametrize("terminal", [True, False])
def test_no_prompt_when_stdin_is_the_input_or_not_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terminal: bool
) -> None:
    from click.testing import CliRunner

    from partner_async.cli import _options, cli

    monkeypatch.setattr(_options, "stdin_is_terminal", lambda: terminal)
    source = str(write_csv(tmp_path / "in.csv", [])) if not terminal else "-"
    result = CliRunner().invoke(cli, ["status", source], input="phoneNumber,messageId\n")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: no API key: pass --api-key or set SMSPARTNER_API_KEY (or try --sandbox)\n"
    )


def test_the_detail_column_never_shows_a_key_the_server_echoed(
    tmp_path: Path, invoke: Invoke
) -> None:
    from tests._hostile import HostileServer

    source = write_csv(tmp_path / "in.csv", make_queries(3, seed=1))
    with HostileServer(bomb_size=2**20) as server:
        result = invoke(
            "status", str(source), "--base-url", server.base("echo-reject"), "--api-key", KEY,
            connect=False,
        )  # fmt: skip
    assert result.exit_code == 2  # unresolved (rejected); the fixture checks the key is absent
    rows = read_csv(result.stdout)
    assert [r["reason"] for r in rows] == ["rejected"] * 3
    assert all("apiKey" in r["detail"] and "***" in r["detail"] for r in rows)


def test_an_error_line_masks_the_key_in_every_form_the_sdk_masks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from urllib.parse import quote

    from partner_async.cli._runtime import CliError, fail

    key = "cli/key+9f2Kq7=Zx41"
    escaped = key.replace("/", "\\/")  # as JSON may write it
    monkeypatch.setenv("MAILPARTNER_API_KEY", "env-key-5hT2pQ9w")
    with pytest.raises(CliError) as caught:
        fail(
            f"refused: {key}, GET /v1/x?apiKey=other-key-7777&y=1, {quote(key, safe='')},"
            f' {{"apiKey": "{escaped}"}}, env-key-5hT2pQ9w',
            key,
        )
    message = caught.value.format_message()
    for shown in (key, quote(key, safe=""), escaped, "other-key", "env-key"):
        assert shown not in message
    assert message.count("***") == 5


def test_an_error_line_masks_a_short_key_too() -> None:
    """The CLI's own lines mask keys from 3 characters (the SDK masks a server's answer
    only from 8: a short "key" would corrupt it)."""
    from partner_async.cli._runtime import CliError, fail

    with pytest.raises(CliError) as caught:
        fail("the sandbox refused key abc1234 (and a/b: no)", "abc1234", "a/")
    assert caught.value.format_message() == "the sandbox refused key *** (and a/b: no)"
