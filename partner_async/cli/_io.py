"""Streaming input (CSV / JSONL queries) and output (CSV / JSONL outcomes) for the CLI.

Nothing here holds more than one row at a time: queries are read by a generator the SDK
pulls from, and outcomes are written as each batch arrives.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import datetime, timezone
from typing import IO, Any, Final, Literal

import anyio.to_thread
import orjson

from partner_async import StatusResult, Unresolved

__all__ = [
    "COLUMNS",
    "InputFormatError",
    "OutputWriter",
    "QuerySource",
    "guess_format",
    "open_input",
    "open_output",
    "outcome_record",
    "same_file",
]

Format = Literal["csv", "jsonl"]

#: Accepted spellings of the two input columns / keys (compared case-insensitively).
PHONE_KEYS: Final = ("phoneNumber", "phone_number", "phone", "numero")
MESSAGE_ID_KEYS: Final = ("messageId", "message_id", "msgId")

#: The output's columns, in order.
COLUMNS: Final = (
    "phone_number",
    "message_id",
    "success",
    "code",
    "status",
    "status_text",
    "date",
    "stop_sms",
    "is_spam",
    "reason",
    "detail",
)

_PHONE_LOWER: Final = frozenset(k.lower() for k in PHONE_KEYS)
_ID_LOWER: Final = frozenset(k.lower() for k in MESSAGE_ID_KEYS)
_EXTENSIONS: Final[dict[str, Format]] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


class InputFormatError(Exception):
    """The input file is malformed (a missing column, a JSONL line that is not an object).

    The message is one line, fit for ``Error: ...``.
    """


def guess_format(path: str, given: str | None, default: Format = "csv") -> Format:
    """The format of ``path``: ``given`` if set, else by extension, else ``default``."""
    if given is not None:
        return "jsonl" if given.lower() == "jsonl" else "csv"
    if path == "-":
        return default
    extension = os.path.splitext(path.lower())[1]
    return _EXTENSIONS.get(extension, default)


def _find_column(names: list[str], wanted: frozenset[str]) -> int | None:
    for position, name in enumerate(names):
        if name.strip().lower() in wanted:
            return position
    return None


class QuerySource:
    """Queries read lazily from one CSV or JSONL stream.

    Opening checks the CSV header at once (so a missing column fails before any request);
    :meth:`__iter__` then yields ``(phone_number, message_id)`` pairs one row at a time.
    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, stream: IO[str], name: str, fmt: Format, *, owned: bool) -> None:
        self._stream = stream
        self.name = name
        self.format: Format = fmt
        self._owned = owned
        self.rows_read = 0
        self._columns: tuple[int, int] | None = None
        self._reader: Iterator[list[str]] | None = None
        if fmt == "csv":
            self._reader = csv.reader(stream)
            self._columns = self._read_header()

    def _read_header(self) -> tuple[int, int]:
        assert self._reader is not None
        try:
            header = next(self._reader, None)
        except csv.Error as exc:
            raise self._unreadable(exc, 1) from None
        if header is None:
            raise InputFormatError(
                f"{self.name}: empty input, expected a CSV header with a phone-number "
                f"column ({', '.join(PHONE_KEYS)}) and a message-id column "
                f"({', '.join(MESSAGE_ID_KEYS)})"
            )
        phone = _find_column(header, _PHONE_LOWER)
        message_id = _find_column(header, _ID_LOWER)
        found = ",".join(header)
        if phone is None:
            raise InputFormatError(
                f"{self.name}: the CSV header has no phone-number column "
                f"(one of {', '.join(PHONE_KEYS)}); header found: {found}"
            )
        if message_id is None:
            raise InputFormatError(
                f"{self.name}: the CSV header has no message-id column "
                f"(one of {', '.join(MESSAGE_ID_KEYS)}); header found: {found}"
            )
        return phone, message_id

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return self._iter_csv() if self.format == "csv" else self._iter_jsonl()

    def _unreadable(self, exc: Exception, line: int | None) -> InputFormatError:
        """The one-line error for a row that cannot be read at all."""
        where = f"{self.name}, line {line}" if line else self.name
        if isinstance(exc, UnicodeDecodeError):
            return InputFormatError(
                f"{where}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} after "
                f"{self.rows_read:,} rows); save the file as UTF-8"
            )
        if "field larger than field limit" in str(exc):
            return InputFormatError(
                f"{where}: a CSV field is larger than {csv.field_size_limit():,} characters "
                "(an unclosed quote?)"
            )
        return InputFormatError(f"{where}: not valid CSV ({exc})")

    def _rows(self, reader: Iterator[list[str]]) -> Iterator[list[str]]:
        """``reader``'s rows; an undecodable byte or a broken CSV row raises
        :class:`InputFormatError` naming the line, not a Python traceback."""
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:  # decoded by 8 KB chunks: no exact line
                raise self._unreadable(exc, None) from None
            except csv.Error as exc:
                raise self._unreadable(exc, getattr(reader, "line_num", 0)) from None
            yield row

    def _iter_csv(self) -> Iterator[tuple[Any, Any]]:
        assert self._reader is not None
        assert self._columns is not None
        phone, message_id = self._columns
        width = max(phone, message_id) + 1
        for row in self._rows(self._reader):
            if not row:
                continue
            self.rows_read += 1
            if len(row) >= width:
                yield row[phone], row[message_id]
            else:  # a short row: the SDK reports the empty value as an invalid query
                yield (
                    row[phone] if phone < len(row) else "",
                    row[message_id] if message_id < len(row) else "",
                )

    def _lines(self) -> Iterator[str]:
        try:
            yield from self._stream
        except UnicodeDecodeError as exc:
            raise self._unreadable(exc, None) from None

    def _iter_jsonl(self) -> Iterator[tuple[Any, Any]]:
        for number, line in enumerate(self._lines(), 1):
            if not line.strip():
                continue
            self.rows_read += 1
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InputFormatError(
                    f"{self.name}, line {number}: not valid JSON ({exc})"
                ) from None
            if not isinstance(item, dict):
                raise InputFormatError(
                    f"{self.name}, line {number}: expected a JSON object with a phone "
                    f"number and a message id, got {type(item).__name__}"
                )
            yield self._pair(item, number)

    def _pair(self, item: dict[str, Any], number: int) -> tuple[Any, Any]:
        phone: Any = _missing
        message_id: Any = _missing
        for key, value in item.items():
            lowered = key.lower()
            if phone is _missing and lowered in _PHONE_LOWER:
                phone = value
            elif message_id is _missing and lowered in _ID_LOWER:
                message_id = value
        if phone is _missing or message_id is _missing:
            which, keys = ("phone-number", ", ".join(PHONE_KEYS))
            if phone is not _missing:
                which, keys = ("message-id", ", ".join(MESSAGE_ID_KEYS))
            raise InputFormatError(
                f"{self.name}, line {number}: no {which} key (one of {keys}); "
                f"keys found: {', '.join(item) or '(none)'}"
            )
        if type(phone) is int:  # 33612345678 written as a JSON number
            phone = str(phone)
        return phone, message_id

    def close(self) -> None:
        """Close the underlying file (not stdin)."""
        if self._owned:
            self._stream.close()

    def __enter__(self) -> QuerySource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_missing: Final = object()


def open_input(path: str, fmt: str | None = None) -> QuerySource:
    """Open ``path`` (``-`` for stdin) as a :class:`QuerySource`.

    Raises :class:`InputFormatError` for a missing CSV column and ``OSError`` when the file
    cannot be opened.
    """
    kind = guess_format(path, fmt)
    if path == "-":
        wrapper = io.TextIOWrapper(
            sys.stdin.buffer,
            encoding="utf-8-sig",
            newline="" if kind == "csv" else None,
        )
        try:
            return QuerySource(wrapper, "<stdin>", kind, owned=False)
        except BaseException:
            wrapper.detach()
            raise
    stream = open(  # noqa: SIM115 - owned by the QuerySource
        path, encoding="utf-8-sig", newline="" if kind == "csv" else None
    )
    try:
        return QuerySource(stream, path, kind, owned=True)
    except BaseException:
        stream.close()
        raise


async def read_in_thread(
    rows: Iterable[tuple[Any, Any]], chunk: int = 500
) -> AsyncIterator[tuple[Any, Any]]:
    """``rows`` read ``chunk`` at a time in a worker thread: for pipes (stdin), whose reads
    may block for long, which would stall every request in flight if done on the loop."""
    iterator = iter(rows)

    def take() -> list[tuple[Any, Any]]:
        return list(itertools.islice(iterator, chunk))

    while batch := await anyio.to_thread.run_sync(take, abandon_on_cancel=True):
        for row in batch:
            yield row


def is_regular_file(path: str) -> bool:
    """Whether ``path`` is a regular file (not ``-``, a pipe or a device)."""
    return path != "-" and os.path.isfile(path)


def count_rows(path: str, fmt: Format) -> int | None:
    """A quick estimate of the queries in a regular file (its lines, minus a CSV header),
    read in 1 MiB chunks; None for stdin or anything that is not a regular file."""
    if not is_regular_file(path):
        return None
    lines = 0
    last = b"\n"
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - (1 if fmt == "csv" else 0), 0)


# ---------------------------------------------------------------------------------------
# output


def _iso(timestamp: int | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def outcome_record(outcome: StatusResult | Unresolved) -> tuple[Any, ...]:
    """One output row (values in :data:`COLUMNS` order; None for "no value")."""
    if type(outcome) is StatusResult:
        return (
            outcome.phone_number,
            outcome.message_id,
            outcome.success,
            outcome.code,
            outcome.status.value,
            outcome.status_text,
            _iso(outcome.timestamp),
            outcome.stop_sms,
            outcome.is_spam,
            None,
            None,
        )
    assert isinstance(outcome, Unresolved)
    return (
        outcome.phone_number,
        outcome.message_id,
        None,
        outcome.code,
        None,
        None,
        None,
        None,
        None,
        outcome.reason.value,
        outcome.detail,
    )


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value


class OutputWriter:
    """Writes outcomes as CSV (with a header row) or JSONL, one row per outcome.

    A file output is written to a temporary file in the same directory, created when the
    first results arrive (or by :meth:`finish`), and renamed over ``path`` by
    :meth:`close`: an existing file is replaced only then, in one step, and a run that
    fails at once leaves no file behind. Each :meth:`write` flushes, so what was written
    survives an interruption and is renamed into place like a complete run's.
    """

    def __init__(self, fmt: Format, *, path: str | None = None, stream: IO[str] | None = None):
        if (path is None) == (stream is None):
            raise ValueError("give exactly one of path and stream")
        self.format: Format = fmt
        self.path = path
        self._stream = stream
        self._csv: Any = None
        self._started = False
        self._temporary: str | None = None
        self.rows_written = 0

    def _start(self) -> IO[str]:
        if self._stream is None:
            assert self.path is not None
            self._stream = self._open_temporary(self.path)
        if not self._started:
            self._started = True
            if self.format == "csv":
                self._csv = csv.writer(self._stream, lineterminator="\n")
                self._csv.writerow(COLUMNS)
        return self._stream

    def write(self, outcomes: Iterable[StatusResult | Unresolved]) -> None:
        """Write these outcomes (after the header, the first time) and flush."""
        stream = self._start()
        count = 0
        if self._csv is not None:
            writerow = self._csv.writerow
            for outcome in outcomes:
                writerow([_csv_value(v) for v in outcome_record(outcome)])
                count += 1
        else:
            lines = []
            for outcome in outcomes:
                record = dict(zip(COLUMNS, outcome_record(outcome), strict=True))
                lines.append(orjson.dumps(record).decode())
                count += 1
            if lines:
                stream.write("\n".join(lines) + "\n")
        self.rows_written += count
        stream.flush()

    def finish(self) -> None:
        """End a successful run: an input without queries still gets the CSV header."""
        self._start().flush()

    def _open_temporary(self, path: str) -> IO[str]:
        """A new temporary file next to ``path``, with the mode ``path`` would get."""
        directory, name = os.path.split(os.path.abspath(path))
        descriptor, self._temporary = tempfile.mkstemp(
            prefix=f".{name}.", suffix=".partial", dir=directory
        )
        try:
            if hasattr(os, "fchmod"):  # POSIX
                os.fchmod(descriptor, _file_mode(path))
            return open(descriptor, "w", encoding="utf-8", newline="")
        except BaseException:
            os.close(descriptor)
            os.unlink(self._temporary)
            raise

    def close(self) -> None:
        """Flush, close the file (never stdout) and rename it into place."""
        if self._stream is None:
            return
        try:
            self._stream.flush()
        finally:
            if self.path is not None:
                self._stream.close()
                temporary, self._temporary = self._temporary, None
                if temporary is not None:
                    os.replace(temporary, self.path)

    def __enter__(self) -> OutputWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _file_mode(path: str) -> int:
    """The permission bits of ``path`` if it exists, else what ``open`` would give."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def same_file(first: str, second: str) -> bool:
    """Whether two paths name the same file (also through hard or symbolic links)."""
    if first == "-" or second == "-":
        return False
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet)
        return False


def open_output(path: str | None, fmt: str | None = None) -> OutputWriter:
    """An :class:`OutputWriter` on ``path`` (None or ``-``: stdout), opened lazily."""
    if path is None or path == "-":
        return OutputWriter(guess_format("-", fmt), stream=sys.stdout)
    return OutputWriter(guess_format(path, fmt), path=path)
