"""The ``partner-async`` command line: ``status``, ``sms-status``, ``mail-status``,
``message-status``, ``tag-status``, ``costs``, ``sandbox`` and ``demo``. Needs the ``cli``
extra (click, rich, uvicorn).

Run ``partner-async --help`` (or ``python -m partner_async --help``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["cli", "main"]


def main(argv: Sequence[str] | None = None) -> Any:
    """The console script's entry point: run the command line on ``argv``
    (default ``sys.argv[1:]``) and exit."""
    try:
        from ._commands import cli
    except ImportError as exc:  # pragma: no cover - depends on the environment
        missing = exc.name or "a dependency"
        print(
            f"Error: the partner-async command line needs {missing}: "
            "pip install 'partner-async[cli]'",
            file=sys.stderr,
        )
        sys.exit(1)
    return cli.main(args=None if argv is None else list(argv), prog_name="partner-async")


def __getattr__(name: str) -> Any:
    if name == "cli":
        from ._commands import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
