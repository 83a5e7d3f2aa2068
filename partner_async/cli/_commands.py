"""The ``partner-async`` commands (click): status, sms-status, mail-status, demo; the
group ``cli``. ``_endpoints`` (message-status, tag-status, costs) and ``_sandbox`` add
theirs to it."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, Final, TypeVar

import anyio
import attrs
import click
import orjson

from partner_async import (
    DeliveryStatus,
    MailBulkReport,
    MailPartnerClient,
    RetryPolicy,
    SMSBulkReport,
    SMSPartnerClient,
    StatusResult,
    StatusUpdate,
    Unresolved,
    UnresolvedReason,
    __version__,
)

from ._io import (
    InputFormatError,
    OutputWriter,
    QuerySource,
    count_rows,
    is_regular_file,
    open_input,
    open_output,
    read_in_thread,
)
from ._progress import Reporter, Rounds, reporter
from ._runtime import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNRESOLVED,
    EXIT_USAGE,
    fail,
    run_async,
    sandbox_server,
)

__all__ = ["cli"]

F = TypeVar("F", bound=Callable[..., Any])

SANDBOX_KEY: Final = "sandbox"
_CONTEXT: Final = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Group(click.Group):
    """A group whose usage errors exit with 1 (click's default is 2, which this CLI
    keeps for "some queries unresolved"); bare ``partner-async`` shows help, exit 0."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            raise _Help(exc.ctx) from None
        except click.UsageError as exc:
            raise _UsageError(exc.format_message(), exc.ctx) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _UsageError:
            raise
        except click.UsageError as exc:
            raise _UsageError(exc.format_message(), exc.ctx) from None


class _UsageError(click.UsageError):
    exit_code = EXIT_USAGE


class _Help(click.exceptions.NoArgsIsHelpError):
    exit_code = EXIT_OK


@click.group(cls=_Group, context_settings=_CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="partner-async")
@click.option("-v", "--verbose", is_flag=True, help="Log the SDK's retries and warnings on stderr.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Delivery statuses from SMS Partner and Mail Partner, in bulk.

    Start with `partner-async demo` (no API key, no network: it runs against the
    embedded emulator on 127.0.0.1). Exit codes: 0 every query answered, 2 some
    queries unresolved, 1 usage, input or authentication error, 130 interrupted.
    """
    ctx.with_resource(_sdk_logging(verbose))


@contextlib.contextmanager
def _sdk_logging(verbose: bool) -> Iterator[None]:
    """Route the SDK's log records (retries...) to stderr with --verbose, else nowhere
    (they would break the progress bar; the bar and summary count retries). The logger's
    previous state is restored afterwards."""
    logger = logging.getLogger("partner_async")
    saved = logger.propagate, logger.level
    handler: logging.Handler = logging.NullHandler()
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("partner-async: %(levelname)s %(message)s"))
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = saved[0]
        logger.setLevel(saved[1])


# ---------------------------------------------------------------------------------------
# shared options


def _batch_options(concurrency: int) -> Callable[[F], F]:
    """``--concurrency`` (default ``concurrency``) and ``--batch-size``."""

    def decorate(function: F) -> F:
        function = click.option(
            "--batch-size",
            type=click.IntRange(1, 500),
            default=500,
            show_default=True,
            help="Queries per request.",
        )(function)
        return click.option(
            "--concurrency",
            type=click.IntRange(min=1),
            default=concurrency,
            show_default=True,
            help="Requests in flight at once.",
        )(function)

    return decorate


def _connection_options(env_var: str) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        options = [
            click.option(
                "--api-key",
                metavar="KEY",
                default=None,
                show_default=False,
                help=f"The API key (default: ${env_var}; prefer the variable, "
                "arguments are visible to other local users). Never printed.",
            ),
            click.option(
                "--base-url",
                metavar="URL",
                default=None,
                help="The API root (default: the vendor's; plain http only for loopback).",
            ),
            click.option(
                "--timeout",
                type=click.FloatRange(min=0, min_open=True),
                default=30.0,
                show_default=True,
                help="Seconds per request attempt.",
            ),
            click.option(
                "--retries",
                type=click.IntRange(min=0),
                default=3,
                show_default=True,
                help="Retries of a failed request (5xx, 429, timeouts...).",
            ),
            click.option(
                "--sandbox",
                is_flag=True,
                help="Run against the embedded emulator on 127.0.0.1 (key 'sandbox'), "
                "no API key or network needed.",
            ),
        ]
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def _connection(
    sandbox: bool, api_key: str | None, base_url: str | None, server: Any, mail: bool = False
) -> tuple[str | None, str | None]:
    if not sandbox:
        return api_key, base_url
    if api_key is not None or base_url is not None:
        fail("--sandbox runs against the embedded emulator: drop --api-key and --base-url")
    return SANDBOX_KEY, server.mail_base_url if mail else server.sms_base_url


@contextlib.contextmanager
def _maybe_sandbox(enabled: bool, config: Any = None) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    with sandbox_server(config) as server:
        yield server


def _window(ctx: click.Context, param: click.Parameter, value: str) -> int | None:
    """``--dedupe-window``: an int >= 0, or ``all`` (None: remember every query)."""
    if value.strip().lower() == "all":
        return None
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise click.BadParameter(f"{value!r} is not an integer >= 0 or 'all'")
    return number


# ---------------------------------------------------------------------------------------
# status


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


@cli.command(context_settings=_CONTEXT)
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
@_connection_options("SMSPARTNER_API_KEY")
@_batch_options(concurrency=8)
@click.option(
    "--region",
    default="FR",
    show_default=True,
    help="Region of national phone numbers (ISO 3166).",
)
@click.option(
    "--dedupe-window",
    metavar="N|all",
    callback=_window,
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
    api_key: str | None,
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

    INPUT is a CSV file with a header (a phone-number column: phoneNumber, phone_number,
    phone or numero; a message-id column: messageId, message_id or msgId; any case), a
    JSONL file of objects with those keys, or - for stdin. It is read lazily and results
    are written batch by batch as they arrive, in input order, one row per distinct
    query: a file of millions of rows is never held in memory (except with --wait).

    Output columns: phone_number, message_id, success, code, status, status_text, date
    (ISO 8601, UTC), stop_sms, is_spam, reason (why a query is unresolved), detail.

    \b
    Examples:
      partner-async status queries.csv -o statuses.csv
      partner-async status queries.jsonl --format jsonl > statuses.jsonl
      cat queries.csv | partner-async status - --sandbox
    """
    if sandbox and (api_key is not None or base_url is not None):
        fail("--sandbox runs against the embedded emulator: drop --api-key and --base-url")
    try:
        source = open_input(input_path, input_format)
    except InputFormatError as exc:
        fail(str(exc), api_key)
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {input_path}: {exc}", api_key)
    started = time.monotonic()
    tally = _Tally()
    writer: OutputWriter | None = None
    try:
        with source:
            total = count_rows(input_path, source.format)
            writer = open_output(output, output_format)
            with writer, reporter(quiet) as display, _maybe_sandbox(sandbox) as server:
                key, url = _connection(sandbox, api_key, base_url, server)
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
    finally:
        tally.read = source.rows_read
    if not quiet:
        click.echo(tally.line(time.monotonic() - started), err=True)
    raise click.exceptions.Exit(EXIT_UNRESOLVED if tally.reasons else EXIT_OK)


#: Unresolved reasons worth asking again while waiting (transient failures).
_TRANSIENT: Final = frozenset(
    {
        UnresolvedReason.MISSING_FROM_RESPONSE,
        UnresolvedReason.RATE_LIMITED,
        UnresolvedReason.SERVER_ERROR,
        UnresolvedReason.TRANSPORT_ERROR,
        UnresolvedReason.MALFORMED_RESPONSE,
    }
)


#: How ``status --wait`` waits before its first re-query (tests replace it).
_pause: Callable[[float], Awaitable[None]] = anyio.sleep


def _key(outcome: StatusResult | Unresolved) -> tuple[str, int | str]:
    query = outcome.query
    return query.phone_number, query.message_id


def _not_final(outcome: StatusResult | Unresolved) -> bool:
    if type(outcome) is StatusResult:
        return not outcome.is_final
    assert isinstance(outcome, Unresolved)
    return outcome.reason in _TRANSIENT


def _better(known: StatusResult | Unresolved | None, new: StatusResult | Unresolved) -> bool:
    """Whether ``new`` replaces ``known``: a status is never replaced by a failure."""
    return known is None or not (type(new) is Unresolved and type(known) is StatusResult)


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
    latest: dict[tuple[str, int | str], StatusResult | Unresolved] = attrs.field(factory=dict)

    def _queries(self) -> Iterable[tuple[Any, Any]] | AsyncIterator[tuple[Any, Any]]:
        return read_in_thread(self.source) if self.threaded else self.source

    async def streaming(self, dedupe_window: int | None) -> None:
        """Write each batch's outcomes as it arrives, in input order."""
        self.display.start("checking", self.total)
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
                self.writer.write(batch.outcomes)
                self.tally.add(batch.outcomes)
        self.writer.finish()
        self.display.finish()

    async def waiting(self, wait_timeout: float, poll_interval: float) -> None:
        """Check everything once, then follow what is not final with ``wait_for_final``;
        write everything at the end (or what is known so far, on Ctrl-C)."""
        deadline = time.monotonic() + wait_timeout
        rounds = Rounds(self.display, self.total, "checking")
        progress = _Counting(rounds, self.tally)
        async with SMSPartnerClient(**self.options) as client:
            first = await client.multi_status(self._queries(), progress=progress)
            self.first_pass = list(first)
            requests, retries = first.stats.requests, first.stats.retries
            pending = [_key(o) for o in self.first_pass if _not_final(o)]
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
        if _better(self.latest.get(key), outcome):
            self.latest[key] = outcome

    def save_partial(self) -> None:
        """With --wait: write the outcomes known now, the first pass updated by the later
        answers (streaming runs have written theirs already). Runs once."""
        if self.first_pass is None:
            return
        merged: list[StatusResult | Unresolved] = []
        for outcome in self.first_pass:
            later = self.latest.get(_key(outcome))
            merged.append(later if later is not None and _better(outcome, later) else outcome)
        self.first_pass = None
        self.writer.write(merged)
        self.writer.finish()
        self.tally.add(merged)


# ---------------------------------------------------------------------------------------
# bulk status


def _iso(value: Any) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sms_records(report: SMSBulkReport) -> list[dict[str, Any]]:
    return [
        {
            "phone_number": r.phone_number,
            "status": r.status.value,
            "status_text": r.status_text,
            "date": _iso(r.date),
            "stop_sms": r.stop_sms,
        }
        for r in report.recipients
    ]


def _mail_records(report: MailBulkReport) -> list[dict[str, Any]]:
    return [
        {
            "email": r.email,
            "token": r.token,
            "status": r.status.value,
            "status_text": r.status_text,
            "cost": r.cost,
            "stop_mail": r.stop_mail,
            "date": _iso(r.date),
        }
        for r in report.recipients
    ]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _show_report(
    title: str,
    report: SMSBulkReport | MailBulkReport,
    records: list[dict[str, Any]],
    as_json: bool,
) -> None:
    counts = {s.value: n for s, n in report.counts_by_status().most_common()}
    if as_json or not _stdout_is_terminal():
        document = {"message_id": report.message_id, "counts": counts, "recipients": records}
        click.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        return
    from rich.console import Console
    from rich.table import Table

    summary = ", ".join(f"{status} {n}" for status, n in counts.items())
    table = Table(
        title=f"{title} {report.message_id}: {len(records)} recipients ({summary})",
        title_justify="left",
    )
    columns = list(records[0]) if records else ["recipient"]
    for column in columns:
        table.add_column(column, justify="right" if column == "cost" else "left")
    for record in records:
        table.add_row(*(_cell(record[c]) for c in columns))
    Console().print(table)


_JSON_OPTION = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (the default when not a terminal)."
)


@cli.command("sms-status", context_settings=_CONTEXT)
@click.argument("message_id")
@_connection_options("SMSPARTNER_API_KEY")
@_JSON_OPTION
def sms_status(
    message_id: str,
    api_key: str | None,
    base_url: str | None,
    timeout: float,
    retries: int,
    sandbox: bool,
    as_json: bool,
) -> None:
    """Every recipient of one SMS (MESSAGE_ID) and its delivery status.

    A table on a terminal, JSON otherwise (or with --json).
    """
    with _maybe_sandbox(sandbox) as server:
        key, url = _connection(sandbox, api_key, base_url, server)

        async def fetch() -> SMSBulkReport:
            async with SMSPartnerClient(
                key, base_url=url, timeout=timeout, max_retries=retries
            ) as client:
                return await client.bulk_status(message_id)

        report = run_async(fetch, secrets=(api_key,))
    _show_report("SMS", report, _sms_records(report), as_json)


@cli.command("mail-status", context_settings=_CONTEXT)
@click.argument("message_id")
@_connection_options("MAILPARTNER_API_KEY")
@_JSON_OPTION
def mail_status(
    message_id: str,
    api_key: str | None,
    base_url: str | None,
    timeout: float,
    retries: int,
    sandbox: bool,
    as_json: bool,
) -> None:
    """Every recipient of one e-mail (MESSAGE_ID) and its delivery status.

    A table on a terminal, JSON otherwise (or with --json).
    """
    with _maybe_sandbox(sandbox) as server:
        key, url = _connection(sandbox, api_key, base_url, server, mail=True)

        async def fetch() -> MailBulkReport:
            async with MailPartnerClient(
                key, base_url=url, timeout=timeout, max_retries=retries
            ) as client:
                return await client.bulk_status(message_id)

        report = run_async(fetch, secrets=(api_key,))
    _show_report("E-mail", report, _mail_records(report), as_json)


# ---------------------------------------------------------------------------------------
# demo


@cli.command(context_settings=_CONTEXT)
@click.option(
    "--queries",
    "count",
    type=click.IntRange(min=1),
    default=200_000,
    show_default=True,
    help="How many queries to check.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of queries and data.")
@_batch_options(concurrency=16)
@click.option(
    "--faults/--no-faults",
    default=True,
    show_default=True,
    help="Let the sandbox inject a few faults (HTTP 503, dropped and reordered entries).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or log lines.")
def demo(
    count: int, seed: int, concurrency: int, batch_size: int, faults: bool, quiet: bool
) -> None:
    """Check N generated queries against the embedded emulator, then follow the Waiting
    ones to a final status, and print a summary. No API key, no network: loopback only.
    """
    from rich.console import Console

    from partner_async.sandbox import FaultConfig, SandboxConfig

    from ._demo import DemoRun, FollowCounter, demo_queries, print_summary

    fault_config = FaultConfig()
    if faults:
        fault_config = FaultConfig(
            http_503=0.01, drop_entries=0.01, reorder_entries=0.05, reformat_numbers=0.02
        )
    queries = demo_queries(count, seed)
    console = Console()
    with (
        reporter(quiet) as display,
        sandbox_server(
            # a landline refuses its whole batch (code 9): the demo shows the isolation
            SandboxConfig(seed=seed, faults=fault_config, item_errors="request")
        ) as server,
    ):
        if not quiet:
            shown = ", ".join(f"{k} {v:.0%}" for k, v in fault_config.rates().items() if v)
            console.print(f"Sandbox on {server.sms_base_url}, seed {seed}")
            console.print(f"Faults: {shown or 'none'}")
            console.print(f"Checking {count:,} queries, {concurrency} requests in flight")

        async def run() -> DemoRun:
            rounds = Rounds(display, len(queries), "checking")
            follow = FollowCounter()
            started = time.monotonic()
            async with SMSPartnerClient(
                SANDBOX_KEY,
                base_url=server.sms_base_url,
                max_concurrency=concurrency,
                batch_size=batch_size,
                retry=RetryPolicy(max_retries=5, backoff_base=0.05, backoff_max=1.0),
            ) as client:
                results = await client.wait_for_final(
                    queries, deadline=60.0, poll_interval=0.2, progress=rounds, on_update=follow
                )
            rounds.finish()
            wall_time = time.monotonic() - started
            return DemoRun(
                queries=count,
                results=results,
                wall_time=wall_time,
                check_time=rounds.first_pass_seconds or wall_time,
                followed=follow.followed,
                rounds=follow.rounds,
                faults=Counter(server.app.stats.faults),
            )

        result = run_async(run)
    print_summary(result, console)
    # The demo's own invalid queries end unresolved on purpose; anything else would not.
    expected = {UnresolvedReason.INVALID_QUERY, UnresolvedReason.REJECTED}
    unexpected = any(r.reason not in expected for r in result.results.unresolved)
    raise click.exceptions.Exit(EXIT_UNRESOLVED if unexpected else EXIT_OK)


# The commands of other modules register themselves on ``cli`` when imported.
from . import _endpoints, _sandbox, _track  # noqa: E402, F401
