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
import unicodedata
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import IO, Any, Final, Literal

import anyio.to_thread
import msgspec

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

#: Accepted names of the two input columns / keys, compared after folding case, accents,
#: spaces, dashes and underscores (``"Phone Number"``, ``"Téléphone"``, ``"N° de mobile"``...).
PHONE_KEYS: Final = (
    "phoneNumber",
    "phone_number",
    "phone",
    "Phone Number",
    "numero",
    "Numéro",
    "Téléphone",
    "telephone",
    "tel",
    "mobile",
    "portable",
    "msisdn",
    "gsm",
    "Numéro de téléphone",
    "Numéro de mobile",
)
MESSAGE_ID_KEYS: Final = (
    "messageId",
    "message_id",
    "msgId",
    "Message ID",
    "id_message",
    "id message",
    "identifiant du message",
)
#: The delimiters a CSV header is sniffed for (``;`` is French Excel's default).
DELIMITERS: Final = (",", ";", "\t")


def fold(name: str) -> str:
    """A header name reduced for matching: no accents, case, spaces or punctuation."""
    text = unicodedata.normalize("NFKD", name)
    return "".join(c for c in text if c.isalnum() and not unicodedata.combining(c)).casefold()


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a CSV header line: the most frequent of ``,``, ``;`` and tab."""
    best = max(DELIMITERS, key=header_line.count)
    return best if header_line.count(best) else ","


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

_PHONE_FOLDED: Final = frozenset(map(fold, PHONE_KEYS))
_ID_FOLDED: Final = frozenset(map(fold, MESSAGE_ID_KEYS))
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
        if fold(name) in wanted:
            return position
    return None


class QuerySource:
    """Queries read lazily from one CSV or JSONL stream.

    Opening checks the CSV header at once (so a missing column fails before any request);
    :meth:`__iter__` then yields ``(phone_number, message_id)`` pairs one row at a time.
    The CSV delimiter is ``delimiter``, or sniffed from the header line. With
    ``keep_rows``, every row read (a CSV row's fields, a JSONL line's object) is also
    appended to :attr:`rows` until the caller takes it: the caller's own columns, to write
    back beside each result. Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        stream: IO[str],
        name: str,
        fmt: Format,
        *,
        owned: bool,
        delimiter: str | None = None,
        keep_rows: bool = False,
    ) -> None:
        self._stream = stream
        self.name = name
        self.format: Format = fmt
        self._owned = owned
        self.rows_read = 0
        self._columns: tuple[int, int] | None = None
        self._reader: Iterator[list[str]] | None = None
        self.header: list[str] | None = None
        self.delimiter = delimiter or ","
        #: Rows read and not yet taken (``keep_rows``): appended by the reading thread,
        #: taken by the writer (a deque: safe across the two).
        self.rows: deque[list[str] | dict[str, Any]] | None = deque() if keep_rows else None
        if fmt == "csv":
            lines: Iterator[str] = iter(stream)
            if delimiter is None:
                first = self._first_line()
                self.delimiter = sniff_delimiter(first)
                if first:  # (an empty input has no header line to give back)
                    lines = itertools.chain([first], lines)
            self._reader = csv.reader(lines, delimiter=self.delimiter)
            self._columns = self._read_header()

    def _first_line(self) -> str:
        try:
            return self._stream.readline()
        except UnicodeDecodeError as exc:
            raise self._unreadable(exc, 1) from None

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
        phone = _find_column(header, _PHONE_FOLDED)
        message_id = _find_column(header, _ID_FOLDED)
        found = self.delimiter.join(header)
        self.header = header
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
        keep = self.rows.append if self.rows is not None else None
        for row in self._rows(self._reader):
            if not row:
                continue
            self.rows_read += 1
            if keep is not None:
                keep(row)
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
                item = msgspec.json.decode(line)
            except msgspec.DecodeError as exc:
                raise InputFormatError(
                    f"{self.name}, line {number}: not valid JSON ({exc})"
                ) from None
            if not isinstance(item, dict):
                raise InputFormatError(
                    f"{self.name}, line {number}: expected a JSON object with a phone "
                    f"number and a message id, got {type(item).__name__}"
                )
            pair = self._pair(item, number)
            if self.rows is not None:
                self.rows.append(item)
            yield pair

    def _pair(self, item: dict[str, Any], number: int) -> tuple[Any, Any]:
        phone: Any = _missing
        message_id: Any = _missing
        for key, value in item.items():
            folded = fold(key)
            if phone is _missing and folded in _PHONE_FOLDED:
                phone = value
            elif message_id is _missing and folded in _ID_FOLDED:
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


def open_input(
    path: str,
    fmt: str | None = None,
    *,
    delimiter: str | None = None,
    encoding: str = "utf-8-sig",
    keep_rows: bool = False,
) -> QuerySource:
    """Open ``path`` (``-`` for stdin) as a :class:`QuerySource`, decoded with
    ``encoding`` (UTF-8 by default, a byte-order mark skipped).

    Raises :class:`InputFormatError` for a missing CSV column and ``OSError`` when the file
    cannot be opened (``LookupError`` for an unknown encoding).
    """
    kind = guess_format(path, fmt)
    options: dict[str, Any] = {"delimiter": delimiter, "keep_rows": keep_rows}
    if path == "-":
        wrapper = io.TextIOWrapper(
            sys.stdin.buffer,
            encoding=encoding,
            newline="" if kind == "csv" else None,
        )
        try:
            return QuerySource(wrapper, "<stdin>", kind, owned=False, **options)
        except BaseException:
            wrapper.detach()
            raise
    stream = open(  # noqa: SIM115 - owned by the QuerySource
        path, encoding=encoding, newline="" if kind == "csv" else None
    )
    try:
        return QuerySource(stream, path, kind, owned=True, **options)
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


def outcome_record(outcome: StatusResult | Unresolved) -> tuple[Any, ...]:
    """One output row (values in :data:`COLUMNS` order; None for "no value")."""
    if type(outcome) is StatusResult:
        document = outcome.to_dict()  # (its date in ISO 8601, UTC)
        return (*(document[key] for key in COLUMNS[:9]), None, None)
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


#: What ``--escape-formulas`` escapes in CSV output.
Escape = Literal["server", "all", "none"]
#: A cell starting with one of these is a formula to a spreadsheet (OWASP's list).
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
#: The outcome columns whose text comes from the server (escaped by default).
_SERVER_TEXT: Final = frozenset({"status_text", "detail"})


def escape_formula(cell: Any) -> Any:
    """``cell`` made inert for a spreadsheet: text that would start a formula gets a
    leading ``'`` (which spreadsheets hide)."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_STARTS):
        return "'" + cell
    return cell


#: One output row: the input row (CSV fields or a JSONL object) and its outcome.
Row = tuple["list[str] | dict[str, Any]", "StatusResult | Unresolved"]


class OutputWriter:
    """Writes one row per input row: the row's own columns, then the outcome columns
    (:data:`COLUMNS`; one whose name the input already uses is written ``result_<name>``),
    as CSV (with a header row) or JSONL.

    CSV cells are escaped against formula injection as ``escape`` says: ``"server"`` (the
    default) escapes the texts that come from the server (``status_text``, ``detail``),
    ``"all"`` every cell (the input's own columns and phone numbers included: for files
    opened in a spreadsheet), ``"none"`` nothing (for programs).

    A file output is written to a temporary file in the same directory, created when the
    first results arrive (or by :meth:`finish`), and renamed over ``path`` by
    :meth:`close`: an existing file is replaced only then, in one step, and a run that
    fails at once leaves no file behind. Each :meth:`write` flushes, so what was written
    survives an interruption and is renamed into place like a complete run's.
    """

    def __init__(
        self,
        fmt: Format,
        *,
        path: str | None = None,
        stream: IO[str] | None = None,
        delimiter: str = ",",
        escape: Escape = "server",
    ):
        if (path is None) == (stream is None):
            raise ValueError("give exactly one of path and stream")
        self.format: Format = fmt
        self.path = path
        self._stream = stream
        self._csv: Any = None
        self._started = False
        self._temporary: str | None = None
        self.rows_written = 0
        self.delimiter = delimiter
        self.escape: Escape = escape
        #: The input's CSV header (None for JSONL input: the first object's keys serve).
        self.input_header: list[str] | None = None
        self._names: list[str] | None = None  # the output's column names, once known
        self._input_width = 0

    def _columns(self, first: list[str] | dict[str, Any] | None) -> list[str]:
        if self._names is None:
            own = list(self.input_header or (first.keys() if isinstance(first, dict) else []))
            taken = set(own)
            self._input_width = len(own)
            self._names = own + [f"result_{c}" if c in taken else c for c in COLUMNS]
        return self._names

    def _start(self, first: list[str] | dict[str, Any] | None = None) -> IO[str]:
        if self._stream is None:
            assert self.path is not None
            self._stream = self._open_temporary(self.path)
        if not self._started:
            self._started = True
            names = self._columns(first)
            if self.format == "csv":
                self._csv = csv.writer(self._stream, lineterminator="\n", delimiter=self.delimiter)
                escape = escape_formula if self.escape == "all" else _same
                self._csv.writerow([escape(name) for name in names])
        return self._stream

    def write(self, rows: Iterable[Row]) -> None:
        """Write these rows (after the header, the first time) and flush."""
        rows = list(rows)
        stream = self._start(rows[0][0] if rows else None)
        names = self._columns(None)
        width = self._input_width
        count = 0
        if self._csv is not None:
            writerow = self._csv.writerow
            mode = self.escape
            escape_server = mode != "none"
            for fields, outcome in rows:
                if isinstance(fields, dict):  # JSONL input: the first object's keys
                    own = [_csv_value(fields.get(name)) for name in names[:width]]
                else:
                    own = fields[:width] + [""] * (width - len(fields))
                record = [_csv_value(v) for v in outcome_record(outcome)]
                if escape_server:
                    for i, column in enumerate(COLUMNS):
                        if column in _SERVER_TEXT:
                            record[i] = escape_formula(record[i])
                cells = own + record
                writerow([escape_formula(c) for c in cells] if mode == "all" else cells)
                count += 1
        else:
            lines = []
            for fields, outcome in rows:
                values = outcome_record(outcome)
                if isinstance(fields, dict):  # JSONL input: this object's own keys
                    document = dict(fields)
                    for column, value in zip(COLUMNS, values, strict=True):
                        document[f"result_{column}" if column in fields else column] = value
                else:
                    document = dict(zip(names[:width], fields, strict=False))
                    document.update(zip(names[width:], values, strict=True))
                lines.append(msgspec.json.encode(document).decode())
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


def open_output(
    path: str | None, fmt: str | None = None, *, delimiter: str = ",", escape: Escape = "server"
) -> OutputWriter:
    """An :class:`OutputWriter` on ``path`` (None or ``-``: stdout), opened lazily."""
    options: dict[str, Any] = {"delimiter": delimiter, "escape": escape}
    if path is None or path == "-":
        return OutputWriter(guess_format("-", fmt), stream=sys.stdout, **options)
    return OutputWriter(guess_format(path, fmt), path=path, **options)


def _same(value: Any) -> Any:
    return value
