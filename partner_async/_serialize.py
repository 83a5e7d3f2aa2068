"""JSON-ready dicts of the public values, for ``to_dict()``.

Only ``str``, ``int``, ``float``, ``bool``, ``None``, lists and dicts come out: dates in
ISO 8601 (UTC, ``Z``), a ``Decimal`` as its string, an enum as its value, a nested value
as its own ``to_dict()``. ``json.dumps(value.to_dict())`` always works, and so does
returning it from a web framework's endpoint.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import attrs

__all__ = ["JSONReady", "attrs_dict", "iso", "json_ready"]


def iso(moment: datetime) -> str:
    """``moment`` in ISO 8601, UTC, to the second (``2017-11-04T02:59:21Z``)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def json_ready(value: Any) -> Any:
    """``value`` as str, int, float, bool, None, lists and dicts only."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None:
        return to_dict()
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if isinstance(value, (bool, int, float, str)):  # subclasses
        return value
    raise TypeError(f"{type(value).__name__} is not JSON-ready")


def attrs_dict(value: Any, derived: Iterable[str] = ()) -> dict[str, Any]:
    """An attrs instance's fields, then the ``derived`` properties named, JSON-ready."""
    out = {
        field.name: json_ready(getattr(value, field.name)) for field in attrs.fields(type(value))
    }
    for name in derived:
        out[name] = json_ready(getattr(value, name))
    return out


class JSONReady:
    """What every public value shares: web frameworks that ask pydantic how to serialise a
    type (FastAPI, for an endpoint's return annotation or ``response_model``) write it as
    its ``to_dict()``. pydantic is imported only when it asks: it is no dependency."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of this value (``json.dumps`` takes it)."""
        raise NotImplementedError

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.is_instance_schema(
            cls,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _to_dict, return_schema=core_schema.dict_schema()
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> dict[str, Any]:
        doc = (cls.__doc__ or "").strip().split("\n\n")[0]
        return {"type": "object", "title": cls.__name__, "description": " ".join(doc.split())}


def _to_dict(value: JSONReady) -> dict[str, Any]:
    return value.to_dict()
