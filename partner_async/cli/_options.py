"""What the commands share about their options: click's context settings, the option
factories (``--api-key``... ``--sandbox``, ``--concurrency``/``--batch-size``, ``--json``,
``--dedupe-window``), and turning those options into a client: the API key (argument,
file, environment or prompt), the embedded sandbox, :func:`fetch`."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Final, TypeVar

import click

from partner_async import MailPartnerClient, SMSPartnerClient

from ._runtime import fail, run_async, sandbox_server

__all__ = [
    "CONTEXT",
    "JSON_OPTION",
    "SANDBOX_KEY",
    "batch_options",
    "connection_options",
    "dedupe_window",
    "fetch",
    "key_and_url",
    "maybe_sandbox",
    "resolve_api_key",
    "stdin_is_terminal",
]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
C = TypeVar("C", SMSPartnerClient, MailPartnerClient)

#: The key the embedded sandbox accepts (``--sandbox``).
SANDBOX_KEY: Final = "sandbox"
#: click's context settings of every command: ``-h`` too, 100 columns at most.
CONTEXT: Final = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: ``--json`` (``as_json``): JSON even on a terminal.
JSON_OPTION = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (the default when not a terminal)."
)


def batch_options(concurrency: int) -> Callable[[F], F]:
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


def connection_options(env_var: str) -> Callable[[F], F]:
    """``--api-key`` (default ``$env_var``), ``--api-key-file``, ``--base-url``,
    ``--timeout``, ``--retries`` and ``--sandbox``: what :func:`fetch` reads."""

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


def dedupe_window(ctx: click.Context, param: click.Parameter, value: str) -> int | None:
    """``--dedupe-window``'s callback: an int >= 0, or ``all`` (None: remember every
    query)."""
    if value.strip().lower() == "all":
        return None
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise click.BadParameter(f"{value!r} is not an integer >= 0 or 'all'")
    return number


def stdin_is_terminal() -> bool:
    """Whether stdin is a terminal (where the API key may be prompted for)."""
    return sys.stdin.isatty()


def resolve_api_key(
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
        and stdin_is_terminal()
    ):
        api_key = click.prompt("API key", hide_input=True, err=True).strip() or None
    return api_key


def key_and_url(
    sandbox: bool, api_key: str | None, base_url: str | None, server: Any, mail: bool = False
) -> tuple[str | None, str | None]:
    """The client's key and base URL: the given ones, or with ``--sandbox`` the embedded
    ``server``'s (and then giving a key or URL too is a usage error)."""
    if not sandbox:
        return api_key, base_url
    if api_key is not None or base_url is not None:
        fail("--sandbox runs against the embedded emulator: drop --api-key and --base-url")
    return SANDBOX_KEY, server.mail_base_url if mail else server.sms_base_url


@contextlib.contextmanager
def maybe_sandbox(enabled: bool) -> Iterator[Any]:
    """The embedded sandbox server for the block when ``enabled``, else None."""
    if not enabled:
        yield None
        return
    with sandbox_server() as server:
        yield server


def fetch(client: type[C], connection: dict[str, Any], call: Callable[[C], Awaitable[T]]) -> T:
    """Run ``call`` on a ``client`` built from the options of :func:`connection_options`
    (``connection``): the key from ``--api-key``, ``--api-key-file``, the environment or a
    prompt; ``--base-url`` or the embedded sandbox; ``--timeout`` and ``--retries``."""
    mail = client is MailPartnerClient
    sandbox = connection["sandbox"]
    api_key = resolve_api_key(
        connection["api_key"],
        connection["api_key_file"],
        "MAILPARTNER_API_KEY" if mail else "SMSPARTNER_API_KEY",
        sandbox=sandbox,
    )
    with maybe_sandbox(sandbox) as server:
        key, url = key_and_url(sandbox, api_key, connection["base_url"], server, mail=mail)

        async def run() -> T:
            async with client(
                key, base_url=url, timeout=connection["timeout"], max_retries=connection["retries"]
            ) as opened:
                return await call(opened)

        return run_async(run, secrets=(api_key,))
