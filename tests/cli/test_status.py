"""``partner-async status``: CSV/JSONL round trips against the loopback sandbox, stdin,
--wait, exit codes, malformed inputs, and the API key kept out of every output."""

from __future__ import annotations

import csv
import io
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from partner_async.cli import cli
from partner_async.cli._io import COLUMNS
from partner_async.sandbox import (
    FaultConfig,
    SandboxApp,
    SandboxConfig,
    SandboxServer,
    create_app,
    ground_truth,
)

from .conftest import KEY, SEED, Invoke, make_queries, read_csv, read_jsonl, write_csv, write_jsonl

STATUS_OF_TRUTH = {"Number not found": "Unknown"}


def iso(timestamp: int | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_against_truth(row: dict[str, Any], app: SandboxApp, *, polls: int = 0) -> None:
    """One answered output row agrees with the sandbox's public ground truth (outcome
    columns renamed result_<name> where the input used the name)."""
    phone = row.get("result_phone_number", row["phone_number"])
    message_id = row.get("result_message_id", row["message_id"])
    truth = ground_truth(phone, int(message_id), config=app.config, polls=polls)
    assert str(row["code"]) == str(truth.code)
    assert row["status"] == STATUS_OF_TRUTH.get(truth.status, truth.status)
    assert row["status_text"] == truth.wire_status
    assert str(row["success"]).lower() == str(truth.success).lower()
    assert (row["date"] or None) == iso(truth.date)


def test_csv_round_trip(tmp_path: Path, invoke: Invoke, sandbox_app: SandboxApp) -> None:
    queries = make_queries(1_100)  # three batches of 500
    rows: list[tuple[Any, Any]] = [*queries, queries[3], queries[700], queries[0]]  # repeats
    source = write_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "out.csv"

    result = invoke("status", str(source), "-o", str(out))

    assert result.exit_code == 0, result.output
    output = read_csv(out.read_text(encoding="utf-8"))
    assert list(output[0]) == ["phoneNumber", "messageId", *COLUMNS]  # its own, then ours
    # one output row per input row, repeats included, in input order, each with its columns
    assert [(r["phoneNumber"], int(r["messageId"])) for r in output] == rows
    assert [(r["phone_number"], int(r["message_id"])) for r in output] == rows
    for row in output:
        check_against_truth(row, sandbox_app)
        assert row["reason"] == row["detail"] == ""
    assert output[1100] == output[3] and output[1102] == output[0]  # answered once each
    assert {r["status"] for r in output} == {"Delivered", "Not delivered", "Waiting", "Unknown"}
    assert "1,100 distinct queries (1,103 read)" in result.stderr
    assert result.stdout == ""
    assert sandbox_app.stats.items == 1_100


def test_jsonl_round_trip_with_other_key_spellings(
    tmp_path: Path, invoke: Invoke, sandbox_app: SandboxApp
) -> None:
    queries = make_queries(300, seed=8)
    lines: list[dict[str, Any]] = []
    for number, (phone, message_id) in enumerate(queries):
        if number % 3 == 0:
            lines.append({"PHONE_NUMBER": phone, "msgid": str(message_id), "extra": 1})
        elif number % 3 == 1:
            lines.append({"numero": phone, "message_id": message_id})
        else:
            lines.append({"phoneNumber": phone, "messageId": message_id})
    source = write_jsonl(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"

    result = invoke("status", str(source), "-o", str(out), "--batch-size", "100")

    assert result.exit_code == 0, result.output
    output = read_jsonl(out.read_text(encoding="utf-8"))
    assert [(r["phone_number"], r["message_id"]) for r in output] == queries
    for line, row in zip(lines, output, strict=True):
        # the object's own keys, then ours (``result_<name>`` where the object has the name)
        assert list(row) == [*line, *(f"result_{c}" if c in line else c for c in COLUMNS)]
        assert all(row[key] == value for key, value in line.items())
        assert isinstance(row["success"], bool)
        assert row["reason"] is None
        check_against_truth(row, sandbox_app)


def test_stdin_csv_to_stdout_with_national_and_invalid_numbers(
    invoke: Invoke, sandbox_app: SandboxApp
) -> None:
    text = (
        "Phone,MessageID\n"
        "06 12 34 56 78,1226613\n"
        "+33612345678,1226613\n"  # the same query in international form
        "+33 6 12,1226613\n"  # too short: invalid, not sent
        "+33712345678,abc\n"  # a message id that is not a number
        "+33145678912,1226613\n"  # a landline: the API refuses it (code 9)
    )
    result = invoke("status", "-", input=text)

    assert result.exit_code == 2, result.output
    output = read_csv(result.stdout)
    assert len(output) == 5  # one per input row
    first, again, short, bad_id, landline = output
    assert first["phone_number"] == again["phone_number"] == "+33612345678"
    assert (first["Phone"], again["Phone"]) == ("06 12 34 56 78", "+33612345678")
    assert {k: v for k, v in first.items() if k != "Phone"} == {
        k: v for k, v in again.items() if k != "Phone"
    }
    check_against_truth(first, sandbox_app)
    assert (short["reason"], short["success"], short["status"]) == ("invalid_query", "", "")
    assert "+33 6 12" in short["detail"]
    assert bad_id["reason"] == "invalid_query"
    assert "abc" in bad_id["detail"]
    assert (landline["reason"], landline["code"]) == ("rejected", "9")
    assert "3 unresolved (invalid_query 2, rejected 1)" in result.stderr


def test_stdin_jsonl_to_stdout_jsonl(invoke: Invoke, sandbox_app: SandboxApp) -> None:
    queries = make_queries(20, seed=3)
    text = "".join(f'{{"phone": "{p}", "msgId": {m}}}\n\n' for p, m in queries)
    result = invoke("status", "-", "--input-format", "jsonl", "--format", "jsonl", "-q", input=text)

    assert result.exit_code == 0, result.output
    output = read_jsonl(result.stdout)
    assert [(r["phone_number"], r["message_id"]) for r in output] == queries
    assert result.stderr == ""  # --quiet


def test_wait_follows_waiting_items_to_final(
    tmp_path: Path, invoke: Invoke, sandbox_app: SandboxApp
) -> None:
    queries = make_queries(400, seed=4)
    waiting = [
        q for q in queries if ground_truth(*q, config=sandbox_app.config).status == "Waiting"
    ]
    assert waiting  # about 10% of queries start Waiting
    source = write_csv(tmp_path / "in.csv", queries, header=("phone_number", "message_id"))

    result = invoke("status", str(source), "--wait", "--poll-interval", "0", "--format", "jsonl")

    assert result.exit_code == 0, result.output
    output = read_jsonl(result.stdout)
    # the input's own phone_number and message_id columns as read, the results renamed
    assert [(r["phone_number"], r["message_id"]) for r in output] == [
        (p, str(m)) for p, m in queries
    ]
    assert [(r["result_phone_number"], r["result_message_id"]) for r in output] == queries
    assert all(r["status"] != "Waiting" for r in output)
    for row in output:
        check_against_truth(row, sandbox_app, polls=10)


def test_dedupe_window_zero_reports_repeats(tmp_path: Path, invoke: Invoke) -> None:
    queries = make_queries(5)
    source = write_csv(tmp_path / "in.csv", [*queries, *queries])
    result = invoke("status", str(source), "--dedupe-window", "0")
    assert result.exit_code == 0, result.output
    assert len(read_csv(result.stdout)) == 10


# ---------------------------------------------------------------------------------------
# usage errors: exit code 1 and one line


def test_missing_column_names_it_and_the_header(tmp_path: Path, invoke: Invoke) -> None:
    source = write_csv(tmp_path / "in.csv", [("+33612345678", "1")], header=("phone", "id"))
    result = invoke("status", str(source))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "Error:" in result.stderr
    assert "no message-id column" in result.stderr
    assert "header found: phone,id" in result.stderr
    assert "Traceback" not in result.output


def test_missing_phone_column(tmp_path: Path, invoke: Invoke) -> None:
    source = write_csv(tmp_path / "in.csv", [("1", "2")], header=("fax", "messageId"))
    result = invoke("status", str(source))
    assert result.exit_code == 1
    assert "no phone-number column" in result.stderr
    assert "header found: fax,messageId" in result.stderr


def test_empty_csv(tmp_path: Path, invoke: Invoke) -> None:
    source = tmp_path / "in.csv"
    source.write_text("")
    result = invoke("status", str(source))
    assert result.exit_code == 1
    assert "empty input" in result.stderr


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('["+33612345678", 1]', "line 3: expected a JSON object"),
        ("{not json", "line 3: not valid JSON"),
        ('{"phoneNumber": "+33612345678"}', "line 3: no message-id key"),
        ('{"messageId": 12}', "line 3: no phone-number key"),
    ],
)
def test_malformed_jsonl_line_names_the_line(
    tmp_path: Path, invoke: Invoke, line: str, message: str
) -> None:
    good = '{"phoneNumber": "+33612345678", "messageId": 1226613}'
    source = tmp_path / "in.jsonl"
    source.write_text(f"{good}\n\n{line}\n{good}\n", encoding="utf-8")
    result = invoke("status", str(source), "-q")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {source}, {message}" + result.stderr.split(message)[1]
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_unknown_option_and_missing_file_exit_1(tmp_path: Path, invoke: Invoke) -> None:
    assert invoke("status", str(tmp_path / "absent.csv")).exit_code == 1
    assert invoke("status", "-", "--bogus", connect=False).exit_code == 1
    assert invoke("status", "-", "--batch-size", "501").exit_code == 1


def test_sandbox_refuses_api_key(tmp_path: Path, invoke: Invoke) -> None:
    source = write_csv(tmp_path / "in.csv", make_queries(2))
    result = invoke("status", str(source), "--sandbox")
    assert result.exit_code == 1
    assert "drop --api-key" in result.stderr


# ---------------------------------------------------------------------------------------
# authentication and secrets


def test_wrong_key_is_an_error_without_the_key(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    wrong = "wrong-key-3xPq0LmZ"
    source = write_csv(tmp_path / "in.csv", make_queries(3))
    args = ["status", str(source), "--base-url", sandbox_server.sms_base_url, "--api-key", wrong]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: AuthenticationError")
    assert result.stderr.count("\n") == 1
    assert wrong not in result.output


def test_key_from_environment(
    tmp_path: Path, sandbox_server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMSPARTNER_API_KEY", KEY)
    source = write_csv(tmp_path / "in.csv", make_queries(3))
    result = CliRunner().invoke(
        cli, ["status", str(source), "--base-url", sandbox_server.sms_base_url]
    )
    assert result.exit_code == 0, result.output
    assert KEY not in result.output


def test_no_key_at_all_leaves_no_output_file(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", make_queries(1))
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(cli, ["status", str(source), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: no API key: pass --api-key or set SMSPARTNER_API_KEY (or try --sandbox)\n"
    )
    assert not out.exists()


def test_input_without_queries_gives_a_header_only(tmp_path: Path, invoke: Invoke) -> None:
    source = write_csv(tmp_path / "in.csv", [])
    out = tmp_path / "out.csv"
    result = invoke("status", str(source), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text() == ",".join(["phoneNumber", "messageId", *COLUMNS]) + "\n"


def test_help_never_shows_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMSPARTNER_API_KEY", KEY)
    monkeypatch.setenv("MAILPARTNER_API_KEY", KEY)
    runner = CliRunner()
    for command in ("status", "sms-status", "mail-status", "sandbox", "demo"):
        result = runner.invoke(cli, [command, "--help"])
        assert result.exit_code == 0
        assert KEY not in result.output
    result = runner.invoke(cli, [])
    assert result.exit_code == 0
    assert "status" in result.output


def test_plain_http_to_a_remote_host_is_refused(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", make_queries(1))
    args = ["status", str(source), "--base-url", "http://192.0.2.1/v1", "--api-key", KEY]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "plain http" in result.stderr
    assert KEY not in result.output


def test_ctrl_c_while_waiting_writes_what_is_known(
    tmp_path: Path, invoke: Invoke, sandbox_app: SandboxApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def interrupted(seconds: float) -> None:
        assert seconds == 3600
        raise KeyboardInterrupt

    monkeypatch.setattr("partner_async.cli._status._pause", interrupted)
    queries = make_queries(50, seed=6)
    source = write_csv(tmp_path / "in.csv", queries)
    out = tmp_path / "out.csv"

    result = invoke(
        "status", str(source), "--wait", "--poll-interval", "3600", "--wait-timeout", "7200",
        "-o", str(out),
    )  # fmt: skip

    assert result.exit_code == 130
    assert f"Interrupted: 50 result rows written to {out}." in result.stderr
    output = read_csv(out.read_text(encoding="utf-8"))
    assert [(r["phone_number"], int(r["message_id"])) for r in output] == queries
    for row in output:
        check_against_truth(row, sandbox_app)  # the first pass: some still Waiting
    assert any(r["status"] == "Waiting" for r in output)


@pytest.mark.parametrize("verbose", [True, False])
def test_retries_are_counted_and_logged_with_verbose(
    tmp_path: Path, invoke: Invoke, sandbox_server: SandboxServer, verbose: bool
) -> None:
    config = SandboxConfig(seed=SEED, api_keys=(KEY,), faults=FaultConfig(schedule={0: "http_503"}))
    sandbox_server.app = create_app(config)  # the fixture restores its own app afterwards
    logger = logging.getLogger("partner_async")
    before = (logger.propagate, logger.level, list(logger.handlers))
    source = write_csv(tmp_path / "in.csv", make_queries(10))

    result = invoke(
        *(["-v"] if verbose else []), "status", str(source), "-o", str(tmp_path / "o.csv")
    )

    assert result.exit_code == 0, result.output
    assert "10 answered" in result.stderr
    assert "1 retries" in result.stderr
    assert ("HTTP 503" in result.stderr) is verbose
    assert (logger.propagate, logger.level, list(logger.handlers)) == before


def test_malformed_stdin_line_names_stdin(invoke: Invoke) -> None:
    text = '{"phone": "+33612345678", "msgId": 1}\n[1, 2]\n'
    result = invoke("status", "-", "--input-format", "jsonl", input=text)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: <stdin>, line 2: expected a JSON object")


# ---------------------------------------------------------------------------------------
# the user's own file: delimiter, encoding, header names, their columns kept


def test_french_excel_csv_semicolons_cp1252_and_accented_headers(
    tmp_path: Path, invoke: Invoke, sandbox_app: SandboxApp
) -> None:
    queries = make_queries(30, seed=9)
    lines = ["Client;Téléphone;Identifiant du message"]
    lines += [f"client {i};{p};{m}" for i, (p, m) in enumerate(queries)]
    source = tmp_path / "export.csv"
    source.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    out = tmp_path / "out.csv"

    result = invoke("status", str(source), "-o", str(out), "--encoding", "cp1252")

    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ";".join(["Client", "Téléphone", "Identifiant du message",
                                            *COLUMNS])  # fmt: skip
    output = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert [r["Client"] for r in output] == [f"client {i}" for i in range(30)]
    for row in output:
        check_against_truth(row, sandbox_app)


@pytest.mark.parametrize(
    ("header", "delimiter", "option"),
    [
        ("Phone Number\tmessage id\tcustomer_id", "\t", []),
        ("numero;msgId;customer_id", ";", ["--delimiter", ";"]),
        ("PHONE-NUMBER,Message_ID,customer_id", ",", []),
    ],
)
def test_delimiters_and_header_spellings(
    tmp_path: Path, invoke: Invoke, header: str, delimiter: str, option: list[str]
) -> None:
    queries = make_queries(3, seed=10)
    body = "".join(f"{p}{delimiter}{m}{delimiter}C{i}\n" for i, (p, m) in enumerate(queries))
    source = tmp_path / "in.csv"
    source.write_text(header + "\n" + body, encoding="utf-8")
    result = invoke("status", str(source), "--format", "jsonl", *option)
    assert result.exit_code == 0, result.output
    output = read_jsonl(result.stdout)
    assert [r["customer_id"] for r in output] == ["C0", "C1", "C2"]
    assert [(r["phone_number"], r["message_id"]) for r in output] == queries


def test_an_unknown_encoding_is_a_usage_error(tmp_path: Path, invoke: Invoke) -> None:
    source = write_csv(tmp_path / "in.csv", make_queries(1))
    result = invoke("status", str(source), "--encoding", "klingon")
    assert result.exit_code == 1
    assert "unknown encoding 'klingon'" in result.stderr
