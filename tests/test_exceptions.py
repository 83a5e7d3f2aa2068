"""The exception hierarchy: one module, drawn in its docstring, errors that survive
pickling and copying, messages that say each thing once."""

from __future__ import annotations

import inspect
import re

import partner_async
from partner_async import PartnerError, _exceptions


def _exported_errors() -> dict[str, type[BaseException]]:
    return {
        name: obj
        for name, obj in vars(partner_async).items()
        if inspect.isclass(obj) and issubclass(obj, BaseException)
    }


def test_every_exported_error_is_defined_in_the_exceptions_module() -> None:
    for name, cls in _exported_errors().items():
        assert name in _exceptions.__all__, name
        assert getattr(_exceptions, name) is cls, name


def _drawn_tree() -> dict[str, str | None]:
    """{class name: parent name} as the module's docstring draws it."""
    assert _exceptions.__doc__
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []  # (column of the name, name)
    for line in _exceptions.__doc__.splitlines():
        match = re.match(r"^( *(?:[│ ]   )*(?:[├└]── )?)([A-Z]\w*Error)\b", line)
        if match is None:
            continue
        column, name = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= column:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((column, name))
    return parents


def test_the_docstring_draws_every_error_under_its_real_parent() -> None:
    tree = _drawn_tree()
    assert set(tree) == set(_exceptions.__all__)
    for name, parent in tree.items():
        cls = getattr(_exceptions, name)
        if parent is None:
            assert cls is PartnerError
        else:
            assert cls.__bases__[0].__name__ == parent, name
