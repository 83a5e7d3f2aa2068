"""The sandbox's deterministic ground truth: what every (phone, message id) pair answers.

Everything here is a pure function of the seed and the item (plus, for ``Waiting`` items,
of how many times the item was polled and how long the app has run), so a test can know
in advance exactly what the sandbox will answer. The hashing is ``zlib.crc32`` and
integer multiplications: stable across processes and platforms (unlike ``hash()``).

One rule per product answers everything: :func:`sms_answers` for every SMS item (the
app's multi-status fast and slow paths, message-status, bulk-status, bulk-status-by-tag,
and :func:`ground_truth`), :func:`mail_answers` for every Mail recipient (the Mail
bulk-status endpoint and :func:`mail_ground_truth`). The app only renders what they say.

The status mix, over random items of existing messages and missing ones alike: about
70% ``Delivered``, 12% ``Not delivered``, 10% ``Waiting``, 8% not found (code 4). About
3% (1 in 32) of message ids do not exist at all: every item of such a message is not
found, and its bulk-status answers code 4.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Mapping, MutableMapping
from types import MappingProxyType

import attrs

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

_M32 = 0xFFFFFFFF
_M64 = (1 << 64) - 1
_crc32 = zlib.crc32

_MID_SCRAMBLE = 0x9E3779B1  # a message id's 32-bit hash: ((id ^ seed hash) * this) mod 2**32
_Y_SCRAMBLE = 0x85EBCA6B  # an item's second hash y: (h * this) mod 2**32
_EXISTS_BITS = 0x1F00  # a message whose hash has none of these bits does not exist (1 in 32)

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

# Fields of an item's hashes (h, y), read by sms_answers and mail_answers only:
#   y >> 16: status bucket (16 bits, against the thresholds above);
#   (y >> _SPELL_SHIFT) & 0xFF: which spelling of the status (status_spellings="variants");
#   (y >> _VARIANT_SHIFT) & 7: the VARIANT_* bits;
#   h & _FLAG_MASK < _STOP_BELOW: stop (~2%);
#   (h >> _SPAM_SHIFT) & _FLAG_MASK < _SPAM_BELOW: spam (~1%);
#   1 + (h >> _DELAY_SHIFT) & _DELAY_MASK: seconds from sending to the report;
#   h >> _OUTCOME_SHIFT < _DELIVERED_BELOW: a Waiting item ends Delivered (75%), else Not delivered.
_SPELL_SHIFT = 8
_VARIANT_SHIFT = 5
_FLAG_MASK = 0x3FF
_STOP_BELOW = 20
_SPAM_SHIFT = 10
_SPAM_BELOW = 10
_DELAY_SHIFT = 20
_DELAY_MASK = 0x1FF
_OUTCOME_SHIFT = 29
_DELIVERED_BELOW = 6

#: Bits of an answer's ``variant``: which documented form of its fields an item's entries
#: take under ``field_variants=True``; each endpoint maps them onto its own fields.
VARIANT_KEY = 1  # the stop key's other spelling (stopSMS / stopSms); Mail: cost as a number
VARIANT_BOOL_FLAGS = 2  # the flags' other form: JSON booleans or "0"/"1"
VARIANT_UNIX_DATE = 4  # the date as a JSON number (message-status: Unix time, not local)


def mix(h: int) -> int:
    """A 64-bit finalizer (splitmix64-like) spreading a 32-bit CRC over 64 bits."""
    x = (h * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & _M64
    x ^= x >> 29
    x = (x * 0xBF58476D1CE4E5B9) & _M64
    return x ^ (x >> 32)


def seed_init(seed: int) -> int:
    """The CRC initial value that stands for ``seed`` in every hash."""
    return _crc32(b"partner-async-sandbox:%d" % seed)


def sms_message_info(init: int, message_id: int) -> tuple[bool, int]:
    """(exists, sent timestamp) of an SMS message id (ids <= 0 never exist; 1 in 32
    others does not exist either): what :func:`sms_answers` works out per item."""
    e = ((message_id ^ init) * _MID_SCRAMBLE) & _M32
    return (message_id > 0 and (e & _EXISTS_BITS) != 0), DATE_BASE + e % DATE_SPAN


def mail_message_info(init: int, message_id: str) -> tuple[bool, int]:
    """(exists, sent timestamp) of a Mail message id (1 in 32 does not exist)."""
    e = mix(_crc32(b"mail-msg|" + message_id.encode("utf-8", "replace"), init)) & _M32
    return (bool(message_id) and (e & _EXISTS_BITS) != 0), DATE_BASE + e % DATE_SPAN


def _after_waiting(h: int) -> int:
    """What a Waiting item turns into once final: DEL (75%) or UND."""
    return DEL if (h >> _OUTCOME_SHIFT) < _DELIVERED_BELOW else UND


def _spelling(y: int, canonical: str) -> str:
    """The deterministic spelling of ``canonical`` for the item of hash ``y``."""
    choices = STATUS_SPELLINGS[canonical]
    return choices[((y >> _SPELL_SHIFT) & 0xFF) % len(choices)]


def _waiting_rule(config: SandboxConfig, elapsed: float | None) -> tuple[int | None, bool]:
    """``(waiting_polls, timed_out)``: a Waiting item answered ``seen`` times before is
    final now when ``timed_out`` or ``seen >= waiting_polls``."""
    seconds = config.waiting_seconds
    return config.waiting_polls, seconds is not None and elapsed is not None and elapsed >= seconds


#: What a found SMS item answers: ``(kind, wire status, date, stop, spam, variant)``.
SmsAnswer = tuple[int, str, int, bool, bool, int]

#: What a Mail recipient answers: ``(kind, wire status, date, stop, variant)``.
MailAnswer = tuple[int, str, int, bool, int]


def sms_answers(
    pairs: Iterable[tuple[str, int]],
    polls: MutableMapping[tuple[str, int], int],
    *,
    init: int,
    config: SandboxConfig,
    elapsed: float | None = None,
) -> list[SmsAnswer | None]:
    """THE rule of every SMS answer: what each valid item answers now, in order.

    Multi-status (the fast and the slow path), message-status, bulk-status,
    bulk-status-by-tag and :func:`ground_truth` all answer by this function.

    Args:
        pairs: ``(international number, integer message id)`` items (see :func:`check_item`).
        polls: how many times each item was answered while Waiting; each Waiting item's
            count goes up by one here (the count before it is its poll number).
        init: :func:`seed_init` of the seed.
        config: the waiting rules (``waiting_polls``, ``waiting_seconds``) and
            ``status_spellings``.
        elapsed: seconds since the app started (read only with ``waiting_seconds``).

    Returns:
        None for an item not found (code 4), else ``(kind, wire status, date, stop, spam,
        variant)``: kind DEL, UND or WAIT after this poll, the status as sent, the
        report's Unix date, the stop and spam flags, the item's ``VARIANT_*`` bits.

    Batched because every multi-status item of a request goes through one loop here:
    the sandbox's hot path, written out without a call per item.
    """
    waiting_polls, timed_out = _waiting_rule(config, elapsed)
    variants = config.status_spellings == "variants"
    # every constant read per item as a local (a global costs a lookup per read)
    crc32, m32, span, base = _crc32, _M32, DATE_SPAN, DATE_BASE
    mid_scramble, y_scramble, exists_bits = _MID_SCRAMBLE, _Y_SCRAMBLE, _EXISTS_BITS
    t_nf, t_del, t_und = _T_NF, _T_DEL, _T_UND
    delay_shift, delay_mask, flag_mask = _DELAY_SHIFT, _DELAY_MASK, _FLAG_MASK
    stop_below, spam_shift, spam_below = _STOP_BELOW, _SPAM_SHIFT, _SPAM_BELOW
    variant_shift, statuses = _VARIANT_SHIFT, KIND_STATUS
    answers: list[SmsAnswer | None] = []
    append = answers.append
    for phone, mid in pairs:
        e = ((mid ^ init) * mid_scramble) & m32
        h = crc32(phone.encode(), e)
        y = (h * y_scramble) & m32
        u = y >> 16
        if u < t_nf or not e & exists_bits or mid <= 0:
            append(None)
            continue
        sent = base + e % span
        date = sent + 1 + ((h >> delay_shift) & delay_mask)
        if u < t_del:
            kind = DEL
        elif u < t_und:
            kind = UND
        else:
            key = (phone, mid)
            seen = polls.get(key, 0)
            polls[key] = seen + 1
            if timed_out or (waiting_polls is not None and seen >= waiting_polls):
                kind = _after_waiting(h)
                date += WAIT_EXTRA
            else:
                kind, date = WAIT, sent
        status = _spelling(y, statuses[kind]) if variants else statuses[kind]
        append((
            kind, status, date, (h & flag_mask) < stop_below,
            ((h >> spam_shift) & flag_mask) < spam_below, (y >> variant_shift) & 7,
        ))  # fmt: skip
    return answers


def mail_answers(
    emails: Iterable[str],
    message_id: str,
    polls: MutableMapping[str, int],
    *,
    init: int,
    config: SandboxConfig,
    elapsed: float | None = None,
) -> list[MailAnswer]:
    """THE rule of every Mail answer: what each recipient of an existing e-mail answers
    now, in order (the Mail bulk-status endpoint and :func:`mail_ground_truth`).

    ``polls`` counts per message how many answers listed a Waiting recipient; the
    message's count goes up by one here when one is Waiting. Returns
    ``(kind, wire status, date, stop, variant)`` per recipient (see :func:`sms_answers`).
    """
    waiting_polls, timed_out = _waiting_rule(config, elapsed)
    variants = config.status_spellings == "variants"
    seen = polls.get(message_id, 0)
    final = timed_out or (waiting_polls is not None and seen >= waiting_polls)
    _, sent = mail_message_info(init, message_id)
    waiting = False
    answers: list[MailAnswer] = []
    for email in emails:
        h = _crc32(f"mail|{email}|{message_id}".encode("utf-8", "replace"), init)
        y = (h * _Y_SCRAMBLE) & _M32
        u = y >> 16
        date = sent + 1 + ((h >> _DELAY_SHIFT) & _DELAY_MASK)
        kind = DEL if u < _TM_DEL else UND if u < _TM_UND else WAIT
        if kind == WAIT:
            waiting = True
            if final:
                kind = _after_waiting(h)
                date += WAIT_EXTRA
            else:
                date = sent
        status = _spelling(y, KIND_STATUS[kind]) if variants else KIND_STATUS[kind]
        answers.append(
            (kind, status, date, (h & _FLAG_MASK) < _STOP_BELOW, (y >> _VARIANT_SHIFT) & 7)
        )
    if waiting:
        polls[message_id] = seen + 1
    return answers


# ---------------------------------------------------------------------------------------
# phone numbers

#: Matches a number already in the form :func:`normalize_phone` returns for a French
#: mobile (``+336``/``+337`` and 8 digits): the multi-status fast path's test.
match_fr_mobile = re.compile(r"\+33[67]\d{8}", re.ASCII).fullmatch
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
        if match_fr_mobile(raw):
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
MAX_MESSAGE_ID = 2**63 - 1


def parse_message_id(raw: object) -> int | None:
    """An SMS message id as an int (ints and digit strings), or None if it is not one
    (also when it is larger than any id: a 5,000-digit id is "not found", never a crash)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if raw <= MAX_MESSAGE_ID else None
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
        value = int(raw)
        return value if value <= MAX_MESSAGE_ID else None
    return None


def check_item(phone_number: object, message_id: object) -> tuple[int, str, int | None]:
    """``(code, number, message id)`` of a multi-status or message-status item as sent.

    Code 0 for a valid item (the number in international form; the message id as an
    int, or None when it is no message's id: not found), else the item's error code: 2,
    6 or 9 for the number (see :func:`normalize_phone`), 3 for a missing message id.
    """
    code, phone = normalize_phone(phone_number)
    if code:
        return code, phone, None
    if message_id is None:
        return 3, phone, None
    return 0, phone, parse_message_id(message_id)


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


#: The config :func:`ground_truth` and its siblings assume when given none.
_DEFAULT_CONFIG = SandboxConfig()


def _resolve_seed(seed: int | None, config: SandboxConfig | None) -> int:
    if seed is not None:
        return seed
    return config.seed if config is not None else 0


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
    cfg = config if config is not None else _DEFAULT_CONFIG
    not_found = NOT_FOUND_FR if cfg.language == "fr" else NOT_FOUND_EN
    code, phone, mid = check_item(phone_number, message_id)
    if code:
        echo = _echo_id(message_id)
        if cfg.item_errors == "not_found":
            return Truth(phone, echo, False, 4, NOT_FOUND_EN, not_found, None, False, False,
                         True)  # fmt: skip
        message = MESSAGES[cfg.language][code]
        return Truth(phone, echo, False, code, message, message, None, False, False, True)
    if mid is None:
        return Truth(phone, _echo_id(message_id), False, 4, NOT_FOUND_EN, not_found, None,
                     False, False, True)  # fmt: skip
    init = seed_init(_resolve_seed(seed, config))
    answer = sms_answers([(phone, mid)], {(phone, mid): polls}, init=init, config=cfg,
                         elapsed=elapsed)[0]  # fmt: skip
    if answer is None:
        return Truth(phone, mid, False, 4, NOT_FOUND_EN, not_found, None, False, False, True)
    kind, wire_status, date, stop, spam, _variant = answer
    return Truth(phone, mid, True, 200, KIND_STATUS[kind], wire_status, date, stop, spam,
                 kind != WAIT)  # fmt: skip


def _echo_id(message_id: object) -> int | str | None:
    if message_id is None or isinstance(message_id, (int, str)):
        return message_id
    return str(message_id)


def _found(init: int, phone: str, message_id: int) -> bool:
    """Whether the item of an existing message is found (its first answer is not None)."""
    return sms_answers([(phone, message_id)], {}, init=init, config=_DEFAULT_CONFIG)[0] is not None


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
        if phone in seen or not _found(init, phone, message_id):
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
    cfg = config if config is not None else _DEFAULT_CONFIG
    answer = mail_answers([email], mid, {mid: polls}, init=init, config=cfg, elapsed=elapsed)[0]
    kind, wire_status, date, stop, _variant = answer
    return MailTruth(
        email=email,
        message_id=mid,
        token=tokens[email],
        status=KIND_STATUS[kind],
        wire_status=wire_status,
        cost=1,
        stop_mail=stop,
        date=date,
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
