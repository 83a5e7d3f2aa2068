"""``partner-async status``: the delivery status of every query of a file, one output row
per input row, streamed; ``--wait`` follows what is not final."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import anyio
import attrs
import click

from partner_async import (
    BatchResult,
    DeliveryStatus,
    SMSPartnerClient,
    StatusResult,
    StatusUpdate,
    Unresolved,
    UnresolvedReason,
)
from partner_async._models import needs_poll, replaces

from ._io import (
    Escape,
    InputFormatError,
    OutputWriter,
    QuerySource,
    Row,
    count_rows,
    is_regular_file,
    open_input,
    open_output,
    read_in_thread,
    same_file,
)
from ._options import (
    CONTEXT,
    batch_options,
    connection_options,
    dedupe_window,
    key_and_url,
    maybe_sandbox,
    resolve_api_key,
)
from ._progress import Reporter, Rounds, reporter
from ._runtime import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SAME_FILE,
    EXIT_UNRESOLVED,
    EXIT_USAGE,
    CliInputError,
    fail,
    run_async,
)


@attrs.define
class _Tally:
    """What a status run wrote, for the closing line and the exit code."""

    read: int = 0
    rows: int = 0
    statuses: Counter[DeliveryStatus] = attrs.field(factory=Counter)
    reasons: Counter[UnresolvedReason] = attrs.field(factory=Counter)
    requests: int = 0
    retries: int = 0

    def add(self, outcomes: Any) -> None:
        for outcome in outcomes:
            self.rows += 1
            if type(outcome) is StatusResult:
                self.statuses[outcome.status] += 1
            else:
                assert isinstance(outcome, Unresolved)
                self.reasons[outcome.reason] += 1

    def line(self, seconds: float) -> str:
        answered = sum(self.statuses.values())
        unresolved = sum(self.reasons.values())
        by_status = ", ".join(f"{s.value} {n:,}" for s, n in self.statuses.most_common())
        by_reason = ", ".join(f"{r.value} {n:,}" for r, n in self.reasons.most_common())
        return (
            f"partner-async: {self.rows:,} distinct queries ({self.read:,} read): "
            f"{answered:,} answered ({by_status or 'none'}), {unresolved:,} unresolved"
            + (f" ({by_reason})" if by_reason else "")
            + f"; {self.requests:,} requests, {self.retries:,} retries, {seconds:.2f} s"
        )


class _Counting:
    """Wraps the SDK's progress callback to remember the request counters."""

    def __init__(self, target: Callable[[Any], None], tally: _Tally) -> None:
        self._target = target
        self._tally = tally

    def __call__(self, progress: Any) -> None:
        self._tally.requests = progress.requests
        self._tally.retries = progress.retries
        self._target(progress)


@click.command(context_settings=CONTEXT)
@click.argument(
    "input_path",
    metavar="INPUT",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    default=None,
    help="Write results here (default: stdout).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["csv", "jsonl"], case_sensitive=False),
    default=None,
    help="Output format (default: by the output's extension, else csv).",
)
@click.option(
    "--input-format",
    type=click.Choice(["csv", "jsonl"], case_sensitive=False),
    default=None,
    help="Input format (default: by INPUT's extension; stdin: csv).",
)
@click.option(
    "--delimiter",
    type=click.Choice([",", ";", "tab"]),
    default=None,
    help="CSV delimiter of INPUT (default: sniffed from its header line); CSV output "
    "uses the same.",
)
@click.option(
    "--encoding",
    default="utf-8-sig",
    show_default=True,
    help="Text encoding of INPUT (e.g. cp1252 for an old Excel export).",
)
@click.option(
    "--escape-formulas",
    type=click.Choice(["server", "all", "none"]),
    default="server",
    show_default=True,
    help="CSV output: prefix with ' the cells a spreadsheet would run as formulas "
    "(=, +, -, @...): 'server' the texts from the API, 'all' every cell (phone numbers "
    "and your columns too), 'none' nothing.",
)
@connection_options("SMSPARTNER_API_KEY")
@batch_options(concurrency=8)
@click.option(
    "--region",
    default="FR",
    show_default=True,
    help="Region of national phone numbers (ISO 3166).",
)
@click.option(
    "--dedupe-window",
    metavar="N|all",
    callback=dedupe_window,
    default="100000",
    show_default=True,
    help="Distinct queries remembered to drop repeats ('all': every one, memory grows "
    "with the input; 0: none). Ignored with --wait, which remembers all.",
)
@click.option(
    "--wait",
    is_flag=True,
    help="Re-query Waiting items until they are final or --wait-timeout passes. Holds "
    "every result in memory and writes them at the end (no streaming).",
)
@click.option(
    "--wait-timeout",
    type=click.FloatRange(min=0),
    default=3600.0,
    show_default=True,
    help="With --wait: the longest wait, in seconds.",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="With --wait: seconds before the first re-query (then x1.5 each round).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, log lines or summary.")
def status(
    input_path: str,
    output: str | None,
    output_format: str | None,
    input_format: str | None,
    delimiter: str | None,
    encoding: str,
    escape_formulas: Escape,
    api_key: str | None,
    api_key_file: str | None,
    base_url: str | None,
    timeout: float,
    retries: int,
    sandbox: bool,
    concurrency: int,
    batch_size: int,
    region: str,
    dedupe_window: int | None,
    wait: bool,
    wait_timeout: float,
    poll_interval: float,
    quiet: bool,
) -> None:
    """Check the delivery status of every (phone number, message id) in INPUT.

    INPUT is a CSV file with a header (a phone-number column such as phoneNumber, phone,
    "Phone Number", numero or Téléphone; a message-id column such as messageId, message_id
    or "id message": case, accents and spaces do not matter; delimiter , ; or tab,
    sniffed), a JSONL file of objects with those keys, or - for stdin. It is read lazily
    and results are written batch by batch as they arrive, in input order: a file of
    millions of rows is never held in memory (except with --wait).

    One output row per input row, duplicates included: the row's own columns unchanged,
    then phone_number (E.164), message_id, success, code, status, status_text, date (ISO
    8601, UTC), stop_sms, is_spam, reason (why a query is unresolved), detail (an outcome
    column whose name the input already uses is written result_<name>).

    \b
    Examples:
      partner-async status queries.csv -o statuses.csv
      partner-async status queries.jsonl --format jsonl > statuses.jsonl
      cat queries.csv | partner-async status - --sandbox
    """
    if sandbox and (api_key is not None or base_url is not None):
        fail("--sandbox runs against the embedded emulator: drop --api-key and --base-url")
    if output is not None and same_file(input_path, output):
        click.echo(
            f"Error: the output {output} is the input file: it would be overwritten while "
            "being read. Write the results to another file.",
            err=True,
        )
        raise click.exceptions.Exit(EXIT_SAME_FILE)
    api_key = resolve_api_key(
        api_key,
        api_key_file,
        "SMSPARTNER_API_KEY",
        sandbox=sandbox,
        stdin_is_input=input_path == "-",
    )
    try:
        source = open_input(
            input_path,
            input_format,
            delimiter="\t" if delimiter == "tab" else delimiter,
            encoding=encoding,
            keep_rows=True,
        )
    except InputFormatError as exc:
        fail(str(exc), api_key)
    except LookupError:
        fail(f"unknown encoding {encoding!r} (try utf-8, cp1252 or latin-1)", api_key)
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {input_path}: {exc}", api_key)
    started = time.monotonic()
    tally = _Tally()
    writer: OutputWriter | None = None
    try:
        with source:
            total = count_rows(input_path, source.format)
            writer = open_output(
                output, output_format, delimiter=source.delimiter, escape=escape_formulas
            )
            writer.input_header = source.header
            with writer, reporter(quiet) as display, maybe_sandbox(sandbox) as server:
                key, url = key_and_url(sandbox, api_key, base_url, server)
                job = _StatusJob(
                    options={
                        "api_key": key,
                        "base_url": url,
                        "max_concurrency": concurrency,
                        "batch_size": batch_size,
                        "timeout": timeout,
                        "max_retries": retries,
                        "default_region": region,
                    },
                    source=source,
                    threaded=not is_regular_file(input_path),
                    writer=writer,
                    display=display,
                    total=total,
                    tally=tally,
                )
                try:
                    if wait:
                        run_async(
                            lambda: job.waiting(wait_timeout, poll_interval), secrets=(api_key,)
                        )
                    else:
                        run_async(lambda: job.streaming(dedupe_window), secrets=(api_key,))
                except click.exceptions.Exit as exc:
                    if exc.exit_code == EXIT_INTERRUPTED:
                        job.save_partial()
                    raise
    except click.exceptions.Exit as exc:
        if exc.exit_code == EXIT_INTERRUPTED:
            rows = writer.rows_written if writer is not None else 0
            where = f" to {output}" if output not in (None, "-") else ""
            click.echo(f"Interrupted: {rows:,} result rows written{where}.", err=True)
        raise
    except CliInputError as exc:
        # The input failed mid-run (a byte that is not UTF-8, a huge CSV field): the
        # rows before it are written; say so, then the summary, exit code 1.
        click.echo(f"Error: {exc.format_message()}", err=True)
        tally.read = source.rows_read
        if not quiet:
            click.echo(tally.line(time.monotonic() - started), err=True)
        raise click.exceptions.Exit(EXIT_USAGE) from None
    finally:
        tally.read = source.rows_read
    if not quiet:
        click.echo(tally.line(time.monotonic() - started), err=True)
    raise click.exceptions.Exit(EXIT_UNRESOLVED if tally.reasons else EXIT_OK)


#: How ``status --wait`` waits before its first re-query (tests replace it).
_pause: Callable[[float], Awaitable[None]] = anyio.sleep


def _key(outcome: StatusResult | Unresolved) -> tuple[str, int | str]:
    query = outcome.query
    return query.phone_number, query.message_id


@attrs.define
class _StatusJob:
    """One ``status`` run: the SDK calls, the writing, and what to save on Ctrl-C."""

    options: dict[str, Any]
    source: QuerySource
    threaded: bool
    writer: OutputWriter
    display: Reporter
    total: int | None
    tally: _Tally
    #: With --wait: the first pass's outcomes, and the later answers by query.
    first_pass: list[StatusResult | Unresolved] | None = None
    #: With --wait: every input row of the first pass with its outcome then.
    first_rows: list[Row] = attrs.field(factory=list)
    latest: dict[tuple[str, int | str], StatusResult | Unresolved] = attrs.field(factory=dict)

    def _queries(self) -> Iterable[tuple[Any, Any]] | AsyncIterator[tuple[Any, Any]]:
        return read_in_thread(self.source) if self.threaded else self.source

    async def streaming(self, dedupe_window: int | None) -> None:
        """Write one row per input row as each batch arrives, in input order."""
        self.display.start("checking", self.total)
        rows = _RowOutcomes(self.source, dedupe_window)
        async with (
            SMSPartnerClient(**self.options) as client,
            client.iter_multi_status(
                self._queries(),
                ordered=True,
                dedupe_window=dedupe_window,
                progress=_Counting(self.display, self.tally),
            ) as batches,
        ):
            async for batch in batches:
                self.writer.write(rows.of(batch))
                self.tally.add(batch.outcomes)
        self.writer.finish()
        self.display.finish()

    async def waiting(self, wait_timeout: float, poll_interval: float) -> None:
        """Check everything once, then follow what is not final with ``wait_for_final``;
        write everything at the end (or what is known so far, on Ctrl-C)."""
        deadline = time.monotonic() + wait_timeout
        rounds = Rounds(self.display, self.total, "checking")
        progress = _Counting(rounds, self.tally)
        rows = _RowOutcomes(self.source, None)
        async with SMSPartnerClient(**self.options) as client:
            # The first pass is streamed into ``first_pass`` batch by batch, so Ctrl-C
            # during it still writes every outcome obtained (save_partial).
            first_pass: list[StatusResult | Unresolved] = []
            self.first_pass = first_pass
            self.first_rows = []
            async with client.iter_multi_status(
                self._queries(), ordered=True, dedupe_window=None, progress=progress
            ) as batches:
                async for batch in batches:
                    first_pass.extend(batch.outcomes)
                    self.first_rows.extend(rows.of(batch))
            requests, retries = self.tally.requests, self.tally.retries
            pending = [_key(o) for o in first_pass if needs_poll(o)]
            if pending and deadline > time.monotonic():
                await _pause(min(poll_interval, deadline - time.monotonic()))
                later = await client.wait_for_final(
                    pending,
                    deadline=max(deadline - time.monotonic(), 0.0),
                    poll_interval=poll_interval * 1.5,
                    progress=progress,
                    on_update=self._keep_update,
                )
                for outcome in later:
                    self._keep(outcome)
                requests += later.stats.requests
                retries += later.stats.retries
        rounds.finish()
        self.tally.requests, self.tally.retries = requests, retries
        self.save_partial()

    def _keep_update(self, update: StatusUpdate) -> None:
        self._keep(update.current)

    def _keep(self, outcome: StatusResult | Unresolved) -> None:
        key = _key(outcome)
        if replaces(outcome, self.latest.get(key)):
            self.latest[key] = outcome

    def save_partial(self) -> None:
        """With --wait: write the outcomes known now, the first pass updated by the later
        answers (streaming runs have written theirs already). Runs once."""
        if self.first_pass is None:
            return
        merged: list[StatusResult | Unresolved] = []
        for outcome in self.first_pass:
            merged.append(self._latest(outcome))
        self.first_pass = None
        self.writer.write((fields, self._latest(outcome)) for fields, outcome in self.first_rows)
        self.writer.finish()
        self.tally.add(merged)

    def _latest(self, outcome: StatusResult | Unresolved) -> StatusResult | Unresolved:
        later = self.latest.get(_key(outcome))
        return later if later is not None and replaces(later, outcome) else outcome


class _RowOutcomes:
    """Pairs every input row (its own fields) with its outcome, batch by batch.

    Batches come in input order and account for every row read while they filled: their
    ``positions`` (first appearances) and ``repeats`` (rows repeating an earlier query).
    The outcomes of the last ``window`` first appearances (every one with None) are kept
    to answer repeats of queries answered by an earlier batch.
    """

    def __init__(self, source: QuerySource, window: int | None) -> None:
        assert source.rows is not None
        self._rows = source.rows
        self._window = window
        self._recent: dict[int, StatusResult | Unresolved] = {}
        self._order: deque[int] = deque()

    def of(self, batch: BatchResult) -> list[Row]:
        """The rows read while ``batch`` filled, in input order, with their outcomes."""
        by_position = dict(zip(batch.positions, batch.outcomes, strict=True))
        recent = self._recent
        for position, first in batch.repeats:
            by_position[position] = by_position[first] if first in by_position else recent[first]
        if self._window != 0:
            for position in batch.positions:
                recent[position] = by_position[position]
                self._order.append(position)
            if self._window is not None:
                while len(self._order) > self._window:
                    del recent[self._order.popleft()]
        take = self._rows.popleft
        return [(take(), by_position[position]) for position in sorted(by_position)]
