"""The ``partner-async`` group (click), ``cli``, and its commands: each lives in the module
of its command group (``_status``, ``_bulk``, ``_endpoints``, ``_track``, ``_sandbox``,
``_demo``), built on ``_options`` and ``_tables``, and is added here."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any

import click

from partner_async import __version__

from ._bulk import mail_status, sms_status
from ._demo import demo
from ._endpoints import costs, message_status, tag_status
from ._options import CONTEXT
from ._runtime import EXIT_OK, EXIT_USAGE, closed_pipe
from ._sandbox import sandbox
from ._status import status
from ._track import track

__all__ = ["cli"]


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


@click.group(cls=_Group, context_settings=CONTEXT)
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


cli.add_command(status)
cli.add_command(sms_status)
cli.add_command(mail_status)
cli.add_command(message_status)
cli.add_command(tag_status)
cli.add_command(costs)
cli.add_command(track)
cli.add_command(sandbox)
cli.add_command(demo)
