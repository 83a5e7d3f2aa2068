"""Command-line options of ``python -m partner_async.sandbox`` (argparse)."""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Sequence

from ._config import FAULT_KINDS, FaultConfig, SandboxConfig

__all__ = ["build_parser", "config_from_args", "main"]


def _fault_rate(text: str) -> tuple[str, float]:
    kind, sep, rate = text.partition("=")
    if not sep or kind not in FAULT_KINDS:
        raise argparse.ArgumentTypeError(
            f"expected KIND=RATE with KIND one of {', '.join(FAULT_KINDS)}, got {text!r}"
        )
    try:
        return kind, float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad rate in {text!r}") from None


def _scheduled(text: str) -> tuple[int, str]:
    number, sep, kind = text.partition("=")
    if not sep or not number.isdigit() or kind not in (*FAULT_KINDS, "none"):
        raise argparse.ArgumentTypeError(
            f"expected N=KIND (request number = fault kind), got {text!r}"
        )
    return int(number), kind


def _loopback(text: str) -> str:
    """``--host``: a loopback address only (the emulator accepts any key it is given)."""
    host = text.strip("[]")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise argparse.ArgumentTypeError(f"{text!r} is not a loopback address (e.g. 127.0.0.1)")
    return host


def build_parser(prog: str = "python -m partner_async.sandbox") -> argparse.ArgumentParser:
    """The argument parser of the sandbox command line."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a local emulator of the SMS Partner / Mail Partner status APIs.",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", type=_loopback,
        help="loopback address to bind (default 127.0.0.1)")  # fmt: skip
    add("--port", type=int, default=8080, help="port to bind, 0 for any free one (default 8080)")
    add("--seed", type=int, default=0, help="seed of the deterministic data (default 0)")
    add("--api-key", action="append", dest="api_keys", metavar="KEY",
        help="an accepted API key (repeatable; default: sandbox)")  # fmt: skip
    add("--latency", type=float, default=0.0, help="seconds added to every answer")
    add("--waiting-polls", type=int, default=2,
        help="polls after which a Waiting item turns final (-1: never; default 2)")  # fmt: skip
    add("--waiting-seconds", type=float, default=None,
        help="seconds after which Waiting items turn final (default: never)")  # fmt: skip
    add("--status-spellings", choices=("canonical", "variants"), default="canonical")
    add("--field-variants", action="store_true", help="vary documented field variants")
    add("--language", choices=("en", "fr"), default="en")
    add("--item-errors", choices=("request", "entry"), default="request",
        help="answer bad multi-status items (codes 2/3/6/9) as a whole-request error "
             "(default) or per entry")  # fmt: skip
    add("--http-error-status", action="store_true",
        help="send vendor error bodies with HTTP 4xx instead of 200")  # fmt: skip
    add("--fault", action="append", type=_fault_rate, default=[], metavar="KIND=RATE",
        help="inject a fault at a rate in [0,1] (repeatable); kinds: "
             + ", ".join(FAULT_KINDS))  # fmt: skip
    add("--schedule", action="append", type=_scheduled, default=[], metavar="N=KIND",
        help="give request number N (from 0, accepted keys only) this fault "
             "(repeatable)")  # fmt: skip
    add("--retry-after", type=int, default=1, help="Retry-After seconds sent with HTTP 429")
    add("--retry-after-date", action="store_true", help="send Retry-After as an HTTP date")
    add("--slow-seconds", type=float, default=5.0, help="delay of the 'slow' fault")
    add("--server-error-body", choices=("html", "text"), default="html")
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """The :class:`SandboxConfig` described by parsed arguments (raises ValueError)."""
    faults = FaultConfig(
        **dict(args.fault),
        retry_after=args.retry_after,
        retry_after_http_date=args.retry_after_date,
        slow_seconds=args.slow_seconds,
        server_error_body=args.server_error_body,
        schedule=dict(args.schedule),
    )
    return SandboxConfig(
        seed=args.seed,
        api_keys=tuple(args.api_keys or ("sandbox",)),
        latency=args.latency,
        waiting_polls=None if args.waiting_polls < 0 else args.waiting_polls,
        waiting_seconds=args.waiting_seconds,
        status_spellings=args.status_spellings,
        field_variants=args.field_variants,
        language=args.language,
        item_errors=args.item_errors,
        http_error_status=args.http_error_status,
        faults=faults,
    )


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
