"""The sandbox's options: :class:`SandboxConfig` and :class:`FaultConfig`."""

from __future__ import annotations

import datetime
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

__all__ = ["FAULT_KINDS", "FaultConfig", "SandboxConfig"]

#: Every fault the sandbox can inject, by the name used in rates, schedules and counters.
#:
#: - ``http_429``: HTTP 429 with a ``Retry-After`` header and a code-429 error body.
#: - ``http_500`` / ``http_502`` / ``http_503`` / ``http_504``: that HTTP status with an
#:   HTML (or plain text) body, as a proxy in front of the API would send.
#: - ``slow``: wait ``slow_seconds`` before answering normally (to exceed client timeouts).
#: - ``disconnect``: send the headers and part of the body, then close the connection.
#: - ``truncated_json``: HTTP 200 with the first half of the normal body (a complete response).
#: - ``invalid_json``: HTTP 200 with a body that is not JSON (single-quoted keys).
#: - ``html_200``: HTTP 200 with an HTML maintenance page.
#: - ``drop_entries``: a multi-status answer that lacks some of the requested items.
#: - ``reorder_entries``: a multi-status answer whose entries are not in request order.
#: - ``reformat_numbers``: a multi-status answer echoing numbers in other formats
#:   (``0612345678``, ``0033612345678``, ``+33 6 12 34 56 78``, ``06.12.34.56.78``...).
#: - ``body_429`` / ``body_500``: HTTP 200 with ``{"success": false, "code": 429|500, ...}``.
#:
#: The three ``*_entries``/``reformat_numbers`` faults alter successful multi-status
#: answers only; drawn for another request, they do nothing and are not counted.
FAULT_KINDS: tuple[str, ...] = (
    "http_429",
    "http_500",
    "http_502",
    "http_503",
    "http_504",
    "slow",
    "disconnect",
    "truncated_json",
    "invalid_json",
    "html_200",
    "drop_entries",
    "reorder_entries",
    "reformat_numbers",
    "body_429",
    "body_500",
)

_NO_FAULT = ("none", "ok")


def _rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{attribute.name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be in [0, 1], got {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{attribute.name} must be a number >= 0, got {value!r}")
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


def _one_of(*choices: object) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in choices:
            raise ValueError(f"{attribute.name} must be one of {choices!r}, got {value!r}")

    return check


def _schedule(value: Mapping[int, str | None] | None) -> dict[int, str | None]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"schedule must be a mapping of request number -> fault, got {value!r}")
    result: dict[int, str | None] = {}
    for number, kind in value.items():
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ValueError(f"schedule keys must be request numbers >= 0, got {number!r}")
        if kind is not None and kind not in FAULT_KINDS and kind not in _NO_FAULT:
            raise ValueError(
                f"schedule[{number}] = {kind!r} is not a fault; expected one of "
                f"{', '.join(FAULT_KINDS)} (or None / 'none' for no fault)"
            )
        result[number] = None if kind in _NO_FAULT else kind
    return result


@attrs.frozen(kw_only=True)
class FaultConfig:
    """Which faults the sandbox injects, and how often.

    Each fault kind of :data:`FAULT_KINDS` has a rate in [0, 1]: the probability that a
    request gets it (the rates must add up to at most 1; one fault per request). The draws
    come from a ``random.Random`` seeded from the sandbox seed, in request-arrival order:
    sequential requests get reproducible faults, but with concurrent requests which
    request gets which fault depends on the order they arrive in. For exact tests use
    ``schedule``: ``{request_number: fault_name}``, request numbers counting from 0 the
    requests that carry an accepted API key (on any endpoint); a scheduled number never
    draws from the rates (``None`` or ``"none"`` means "no fault for that request").

    Faults only ever hit requests with an accepted API key.

    Attributes:
        http_429 ... body_500: the rate of each fault kind (default 0).
        retry_after: the ``Retry-After`` sent with HTTP 429, in whole seconds; None omits it.
        retry_after_http_date: send ``Retry-After`` as an HTTP date instead of seconds.
        slow_seconds: how long a ``slow`` response waits before answering.
        server_error_body: the body of HTTP 5xx faults: ``"html"`` page or ``"text"``.
        schedule: request number -> fault name (or None), overriding the rates.
    """

    http_429: float = attrs.field(default=0.0, validator=_rate)
    http_500: float = attrs.field(default=0.0, validator=_rate)
    http_502: float = attrs.field(default=0.0, validator=_rate)
    http_503: float = attrs.field(default=0.0, validator=_rate)
    http_504: float = attrs.field(default=0.0, validator=_rate)
    slow: float = attrs.field(default=0.0, validator=_rate)
    disconnect: float = attrs.field(default=0.0, validator=_rate)
    truncated_json: float = attrs.field(default=0.0, validator=_rate)
    invalid_json: float = attrs.field(default=0.0, validator=_rate)
    html_200: float = attrs.field(default=0.0, validator=_rate)
    drop_entries: float = attrs.field(default=0.0, validator=_rate)
    reorder_entries: float = attrs.field(default=0.0, validator=_rate)
    reformat_numbers: float = attrs.field(default=0.0, validator=_rate)
    body_429: float = attrs.field(default=0.0, validator=_rate)
    body_500: float = attrs.field(default=0.0, validator=_rate)
    retry_after: int | None = attrs.field(default=1)
    retry_after_http_date: bool = False
    slow_seconds: float = attrs.field(default=5.0, validator=_non_negative)
    server_error_body: Literal["html", "text"] = attrs.field(
        default="html", validator=_one_of("html", "text")
    )
    schedule: Mapping[int, str | None] = attrs.field(factory=dict, converter=_schedule)

    @retry_after.validator
    def _check_retry_after(self, attribute: attrs.Attribute[Any], value: int | None) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"retry_after must be whole seconds >= 0 or None, got {value!r}")

    def __attrs_post_init__(self) -> None:
        total = sum(self.rates().values())
        if total > 1.0 + 1e-9:
            raise ValueError(f"the fault rates add up to {total:g}; they must add up to <= 1")

    def rates(self) -> dict[str, float]:
        """Every fault kind's rate, in :data:`FAULT_KINDS` order."""
        return {kind: float(getattr(self, kind)) for kind in FAULT_KINDS}

    @property
    def enabled(self) -> bool:
        """Whether any fault can happen (a rate above 0 or a scheduled fault)."""
        return any(self.rates().values()) or any(self.schedule.values())


def _api_keys(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise TypeError(f"api_keys must be a sequence of strings, got {type(value).__name__}")
    keys = tuple(value)
    if not keys or not all(isinstance(key, str) and key for key in keys):
        raise ValueError("api_keys must hold at least one non-empty string")
    return keys


def _waiting_polls(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"waiting_polls must be an int >= 0 or None, got {value!r}")


def _positive_int(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be an int >= 1, got {value!r}")


def _optional_positive_int(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _positive_int(instance, attribute, value)


def _faults(value: FaultConfig | None) -> FaultConfig:
    if value is None:
        return FaultConfig()
    if not isinstance(value, FaultConfig):
        raise TypeError(f"faults must be a FaultConfig, got {type(value).__name__}")
    return value


@attrs.frozen(kw_only=True)
class SandboxConfig:
    """Everything that shapes the sandbox's answers. All options are keyword-only.

    Attributes:
        seed: the seed of the deterministic ground truth and of fault draws.
        api_keys: the accepted API keys (default only ``"sandbox"``); any other key gets
            code 10. Keys are never printed or logged.
        latency: seconds every request waits before being answered (``anyio.sleep``).
        waiting_polls: a ``Waiting`` item turns final once it has been answered this many
            times (``2``: the first two polls say Waiting, the third is final); ``0`` makes
            every item final at once; None never by polls.
        waiting_seconds: a ``Waiting`` item also turns final once this many seconds of
            ``clock`` have passed since the app was created; None (default) disables it.
        clock: the time source for ``waiting_seconds`` (default ``time.monotonic``).
        status_spellings: ``"canonical"`` (``Delivered``, ``Not delivered``, ``Waiting``) or
            ``"variants"``: every documented spelling (``delivered``, ``DELIVRD``, ``ko``,
            ``PENDING``...), chosen deterministically per item.
        field_variants: vary documented field variants per item: ``stopSMS``/``stopSms``,
            flags as booleans or ``"0"``/``"1"`` strings, dates as ints or strings.
        language: ``"en"`` or ``"fr"`` messages (``"Numéro introuvable"``...).
        item_errors: how multi-status reports an item without phone number (2), with a
            malformed number (6), a non-mobile number (9) or without message id (3):
            ``"not_found"`` (default, what the vendor's page shows for its own sample
            request of national numbers and placeholders) answers that item with a
            per-item ``{"success": false, "code": 4, ..., "status": "Number not found"}``
            entry; ``"entry"`` answers it with its own code (``"code": N``, ``"status":``
            the code's message); ``"request"`` (the strictest reading of the vendor's
            error table) answers the whole request with that error body, for the first
            bad item.
        validation_detail: with ``item_errors="request"``, add to the error the
            ``"error": [{"elementId": "SMSStatut_List[i].phoneNumber", "message": ...}]``
            array the vendor's Go SDK data shows for validation errors (code 9 there).
        request_not_found: answer a multi-status request none of whose items is found
            with the request-level ``{"success": false, "code": 4, ...}`` (the code the
            vendor's table lists) instead of per-item code 4 entries.
        rate_limit: at most this many requests per minute per API key (every endpoint,
            a sliding window of ``clock``); past it the answer is HTTP 429 with a code-429
            body; None (default) sets no limit.
        rate_limit_retry_after: send ``Retry-After`` (whole seconds until the window lets
            a request through) with those 429s; False omits it, as the vendor documents
            none.
        cost_resume_limit: requests per minute per key to statistics/cost-resume (the
            vendor documents 5), answered like ``rate_limit``; None disables it.
        tag_page_size: the most recipients one bulk-status-by-tag answer lists (the
            vendor pages it: ``currentPage`` 1 and the full ``total``).
        today: the day cost-resume's ``last_month`` and ``last_twelve_months`` count back
            from; None (default) is the current UTC date.
        http_error_status: False (default): vendor error bodies come with HTTP 200, as in
            the samples; True: with 401 (codes 1, 10), 404 (3, 4) or 400 (the others).
        normalize_numbers: echo national numbers (``06 12 34 56 78``) in international
            form (``+33612345678``), as the vendor's XML sample does; False echoes them
            as sent.
        max_items: the most items one multi-status request may hold (vendor: 500).
        max_body_bytes: request bodies above this get HTTP 413.
        faults: the :class:`FaultConfig`.
    """

    seed: int = attrs.field(default=0)
    api_keys: tuple[str, ...] = attrs.field(default=("sandbox",), converter=_api_keys)
    latency: float = attrs.field(default=0.0, validator=_non_negative)
    waiting_polls: int | None = attrs.field(default=2, validator=_waiting_polls)
    waiting_seconds: float | None = attrs.field(default=None, validator=_non_negative)
    clock: Callable[[], float] = attrs.field(default=time.monotonic, eq=False, repr=False)
    status_spellings: Literal["canonical", "variants"] = attrs.field(
        default="canonical", validator=_one_of("canonical", "variants")
    )
    field_variants: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    language: Literal["en", "fr"] = attrs.field(default="en", validator=_one_of("en", "fr"))
    item_errors: Literal["not_found", "entry", "request"] = attrs.field(
        default="not_found", validator=_one_of("not_found", "entry", "request")
    )
    request_not_found: bool = attrs.field(
        default=False, validator=attrs.validators.instance_of(bool)
    )
    validation_detail: bool = attrs.field(
        default=False, validator=attrs.validators.instance_of(bool)
    )
    rate_limit: int | None = attrs.field(default=None, validator=_optional_positive_int)
    rate_limit_retry_after: bool = attrs.field(
        default=True, validator=attrs.validators.instance_of(bool)
    )
    cost_resume_limit: int | None = attrs.field(default=5, validator=_optional_positive_int)
    tag_page_size: int = attrs.field(default=500, validator=_positive_int)
    today: datetime.date | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.instance_of(datetime.date)),
    )
    http_error_status: bool = attrs.field(
        default=False, validator=attrs.validators.instance_of(bool)
    )
    normalize_numbers: bool = attrs.field(
        default=True, validator=attrs.validators.instance_of(bool)
    )
    max_items: int = attrs.field(default=500, validator=_positive_int)
    max_body_bytes: int = attrs.field(default=16 * 1024 * 1024, validator=_positive_int)
    faults: FaultConfig = attrs.field(factory=FaultConfig, converter=_faults)

    @seed.validator
    def _check_seed(self, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"seed must be an int, got {value!r}")

    @clock.validator
    def _check_clock(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not callable(value):
            raise TypeError(f"clock must be a callable returning seconds, got {value!r}")

    def __repr__(self) -> str:
        # api_keys are secrets: never shown
        fields = ", ".join(
            f"{a.name}={getattr(self, a.name)!r}"
            for a in attrs.fields(SandboxConfig)
            if a.name not in ("api_keys", "clock")
        )
        return f"SandboxConfig({fields}, api_keys=<{len(self.api_keys)} redacted>)"
