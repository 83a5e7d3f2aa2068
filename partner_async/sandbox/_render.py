"""Serialising answers: JSON (msgspec) and the vendor's positional XML form."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import msgspec

__all__ = ["error_body", "render", "render_xml"]

XML_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>"
JSON_TYPE = b"application/json"
XML_TYPE = b"application/xml; charset=UTF-8"


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _inner(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return _cdata(value)
    if isinstance(value, dict):
        value = value.values()
    return "".join("<entry>" + _inner(item) + "</entry>" for item in value)


def render_xml(answer: dict[str, Any]) -> bytes:
    """The vendor's positional XML form of a JSON answer: one ``<entry>`` per field, in
    order, no field names; booleans and numbers bare, strings in CDATA, lists and objects
    as nested entries. An error answer's message is plain (escaped) text, as in the docs.
    """
    if answer.get("success") is False and "message" in answer:
        parts = [
            "<entry>false</entry>",
            f"<entry>{answer['code']}</entry>",
            f"<entry>{escape(str(answer['message']))}</entry>",
        ]
    else:
        parts = ["<entry>" + _inner(value) + "</entry>" for value in answer.values()]
    return (XML_DECLARATION + "\n<result>" + "".join(parts) + "</result>\n").encode()


def render(answer: dict[str, Any], xml: bool) -> tuple[bytes, bytes]:
    """``(body, content type)`` of an answer in JSON or XML."""
    if xml:
        return render_xml(answer), XML_TYPE
    return msgspec.json.encode(answer), JSON_TYPE


def error_body(code: int, message: str) -> dict[str, Any]:
    """The vendor's error answer ``{"success": false, "code": N, "message": "..."}``."""
    return {"success": False, "code": code, "message": message}
