"""The sandbox's deterministic ground truth: what every (phone, message id) pair answers.

Everything here is a pure function of the seed and the item (plus, for ``Waiting`` items,
of how many times the item was polled and how long the app has run), so a test can know
in advance exactly what the sandbox will answer. The hashing is ``zlib.crc32`` and
integer multiplications: stable across processes and platforms (unlike ``hash()``).

The status mix, over random items of existing messages and missing ones alike: about
70% ``Delivered``, 12% ``Not delivered``, 10% ``Waiting``, 8% not found (code 4). About
3% (1 in 32) of message ids do not exist at all: every item of such a message is not
found, and its bulk-status answers code 4.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from ._config import SandboxConfig

__all__ = [
    "STATUS_SPELLINGS",
    "VENDOR_WORDING",
    "CostRowTruth",
    "MailTruth",
    "Truth",
    "bulk_recipients",
    "cost_rows",
    "local_date",
    "tag_message_id",
    "ground_truth",
    "mail_bulk_recipients",
    "mail_ground_truth",
    "normalize_phone",
]

DELIVERED = "Delivered"
NOT_DELIVERED = "Not delivered"
WAITING = "Waiting"
NOT_FOUND_EN = "Number not found"
NOT_FOUND_FR = "Numéro introuvable"

#: Every spelling the sandbox may send for each canonical status when
#: ``status_spellings="variants"`` (the canonical one first). They are the spellings the
#: vendor's documentation shows: lowercase forms, ``ko`` (not sent) and operator codes.
STATUS_SPELLINGS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        DELIVERED: (DELIVERED, "delivered", "DELIVRD"),
        NOT_DELIVERED: (NOT_DELIVERED, "not delivered", "ko", "UNDELIV", "EXPIRED", "REJECTD"),
        # UNKNOWN: the operator has not (yet) said; the item is not final.
        WAITING: (WAITING, "waiting", "PENDING", "ACCEPTD", "ENROUTE", "UNKNOWN"),
    }
)

#: Vendor error messages by code, English and French. Where the vendor's pages print a
#: text it is used verbatim (1, 2, 3, 4 and 10 from the status pages; the French 6 and 9
#: from its send page, "Le format n'est pas correct", "Ne semble pas être un numéro de
#: mobile"); the English 6 and 9 translate those; 5, 50, 90, 429 and 500 are the
#: sandbox's own wording of the meanings the vendor's code table gives.
MESSAGES: Mapping[str, Mapping[int, str]] = MappingProxyType(
    {
        "en": {
            1: "API Key is required",
            2: "Phone number is required",
            3: "Message ID is required",
            4: "Message not found",
            5: "The number list is empty",
            6: "The format is not correct",
            9: "Does not seem to be a mobile number",
            10: "Invalid API key",
            50: "At most 500 numbers per request",
            90: "Malformed JSON",
            429: "Too many requests",
            500: "Queue error",
        },
        "fr": {
            1: "La Clé API est requise",
            2: "Le numéro de téléphone est requis",
            3: "L’ID du message est requis",  # noqa: RUF001 (the vendor's text)
            4: "Message introuvable",
            5: "La liste de numéros est vide",
            6: "Le format n'est pas correct",
            9: "Ne semble pas être un numéro de mobile",
            10: "Clé API incorrecte",
            50: "500 numéros maximum par requête",
            90: "JSON mal formé",
            429: "Trop de requêtes",
            500: "Erreur de file d'attente",
        },
    }
)

#: Which entries of :data:`MESSAGES` are the vendor's own printed wording (the rest are
#: the sandbox's), by language.
VENDOR_WORDING: Mapping[str, frozenset[int]] = MappingProxyType(
    {"en": frozenset({1, 2, 3, 4, 10}), "fr": frozenset({1, 3, 4, 6, 9, 10})}
)

# ---------------------------------------------------------------------------------------
# hashing

_M64 = (1 << 64) - 1
_crc32 = zlib.crc32

# item kinds
NF, DEL, UND, WAIT = 0, 1, 2, 3
KIND_STATUS = (NOT_FOUND_EN, DELIVERED, NOT_DELIVERED, WAITING)

# Thresholds on 16 bits, for items of existing messages. 1 message id in 32 does not
# exist, so P(not found | message exists) = (0.08 - 1/32) / (31/32) and the other
# statuses are scaled by 32/31.
_EXISTS = 31 / 32
_T_NF = round(65536 * (0.08 - 1 / 32) / _EXISTS)
_T_DEL = _T_NF + round(65536 * 0.70 / _EXISTS)
_T_UND = _T_DEL + round(65536 * 0.12 / _EXISTS)
# mail recipients are all found: 70 / 12 / 10 scaled to 92
_TM_DEL = round(65536 * 0.70 / 0.92)
_TM_UND = _TM_DEL + round(65536 * 0.12 / 0.92)

DATE_BASE = 1_500_000_000  # messages are "sent" between mid-2017 and mid-2022
DATE_SPAN = 157_680_000
WAIT_EXTRA = 600  # a Waiting item that turns final is dated this much later


def mix(h: int) -> int:
    """A 64-bit finalizer (splitmix64-like) spreading a 32-bit CRC over 64 bits."""
    x = (h * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & _M64
    x ^= x >> 29
    x = (x * 0xBF58476D1CE4E5B9) & _M64
    return x ^ (x >> 32)


def seed_init(seed: int) -> int:
    """The CRC initial value that stands for ``seed`` in every hash."""
    return _crc32(b"partner-async-sandbox:%d" % seed)


def mid_mix(init: int, message_id: int) -> int:
    """A message id's 32-bit hash (the CRC initial value of its items)."""
    return ((message_id ^ init) * 0x9E3779B1) & 0xFFFFFFFF


def sms_message_info(init: int, message_id: int) -> tuple[bool, int]:
    """(exists, sent timestamp) of an SMS message id (ids <= 0 never exist; 1 in 32
    others does not exist either)."""
    e = mid_mix(init, message_id)
    return (message_id > 0 and (e & 0x1F00) != 0), DATE_BASE + e % DATE_SPAN


def mail_message_info(init: int, message_id: str) -> tuple[bool, int]:
    """(exists, sent timestamp) of a Mail message id (1 in 32 does not exist)."""
    e = mix(_crc32(b"mail-msg|" + message_id.encode("utf-8", "replace"), init)) & 0xFFFFFFFF
    return (bool(message_id) and (e & 0x1F00) != 0), DATE_BASE + e % DATE_SPAN


def item_hash(init: int, phone: str, message_id: int) -> tuple[int, int]:
    """The two 32-bit hashes ``(h, y)`` of one (international number, message id) item.

    Cheap on purpose, as it runs for every multi-status item (the app inlines this exact
    formula): ``h`` is the CRC-32 of the number started from the message id's hash, ``y``
    a multiplicative scramble of ``h`` (so the status does not depend linearly on it).
    """
    h = _crc32(phone.encode(), ((message_id ^ init) * 0x9E3779B1) & 0xFFFFFFFF)
    return h, (h * 0x85EBCA6B) & 0xFFFFFFFF


def mail_item_hash(init: int, email: str, message_id: str) -> tuple[int, int]:
    """The two 32-bit hashes ``(h, y)`` of one (email, message id) mail recipient."""
    h = _crc32(f"mail|{email}|{message_id}".encode("utf-8", "replace"), init)
    return h, (h * 0x85EBCA6B) & 0xFFFFFFFF


# Fields of an item's hashes (h, y):
#   y >> 16: status bucket (16 bits); (y >> 8) & 0xFF: status spelling;
#   (y >> 5) & 7: field variants (stop key, flag style, date style);
#   h & 0x3FF: stop flag; (h >> 10) & 0x3FF: spam flag; (h >> 20) & 0x1FF: delivery
#   delay in seconds; h >> 29: how a Waiting item ends.


def sms_kind(y: int, exists: bool) -> int:
    """The item's kind before any poll: NF, DEL, UND or WAIT."""
    if not exists:
        return NF
    u = y >> 16
    if u < _T_NF:
        return NF
    if u < _T_DEL:
        return DEL
    if u < _T_UND:
        return UND
    return WAIT


def mail_kind(y: int) -> int:
    """A mail recipient's kind before any poll: DEL, UND or WAIT."""
    u = y >> 16
    return DEL if u < _TM_DEL else UND if u < _TM_UND else WAIT


def waiting_outcome(h: int) -> int:
    """What a Waiting item turns into: DEL (75%) or UND."""
    return DEL if (h >> 29) < 6 else UND


def item_date(h: int, sent: int, waited: bool) -> int:
    """The report date of an item of a message sent at ``sent``."""
    return sent + 1 + ((h >> 20) & 0x1FF) + (WAIT_EXTRA if waited else 0)


def stop_flag(h: int) -> bool:
    """~2% of recipients asked to stop."""
    return (h & 0x3FF) < 20


def spam_flag(h: int) -> bool:
    """~1% of messages were flagged as spam."""
    return ((h >> 10) & 0x3FF) < 10


def spelling(y: int, canonical: str) -> str:
    """The deterministic spelling variant of ``canonical`` for the item of hash ``y``."""
    choices = STATUS_SPELLINGS[canonical]
    return choices[((y >> 8) & 0xFF) % len(choices)]


def is_final(polls: int, elapsed: float | None, config: SandboxConfig | None) -> bool:
    """Whether a Waiting item answered ``polls`` times before, ``elapsed`` s after the
    app started, is final now."""
    waiting_polls = 2 if config is None else config.waiting_polls
    waiting_seconds = None if config is None else config.waiting_seconds
    if waiting_polls is not None and polls >= waiting_polls:
        return True
    return waiting_seconds is not None and elapsed is not None and elapsed >= waiting_seconds


def resolve_waiting(
    kind: int, h: int, polls: int, elapsed: float | None, config: SandboxConfig | None
) -> tuple[int, bool]:
    """``(kind, waited)``: a Waiting item's final kind once :func:`is_final` says so.

    The one rule both the app and :func:`ground_truth` answer by.
    """
    if kind == WAIT and is_final(polls, elapsed, config):
        return waiting_outcome(h), True
    return kind, False


# ---------------------------------------------------------------------------------------
# phone numbers

_FAST_FR = re.compile(r"\+33[67]\d{8}", re.ASCII).fullmatch
_STRIP = str.maketrans("", "", " .-()/\t\u00a0")


def normalize_phone(raw: object) -> tuple[int, str]:
    """``(code, number)``: code 0 and the international form, or an error code.

    Accepted: ``+33612345678``, ``0033612345678``, national French ``0612345678`` (spaces,
    dots, dashes and parentheses ignored), ``+33 (0)6...``, and international numbers
    without ``+`` (``33612345678``). Errors: 2 (missing or empty), 6 (not a phone number:
    letters, fewer than 8 or more than 15 digits, a French number without 9 digits after
    33), 9 (a French number that is not a mobile: not ``+336`` / ``+337``). Only French
    numbers are checked for being mobiles: any well-formed foreign number is accepted.
    """
    if isinstance(raw, str):
        if _FAST_FR(raw):
            return 0, raw
        if not raw.strip():
            return 2, raw
        s = raw.translate(_STRIP)
    elif isinstance(raw, int) and not isinstance(raw, bool):
        s = str(raw)
    elif raw is None:
        return 2, ""
    else:
        return 6, str(raw)
    if s.startswith("+"):
        digits = s[1:]
    elif s.startswith("00"):
        digits = s[2:]
    elif s.startswith("0"):
        digits = "33" + s[1:]
    else:
        digits = s
    if not (digits.isascii() and digits.isdigit()):
        return 6, s
    if digits.startswith("33"):
        rest = digits[2:]
        if len(rest) == 10 and rest.startswith("0"):  # +33 (0)6 12 34 56 78
            rest = rest[1:]
        if len(rest) != 9:
            return 6, s
        if rest[0] not in "67":
            return 9, "+33" + rest
        return 0, "+33" + rest
    if not 8 <= len(digits) <= 15:
        return 6, s
    return 0, "+" + digits


#: The largest message id (PHP's ``PHP_INT_MAX``): anything larger is no message's id.
_MAX_MESSAGE_ID = 2**63 - 1


def parse_message_id(raw: object) -> int | None:
    """An SMS message id as an int (ints and digit strings), or None if it is not one
    (also when it is larger than any id: a 5,000-digit id is "not found", never a crash)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if raw <= _MAX_MESSAGE_ID else None
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
        value = int(raw)
        return value if value <= _MAX_MESSAGE_ID else None
    return None


# ---------------------------------------------------------------------------------------
# public ground truth


@attrs.frozen
class Truth:
    """What the sandbox answers for one multi-status item (and the same recipient in an
    SMS bulk-status answer).

    Attributes:
        phone_number: the number in international form (as sent if it is not valid).
        message_id: the message id (as sent if it is not an integer).
        success: True when the item was found (code 200).
        code: 200 found, 4 not found; 2, 3, 6 or 9 for an invalid item.
        status: the canonical status: ``"Delivered"``, ``"Not delivered"``,
            ``"Waiting"``, ``"Number not found"``, or the error message of an invalid item.
        wire_status: the exact ``status`` text sent under the given config (a spelling
            variant, the French not-found text...).
        date: the report's Unix timestamp (UTC), or None when not found/invalid.
        stop_sms: the recipient asked to stop receiving SMS.
        is_spam: the message was flagged as spam.
        final: False only while the item is ``Waiting``.
    """

    phone_number: str
    message_id: int | str | None
    success: bool
    code: int
    status: str
    wire_status: str
    date: int | None
    stop_sms: bool
    is_spam: bool
    final: bool


@attrs.frozen
class MailTruth:
    """What the sandbox answers for one recipient of a Mail bulk-status answer.

    Attributes:
        email: the recipient's address.
        message_id: the e-mail's message id.
        token: the recipient's token.
        status: the canonical status (``"Delivered"``, ``"Not delivered"``, ``"Waiting"``).
        wire_status: the exact text sent under the given config.
        cost: credits charged (always 1).
        stop_mail: the recipient unsubscribed.
        date: the report's Unix timestamp (UTC).
        final: False only while the recipient is ``Waiting``.
    """

    email: str
    message_id: str
    token: str
    status: str
    wire_status: str
    cost: int
    stop_mail: bool
    date: int
    final: bool


def _resolve_seed(seed: int | None, config: SandboxConfig | None) -> int:
    if seed is not None:
        return seed
    return config.seed if config is not None else 0


def _wire(y: int, canonical: str, config: SandboxConfig | None) -> str:
    if config is not None and config.status_spellings == "variants":
        return spelling(y, canonical)
    return canonical


def ground_truth(
    phone_number: object,
    message_id: object,
    *,
    seed: int | None = None,
    polls: int = 0,
    elapsed: float | None = None,
    config: SandboxConfig | None = None,
) -> Truth:
    """Exactly what the sandbox answers for one multi-status item.

    Args:
        phone_number: the number as it would be sent (national forms are normalised).
        message_id: the message id as it would be sent.
        seed: the sandbox seed; None takes ``config.seed`` (or 0 without a config).
        polls: how many times the sandbox already answered this item (it counts them per
            (number, message id), across multi-status and bulk-status requests).
        elapsed: seconds of the app's clock since the app was created (matters only
            with ``config.waiting_seconds``).
        config: the sandbox config (waiting rules, spellings, language); None means
            the defaults.

    Invalid items give the code the sandbox uses for them: 4 ("Number not found", as the
    vendor's page answers its own sample request) under the default
    ``item_errors="not_found"``; their own code (2, 3, 6, 9) under ``"entry"`` or
    ``"request"`` (as an entry or as the whole request's error).
    """
    language = config.language if config is not None else "en"
    not_found = NOT_FOUND_FR if language == "fr" else NOT_FOUND_EN
    code, phone = normalize_phone(phone_number)
    if not code and message_id is None:
        code = 3
    if code:
        echo = _echo_id(message_id)
        if config is None or config.item_errors == "not_found":
            return Truth(phone, echo, False, 4, NOT_FOUND_EN, not_found, None, False, False,
                         True)  # fmt: skip
        message = MESSAGES[language][code]
        return Truth(phone, echo, False, code, message, message, None, False, False, True)
    mid = parse_message_id(message_id)
    if mid is None:
        return Truth(phone, _echo_id(message_id), False, 4, NOT_FOUND_EN, not_found, None,
                     False, False, True)  # fmt: skip
    init = seed_init(_resolve_seed(seed, config))
    exists, sent = sms_message_info(init, mid)
    h, y = item_hash(init, phone, mid)
    kind = sms_kind(y, exists)
    if kind == NF:
        return Truth(phone, mid, False, 4, NOT_FOUND_EN, not_found, None, False, False, True)
    kind, waited = resolve_waiting(kind, h, polls, elapsed, config)
    canonical = KIND_STATUS[kind]
    return Truth(
        phone,
        mid,
        True,
        200,
        canonical,
        _wire(y, canonical, config),
        sent if kind == WAIT else item_date(h, sent, waited),
        stop_flag(h),
        spam_flag(h),
        kind != WAIT,
    )


def _echo_id(message_id: object) -> int | str | None:
    if message_id is None or isinstance(message_id, (int, str)):
        return message_id
    return str(message_id)


def sms_recipients(init: int, message_id: int) -> list[str] | None:
    """The recipients of an SMS message (see :func:`bulk_recipients`)."""
    exists, _ = sms_message_info(init, message_id)
    if not exists:
        return None
    count = 1 + mix(_crc32(b"sms-count|%d" % message_id, init)) % 50
    phones: list[str] = []
    seen: set[str] = set()
    i = 0
    while len(phones) < count and i < 20 * count:
        y = mix(_crc32(b"sms-rcpt|%d|%d" % (message_id, i), init))
        i += 1
        phone = f"+33{6 + (y & 1)}{(y >> 1) % 100_000_000:08d}"
        if phone in seen or sms_kind(item_hash(init, phone, message_id)[1], True) == NF:
            continue
        seen.add(phone)
        phones.append(phone)
    return phones


def bulk_recipients(
    message_id: int | str, *, seed: int | None = None, config: SandboxConfig | None = None
) -> tuple[str, ...] | None:
    """The recipients (international numbers, in answer order) of an SMS message, or None
    when the sandbox answers code 4 (message not found) for it.

    A message has 1 to 50 recipients; each recipient's status is
    ``ground_truth(number, message_id, ...)``, never "not found".
    """
    mid = parse_message_id(message_id)
    if mid is None:
        return None
    phones = sms_recipients(seed_init(_resolve_seed(seed, config)), mid)
    return None if phones is None else tuple(phones)


_MAIL_NAMES = ("alice", "bruno", "chloe", "david", "emma", "farid", "gina", "hugo", "ines",
               "jules", "karim", "lea", "malik", "nina", "oscar", "paul")  # fmt: skip
_MAIL_DOMAINS = ("example.com", "example.org", "example.net", "example.fr")


def mail_recipients(init: int, message_id: str) -> list[tuple[str, str]] | None:
    """(email, token) of each recipient of an e-mail (see :func:`mail_bulk_recipients`)."""
    exists, _ = mail_message_info(init, message_id)
    if not exists:
        return None
    encoded = message_id.encode("utf-8", "replace")
    count = 1 + mix(_crc32(b"mail-count|" + encoded, init)) % 50
    result: list[tuple[str, str]] = []
    seen: set[str] = set()
    i = 0
    while len(result) < count and i < 20 * count:
        y = mix(_crc32(b"mail-rcpt|%d|" % i + encoded, init))
        i += 1
        email = f"{_MAIL_NAMES[y & 15]}.{(y >> 4) % 100_000}@{_MAIL_DOMAINS[(y >> 24) & 3]}"
        if email in seen:
            continue
        seen.add(email)
        result.append((email, f"{y >> 1:016x}"[-16:]))
    return result


def mail_bulk_recipients(
    message_id: str | int, *, seed: int | None = None, config: SandboxConfig | None = None
) -> tuple[str, ...] | None:
    """The recipients' e-mail addresses (in answer order) of a Mail message, or None when
    the sandbox answers code 4 for it. Statuses: :func:`mail_ground_truth`."""
    found = mail_recipients(seed_init(_resolve_seed(seed, config)), str(message_id).strip())
    return None if found is None else tuple(email for email, _ in found)


def mail_ground_truth(
    email: str,
    message_id: str | int,
    *,
    seed: int | None = None,
    polls: int = 0,
    elapsed: float | None = None,
    config: SandboxConfig | None = None,
) -> MailTruth | None:
    """Exactly what the sandbox answers for one recipient of a Mail bulk-status answer
    (after ``polls`` earlier bulk-status answers for that message), or None when
    ``email`` is not a recipient of that message (or the message does not exist)."""
    mid = str(message_id).strip()
    init = seed_init(_resolve_seed(seed, config))
    found = mail_recipients(init, mid)
    if found is None:
        return None
    tokens = dict(found)
    if email not in tokens:
        return None
    _, sent = mail_message_info(init, mid)
    h, y = mail_item_hash(init, email, mid)
    kind = mail_kind(y)
    kind, waited = resolve_waiting(kind, h, polls, elapsed, config)
    canonical = KIND_STATUS[kind]
    return MailTruth(
        email=email,
        message_id=mid,
        token=tokens[email],
        status=canonical,
        wire_status=_wire(y, canonical, config),
        cost=1,
        stop_mail=stop_flag(h),
        date=sent if kind == WAIT else item_date(h, sent, waited),
        final=kind != WAIT,
    )


# ---------------------------------------------------------------------------------------
# message-status, bulk-status-by-tag, statistics/cost-resume

#: What one SMS costs in the sandbox (message-status ``cost``, cost-resume rows), in EUR.
SMS_COST = "0.045"


def local_date(timestamp: int) -> str:
    """A Unix timestamp as the vendor's local ``YYYY-MM-DD HH:MM:SS`` (Europe/Paris), the
    form of message-status's ``date``."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    when = datetime.fromtimestamp(timestamp, ZoneInfo("Europe/Paris"))
    return when.strftime("%Y-%m-%d %H:%M:%S")


def national(phone: str) -> str:
    """``+33612345678`` -> ``0612345678`` (how message-status echoes French numbers);
    other numbers unchanged."""
    return "0" + phone[3:] if phone.startswith("+33") and len(phone) == 12 else phone


def tag_message_id(
    tag: str, *, seed: int | None = None, config: SandboxConfig | None = None
) -> int:
    """The SMS message id the sandbox files ``tag`` under: ``bulk-status-by-tag?tag=...``
    answers :func:`bulk_recipients` of it (code 4 when that message does not exist), each
    recipient's status being :func:`ground_truth` of it."""
    init = seed_init(_resolve_seed(seed, config))
    return 1 + mix(_crc32(b"tag|" + tag.strip().encode("utf-8", "replace"), init)) % 10_000_000


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")  # fmt: skip


@attrs.frozen
class CostRowTruth:
    """One month of the sandbox's statistics/cost-resume answer.

    Attributes:
        year, month: the month (1 to 12).
        sent: SMS sent that month.
        cost: their cost in EUR, a string with 3 decimals (``sent * SMS_COST``).
        start: the month's first midnight in Europe/Paris, as a Unix timestamp.
    """

    year: int
    month: int
    sent: int
    cost: str
    start: int

    def wire(self) -> dict[str, object]:
        """The row as the vendor's page prints it (strings, except ``date``)."""
        return {
            "month": _MONTHS[self.month - 1],
            "year": str(self.year),
            "m": str(self.month),
            "date": self.start,
            "type": "month",
            "cost": self.cost,
            "nb_send": str(self.sent),
        }


def cost_rows(
    first: tuple[int, int],
    last: tuple[int, int],
    *,
    seed: int | None = None,
    config: SandboxConfig | None = None,
) -> list[CostRowTruth]:
    """The cost-resume rows of every month from ``first`` to ``last`` (``(year, month)``,
    inclusive): deterministic per seed and month."""
    from datetime import datetime
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    init = seed_init(_resolve_seed(seed, config))
    paris = ZoneInfo("Europe/Paris")
    rows: list[CostRowTruth] = []
    year, month = first
    while (year, month) <= last and len(rows) < 1200:
        sent = mix(_crc32(b"cost|%d|%d" % (year, month), init)) % 5000
        cost = (Decimal(SMS_COST) * sent).quantize(Decimal("0.001"))
        start = int(datetime(year, month, 1, tzinfo=paris).timestamp())
        rows.append(CostRowTruth(year, month, sent, str(cost), start))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return rows
