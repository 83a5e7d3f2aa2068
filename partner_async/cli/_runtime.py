"""What every command shares: running async code, turning failures into exit codes.

Exit codes: 0 every query answered; 2 some queries unresolved; 1 a usage, input or
authentication error (``Error: ...`` on stderr, never a traceback); 130 interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Final, NoReturn, TypeVar

import anyio
import click

from partner_async import ConfigurationError, InputError, PartnerError
from partner_async._secret import Secret
from partner_async._transport import redact as redact_key

from ._io import InputFormatError

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_SAME_FILE",
    "EXIT_UNRESOLVED",
    "EXIT_USAGE",
    "CliError",
    "CliInputError",
    "closed_pipe",
    "fail",
    "redact",
    "run_async",
    "sandbox_server",
]

EXIT_OK: Final = 0
EXIT_USAGE: Final = 1
EXIT_UNRESOLVED: Final = 2
#: ``status -o`` names the input file (also through a link): refused, nothing touched.
EXIT_SAME_FILE: Final = 2
EXIT_INTERRUPTED: Final = 130
#: stdout was closed by the reader (``| head``): 128 + SIGPIPE, as a C program killed by
#: the signal would exit; nothing is printed.
EXIT_BROKEN_PIPE: Final = 141

#: Environment variables that may hold secrets: their values are masked in any message.
SECRET_ENV: Final = ("SMSPARTNER_API_KEY", "MAILPARTNER_API_KEY")

T = TypeVar("T")


class CliError(click.ClickException):
    """A one-line ``Error: ...`` on stderr and exit code 1."""

    exit_code = EXIT_USAGE


class CliInputError(CliError):
    """The input failed while being read (``status`` adds the summary)."""


#: The CLI masks keys down to this length in its own lines (a server's answer, masked by
#: the SDK, only from ``MIN_REDACTED_LENGTH``: a short "key" would corrupt it).
_SHORTEST_MASKED: Final = 3


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every given secret (and the key environment variables' values)
    masked by the SDK's own rule: any ``apiKey=`` URL parameter, and each key as written,
    URL-encoded or JSON-escaped."""
    text = redact_key(text)
    for secret in (*secrets, *(os.environ.get(name) for name in SECRET_ENV)):
        if secret:  # the CLI's own lines: keys of 3 characters and more are masked too
            text = Secret(secret).redact(text, shortest=_SHORTEST_MASKED)
    return text


def fail(message: str, *secrets: str | None) -> NoReturn:
    """Stop with ``Error: message`` (secrets masked) and exit code 1."""
    raise CliError(redact(" ".join(message.split()), *secrets))


def run_async(
    main: Callable[[], Awaitable[T]],
    *,
    secrets: tuple[str | None, ...] = (),
) -> T:
    """Run ``main`` under asyncio; map SDK and input errors to ``Error: ...`` (exit 1)
    and Ctrl-C to ``click.exceptions.Exit(130)``."""
    try:
        try:
            return anyio.run(main, backend="asyncio")
        except InputError as exc:  # reading the input file failed: report that error itself
            if isinstance(exc.__cause__, Exception):
                raise exc.__cause__ from None
            raise
    except KeyboardInterrupt:
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    except asyncio.CancelledError:
        # Python 3.10: Ctrl-C cancels the main task and anyio's runner cannot turn that
        # back into KeyboardInterrupt (tasks have no ``uncancel`` before 3.11), so the
        # cancellation itself escapes ``anyio.run``: nothing else cancels the main task.
        if sys.version_info >= (3, 11):
            raise
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    except InputFormatError as exc:
        raise CliInputError(redact(" ".join(str(exc).split()), *secrets)) from None
    except ConfigurationError as exc:
        message = str(exc)
        if message.startswith("no API key"):
            message = no_key_message(message)
        fail(message, *secrets)
    except PartnerError as exc:
        fail(f"{type(exc).__name__}: {exc}", *secrets)
    except BrokenPipeError:
        closed_pipe()
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc), *secrets)


def no_key_message(sdk_message: str) -> str:
    """The CLI's wording of the SDK's "no API key" error."""
    for name in SECRET_ENV:
        if name in sdk_message:
            return f"no API key: pass --api-key or set {name} (or try --sandbox)"
    return sdk_message


def closed_pipe() -> NoReturn:
    """stdout's reader went away (``| head``): stop quietly with exit code 141. Further
    stdout writes (the interpreter's last flush) go to /dev/null."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    raise click.exceptions.Exit(EXIT_BROKEN_PIPE)


@contextlib.contextmanager
def sandbox_server(config: Any = None) -> Iterator[Any]:
    """A loopback :class:`~partner_async.sandbox.SandboxServer` (port 0) for ``--sandbox``
    and ``demo``; a clear error when uvicorn is missing."""
    try:
        from partner_async.sandbox import SandboxServer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        fail(f"the sandbox needs uvicorn: pip install 'partner-async[cli]' ({exc})")
    server = SandboxServer(config, host="127.0.0.1", port=0)
    try:
        server.start()
    except RuntimeError as exc:  # pragma: no cover - depends on the environment
        fail(str(exc))
    try:
        yield server
    finally:
        server.stop()
