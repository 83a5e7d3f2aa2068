"""``python -m partner_async.sandbox``: serve the sandbox on loopback until Ctrl-C."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._cli import build_parser, main


def run(argv: Sequence[str] | None = None) -> int:
    """Check for uvicorn (the ``sandbox`` extra), then run :func:`main`.

    ``--help`` and usage errors need no uvicorn; serving without it ends in one
    ``Error:`` line and exit status 1, as the ``partner-async`` command line does.
    """
    build_parser().parse_args(argv)
    try:
        import uvicorn  # noqa: F401
    except ImportError as exc:
        print(
            f"Error: python -m partner_async.sandbox needs {exc.name or 'uvicorn'}: "
            "pip install 'partner-async[sandbox]'",
            file=sys.stderr,
        )
        return 1
    return main(argv)


if __name__ == "__main__":
    sys.exit(run())
