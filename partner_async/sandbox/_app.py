"""The sandbox ASGI application: the vendor's delivery-status and statistics endpoints."""

from __future__ import annotations

import math
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime, timezone
from email.utils import formatdate
from typing import Any, TypeVar
from urllib.parse import parse_qs

import anyio
import attrs
import msgspec

from ._config import FAULT_KINDS, SandboxConfig
from ._render import JSON_TYPE, error_body, render
from ._truth import (
    MAX_MESSAGE_ID,
    MESSAGES,
    NOT_FOUND_EN,
    NOT_FOUND_FR,
    SMS_COST,
    VARIANT_BOOL_FLAGS,
    VARIANT_KEY,
    VARIANT_UNIX_DATE,
    SmsAnswer,
    check_item,
    cost_rows,
    local_date,
    mail_answers,
    mail_recipients,
    match_fr_mobile,
    national,
    parse_message_id,
    seed_init,
    sms_answers,
    sms_recipients,
    tag_message_id,
)

__all__ = ["SandboxApp", "SandboxStats", "create_app"]

_K = TypeVar("_K")
_V = TypeVar("_V")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MULTI = "multi-status"
SMS_BULK = "bulk-status"
MAIL_BULK = "mail-bulk-status"
MESSAGE = "message-status"
TAG = "bulk-status-by-tag"
COST = "cost-resume"
_ROUTES = {
    "/v1/multi-status": MULTI,
    "/v1/bulk-status": SMS_BULK,
    "/mail/v1/bulk-status": MAIL_BULK,
    "/v1/message-status": MESSAGE,
    "/v1/bulk-status-by-tag": TAG,
    "/v1/statistics/cost-resume": COST,
}
_METHODS = {MULTI: ("POST", "GET"), SMS_BULK: ("GET",), MAIL_BULK: ("GET",), MESSAGE: ("GET",),
            TAG: ("GET",), COST: ("GET",)}  # fmt: skip
_WINDOW = 60.0  # seconds: rate limits are per minute
_ENTRY_FAULTS = frozenset({"drop_entries", "reorder_entries", "reformat_numbers"})
_CACHE_LIMIT = 100_000
_MULTI_HEAD = '{"success":true,"code":200,"StatutResponse_List":['

_HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body>"
    b"<h1>Service temporarily unavailable</h1><p>Please try again later.</p></body></html>\n"
)
_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@attrs.define
class SandboxStats:
    """Counters of what a :class:`SandboxApp` served (read them in tests).

    Attributes:
        requests: HTTP requests answered (every path and outcome).
        endpoints: requests by endpoint (``"multi-status"``, ``"bulk-status"``,
            ``"mail-bulk-status"``, ``"message-status"``, ``"bulk-status-by-tag"``,
            ``"cost-resume"``, ``"other"``).
        items: multi-status entries sent (after any ``drop_entries`` fault).
        bulk_recipients: recipients listed by bulk-status answers (SMS and Mail).
        faults: faults injected, by kind (every kind of ``FAULT_KINDS`` is present).
        errors: vendor error answers (``success: false`` bodies) sent, by code.
        http_statuses: answers by HTTP status.
        rate_limited: requests refused by ``rate_limit`` or ``cost_resume_limit`` (429).
    """

    requests: int = 0
    endpoints: Counter[str] = attrs.field(factory=Counter)
    items: int = 0
    bulk_recipients: int = 0
    faults: Counter[str] = attrs.field(factory=lambda: Counter(dict.fromkeys(FAULT_KINDS, 0)))
    errors: Counter[int] = attrs.field(factory=Counter)
    http_statuses: Counter[int] = attrs.field(factory=Counter)
    rate_limited: int = 0

    @property
    def faults_total(self) -> int:
        """How many faults were injected, all kinds together."""
        return sum(self.faults.values())

    def reset(self) -> None:
        """Zero every counter."""
        fresh = SandboxStats()
        for field in attrs.fields(SandboxStats):
            setattr(self, field.name, getattr(fresh, field.name))


@attrs.define
class _Answer:
    status: int
    answer: dict[str, Any] | None = None
    body: bytes = b""
    content_type: bytes = JSON_TYPE
    headers: list[tuple[bytes, bytes]] = attrs.field(factory=list)


class SandboxApp:
    """The sandbox as a plain ASGI 3 application (see :func:`create_app`).

    Routes: ``POST /v1/multi-status`` (``GET`` with a body too, as the English page
    heads it), ``GET /v1/bulk-status``, ``GET /mail/v1/bulk-status``,
    ``GET /v1/message-status``, ``GET /v1/bulk-status-by-tag`` and
    ``GET /v1/statistics/cost-resume``; a request whose
    ``Host`` contains ``mailpartner`` may also reach the Mail endpoint at
    ``/v1/bulk-status``, so clients using the vendor's real base URLs work with
    :class:`~partner_async.sandbox.SandboxTransport`. Unknown paths answer 404, wrong
    methods 405, both with a JSON body.

    Attributes:
        config: the :class:`~partner_async.sandbox.SandboxConfig`.
        stats: the :class:`SandboxStats` counters.
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config if config is not None else SandboxConfig()
        self.stats = SandboxStats()
        cfg = self.config
        self._init = seed_init(cfg.seed)
        self._keys = frozenset(cfg.api_keys)
        self._messages = MESSAGES[cfg.language]
        self._not_found = NOT_FOUND_FR if cfg.language == "fr" else NOT_FOUND_EN
        self._start = cfg.clock()
        self._rng = random.Random(cfg.seed)
        self._fault_seq = 0
        self._rates = [(kind, rate) for kind, rate in cfg.faults.rates().items() if rate > 0]
        self._polls: dict[tuple[str, int], int] = {}
        self._mail_polls: dict[str, int] = {}
        self._sms_recipients: dict[int, list[str] | None] = {}
        self._mail_recipients: dict[str, list[tuple[str, str]] | None] = {}
        self._windows: dict[tuple[str, str], deque[float]] = {}

    def __repr__(self) -> str:
        return f"SandboxApp(seed={self.config.seed}, requests={self.stats.requests})"

    # ------------------------------------------------------------------ introspection

    def elapsed(self) -> float:
        """Seconds of ``config.clock`` since the app was created."""
        return self.config.clock() - self._start

    def polls(self, phone_number: str, message_id: int) -> int:
        """How many times the (international number, message id) item was answered while
        Waiting (the ``polls`` to give :func:`ground_truth` for the next answer)."""
        return self._polls.get((phone_number, message_id), 0)

    def mail_polls(self, message_id: str) -> int:
        """How many times the Mail message's recipients were answered while one waited."""
        return self._mail_polls.get(message_id, 0)

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope."""
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1003})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        stats = self.stats
        stats.requests += 1
        path: str = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        endpoint = _ROUTES.get(path)
        if endpoint == SMS_BULK and _is_mail_host(scope):
            endpoint = MAIL_BULK
        if endpoint is None:
            stats.endpoints["other"] += 1
            await self._send(send, self._plain_error(404, "Not found"))
            return
        stats.endpoints[endpoint] += 1
        method = scope["method"]
        allowed = _METHODS[endpoint]
        if method not in allowed:
            answer = self._plain_error(405, "Method not allowed")
            answer.headers.append((b"allow", ", ".join(allowed).encode()))
            await self._send(send, answer)
            return
        body = await self._read_body(receive)
        if body is None:  # the client went away
            return
        if len(body) > self.config.max_body_bytes:
            await self._send(send, self._plain_error(413, "Request body too large"))
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if self.config.latency:
            await anyio.sleep(self.config.latency)
        if endpoint == MULTI:
            await self._multi_status(body, query, send)
        else:
            await self._get(endpoint, query, send)

    async def _read_body(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        limit = self.config.max_body_bytes
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            if size <= limit:
                chunks.append(chunk)
            size += len(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks) if size <= limit else b"\0" * (limit + 1)

    # ------------------------------------------------------------------ answers

    def _plain_error(self, status: int, message: str) -> _Answer:
        return _Answer(status, body=msgspec.json.encode(error_body(status, message)))

    def _error(self, code: int, xml: bool, errors: list[dict[str, str]] | None = None) -> _Answer:
        self.stats.errors[code] += 1
        status = 200
        if self.config.http_error_status:
            status = 401 if code in (1, 10) else 404 if code in (3, 4) else 400
        answer = error_body(code, self._messages[code])
        if errors:
            answer["error"] = errors
        body, content_type = render(answer, xml)
        return _Answer(status, body=body, content_type=content_type)

    def _item_error(self, code: int, items: list[Any], xml: bool) -> _Answer:
        """A whole-request error for the first bad item, with (``validation_detail``) the
        ``error`` array of ``{elementId, message}`` the vendor's Go SDK data shows."""
        if not self.config.validation_detail:
            return self._error(code, xml)
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                field = ""
            else:
                bad, _, _ = check_item(item.get("phoneNumber"), item.get("messageId"))
                if not bad:
                    continue
                field = ".messageId" if bad == 3 else ".phoneNumber"
            element = f"SMSStatut_List[{index}]{field}"
            return self._error(code, xml, [{"elementId": element, "message": self._messages[code]}])
        return self._error(code, xml)  # pragma: no cover - a code comes from a bad item

    async def _send(self, send: Send, answer: _Answer, *, cut: bool = False) -> None:
        """Send an answer; ``cut``: headers announcing the whole body, half of it, then no
        end (the server closes the connection, as uvicorn does when an app returns
        mid-response)."""
        if answer.answer is not None:
            raise AssertionError("answer not rendered")  # pragma: no cover
        self.stats.http_statuses[answer.status] += 1
        body = answer.body
        headers = [
            (b"content-type", answer.content_type),
            (b"content-length", str(len(body)).encode()),
            *answer.headers,
        ]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        if cut:
            await send(
                {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
            )
        else:
            await send({"type": "http.response.body", "body": body})

    # ------------------------------------------------------------------ rate limits

    def _limited(self, key: str, endpoint: str, xml: bool) -> _Answer | None:
        """The 429 answer when ``key`` is past a per-minute limit, else None (and the
        request counts in the key's windows). Refused requests do not count."""
        cfg = self.config
        limits = [("all", cfg.rate_limit)]
        if endpoint == COST:
            limits.append(("cost", cfg.cost_resume_limit))
        now = cfg.clock()
        wait = 0.0
        windows = []
        for scope, limit in limits:
            if limit is None:
                continue
            window = self._windows.setdefault((key, scope), deque())
            while window and window[0] <= now - _WINDOW:
                window.popleft()
            if len(window) >= limit:
                wait = max(wait, window[-limit] + _WINDOW - now)
            windows.append(window)
        if wait > 0:
            self.stats.rate_limited += 1
            self.stats.errors[429] += 1
            body, content_type = render(error_body(429, self._messages[429]), xml)
            answer = _Answer(429, body=body, content_type=content_type)
            if cfg.rate_limit_retry_after:
                answer.headers.append((b"retry-after", str(max(1, math.ceil(wait))).encode()))
            return answer
        for window in windows:
            window.append(now)
        return None

    # ------------------------------------------------------------------ faults

    def _draw_fault(self) -> tuple[str | None, int]:
        number = self._fault_seq
        self._fault_seq += 1
        schedule = self.config.faults.schedule
        if number in schedule:
            return schedule[number], number
        if not self._rates:
            return None, number
        draw = self._rng.random()
        total = 0.0
        for kind, rate in self._rates:
            total += rate
            if draw < total:
                return kind, number
        return None, number

    def _early_fault(self, fault: str, xml: bool) -> _Answer | None:
        """The answer of a fault that replaces the whole answer, or None."""
        faults = self.config.faults
        if fault.startswith("http_"):
            status = int(fault[5:])
            if status == 429:
                body, content_type = render(error_body(429, self._messages[429]), xml)
                answer = _Answer(429, body=body, content_type=content_type)
                if faults.retry_after is not None:
                    value = (
                        formatdate(time.time() + faults.retry_after, usegmt=True)
                        if faults.retry_after_http_date
                        else str(faults.retry_after)
                    )
                    answer.headers.append((b"retry-after", value.encode()))
                return answer
            reason = f"{status} {_REASONS[status]}"
            if faults.server_error_body == "html":
                page = (
                    f"<html>\r\n<head><title>{reason}</title></head>\r\n<body>\r\n"
                    f"<center><h1>{reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
                    "</body>\r\n</html>\r\n"
                )
                return _Answer(status, body=page.encode(), content_type=b"text/html")
            return _Answer(status, body=reason.encode(), content_type=b"text/plain")
        if fault == "html_200":
            return _Answer(200, body=_HTML_PAGE, content_type=b"text/html; charset=UTF-8")
        if fault in ("body_429", "body_500"):
            code = int(fault[5:])
            body, content_type = render(error_body(code, self._messages[code]), xml)
            return _Answer(200, body=body, content_type=content_type)
        return None

    def _alter_entries(self, fault: str, number: int, entries: list[dict[str, Any]]) -> None:
        rng = random.Random(self.config.seed * 1_000_003 + number)
        if fault == "drop_entries":
            count = rng.randint(1, max(1, len(entries) // 10))
            for index in sorted(rng.sample(range(len(entries)), count), reverse=True):
                del entries[index]
        elif fault == "reorder_entries":
            before = list(entries)
            rng.shuffle(entries)
            if len(entries) > 1 and all(a is b for a, b in zip(entries, before, strict=True)):
                entries.reverse()
        else:  # reformat_numbers
            for entry in entries:
                phone = entry.get("phoneNumber")
                if isinstance(phone, str):
                    entry["phoneNumber"] = _reformat(phone, rng)

    async def _finish(self, send: Send, answer: _Answer, fault: str | None, xml: bool) -> None:
        if fault == "truncated_json":
            self.stats.faults[fault] += 1
            answer.body = answer.body[: max(1, len(answer.body) // 2)]
        elif fault == "invalid_json":
            self.stats.faults[fault] += 1
            answer.body = answer.body + b"<" if xml else answer.body.replace(b'"', b"'")
        elif fault == "disconnect":
            self.stats.faults[fault] += 1
            await self._send(send, answer, cut=True)
            return
        await self._send(send, answer)

    async def _start_fault(self, xml: bool) -> tuple[str | None, int, _Answer | None]:
        """Draw this request's fault; apply it if it replaces the answer or delays it."""
        fault, number = self._draw_fault()
        if fault is None:
            return None, number, None
        early = self._early_fault(fault, xml)
        if early is not None:
            self.stats.faults[fault] += 1
            return fault, number, early
        if fault == "slow":
            self.stats.faults[fault] += 1
            await anyio.sleep(self.config.faults.slow_seconds)
        return fault, number, None

    # ------------------------------------------------------------------ multi-status

    async def _multi_status(self, body: bytes, query: dict[str, list[str]], send: Send) -> None:
        xml = _wants_xml(query.get("_format"))
        try:
            data = msgspec.json.decode(body) if body else None
        except msgspec.DecodeError:
            data = None
        if not isinstance(data, dict):
            await self._send(send, self._error(90, xml))
            return
        if "_format" in data:
            xml = _wants_xml(data["_format"])
        key = data.get("apiKey")
        if key is None:
            keys = query.get("apiKey")
            key = keys[0] if keys else None
        if not key:
            await self._send(send, self._error(1, xml))
            return
        if not isinstance(key, str) or key not in self._keys:
            await self._send(send, self._error(10, xml))
            return
        limited = self._limited(key, MULTI, xml)
        if limited is not None:
            await self._send(send, limited)
            return
        fault, number, early = await self._start_fault(xml)
        if early is not None:
            await self._send(send, early)
            return
        items = data.get("SMSStatut_List")
        if items is None:
            items = data.get("SMSStatus_List")
        if items is None or (isinstance(items, list) and not items):
            answer = self._error(5, xml)
        elif not isinstance(items, list):
            answer = self._error(90, xml)
        elif len(items) > self.config.max_items:
            answer = self._error(50, xml)
        else:
            fragments = self._fragments(items)
            if isinstance(fragments, int):
                answer = self._item_error(fragments, items, xml)
            elif self.config.request_not_found and all(
                f.startswith('{"success":false') for f in fragments
            ):
                answer = self._error(4, xml)
            elif xml or fault in _ENTRY_FAULTS:
                entries: list[dict[str, Any]] = msgspec.json.decode("[" + ",".join(fragments) + "]")
                if fault in _ENTRY_FAULTS:
                    self.stats.faults[fault] += 1
                    self._alter_entries(fault, number, entries)
                self.stats.items += len(entries)
                result = {"success": True, "code": 200, "StatutResponse_List": entries}
                rendered, content_type = render(result, xml)
                answer = _Answer(200, body=rendered, content_type=content_type)
            else:
                self.stats.items += len(fragments)
                joined = ",".join(fragments)
                answer = _Answer(200, body=f"{_MULTI_HEAD}{joined}]}}".encode())
        await self._finish(send, answer, fault, xml)

    def _answers(self, pairs: list[tuple[str, int]]) -> list[SmsAnswer | None]:
        """:func:`sms_answers` of valid SMS items now, their Waiting polls counted."""
        return sms_answers(pairs, self._polls, init=self._init, config=self.config,
                           elapsed=self._waiting_elapsed())  # fmt: skip

    def _waiting_elapsed(self) -> float | None:
        """:meth:`elapsed` when the config's waiting rule reads it (else None)."""
        return None if self.config.waiting_seconds is None else self.elapsed()

    def _fragments(self, items: list[Any]) -> list[str] | int:
        """Each item's answer entry as a JSON text, or (``item_errors="request"``) the error
        code of the first bad item.

        The hot path of the sandbox. Well-formed items (``+336``/``+337`` number, integer
        message id, no field variants) are answered in runs: one :func:`sms_answers` call
        per run of them and an f-string per entry. Any other item takes
        :meth:`_slow_entry`, which answers by the same function, one item at a time.
        """
        fast = None if self.config.field_variants else match_fr_mobile
        dumps = msgspec.json.encode
        fragments: list[str] = []
        run: list[tuple[str, int]] = []
        for item in items:
            try:
                phone = item["phoneNumber"]
                mid = item["messageId"]
                ok = (
                    fast is not None and type(mid) is int and mid <= MAX_MESSAGE_ID
                    and fast(phone) is not None
                )  # fmt: skip
            except (KeyError, TypeError, IndexError):
                ok = False
            if ok:
                run.append((phone, mid))
                continue
            if run:
                self._fast_entries(run, fragments)
                run = []
            entry = self._slow_entry(item)
            if type(entry) is int:
                return entry
            fragments.append(entry if type(entry) is str else dumps(entry).decode())
        if run:
            self._fast_entries(run, fragments)
        return fragments

    def _fast_entries(self, pairs: list[tuple[str, int]], fragments: list[str]) -> None:
        """Append the JSON entries of well-formed items (E.164 numbers: nothing to escape)."""
        not_found = self._not_found
        append = fragments.append
        for (phone, mid), answer in zip(pairs, self._answers(pairs), strict=True):
            append(_entry_text(f'"{phone}"', mid, answer, not_found))

    def _slow_entry(self, item: Any) -> str | dict[str, Any] | int:
        """One item's entry by the book (any number format, field variants...): its JSON
        text (as the fast path writes it) or a dict to encode; or (``item_errors=
        "request"``) the request's error code for a bad item."""
        cfg = self.config
        raw_phone = item.get("phoneNumber") if isinstance(item, dict) else None
        raw_mid = item.get("messageId") if isinstance(item, dict) else None
        code, phone, mid = check_item(raw_phone, raw_mid)
        if code:
            if cfg.item_errors == "request":
                return code
            if cfg.item_errors == "entry":
                return self._bad_entry(code, raw_phone, raw_mid)
            # what the vendor's page answers its own sample request with
            return self._bad_entry(4, raw_phone, raw_mid, self._not_found)
        echo = phone if cfg.normalize_numbers else raw_phone
        if mid is None:
            return {"success": False, "code": 4, "phoneNumber": echo, "messageId": raw_mid,
                    "status": self._not_found}  # fmt: skip
        answer = self._answers([(phone, mid)])[0]
        if answer is None or not cfg.field_variants:
            return _entry_text(_dumps(echo).decode(), mid, answer, self._not_found)
        _, status, date, stop, spam, variant = answer
        as_bool = variant & VARIANT_BOOL_FLAGS
        return {
            "success": True, "code": 200, "phoneNumber": echo, "messageId": mid,
            "status": status, "date": date if variant & VARIANT_UNIX_DATE else str(date),
            "stopSMS" if variant & VARIANT_KEY else "stopSms":
                stop if as_bool else ("1" if stop else "0"),
            "isSpam": spam if as_bool else ("1" if spam else "0"),
        }  # fmt: skip

    def _bad_entry(
        self, code: int, raw_phone: object, mid: object, text: str | None = None
    ) -> dict[str, Any]:
        phone = raw_phone if isinstance(raw_phone, (str, int)) else ""
        return {"success": False, "code": code, "phoneNumber": phone, "messageId": mid,
                "status": text or self._messages[code]}  # fmt: skip

    # ------------------------------------------------------------------ GET endpoints

    async def _get(self, endpoint: str, query: dict[str, list[str]], send: Send) -> None:
        """bulk-status (SMS and Mail), message-status, bulk-status-by-tag and
        statistics/cost-resume: the gate, then the endpoint's answer."""
        xml = _wants_xml(query.get("_format"))
        stop, fault = await self._gate(endpoint, query, xml)
        if stop is not None:
            await self._send(send, stop)
            return

        def arg(name: str) -> str:
            return (query.get(name) or [""])[0].strip()

        if endpoint in (SMS_BULK, MAIL_BULK):
            raw_id = arg("messageId")
            if not raw_id:
                answer = self._error(3, xml)
            elif endpoint == SMS_BULK:
                answer = self._sms_bulk(raw_id, xml)
            else:
                answer = self._mail_bulk(raw_id, xml)
        elif endpoint == MESSAGE:
            answer = self._message_status(arg("phoneNumber"), arg("messageId"), xml)
        elif endpoint == TAG:
            answer = self._tag_status(arg("tag"), xml)
        else:
            answer = self._cost_resume(arg("interval"), arg("from"), arg("to"), xml)
        await self._finish(send, answer, fault, xml)

    async def _gate(
        self, endpoint: str, query: dict[str, list[str]], xml: bool
    ) -> tuple[_Answer | None, str | None]:
        """A GET's key, rate limit and early fault: the answer that ends the request here
        (or None), and the fault drawn for it."""
        key = (query.get("apiKey") or [""])[0]
        if not key:
            return self._error(1, xml), None
        if key not in self._keys:
            return self._error(10, xml), None
        limited = self._limited(key, endpoint, xml)
        if limited is not None:
            return limited, None
        fault, _number, early = await self._start_fault(xml)
        return early, fault

    # ------------------------------------------------------------------ bulk-status

    def _sms_bulk(self, raw_id: str, xml: bool) -> _Answer:
        mid = parse_message_id(raw_id)
        entries = None if mid is None else self._sms_entries(mid)
        if entries is None:
            return self._error(4, xml)
        self.stats.bulk_recipients += len(entries)
        result = {
            "success": True,
            "code": 200,
            "message_id": raw_id,
            "StatutResponse_List": entries,
        }
        body, content_type = render(result, xml)
        return _Answer(200, body=body, content_type=content_type)

    def _sms_entries(self, mid: int) -> list[dict[str, Any]] | None:
        """The bulk-status entries of every recipient of SMS ``mid``, or None (code 4)."""
        phones = _cached(self._sms_recipients, mid, sms_recipients, self._init)
        if phones is None:
            return None
        fields = self.config.field_variants
        entries: list[dict[str, Any]] = []
        for phone, answer in zip(phones, self._answers([(p, mid) for p in phones]), strict=True):
            if answer is None:  # pragma: no cover - a recipient is always found
                raise AssertionError(f"recipient {phone} of {mid} not found")
            _, status, date, stop, _spam, variant = answer
            entry: dict[str, Any] = {"phoneNumber": phone, "status": status}
            if fields:
                entry["stopSms" if variant & VARIANT_KEY else "stopSMS"] = (
                    ("1" if stop else "0") if variant & VARIANT_BOOL_FLAGS else stop
                )
                entry["date"] = date if variant & VARIANT_UNIX_DATE else str(date)
            else:
                entry["stopSMS"] = stop
                entry["date"] = str(date)
            entries.append(entry)
        return entries

    def _mail_bulk(self, raw_id: str, xml: bool) -> _Answer:
        recipients = _cached(self._mail_recipients, raw_id, mail_recipients, self._init)
        if recipients is None:
            return self._error(4, xml)
        cfg = self.config
        answers = mail_answers((email for email, _ in recipients), raw_id, self._mail_polls,
                               init=self._init, config=cfg,
                               elapsed=self._waiting_elapsed())  # fmt: skip
        entries: list[dict[str, Any]] = []
        for (email, token), (_, status, date, stop, variant) in zip(
            recipients, answers, strict=True
        ):
            if cfg.field_variants:
                entries.append({
                    "email": email, "token": token, "status": status,
                    "cost": 1 if variant & VARIANT_KEY else "1",
                    "stopMail": ("1" if stop else "0") if variant & VARIANT_BOOL_FLAGS else stop,
                    "date": date if variant & VARIANT_UNIX_DATE else str(date),
                })  # fmt: skip
            else:
                entries.append({
                    "email": email, "token": token, "status": status,
                    "cost": 1, "stopMail": stop, "date": str(date),
                })  # fmt: skip
        self.stats.bulk_recipients += len(entries)
        result = {"success": True, "code": 200, "messageId": raw_id, "StatutResponseList": entries}
        body, content_type = render(result, xml)
        return _Answer(200, body=body, content_type=content_type)

    # ------------------------------------------------------------------ single requests

    def _message_status(self, raw_phone: str, raw_id: str, xml: bool) -> _Answer:
        if not raw_phone:
            return self._error(2, xml)
        if not raw_id:
            return self._error(3, xml)
        code, phone, mid = check_item(raw_phone, raw_id)
        answer = None if code or mid is None else self._answers([(phone, mid)])[0]
        if answer is None:
            return self._error(4, xml)
        _, status, date, stop, _spam, variant = answer
        unix_date = self.config.field_variants and variant & VARIANT_UNIX_DATE
        result = {
            "success": True,
            "code": 200,
            "number": national(phone),
            "messageId": raw_id,
            "stopSms": stop,
            "date": str(date) if unix_date else local_date(date),
            "statut": status,
            "cost": float(SMS_COST),
            "countryCode": "FR" if phone.startswith("+33") else None,
            "currency": "EUR",
        }
        body, content_type = render(result, xml)
        return _Answer(200, body=body, content_type=content_type)

    def _tag_status(self, tag: str, xml: bool) -> _Answer:
        if not tag:
            return self._error(3, xml)
        entries = self._sms_entries(tag_message_id(tag, seed=self.config.seed))
        if entries is None:
            return self._error(4, xml)
        listed = entries[: self.config.tag_page_size]
        self.stats.bulk_recipients += len(listed)
        result = {
            "success": True,
            "code": 200,
            "currentPage": 1,
            "total": len(entries),
            "StatutResponse_List": listed,
        }
        body, content_type = render(result, xml)
        return _Answer(200, body=body, content_type=content_type)

    def _cost_resume(self, interval: str, start: str, end: str, xml: bool) -> _Answer:
        today = self.config.today or datetime.now(timezone.utc).date()
        this_month = (today.year, today.month)
        if interval == "last_month":
            first = last = _month_before(this_month, 1)
        elif interval == "last_twelve_months":
            first, last = _month_before(this_month, 11), this_month
        elif interval == "custom":
            try:
                day_from = datetime.strptime(start, "%d-%m-%Y").date()
                day_to = datetime.strptime(end, "%d-%m-%Y").date()
            except ValueError:
                return self._error(6, xml)
            if day_from > day_to:
                return self._error(6, xml)
            first, last = (day_from.year, day_from.month), (day_to.year, day_to.month)
        else:
            return self._error(6, xml)
        rows = cost_rows(first, last, seed=self.config.seed)
        result = {"success": True, "datas": [row.wire() for row in rows]}
        body, content_type = render(result, xml)
        return _Answer(200, body=body, content_type=content_type)


_dumps = msgspec.json.encode


def _entry_text(phone: str, mid: int, answer: tuple[Any, ...] | None, not_found: str) -> str:
    """One multi-status entry as the vendor writes it without field variants: found, or
    not found (code 4). ``phone`` is a JSON string literal already (quoted, escaped)."""
    if answer is None:
        return (f'{{"success":false,"code":4,"phoneNumber":{phone},'
                f'"messageId":{mid},"status":"{not_found}"}}')  # fmt: skip
    _, status, date, stop, spam, _ = answer
    return (
        f'{{"success":true,"code":200,"phoneNumber":{phone},"messageId":{mid},'
        f'"status":"{status}","date":"{date}",'
        f'"stopSms":"{"1" if stop else "0"}","isSpam":"{"1" if spam else "0"}"}}'
    )


def _cached(cache: dict[_K, _V], key: _K, make: Callable[[int, _K], _V], init: int) -> _V:
    """``cache[key]``, made by ``make(init, key)`` the first time (the cache is emptied
    when it outgrows ``_CACHE_LIMIT``)."""
    if key not in cache:
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        cache[key] = make(init, key)
    return cache[key]


def _month_before(month: tuple[int, int], count: int) -> tuple[int, int]:
    index = month[0] * 12 + month[1] - 1 - count
    return index // 12, index % 12 + 1


def _wants_xml(value: object) -> bool:
    if isinstance(value, list):
        value = value[0] if value else None
    return isinstance(value, str) and value.strip().lower() == "xml"


def _is_mail_host(scope: Scope) -> bool:
    for name, value in scope.get("headers") or ():
        if name == b"host":
            return b"mailpartner" in value.lower()
    return False


def _reformat(phone: str, rng: random.Random) -> str:
    """Another way of writing an international number, as a careless server might."""
    if phone.startswith("+33") and len(phone) == 12:
        national = "0" + phone[3:]
        pairs = " ".join(national[i : i + 2] for i in range(0, 10, 2))
        choices = (
            national,
            "0033" + phone[3:],
            "33" + phone[3:],
            "+33 " + phone[3] + " " + pairs[3:],
            pairs,
            pairs.replace(" ", "."),
        )
        return rng.choice(choices)
    if phone.startswith("+"):
        return rng.choice(("00" + phone[1:], phone[1:]))
    return phone


def create_app(config: SandboxConfig | None = None) -> SandboxApp:
    """A new sandbox ASGI app (fresh counters, poll counts and fault sequence).

    Serve it with :class:`~partner_async.sandbox.SandboxTransport` in-process, with
    :class:`~partner_async.sandbox.SandboxServer` on loopback, or with any ASGI server.
    """
    return SandboxApp(config)
