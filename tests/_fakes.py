"""A scriptable fake of the vendor API for respx, and small helpers for tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from partner_async import StatusResult

FIXTURES = Path(__file__).parent / "fixtures"
SMS_BASE = "https://api.smspartner.fr/v1"
MAIL_BASE = "https://api.mailpartner.fr/v1"
API_KEY = "k3y-S3CRET-do-not-leak-4242"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def fixture_json(name: str) -> Any:
    return json.loads(fixture_text(name))


def default_entry(phone: str, message_id: int) -> dict[str, Any]:
    """What FakeAPI answers for one item by default: Delivered, vendor field types."""
    return {
        "success": True,
        "code": 200,
        "phoneNumber": phone,
        "messageId": message_id,
        "status": "Delivered",
        "date": str(1_517_934_416 + message_id % 1000),
        "stopSms": "0",
        "isSpam": "0",
    }


def answered(
    phone: str = "+33612345678",
    message_id: int = 1226613,
    status: str = "Delivered",
    **fields: Any,
) -> StatusResult:
    """A :class:`StatusResult` as the API answers a message it found (code 200)."""
    return StatusResult(
        phone_number=phone,
        message_id=message_id,
        success=True,
        code=200,
        status_text=status,
        **fields,
    )


class FakeAPI:
    """A respx side effect that answers multi-status like the vendor, with knobs.

    - ``entry(phone, message_id)`` builds each answer entry (None drops it);
    - ``transform(entries)`` rewrites a whole list (reorder, duplicate...);
    - ``script`` maps a request number (0-based) to a canned ``httpx.Response``;
    - ``requests`` keeps every decoded request body.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.entry: Callable[[str, int], dict[str, Any] | None] = default_entry
        self.transform: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] = lambda e: e
        self.script: dict[int, httpx.Response] = {}
        self.respond: Callable[[dict[str, Any]], httpx.Response | None] = lambda body: None
        self.clock: FakeClock | None = None
        self.started: list[float] = []  # request times by ``clock``, when set

    @property
    def sent_items(self) -> list[tuple[str, int]]:
        return [
            (item["phoneNumber"], item["messageId"])
            for body in self.requests
            for item in body["SMSStatut_List"]
        ]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        number = len(self.requests)
        if self.clock is not None:
            self.started.append(self.clock.now())
        body = orjson.loads(request.content)
        self.requests.append(body)
        if number in self.script:
            return self.script[number]
        custom = self.respond(body)
        if custom is not None:
            return custom
        entries = [
            e
            for item in body["SMSStatut_List"]
            if (e := self.entry(item["phoneNumber"], item["messageId"])) is not None
        ]
        return httpx.Response(
            200,
            json={"success": True, "code": 200, "StatutResponse_List": self.transform(entries)},
        )


def phones(n: int, start: int = 0) -> list[str]:
    """``n`` distinct valid French mobile numbers in E.164."""
    return [f"+3361{i:07d}" for i in range(start, start + n)]


class FakeClock:
    """A clock whose sleeps return at once and advance virtual time (a ``Clock``)."""

    def __init__(self) -> None:
        self.time = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        import anyio.lowlevel

        self.sleeps.append(seconds)
        self.time += max(seconds, 0.0)
        await anyio.lowlevel.checkpoint()


def count_sends(monkeypatch: Any) -> list[httpx.Request]:
    """Every request that goes through ``httpx.AsyncClient.send`` from now on (the
    monkeypatch undoes it): the SDK's own pool under asyncio bypasses ``send``."""
    sent: list[httpx.Request] = []
    real_send = httpx.AsyncClient.send

    async def counting_send(
        self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
    ) -> httpx.Response:
        sent.append(request)
        return await real_send(self, request, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "send", counting_send)
    return sent
