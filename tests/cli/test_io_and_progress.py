"""The CLI's readers, writers and progress displays, without a server."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import attrs
import pytest

from partner_async import (
    StatusQuery,
    StatusResult,
    Unresolved,
    UnresolvedReason,
)
from partner_async.cli._io import (
    COLUMNS,
    InputFormatError,
    OutputWriter,
    count_rows,
    guess_format,
    open_input,
    open_output,
    outcome_record,
)
from partner_async.cli._progress import LogReporter, Reporter, RichReporter, Rounds, reporter
from tests._fakes import answered

ANSWERED = answered(timestamp=1_500_000_000)
UNRESOLVED = Unresolved(
    StatusQuery("+33 6", "x"), UnresolvedReason.INVALID_QUERY, "invalid phone number '+33 6'"
)


def test_guess_format() -> None:
    assert guess_format("a.CSV", None) == "csv"
    assert guess_format("a.jsonl", None) == "jsonl"
    assert guess_format("a.ndjson", None) == "jsonl"
    assert guess_format("a.txt", None) == "csv"
    assert guess_format("a.csv", "jsonl") == "jsonl"
    assert guess_format("-", None) == "csv"


def test_csv_input_is_lazy_and_tolerant(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        "\ufeffname, PhoneNumber ,MSGID\nann,+33612345678,1\n\nbob,+33712345678\n", "utf-8"
    )
    with open_input(str(path)) as source:
        rows = iter(source)
        assert next(rows) == ("+33612345678", "1")
        assert source.rows_read == 1  # read one row at a time
        assert list(rows) == [("+33712345678", "")]  # a short row: an empty id
    assert count_rows(str(path), "csv") == 3


def test_jsonl_input_coerces_numeric_phone(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"phone": 33612345678, "messageId": null}\n', "utf-8")
    with open_input(str(path)) as source:
        assert list(source) == [("33612345678", None)]


def test_jsonl_error_lists_the_keys(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"fax": "+33612345678", "messageId": 1}\n', "utf-8")
    with open_input(str(path)) as source, pytest.raises(InputFormatError) as caught:
        list(source)
    message = str(caught.value)
    assert message.startswith(f"{path}, line 1: no phone-number key (one of phoneNumber, ")
    assert message.endswith("; keys found: fax, messageId")


def test_records() -> None:
    assert outcome_record(ANSWERED) == (
        "+33612345678", 1226613, True, 200, "Delivered", "Delivered",
        "2017-07-14T02:40:00Z", None, None, None, None,
    )  # fmt: skip
    record = dict(zip(COLUMNS, outcome_record(UNRESOLVED), strict=True))
    assert record["reason"] == "invalid_query"
    assert record["success"] is None
    assert record["message_id"] == "x"


def test_csv_writer_flushes_each_write() -> None:
    stream = io.StringIO()
    writer = OutputWriter("csv", stream=stream)
    writer.input_header = ["customer", "tel", "id"]
    writer.write([(["c1", "0612345678", "1226613"], ANSWERED), (["c2", "+33 6", "x"], UNRESOLVED)])
    assert stream.getvalue().splitlines() == [
        ",".join(["customer", "tel", "id", *COLUMNS]),
        "c1,0612345678,1226613,+33612345678,1226613,true,200,Delivered,Delivered,"
        "2017-07-14T02:40:00Z,,,,",
        "c2,+33 6,x,+33 6,x,,,,,,,,invalid_query,invalid phone number '+33 6'",
    ]
    assert writer.rows_written == 2


def test_output_file_by_extension(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with open_output(str(path)) as writer:
        writer.write([({"phone": "0612345678", "id": 1226613, "customer_id": 7}, ANSWERED)])
    assert path.read_text().startswith(
        '{"phone":"0612345678","id":1226613,"customer_id":7,"phone_number":"+33612345678"'
    )


def test_outcome_columns_named_like_the_input_s_are_prefixed() -> None:
    stream = io.StringIO()
    writer = OutputWriter("csv", stream=stream)
    writer.input_header = ["phone_number", "message_id", "status"]
    writer.write([(["0612345678", "1226613", "sent"], ANSWERED)])
    header, row = stream.getvalue().splitlines()
    assert header.split(",")[:6] == [
        "phone_number", "message_id", "status", "result_phone_number", "result_message_id",
        "success",
    ]  # fmt: skip
    assert row.startswith("0612345678,1226613,sent,+33612345678,1226613,true,")


@pytest.mark.parametrize(
    ("escape", "expected"),
    [
        ("server", "+33612345678,=1+1,@x,+33612345678,1,true,200,Unknown,'=HYPERLINK(1),"),
        ("all", "'+33612345678,'=1+1,'@x,'+33612345678,1,true,200,Unknown,'=HYPERLINK(1),"),
        ("none", "+33612345678,=1+1,@x,+33612345678,1,true,200,Unknown,=HYPERLINK(1),"),
    ],
)
def test_formula_escaping(escape: Any, expected: str) -> None:
    hostile = StatusResult(
        phone_number="+33612345678", message_id=1, success=True, code=200,
        status_text="=HYPERLINK(1)",
    )  # fmt: skip
    stream = io.StringIO()
    writer = OutputWriter("csv", stream=stream, escape=escape)
    writer.input_header = ["phone", "note", "tag"]
    writer.write([(["+33612345678", "=1+1", "@x"], hostile)])
    assert stream.getvalue().splitlines()[1].startswith(expected)


@attrs.frozen
class Snapshot:
    done: int
    total: int | None
    requests: int = 1
    retries: int = 0
    unresolved: int = 0
    round: int = 0


def test_log_reporter_writes_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    log = LogReporter(stream, interval=0.0)
    log.start("checking", 1000)
    log(Snapshot(500, None, requests=1, retries=2))
    log.finish()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("partner-async: checking 500/1,000 (50.0%)")
    assert "1 requests, 2 retries, 0 unresolved" in lines[0]


def test_rounds_split_phases() -> None:
    seen: list[tuple[str, int]] = []

    class Recorder(Reporter):
        def start(self, description: str, total: int | None = None, done: int = 0) -> None:
            seen.append((description, -1))

        def __call__(self, progress: object) -> None:
            seen.append(("", progress.done))  # type: ignore[attr-defined]

    rounds = Rounds(Recorder(), 1000, "checking")
    # rounds are named by the snapshots, not inferred from done going down
    for done, round_number in ((500, 0), (1000, 0), (100, 1), (100, 2)):
        rounds(Snapshot(done, None, round=round_number))
    rounds.finish()
    assert seen == [
        ("checking", -1), ("", 500), ("", 1000),
        ("re-poll 1", -1), ("", 100), ("re-poll 2", -1), ("", 100),
    ]  # fmt: skip
    assert rounds.first_pass_seconds is not None


def test_reporter_choice() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert type(reporter(quiet=True)) is Reporter
    assert isinstance(reporter(quiet=False, stream=io.StringIO()), LogReporter)
    bar = reporter(quiet=False, stream=Tty())
    assert isinstance(bar, RichReporter)
    with bar:
        bar.start("checking", None)
        bar(Snapshot(10, 20))
        bar.finish()
