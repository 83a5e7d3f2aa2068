"""``partner-async sandbox``: the emulator on loopback, with exactly the options of
``python -m partner_async.sandbox`` (both are built from ``partner_async.sandbox``'s one
option table)."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import Any, TextIO, cast

import click

from partner_async.sandbox._options import OPTIONS, Option, config_from_options

from ._options import CONTEXT, SANDBOX_KEY
from ._runtime import fail, redact

__all__ = ["sandbox"]


class _Redacting(io.TextIOBase):
    """A text stream that masks secrets before writing to ``target``."""

    def __init__(self, target: Any, secrets: tuple[str, ...]) -> None:
        self._target = target
        self._secrets = secrets

    def write(self, text: str) -> int:
        self._target.write(redact(text, *self._secrets))
        return len(text)

    def flush(self) -> None:
        self._target.flush()


class _Parsed(click.ParamType):  # type: ignore[type-arg]
    """A click type from one of the table's parse functions (ValueError -> usage error)."""

    def __init__(self, parse: Callable[[str], Any], name: str) -> None:
        self._parse = parse
        self.name = name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self._parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


_NATIVE: dict[Any, click.ParamType] = {  # type: ignore[type-arg]
    int: click.INT,
    float: click.FLOAT,
    str: click.STRING,
}


def _click_option(option: Option) -> Callable[[Any], Any]:
    if option.is_flag:
        return click.option(option.flag, option.dest, is_flag=True, help=option.help)
    kind: Any = None
    if option.choices:
        kind = click.Choice(option.choices)
    elif option.parse in _NATIVE:
        kind = _NATIVE[option.parse]
    elif option.parse is not None:
        kind = _Parsed(option.parse, option.metavar or str(getattr(option.parse, "__name__", "")))
    return click.option(
        option.flag,
        option.dest,
        type=kind,
        default=option.default,
        multiple=option.multiple,
        metavar=option.metavar,
        show_default=option.default not in (None, ()),
        help=option.help,
    )


def _with_options(function: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(OPTIONS):
        function = _click_option(option)(function)
    return function


@click.command(context_settings=CONTEXT)
@_with_options
def sandbox(**values: Any) -> None:
    """Serve the SMS Partner / Mail Partner emulator on loopback until Ctrl-C.

    Point any client at the printed base URLs with the key 'sandbox' (or your --api-key).
    Answers are deterministic for a seed; Waiting items turn final after some polls. The
    options are those of `python -m partner_async.sandbox`.
    """
    from partner_async import sandbox as package

    api_keys: tuple[str, ...] = values["api_keys"]
    try:
        config = config_from_options(values)
    except (TypeError, ValueError) as exc:
        fail(str(exc), *api_keys)
    secrets = tuple(k for k in api_keys if k != SANDBOX_KEY)
    host, port = values["host"], values["port"]
    try:
        package.serve(
            config, host=host, port=port, out=cast(TextIO, _Redacting(sys.stdout, secrets))
        )
    except OSError as exc:
        fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}")
