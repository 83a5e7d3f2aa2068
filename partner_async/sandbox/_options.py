"""The sandbox's command-line options, declared once.

``python -m partner_async.sandbox`` (argparse, :mod:`._cli`) and ``partner-async
sandbox`` (click, in the SDK's CLI) both build their options from :data:`OPTIONS` and
turn the parsed values into a :class:`SandboxConfig` with :func:`config_from_options`, so
the two always offer the same options with the same defaults and meanings.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._config import FAULT_KINDS, FaultConfig, SandboxConfig

__all__ = ["OPTIONS", "Option", "config_from_options"]


def fault_rate(text: str) -> tuple[str, float]:
    """``KIND=RATE`` -> ``(kind, rate)``; ValueError naming the text."""
    kind, sep, rate = text.partition("=")
    try:
        value = float(rate)
    except ValueError:
        value = -1.0
    if not sep or kind not in FAULT_KINDS or not 0 <= value <= 1:
        raise ValueError(
            f"expected KIND=RATE, RATE in [0, 1], KIND one of {', '.join(FAULT_KINDS)}; "
            f"got {text!r}"
        )
    return kind, value


def scheduled(text: str) -> tuple[int, str]:
    """``N=KIND`` -> ``(request number, fault kind or 'none')``."""
    number, sep, kind = text.partition("=")
    if not sep or not number.isdigit() or kind not in (*FAULT_KINDS, "none"):
        raise ValueError(f"expected N=KIND (request number = fault kind), got {text!r}")
    return int(number), kind


def loopback(text: str) -> str:
    """``--host``: a loopback address only (the emulator accepts any key it is given)."""
    host = text.strip("[]")
    try:
        is_loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        is_loopback = False
    if not is_loopback:
        raise ValueError(f"{text!r} is not a loopback address (e.g. 127.0.0.1)")
    return host


def day(text: str) -> datetime.date:
    """``YYYY-MM-DD`` -> a date."""
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected a date YYYY-MM-DD, got {text!r}") from None


@attrs.frozen
class Option:
    """One command-line option of the sandbox.

    Attributes:
        flag: the option's name (``--seed``).
        dest: the name of its value.
        help: the help text.
        parse: text -> value (raises ValueError naming the text); None for flags and
            choices.
        default: the value when absent (``()`` for repeatable options).
        choices: the accepted texts, if limited.
        is_flag: a switch without value (False unless given).
        multiple: repeatable; the value is a tuple.
        metavar: the value's placeholder in help.
    """

    flag: str
    dest: str
    help: str
    parse: Callable[[str], Any] | None = None
    default: Any = None
    choices: tuple[str, ...] | None = None
    is_flag: bool = False
    multiple: bool = False
    metavar: str | None = None


# fmt: off
OPTIONS: tuple[Option, ...] = (
    Option("--host", "host", "Loopback address to bind (loopback only).", loopback, "127.0.0.1"),
    Option("--port", "port", "Port to bind, 0 for any free one.", int, 8080),
    Option("--seed", "seed", "Seed of the deterministic data.", int, 0),
    Option("--api-key", "api_keys", "An accepted API key (repeatable; default: sandbox). "
           "Never printed.", str, (), multiple=True, metavar="KEY"),
    Option("--latency", "latency", "Seconds added to every answer.", float, 0.0),
    Option("--waiting-polls", "waiting_polls",
           "Polls after which a Waiting item turns final (-1: never).", int, 2),
    Option("--waiting-seconds", "waiting_seconds",
           "Seconds after which Waiting items turn final (default: never).", float),
    Option("--status-spellings", "status_spellings",
           "canonical (Delivered...) or variants (delivered, DELIVRD, UNKNOWN...).",
           default="canonical", choices=("canonical", "variants")),
    Option("--field-variants", "field_variants",
           "Vary documented field variants (stopSMS/stopSms, flag and date types).",
           is_flag=True),
    Option("--language", "language", "Language of messages.", default="en",
           choices=("en", "fr")),
    Option("--item-errors", "item_errors",
           "Bad multi-status items (codes 2/3/6/9): per-item code 4 entries as the docs "
           "show (not_found), entries with their own code (entry), or a whole-request "
           "error (request).",
           default="not_found", choices=("not_found", "entry", "request")),
    Option("--validation-detail", "validation_detail",
           "With --item-errors request, add the vendor's error array of {elementId, "
           "message}.", is_flag=True),
    Option("--request-not-found", "request_not_found",
           "Answer a multi-status request none of whose items is found with the "
           "request-level code 4.", is_flag=True),
    Option("--http-error-status", "http_error_status",
           "Send vendor error bodies with HTTP 4xx instead of 200.", is_flag=True),
    Option("--echo-numbers-as-sent", "echo_numbers_as_sent",
           "Echo national numbers as sent instead of in international form.",
           is_flag=True),
    Option("--max-items", "max_items", "Most items per multi-status request.", int, 500),
    Option("--rate-limit", "rate_limit",
           "At most N requests per minute per API key (HTTP 429 past it).", int,
           metavar="N"),
    Option("--rate-limit-no-retry-after", "rate_limit_no_retry_after",
           "Send those 429s without Retry-After (the vendor documents none).",
           is_flag=True),
    Option("--cost-resume-limit", "cost_resume_limit",
           "Requests per minute per key to statistics/cost-resume (-1: none).", int, 5),
    Option("--tag-page-size", "tag_page_size",
           "Most recipients per bulk-status-by-tag answer.", int, 500),
    Option("--today", "today", "The day cost-resume counts back from (default: today, UTC).",
           day, metavar="YYYY-MM-DD"),
    Option("--fault", "faults", "Inject a fault at a rate in [0, 1] (repeatable); kinds: "
           + ", ".join(FAULT_KINDS) + ".", fault_rate, (), multiple=True,
           metavar="KIND=RATE"),
    Option("--schedule", "schedule", "Give request number N (from 0, accepted keys only) "
           "this fault (repeatable).", scheduled, (), multiple=True,
           metavar="N=KIND"),
    Option("--retry-after", "retry_after",
           "Retry-After seconds sent with the http_429 fault (-1: none).", int, 1),
    Option("--retry-after-date", "retry_after_date", "Send Retry-After as an HTTP date.",
           is_flag=True),
    Option("--slow-seconds", "slow_seconds", "Delay of the 'slow' fault.", float, 5.0),
    Option("--server-error-body", "server_error_body", "Body of HTTP 5xx faults.",
           default="html", choices=("html", "text")),
)
# fmt: on


def config_from_options(values: Mapping[str, Any]) -> SandboxConfig:
    """The :class:`SandboxConfig` of parsed option values (by ``dest``); raises
    ValueError or TypeError for values the config refuses."""
    v = values

    def negative_is_none(value: int | None) -> int | None:
        return None if value is not None and value < 0 else value

    faults = FaultConfig(
        **dict(v["faults"]),
        retry_after=negative_is_none(v["retry_after"]),
        retry_after_http_date=v["retry_after_date"],
        slow_seconds=v["slow_seconds"],
        server_error_body=v["server_error_body"],
        schedule=dict(v["schedule"]),
    )
    return SandboxConfig(
        seed=v["seed"],
        api_keys=tuple(v["api_keys"] or ("sandbox",)),
        latency=v["latency"],
        waiting_polls=negative_is_none(v["waiting_polls"]),
        waiting_seconds=v["waiting_seconds"],
        status_spellings=v["status_spellings"],
        field_variants=v["field_variants"],
        language=v["language"],
        item_errors=v["item_errors"],
        request_not_found=v["request_not_found"],
        validation_detail=v["validation_detail"],
        http_error_status=v["http_error_status"],
        normalize_numbers=not v["echo_numbers_as_sent"],
        max_items=v["max_items"],
        rate_limit=v["rate_limit"],
        rate_limit_retry_after=not v["rate_limit_no_retry_after"],
        cost_resume_limit=negative_is_none(v["cost_resume_limit"]),
        tag_page_size=v["tag_page_size"],
        today=v["today"],
        faults=faults,
    )
