"""Command-line options of ``python -m partner_async.sandbox`` (argparse).

The options themselves are declared once in :mod:`._options`, shared with
``partner-async sandbox``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from ._config import SandboxConfig
from ._options import OPTIONS, config_from_options

__all__ = ["build_parser", "config_from_args", "main"]


def _argparse_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


def build_parser(prog: str = "python -m partner_async.sandbox") -> argparse.ArgumentParser:
    """The argument parser of the sandbox command line (options: :data:`OPTIONS`)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a local emulator of the SMS Partner / Mail Partner status APIs.",
    )
    for option in OPTIONS:
        if option.is_flag:
            parser.add_argument(option.flag, dest=option.dest, action="store_true",
                                help=option.help)  # fmt: skip
            continue
        kwargs: dict[str, Any] = {"dest": option.dest, "help": option.help}
        if option.metavar:
            kwargs["metavar"] = option.metavar
        if option.choices:
            kwargs["choices"] = option.choices
        if option.parse is not None:
            kwargs["type"] = _argparse_type(option.parse)
        if option.multiple:
            kwargs.update(action="append", default=[])
        else:
            kwargs["default"] = option.default
        parser.add_argument(option.flag, **kwargs)
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """The :class:`SandboxConfig` described by parsed arguments (raises ValueError)."""
    return config_from_options(vars(args))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, then serve until interrupted. Returns the exit status."""
    from ._server import serve

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    serve(config, host=args.host, port=args.port)
    return 0
