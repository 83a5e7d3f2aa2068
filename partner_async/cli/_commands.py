"""The ``partner-async`` commands (click): status, sms-status, mail-status, demo; the
group ``cli``. ``_endpoints`` (message-status, tag-status, costs) and ``_sandbox`` add
theirs to it."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, Final, TypeVar

import click
import msgspec

from partner_async import (
    MailBulkReport,
    MailPartnerClient,
    RetryPolicy,
    SMSBulkReport,
    SMSPartnerClient,
    UnresolvedReason,
    __version__,
)

from ._progress import Rounds, reporter
from ._runtime import (
    EXIT_OK,
    EXIT_UNRESOLVED,
    EXIT_USAGE,
    closed_pipe,
    fail,
    run_async,
    sandbox_server,
)

__all__ = ["cli"]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
C = TypeVar("C", SMSPartnerClient, MailPartnerClient)

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
        except BrokenPipeError:  # stdout's reader went away: 141, quietly (not click's 1)
            closed_pipe()


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
                help=f"The API key (default: ${env_var}, else a hidden prompt on a "
                "terminal; prefer the variable or --api-key-file, arguments are visible to "
                "other local users). Never printed.",
            ),
            click.option(
                "--api-key-file",
                metavar="PATH",
                type=click.Path(dir_okay=False, allow_dash=False),
                default=None,
                help="Read the API key from the first line of this file.",
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


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _api_key(
    api_key: str | None,
    api_key_file: str | None,
    env_var: str,
    *,
    sandbox: bool,
    stdin_is_input: bool = False,
) -> str | None:
    """The key from ``--api-key``, ``--api-key-file`` (first line), else None (the SDK
    reads ``env_var``), or, when that is unset too and stdin is a terminal that is not the
    input, a hidden prompt."""
    if api_key is not None and api_key_file is not None:
        fail("give --api-key or --api-key-file, not both", api_key)
    if api_key_file is not None:
        if sandbox:
            fail("--sandbox runs against the embedded emulator: drop --api-key-file")
        try:
            with open(api_key_file, encoding="utf-8") as stream:
                api_key = stream.readline(4096).strip()
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read the API key file {api_key_file}: {getattr(exc, 'strerror', exc)}")
        if not api_key:
            fail(f"the API key file {api_key_file} is empty")
        return api_key
    if (
        api_key is None
        and not sandbox
        and not os.environ.get(env_var)
        and not stdin_is_input
        and _stdin_is_terminal()
    ):
        api_key = click.prompt("API key", hide_input=True, err=True).strip() or None
    return api_key


def _connection(
    sandbox: bool, api_key: str | None, base_url: str | None, server: Any, mail: bool = False
) -> tuple[str | None, str | None]:
    if not sandbox:
        return api_key, base_url
    if api_key is not None or base_url is not None:
        fail("--sandbox runs against the embedded emulator: drop --api-key and --base-url")
    return SANDBOX_KEY, server.mail_base_url if mail else server.sms_base_url


def _fetch(client: type[C], connection: dict[str, Any], call: Callable[[C], Awaitable[T]]) -> T:
    """Run ``call`` on a ``client`` built from the options of :func:`_connection_options`
    (``connection``): the key from ``--api-key``, ``--api-key-file``, the environment or a
    prompt; ``--base-url`` or the embedded sandbox; ``--timeout`` and ``--retries``."""
    mail = client is MailPartnerClient
    sandbox = connection["sandbox"]
    api_key = _api_key(
        connection["api_key"],
        connection["api_key_file"],
        "MAILPARTNER_API_KEY" if mail else "SMSPARTNER_API_KEY",
        sandbox=sandbox,
    )
    with _maybe_sandbox(sandbox) as server:
        key, url = _connection(sandbox, api_key, connection["base_url"], server, mail=mail)

        async def run() -> T:
            async with client(
                key, base_url=url, timeout=connection["timeout"], max_retries=connection["retries"]
            ) as opened:
                return await call(opened)

        return run_async(run, secrets=(api_key,))


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
# bulk status


def _pick(value: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """Some fields of a value's JSON-ready ``to_dict()``, in this order."""
    document = value.to_dict()
    return {key: document[key] for key in keys}


SMS_RECIPIENT_KEYS: Final = ("phone_number", "status", "status_text", "date", "stop_sms")
_MAIL_RECIPIENT_KEYS: Final = (
    "email", "token", "status", "status_text", "cost", "stop_mail", "date"
)  # fmt: skip


def sms_records(recipients: Iterable[Any]) -> list[dict[str, Any]]:
    """The table/JSON records of SMS recipients (bulk-status and tag-status)."""
    return [_pick(r, SMS_RECIPIENT_KEYS) for r in recipients]


def _sms_records(report: SMSBulkReport) -> list[dict[str, Any]]:
    return sms_records(report.recipients)


def _mail_records(report: MailBulkReport) -> list[dict[str, Any]]:
    return [_pick(r, _MAIL_RECIPIENT_KEYS) for r in report.recipients]


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
        click.echo(msgspec.json.format(msgspec.json.encode(document), indent=2).decode())
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
def sms_status(message_id: str, as_json: bool, **connection: Any) -> None:
    """Every recipient of one SMS (MESSAGE_ID) and its delivery status.

    A table on a terminal, JSON otherwise (or with --json).
    """
    report = _fetch(SMSPartnerClient, connection, lambda c: c.bulk_status(message_id))
    _show_report("SMS", report, _sms_records(report), as_json)


@cli.command("mail-status", context_settings=_CONTEXT)
@click.argument("message_id")
@_connection_options("MAILPARTNER_API_KEY")
@_JSON_OPTION
def mail_status(message_id: str, as_json: bool, **connection: Any) -> None:
    """Every recipient of one e-mail (MESSAGE_ID) and its delivery status.

    A table on a terminal, JSON otherwise (or with --json).
    """
    report = _fetch(MailPartnerClient, connection, lambda c: c.bulk_status(message_id))
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
from . import _endpoints, _sandbox, _status, _track  # noqa: E402, F401
