"""Wire decoding and encoding: bytes <-> typed values, at the edge, in one place.

JSON and the vendor's positional XML form (``_format=xml``) decode to the same values.

The hot path, a multi-status answer in the documented shape, is decoded by msgspec in one
C pass straight into :class:`WireResult` structs (lax mode turns the documented ``"0"``
flags and string timestamps into bools and ints). Every other answer is decoded by msgspec
to plain values, then read by hand-written coercions that accept every documented variant
of every field:
``stopSms``/``stopSMS``, flags as ``"0"``/``"1"`` strings or booleans, dates as Unix
timestamps in strings or integers, ``message_id``/``messageId``,
``StatutResponse_List``/``StatutResponseList``. msgspec is the one JSON codec, both ways.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import attrs
import msgspec

from ._exceptions import ResponseFormatError
from ._models import (
    MAX_TIMESTAMP,
    MailBulkReport,
    MailRecipient,
    SMSBulkReport,
    SMSRecipient,
    WireResult,
)
from ._reports import CostRow, CostStatistics, MessageStatus, TagStatusReport
from ._secret import Secret, SecretBody

__all__ = [
    "ErrorBody",
    "MultiStatusBody",
    "DECODERS",
    "cost_resume_params",
    "decode_cost_statistics",
    "decode_mail_bulk",
    "decode_mail_bulk_xml",
    "decode_message_status",
    "decode_message_status_xml",
    "decode_multi_status",
    "decode_multi_status_xml",
    "decode_sms_bulk",
    "decode_sms_bulk_xml",
    "decode_tag_status",
    "encode_multi_status",
]

R = TypeVar("R", SMSBulkReport, MailBulkReport)
T = TypeVar("T")

logger = logging.getLogger("partner_async")


@attrs.frozen(slots=True)
class ErrorBody:
    """A vendor error answer: ``{"success": false, "code": N, "message": "..."}``, with
    the validation detail of an ``errors`` / ``error`` array of ``{elementId, message}``
    as ``(element_id, message)`` pairs."""

    code: int
    message: str
    errors: tuple[tuple[str, str], ...] = ()


_MAX_ERRORS = 20  # validation details kept per answer (an answer is untrusted)
_MAX_ERROR_TEXT = 300


def _validation_errors(body: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The ``errors`` (send page) or ``error`` (Go SDK data) array, bounded."""
    raw = _first(body, "errors", "error")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        return ()
    found: list[tuple[str, str]] = []
    for item in raw[:_MAX_ERRORS]:
        if isinstance(item, dict):
            element, message = item.get("elementId"), item.get("message")
            element = "" if element is None else str(element)[:_MAX_ERROR_TEXT]
            message = "" if message is None else str(message)[:_MAX_ERROR_TEXT]
        elif isinstance(item, str):
            element, message = "", item[:_MAX_ERROR_TEXT]
        else:
            continue
        if element or message:
            found.append((element, message))
    return tuple(found)


@attrs.frozen(slots=True)
class MultiStatusBody:
    """A successful multi-status answer: entries as echoed (phone numbers as the server
    wrote them), how many entries could not be decoded at all, and how many fields were
    unreadable (read as None; the first one named)."""

    entries: list[WireResult]
    undecodable: int = 0
    unreadable_fields: int = 0
    first_unreadable: str = ""


# -- field coercions ---------------------------------------------------------------

_FLAGS: dict[object, bool] = {
    "0": False,
    "1": True,
    "true": True,
    "false": False,
    "True": True,
    "False": False,
    "": False,
}


def to_flag(value: object) -> bool | None:
    """``"0"``/``"1"``, ``0``/``1``, booleans and ``"true"``/``"false"`` to a bool."""
    if value is None:
        return None
    if value is True or value is False:
        return value
    if type(value) is int:
        return value != 0
    if type(value) is str:
        flag = _FLAGS.get(value)
        if flag is None:
            flag = _FLAGS.get(value.strip().lower())
        if flag is not None:
            return flag
    raise ValueError(f"not a flag: {value!r}")


@functools.cache
def vendor_zone() -> Any:
    """Europe/Paris, the vendor's local time (zoneinfo; the ``tzdata`` package supplies the
    zone database where the platform has none)."""
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Paris")


_LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"


def to_timestamp(value: object) -> int | None:
    """A Unix timestamp (str or int), or ``YYYY-MM-DD HH:MM:SS``, to Unix seconds.

    The ``YYYY-MM-DD HH:MM:SS`` form (message-status) is the vendor's local time: it is
    read as Europe/Paris (an hour repeated when clocks go back is taken at its first
    occurrence). Unix timestamps are UTC by definition.
    """
    if value is None or value == "":
        return None
    if type(value) is int:
        seconds = value
    elif type(value) is str:
        if value.isdigit():
            seconds = int(value)
        else:
            local = datetime.strptime(value.strip(), _LOCAL_FORMAT)
            seconds = int(local.replace(tzinfo=vendor_zone()).timestamp())
    elif type(value) is float:
        seconds = int(value)
    else:
        raise ValueError(f"not a date: {value!r}")
    if not 0 <= seconds <= MAX_TIMESTAMP:
        raise ValueError(f"not a date: {value!r} (out of range)")
    return seconds


def to_decimal(value: object) -> Decimal | None:
    """A money amount (JSON number or numeric string) as a ``Decimal``, exactly as written."""
    if value is None or value == "":
        return None
    if type(value) is int or type(value) is str:
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not an amount: {value!r}") from None
    elif type(value) is float:
        amount = Decimal(repr(value))  # the shortest text that reads back as this float
    else:
        raise ValueError(f"not an amount: {value!r}")
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount


def to_int(value: object) -> int:
    """An int from an int or a numeric string."""
    if type(value) is int:
        return value
    if type(value) is str:
        return int(value)
    raise ValueError(f"not an integer: {value!r}")


def _first(entry: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = entry.get(key)
        if value is not None:
            return value
    return None


def _loads(content: bytes) -> Any:
    try:
        return _decode_json(content)
    except msgspec.DecodeError as exc:
        raise ResponseFormatError(f"the answer is not valid JSON ({exc})") from None


# -- the positional XML form (``_format=xml``) ------------------------------------------

_Tree = str | list["_Tree"]

_MULTI_FIELDS = (
    "success",
    "code",
    "phoneNumber",
    "messageId",
    "status",
    "date",
    "stopSms",
    "isSpam",
)
_SMS_BULK_FIELDS = ("phoneNumber", "status", "stopSMS", "date")
_MAIL_BULK_FIELDS = ("email", "token", "status", "cost", "stopMail", "date")


#: The deepest nesting a positional XML answer has (root > list > entry > field) is 4;
#: anything much deeper is not an answer, and is refused before it can exhaust the stack.
_MAX_XML_DEPTH = 16


def _tree(element: Any, depth: int = 0) -> _Tree:
    children = list(element)
    if children:
        if depth >= _MAX_XML_DEPTH:
            raise ResponseFormatError(
                f"the XML answer is nested deeper than {_MAX_XML_DEPTH} levels"
            )
        return [_tree(child, depth + 1) for child in children]
    return (element.text or "").strip()


def _parse_xml(content: bytes) -> list[_Tree]:
    """The nested ``<entry>`` values of an XML answer, parsed safely (defusedxml)."""
    from xml.etree.ElementTree import ParseError

    import defusedxml.ElementTree
    from defusedxml import DefusedXmlException

    try:
        root = defusedxml.ElementTree.fromstring(content)
    except DefusedXmlException as exc:
        raise ResponseFormatError(
            f"refused an XML answer that declares entities or a DTD ({type(exc).__name__}): "
            "possible entity-expansion attack"
        ) from None
    except ParseError as exc:
        raise ResponseFormatError(f"the answer is not valid XML ({exc})") from None
    tree = _tree(root)
    if not isinstance(tree, list) or len(tree) < 2:
        raise ResponseFormatError("the XML answer has no success and code entries")
    return tree


def _records(value: _Tree, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    if value == "":
        return []
    if not isinstance(value, list):
        raise ResponseFormatError("the XML answer's list is not a list of entries")
    records = []
    for item in value:
        if not isinstance(item, list):
            raise ResponseFormatError("an XML list item is not an entry")
        records.append(dict(zip(fields, item, strict=False)))  # not-found items are short
    return records


def xml_to_body(content: bytes, kind: str) -> dict[str, Any]:
    """The JSON-shaped body of a positional XML answer (``kind``: multi, sms_bulk, mail_bulk)."""
    values = _parse_xml(content)
    success, code = values[0], values[1]
    if success != "true":
        message = values[2] if len(values) > 2 and isinstance(values[2], str) else ""
        return {"success": False, "code": code, "message": message}
    if kind == "multi":
        entries = _records(values[2] if len(values) > 2 else "", _MULTI_FIELDS)
        return {"success": True, "code": code, "StatutResponse_List": entries}
    fields = _SMS_BULK_FIELDS if kind == "sms_bulk" else _MAIL_BULK_FIELDS
    message_id = values[2] if len(values) > 2 and isinstance(values[2], str) else ""
    entries = _records(values[3] if len(values) > 3 else "", fields)
    return {"success": True, "code": code, "messageId": message_id, "StatutResponse_List": entries}


def _error_body(body: dict[str, Any]) -> ErrorBody | None:
    """The vendor error in ``body``, if it is one."""
    success = body.get("success")
    if success is True or success == "true":
        return None
    code = body.get("code")
    if success is None and (code is None or code == 200):
        return None
    try:
        code_int = to_int(code)
    except (TypeError, ValueError):
        code_int = 0
    message = body.get("message")
    return ErrorBody(
        code_int, message if isinstance(message, str) else "", _validation_errors(body)
    )


def _object_body(body: Any) -> dict[str, Any] | ErrorBody:
    """A decoded answer that must be a JSON object: itself, or the vendor error it carries."""
    if not isinstance(body, dict):
        raise ResponseFormatError("the answer is not a JSON object")
    return _error_body(body) or body


# -- multi-status ---------------------------------------------------------------------

_LIST_KEYS = ("StatutResponse_List", "StatutResponseList", "StatusResponse_List")


def structure_status_result(entry: dict[str, Any], odd: object = None) -> WireResult:
    """One multi-status entry, any shape: every documented variant, missing fields as None.

    ``phone_number`` is the server's text (matching puts the query's back). Answers in the
    documented shape never come here: :func:`decode_multi_status` decodes them in C.
    Lenient: an unreadable date, flag or code reads as None (the code from ``success``),
    counted in ``odd`` (an :class:`Oddities`), and the entry keeps its status; only an
    entry without a readable message id cannot be matched to its query.
    """
    if not isinstance(odd, Oddities):
        odd = Oddities()
    get = entry.get
    text = get("status")
    if text is None:
        text = get("statut")  # message-status's spelling, seen in multi-status entries too
    if type(text) is not str:
        text = "" if text is None else str(text)
    read = odd.read
    success = read(to_flag, get("success"), "success")
    raw_code = get("code")
    code = None if raw_code is None else read(to_int, raw_code, "code")
    if code is None:
        code = 200 if success is not False else 0
    if success is None:
        success = code == 200
    phone = get("phoneNumber")
    if type(phone) is not str:
        phone = "" if phone is None else str(phone)
    stop = get("stopSms")
    return WireResult(
        phone_number=phone,
        message_id=to_int(get("messageId")),
        success=success,
        code=code,
        status_text=text,
        timestamp=read(to_timestamp, get("date"), "date"),
        stop_sms=read(to_flag, get("stopSMS") if stop is None else stop, "stopSms"),
        is_spam=read(to_flag, get("isSpam"), "isSpam"),
    )


class _Query(msgspec.Struct, gc=False):
    """One item of a multi-status request, as the API names its fields."""

    phoneNumber: str
    messageId: int


class _Request(msgspec.Struct, gc=False):
    apiKey: str
    SMSStatut_List: list[_Query]


_encode_json = msgspec.json.Encoder().encode
_decode_json = msgspec.json.Decoder().decode


def cost_resume_params(interval: str, days: tuple[date, date] | None) -> dict[str, str]:
    """The query string of ``GET /statistics/cost-resume``: the interval, and for a custom
    one its first and last day as the vendor writes them (``from``/``to``, DD-MM-YYYY)."""
    if days is None:
        return {"interval": interval}
    first, last = days
    return {
        "interval": interval,
        "from": first.strftime("%d-%m-%Y"),
        "to": last.strftime("%d-%m-%Y"),
    }


def encode_multi_status(api_key: Secret, queries: Sequence[tuple[str, int]]) -> SecretBody:
    """The multi-status request body for ``(e164_phone, message_id)`` pairs (the key is
    revealed only inside this expression: no frame holds it in clear)."""
    return SecretBody(
        _encode_json(_Request(api_key.reveal(), list(itertools.starmap(_Query, queries)))),
        api_key,
    )


class _DocumentedAnswer(msgspec.Struct, gc=False):
    """A successful multi-status answer exactly as documented (entries: see WireResult)."""

    success: bool
    code: int
    StatutResponse_List: list[WireResult]


# Lax mode takes the documented strings for what they mean: "1517934416" -> int, "0" -> False.
_decode_documented = msgspec.json.Decoder(_DocumentedAnswer, strict=False).decode


def decode_multi_status(content: bytes) -> MultiStatusBody | ErrorBody:
    """Decode a JSON multi-status answer; :class:`ResponseFormatError` if it is not one.

    The documented shape decodes in one C pass straight into :class:`WireResult`s (the
    hot path of the SDK). Anything else (an error body, another list key, ``stopSMS``,
    an entry of another shape, broken JSON) takes the general path, entry by entry.
    """
    try:
        answer = _decode_documented(content)
    except msgspec.DecodeError:
        answer = None
    if answer is not None and answer.success:
        return MultiStatusBody(answer.StatutResponse_List)
    return _multi_status_body(_loads(content))


def decode_multi_status_xml(content: bytes) -> MultiStatusBody | ErrorBody:
    """Decode an XML (``_format=xml``) multi-status answer."""
    return _multi_status_body(xml_to_body(content, "multi"))


def _multi_status_body(raw_body: Any) -> MultiStatusBody | ErrorBody:
    body = _object_body(raw_body)
    if isinstance(body, ErrorBody):
        return body
    raw_entries = _first(body, *_LIST_KEYS)
    if not isinstance(raw_entries, list):
        raise ResponseFormatError("the answer has no StatutResponse_List")
    entries: list[WireResult] = []
    append = entries.append
    undecodable = 0
    odd = Oddities()
    for raw in raw_entries:
        try:
            append(structure_status_result(raw, odd))
        except (AttributeError, TypeError, ValueError):
            undecodable += 1
    return MultiStatusBody(entries, undecodable, odd.count, odd.first)


# -- bulk-status ----------------------------------------------------------------------


def structure_sms_recipient(entry: dict[str, Any], odd: object = None) -> SMSRecipient:
    """One SMS bulk-status entry. Lenient: an unreadable date or flag reads as None
    (counted in ``odd``, an :class:`Oddities`) instead of failing the whole report."""
    if not isinstance(odd, Oddities):
        odd = Oddities()
    raw = entry.get("status")
    text = "" if raw is None else str(raw)
    timestamp = odd.read(to_timestamp, entry.get("date"), "date")
    stop = odd.read(to_flag, _first(entry, "stopSMS", "stopSms"), "stopSMS")
    return SMSRecipient(
        phone_number=str(entry.get("phoneNumber") or ""),
        status_text=text,
        timestamp=timestamp,
        stop_sms=stop,
    )


def _to_cost(value: object) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        cost = float(value)
        if math.isfinite(cost):
            return cost
    raise ValueError(f"not a cost: {value!r}")


def structure_mail_recipient(entry: dict[str, Any], odd: object = None) -> MailRecipient:
    """One Mail Partner bulk-status entry (lenient like :func:`structure_sms_recipient`:
    ``"stopMail": "oui"`` reads as None instead of losing the report)."""
    if not isinstance(odd, Oddities):
        odd = Oddities()
    raw = entry.get("status")
    text = "" if raw is None else str(raw)
    token = entry.get("token")
    return MailRecipient(
        email=str(entry.get("email") or ""),
        status_text=text,
        token=None if token is None else str(token),
        cost=odd.read(_to_cost, entry.get("cost"), "cost"),
        stop_mail=odd.read(to_flag, _first(entry, "stopMail", "stopMAIL"), "stopMail"),
        timestamp=odd.read(to_timestamp, entry.get("date"), "date"),
    )


def _bulk_entries(body: dict[str, Any]) -> list[dict[str, Any]]:
    entries = _first(body, *_LIST_KEYS)
    if entries is None:
        return []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ResponseFormatError("the answer's recipient list is not a list of objects")
    return entries


def structure_sms_report(body: dict[str, Any], _: object = None) -> SMSBulkReport:
    """A whole SMS bulk-status answer (unreadable fields: None, logged once)."""
    odd = Oddities()
    recipients = tuple(structure_sms_recipient(e, odd) for e in _bulk_entries(body))
    odd.log("bulk-status")
    return SMSBulkReport(str(_first(body, "message_id", "messageId") or ""), recipients)


def structure_mail_report(body: dict[str, Any], _: object = None) -> MailBulkReport:
    """A whole Mail Partner bulk-status answer (unreadable fields: None, logged once)."""
    odd = Oddities()
    recipients = tuple(structure_mail_recipient(e, odd) for e in _bulk_entries(body))
    odd.log("Mail bulk-status")
    return MailBulkReport(str(_first(body, "messageId", "message_id") or ""), recipients)


def _bulk_decoder(
    structure: Callable[[dict[str, Any]], R], kind: str, *, xml: bool
) -> Callable[[bytes], R | ErrorBody]:
    """A decoder of one bulk-status endpoint's answers, JSON or XML, read by ``structure``."""

    def decode(content: bytes) -> R | ErrorBody:
        body = _object_body(xml_to_body(content, kind) if xml else _loads(content))
        if isinstance(body, ErrorBody):
            return body
        try:
            return structure(body)
        except (AttributeError, TypeError, ValueError) as exc:
            raise ResponseFormatError(f"the answer has an unexpected field: {exc}") from None

    decode.__name__ = f"decode_{kind}{'_xml' if xml else ''}"
    return decode


decode_sms_bulk = _bulk_decoder(structure_sms_report, "sms_bulk", xml=False)
decode_sms_bulk_xml = _bulk_decoder(structure_sms_report, "sms_bulk", xml=True)
decode_mail_bulk = _bulk_decoder(structure_mail_report, "mail_bulk", xml=False)
decode_mail_bulk_xml = _bulk_decoder(structure_mail_report, "mail_bulk", xml=True)


# -- message-status, bulk-status-by-tag, statistics/cost-resume ------------------------


class Oddities:
    """The fields of one answer that could not be read (each read as None instead)."""

    __slots__ = ("count", "first")

    def __init__(self) -> None:
        self.count = 0
        self.first = ""

    def read(self, convert: Callable[[Any], T], value: object, name: str) -> T | None:
        """``convert(value)``, or None (counted) when the value is not readable."""
        try:
            return convert(value)
        except (TypeError, ValueError, ArithmeticError):
            self.count += 1
            if not self.first:
                self.first = f"{name}={str(value)[:40]!r}"
            return None

    def log(self, what: str) -> None:
        """One warning for the whole answer, if any field was unreadable."""
        if self.count:
            logger.warning(
                "%d unreadable field(s) in a %s answer, read as None (first: %s)",
                self.count,
                what,
                self.first,
            )


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


_MESSAGE_FIELDS = (
    "success",
    "code",
    "number",
    "messageId",
    "stopSms",
    "date",
    "statut",
    "cost",
    "countryCode",
    "currency",
)


def structure_message_status(body: dict[str, Any]) -> MessageStatus:
    """A message-status answer (``number``/``statut`` as documented, or the multi-status
    spellings). ``phone_number``/``message_id`` are the server's; the client puts the
    query's E.164 number and id in their place."""
    odd = Oddities()
    text = _first(body, "statut", "status")
    text = "" if text is None else str(text)
    message_id = odd.read(to_int, _first(body, "messageId", "message_id"), "messageId")
    result = MessageStatus(
        phone_number=str(_first(body, "number", "phoneNumber") or ""),
        message_id=message_id or 0,
        status_text=text,
        timestamp=odd.read(to_timestamp, body.get("date"), "date"),
        stop_sms=odd.read(to_flag, _first(body, "stopSms", "stopSMS"), "stopSms"),
        cost=odd.read(to_decimal, body.get("cost"), "cost"),
        country_code=_text(body.get("countryCode")),
        currency=_text(body.get("currency")),
    )
    odd.log("message-status")
    return result


def decode_message_status(content: bytes) -> MessageStatus | ErrorBody:
    """Decode a JSON message-status answer."""
    body = _object_body(_loads(content))
    return body if isinstance(body, ErrorBody) else structure_message_status(body)


def decode_message_status_xml(content: bytes) -> MessageStatus | ErrorBody:
    """Decode an XML (``_format=xml``) message-status answer: positional entries in the
    order of the documented JSON answer."""
    values = _parse_xml(content)
    if values[0] != "true":
        message = values[2] if len(values) > 2 and isinstance(values[2], str) else ""
        error = _error_body({"success": False, "code": values[1], "message": message})
        if error is not None:
            return error
    if not all(isinstance(v, str) for v in values):
        raise ResponseFormatError("the XML message-status answer has nested entries")
    body = dict(zip(_MESSAGE_FIELDS, values, strict=False))
    return structure_message_status({**body, "success": True})


def _int_or_none(value: object) -> int | None:
    return None if value is None or value == "" else to_int(value)


def decode_tag_status(content: bytes) -> TagStatusReport | ErrorBody:
    """Decode a bulk-status-by-tag answer (the tag is filled in by the client)."""
    body = _object_body(_loads(content))
    if isinstance(body, ErrorBody):
        return body
    odd = Oddities()
    recipients = tuple(structure_sms_recipient(e, odd) for e in _bulk_entries(body))
    report = TagStatusReport(
        tag="",
        current_page=odd.read(_int_or_none, body.get("currentPage"), "currentPage"),
        total=odd.read(_int_or_none, body.get("total"), "total"),
        recipients=recipients,
    )
    odd.log("bulk-status-by-tag")
    if not report.is_complete:
        logger.warning(
            "bulk-status-by-tag: the answer lists %d of %d recipients (page %s); the API "
            "documents no way to ask for the others",
            len(recipients),
            report.total,
            report.current_page,
        )
    return report


def _cost_row(entry: object, odd: Oddities) -> CostRow:
    if not isinstance(entry, dict):
        raise ResponseFormatError("a cost-resume row is not an object")
    return CostRow(
        month=str(entry.get("month") or ""),
        year=odd.read(_int_or_none, entry.get("year"), "year"),
        month_number=odd.read(_int_or_none, entry.get("m"), "m"),
        timestamp=odd.read(to_timestamp, entry.get("date"), "date"),
        type=str(entry.get("type") or ""),
        cost=odd.read(to_decimal, entry.get("cost"), "cost"),
        messages_sent=odd.read(_int_or_none, entry.get("nb_send"), "nb_send"),
    )


def decode_cost_statistics(content: bytes) -> CostStatistics | ErrorBody:
    """Decode a statistics/cost-resume answer (the interval is filled in by the client)."""
    body = _object_body(_loads(content))
    if isinstance(body, ErrorBody):
        return body
    rows = _first(body, "datas", "data")
    if rows is None:
        rows = []
    if not isinstance(rows, list):
        raise ResponseFormatError("the cost-resume answer's datas is not a list")
    odd = Oddities()
    statistics = CostStatistics(interval="", rows=tuple(_cost_row(r, odd) for r in rows))
    odd.log("statistics/cost-resume")
    return statistics


#: (JSON decoder, XML decoder) per endpoint, chosen by the client's ``response_format``.
DECODERS: dict[str, tuple[Any, Any]] = {
    "multi": (decode_multi_status, decode_multi_status_xml),
    "sms_bulk": (decode_sms_bulk, decode_sms_bulk_xml),
    "mail_bulk": (decode_mail_bulk, decode_mail_bulk_xml),
    # The vendor documents ``_format`` for message-status only: the others are JSON.
    "message": (decode_message_status, decode_message_status_xml),
    "tag": (decode_tag_status, None),
    "cost": (decode_cost_statistics, None),
}
