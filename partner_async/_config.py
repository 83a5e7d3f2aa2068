"""Options: a client's, checked once when it is made, and one call's, resolved once.

A client checks its options in its constructor (the checks below name the offending value
in a :class:`ConfigurationError`). Each call resolves its own overrides (``timeout``,
``max_retries``, ``deadline``; :data:`NOT_GIVEN` for "the client's") against the client's
into one frozen settings object, which the call hands one level down.
"""

from __future__ import annotations

import ipaddress
from datetime import date, datetime
from typing import Final, final, get_args
from urllib.parse import urlsplit

import attrs

from ._clock import Clock
from ._exceptions import ConfigurationError
from ._reports import CostInterval
from ._retry import RetryPolicy
from ._transport import Timeout, check_timeout, redact

__all__ = [
    "NOT_GIVEN",
    "NotGiven",
    "RequestSettings",
    "COST_INTERVALS",
    "cost_period",
    "check_base_url",
    "check_proxy",
    "deadline_at",
    "non_negative_int",
    "positive_int",
    "resolve_policy",
    "resolve_timeout",
    "seconds_or_none",
]


@final
class NotGiven:
    """The type of :data:`NOT_GIVEN`: an option not given for this call, so the client's
    setting applies (distinct from None, which some options take as a value)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_GIVEN"


#: "Not given for this call: use the client's setting" (``timeout=``, ``deadline=``).
NOT_GIVEN: Final = NotGiven()


@attrs.frozen
class RequestSettings:
    """What a call's requests are sent with, on every endpoint: the client's ``timeout``,
    retry policy and ``deadline``, overridden by the call's own, resolved once by the
    public method and handed down as one object."""

    policy: RetryPolicy
    timeout: Timeout
    deadline: float | None = None  # clock time; None: no deadline


def resolve_policy(policy: RetryPolicy, max_retries: int | None) -> RetryPolicy:
    """``policy`` with a call's ``max_retries`` (None: as it is)."""
    if max_retries is None:
        return policy
    try:
        return attrs.evolve(policy, max_retries=max_retries)
    except (TypeError, ValueError) as exc:  # as with_options and the constructor
        raise ConfigurationError(str(exc)) from None


def resolve_timeout(default: Timeout, timeout: Timeout | NotGiven) -> Timeout:
    """A call's ``timeout``, checked, or the client's ``default``."""
    return default if isinstance(timeout, NotGiven) else check_timeout(timeout)


def deadline_at(
    default: float | None, deadline: float | NotGiven | None, clock: Clock
) -> float | None:
    """A call's ``deadline`` (seconds from now, or the client's ``default``) as ``clock``
    time; None: no deadline (and the clock is not read)."""
    seconds = default if isinstance(deadline, NotGiven) else seconds_or_none("deadline", deadline)
    return None if seconds is None else clock.now() + seconds


def check_base_url(url: str) -> str:
    """``url`` without a trailing ``/``: https, or plain http to a loopback host only (the
    key must not travel in clear text)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url.rstrip("/")
    if parts.scheme == "http" and host:
        if host == "localhost":
            return url.rstrip("/")
        try:
            if ipaddress.ip_address(host).is_loopback:
                return url.rstrip("/")
        except ValueError:
            pass
        raise ConfigurationError(
            f"base_url {url!r} is plain http to a non-loopback host: the API key would "
            "travel in clear text. Use https (plain http is accepted only for loopback)"
        )
    raise ConfigurationError(f"base_url {url!r} is not an http(s) URL")


def check_proxy(proxy: object, has_http_client: bool) -> str | None:
    """``proxy`` if it is None or an ``http://`` or ``https://`` proxy URL with a host
    (the SDK's pools speak no SOCKS). A proxy is a setting of the SDK's own pool: with a
    caller's ``http_client``, configure it there."""
    if proxy is None:
        return None
    if not isinstance(proxy, str):  # its value is not shown: it may hold a password
        raise ConfigurationError(
            f"proxy must be an http(s):// URL or None, got a {type(proxy).__name__}"
        )
    parts = urlsplit(proxy)
    shown = redact(proxy)  # never the proxy's password
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"proxy must be an http:// or https:// URL, got {shown!r}")
    if has_http_client:
        raise ConfigurationError(
            "proxy= applies to the SDK's own connection pool: with http_client=, give the "
            "proxy to that client (httpx.AsyncClient(proxy=...))"
        )
    return proxy


def seconds_or_none(name: str, value: object) -> float | None:
    """``value`` as seconds (a number >= 0, not a bool), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigurationError(f"{name} must be None or a number of seconds >= 0, got {value!r}")
    return float(value)


def positive_int(name: str, value: object, maximum: int | None = None) -> int:
    """``value`` if it is an ``int`` in 1 .. ``maximum``."""
    if type(value) is not int or value < 1 or (maximum is not None and value > maximum):
        bound = f"1..{maximum}" if maximum else ">= 1"
        raise ConfigurationError(f"{name} must be an int in {bound}, got {value!r}")
    return value


def non_negative_int(name: str, value: object) -> int:
    """``value`` if it is an ``int`` >= 0."""
    if type(value) is not int or value < 0:
        raise ConfigurationError(f"{name} must be an int >= 0, got {value!r}")
    return value


#: The ``interval`` values of ``GET /statistics/cost-resume`` (those of ``CostInterval``).
COST_INTERVALS: Final = get_args(CostInterval)


def cost_period(
    interval: object, start: object, end: object
) -> tuple[str, tuple[date, date] | None]:
    """``cost_statistics``' options checked: the interval, and for ``"custom"`` its first
    and last day (``start``/``end``: a ``date``, or a ``datetime``'s date)."""
    if interval not in COST_INTERVALS:
        raise ConfigurationError(
            f"invalid interval {interval!r}: expected one of {', '.join(COST_INTERVALS)}"
        )
    if interval != "custom":
        if start is not None or end is not None:
            raise ConfigurationError(
                f'start= and end= are for interval="custom" only, not {interval!r}'
            )
        return str(interval), None
    first, last = _day("start", start), _day("end", end)
    if first > last:
        raise ConfigurationError(f"start {first} is after end {last}")
    return "custom", (first, last)


def _day(name: str, value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise ConfigurationError(f'interval="custom" needs {name}= as a datetime.date, got {value!r}')
