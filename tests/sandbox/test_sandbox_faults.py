"""Fault injection: every kind through the schedule, rates, counters; the in-process
transport's fidelity (cut bodies, timeouts, cancellation)."""

from __future__ import annotations

import email.utils
import random
import time
from typing import Any

import anyio
import httpx
import orjson
import pytest
from defusedxml import ElementTree

from partner_async.sandbox import (
    FAULT_KINDS,
    FaultConfig,
    SandboxConfig,
    SandboxTransport,
    create_app,
    ground_truth,
)

pytestmark = pytest.mark.anyio
MULTI = "/v1/multi-status"


def pairs(count: int = 50, seed: int = 1) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    return [(f"+336{rng.randrange(10**8):08d}", rng.randrange(1, 10**7)) for _ in range(count)]


def body(items: list[tuple[str, int]], key: str = "sandbox") -> dict[str, Any]:
    return {"apiKey": key, "SMSStatut_List": [{"phoneNumber": p, "messageId": m} for p, m in items]}


def scheduled(*kinds: str | None, **options: Any) -> SandboxConfig:
    return SandboxConfig(faults=FaultConfig(schedule=dict(enumerate(kinds)), **options))


def expected(items: list[tuple[str, int]]) -> list[str]:
    return [ground_truth(p, m).status for p, m in items]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("page", ["html", "text"])
async def test_http_5xx(sandbox_client: Any, status: int, page: str) -> None:
    config = scheduled(f"http_{status}", server_error_body=page)
    async with sandbox_client(config) as (client, app):
        response = await client.post(MULTI, json=body(pairs()))
        assert response.status_code == status
        if page == "html":
            assert response.headers["content-type"].startswith("text/html")
            assert f"<h1>{status} " in response.text
        else:
            assert response.headers["content-type"].startswith("text/plain")
            assert response.text.startswith(str(status))
        # the next request is served normally
        again = await client.post(MULTI, json=body(pairs()))
        assert [e["status"] for e in again.json()["StatutResponse_List"]] == expected(pairs())
        assert app.stats.faults[f"http_{status}"] == 1
        assert app.stats.faults_total == 1


async def test_http_429_retry_after_seconds(sandbox_client: Any) -> None:
    async with sandbox_client(scheduled("http_429", retry_after=7)) as (client, app):
        response = await client.post(MULTI, json=body(pairs()))
        assert response.status_code == 429
        assert response.headers["retry-after"] == "7"
        assert response.json() == {"success": False, "code": 429, "message": "Too many requests"}
        assert app.stats.faults["http_429"] == 1


async def test_http_429_retry_after_date(sandbox_client: Any) -> None:
    config = scheduled("http_429", retry_after=120, retry_after_http_date=True)
    async with sandbox_client(config) as (client, _):
        response = await client.post(MULTI, json=body(pairs()))
        when = email.utils.parsedate_to_datetime(response.headers["retry-after"])
        assert 100 < when.timestamp() - time.time() <= 121


async def test_http_429_without_retry_after(sandbox_client: Any) -> None:
    async with sandbox_client(scheduled("http_429", retry_after=None)) as (client, _):
        response = await client.post(MULTI, json=body(pairs()))
        assert response.status_code == 429
        assert "retry-after" not in response.headers


@pytest.mark.parametrize(("kind", "code"), [("body_429", 429), ("body_500", 500)])
async def test_error_body_with_http_200(sandbox_client: Any, kind: str, code: int) -> None:
    async with sandbox_client(scheduled(kind)) as (client, _):
        response = await client.post(MULTI, json=body(pairs()))
        assert response.status_code == 200
        assert response.json()["success"] is False
        assert response.json()["code"] == code
        xml = await client.get(
            "/v1/bulk-status", params={"apiKey": "sandbox", "messageId": "1", "_format": "xml"}
        )
        assert xml.status_code == 200  # request 1: no fault


async def test_html_200(sandbox_client: Any) -> None:
    async with sandbox_client(scheduled("html_200")) as (client, _):
        response = await client.post(MULTI, json=body(pairs()))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(response.content)


async def test_truncated_and_invalid_json(sandbox_client: Any) -> None:
    async with sandbox_client(scheduled("truncated_json", "invalid_json")) as (client, app):
        for _ in range(2):
            response = await client.post(MULTI, json=body(pairs()))
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/json"
            assert response.content.startswith(b"{")
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(response.content)
        assert app.stats.faults["truncated_json"] == app.stats.faults["invalid_json"] == 1


async def test_invalid_xml(sandbox_client: Any) -> None:
    async with sandbox_client(scheduled("invalid_json", "truncated_json")) as (client, _):
        for _ in range(2):
            response = await client.post(MULTI + "?_format=xml", json=body(pairs()))
            with pytest.raises(ElementTree.ParseError):
                ElementTree.fromstring(response.content)


async def test_drop_entries(sandbox_client: Any) -> None:
    items = pairs(200)
    async with sandbox_client(scheduled("drop_entries")) as (client, app):
        entries = (await client.post(MULTI, json=body(items))).json()["StatutResponse_List"]
        assert 180 <= len(entries) < 200
        answered = [(e["phoneNumber"], e["messageId"]) for e in entries]
        assert set(answered) < set(items)
        assert answered == [pair for pair in items if pair in set(answered)]  # order kept
        assert app.stats.items == len(entries)
        assert app.stats.faults["drop_entries"] == 1


async def test_reorder_entries(sandbox_client: Any) -> None:
    items = pairs(100)
    async with sandbox_client(scheduled("reorder_entries")) as (client, _):
        entries = (await client.post(MULTI, json=body(items))).json()["StatutResponse_List"]
        answered = [(e["phoneNumber"], e["messageId"]) for e in entries]
        assert answered != items
        assert sorted(answered) == sorted(items)
        for entry in entries:
            assert entry["status"] == ground_truth(entry["phoneNumber"], entry["messageId"]).status


async def test_reformat_numbers(sandbox_client: Any) -> None:
    items = pairs(100)
    async with sandbox_client(scheduled("reformat_numbers")) as (client, _):
        entries = (await client.post(MULTI, json=body(items))).json()["StatutResponse_List"]
        forms = set()
        for (phone, mid), entry in zip(items, entries, strict=True):
            assert entry["phoneNumber"] != phone
            assert entry["messageId"] == mid
            assert ground_truth(entry["phoneNumber"], mid).phone_number == phone
            forms.add(entry["phoneNumber"][:2])
        assert len(forms) >= 3  # national, 0033, spaced...


async def test_entry_faults_do_not_touch_bulk_answers(sandbox_client: Any) -> None:
    async with sandbox_client(scheduled("drop_entries")) as (client, app):
        response = await client.get(
            "/v1/bulk-status", params={"apiKey": "sandbox", "messageId": "111"}
        )
        assert response.json()["code"] == 200
        assert app.stats.faults_total == 0


async def test_faults_need_an_accepted_key(sandbox_client: Any) -> None:
    async with sandbox_client(scheduled("http_503", "http_503")) as (client, app):
        bad = await client.post(MULTI, json=body(pairs(), key="wrong"))
        assert bad.json()["code"] == 10
        missing = await client.get("/v1/bulk-status", params={"messageId": "1"})
        assert missing.json()["code"] == 1
        assert (await client.post(MULTI, json=body(pairs()))).status_code == 503
        params = {"apiKey": "sandbox", "messageId": "3"}
        assert (await client.get("/mail/v1/bulk-status", params=params)).status_code == 503
        assert (await client.post(MULTI, json=body(pairs()))).status_code == 200
        assert app.stats.faults["http_503"] == 2


async def test_rates_are_reproducible(sandbox_client: Any) -> None:
    config = SandboxConfig(seed=3, faults=FaultConfig(http_503=0.3, body_429=0.2))
    runs = []
    for _ in range(2):
        async with sandbox_client(config) as (client, app):
            codes = []
            for _ in range(60):
                response = await client.post(MULTI, json=body(pairs(5)))
                codes.append(response.status_code if response.status_code != 200
                             else response.json()["code"])  # fmt: skip
            runs.append(codes)
            assert app.stats.faults["http_503"] == codes.count(503)
            assert app.stats.faults["body_429"] == codes.count(429)
    assert runs[0] == runs[1]
    assert 8 < runs[0].count(503) < 30
    assert 3 < runs[0].count(429) < 25


async def test_schedule_overrides_rates(sandbox_client: Any) -> None:
    config = SandboxConfig(faults=FaultConfig(http_500=1.0, schedule={1: None}))
    async with sandbox_client(config) as (client, _):
        statuses = [(await client.post(MULTI, json=body(pairs(3)))).status_code for _ in range(3)]
        assert statuses == [500, 200, 500]


async def test_every_fault_kind_is_counted(sandbox_client: Any) -> None:
    kinds = [kind for kind in FAULT_KINDS if kind not in ("slow", "disconnect")]
    async with sandbox_client(scheduled(*kinds)) as (client, app):
        for _ in kinds:
            await client.post(MULTI, json=body(pairs(20)))
        assert {kind: app.stats.faults[kind] for kind in kinds} == dict.fromkeys(kinds, 1)


# ------------------------------------------------------------------------ latency and slow


async def test_slow_answer_exceeds_a_client_timeout(sandbox_client: Any) -> None:
    async with sandbox_client(scheduled("slow", slow_seconds=30)) as (client, app):
        with pytest.raises(httpx.ReadTimeout):
            await client.post(MULTI, json=body(pairs()), timeout=0.05)
        assert app.stats.faults["slow"] == 1
        ok = await client.post(MULTI, json=body(pairs()), timeout=5)
        assert ok.status_code == 200


async def test_slow_answer_is_cancelled_by_a_caller_deadline(sandbox_client: Any) -> None:
    async with sandbox_client(scheduled("slow", slow_seconds=30)) as (client, _):
        with anyio.move_on_after(0.05) as scope:
            await client.post(MULTI, json=body(pairs()), timeout=None)
        assert scope.cancelled_caught


async def test_slow_answer_is_eventually_served(sandbox_client: Any) -> None:
    async with sandbox_client(scheduled("slow", slow_seconds=0.01)) as (client, _):
        response = await client.post(MULTI, json=body(pairs()))
        assert [e["status"] for e in response.json()["StatutResponse_List"]] == expected(pairs())


async def test_latency(sandbox_client: Any) -> None:
    async with sandbox_client(latency=30.0) as (client, _):
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/v1/bulk-status", timeout=0.05)


# ------------------------------------------------------------------------ mid-body close


async def test_disconnect_in_process(sandbox_client: Any) -> None:
    async with sandbox_client(scheduled("disconnect")) as (client, app):
        with pytest.raises(httpx.RemoteProtocolError, match="peer closed connection"):
            await client.post(MULTI, json=body(pairs()))
        assert app.stats.faults["disconnect"] == 1
        ok = await client.post(MULTI, json=body(pairs()))
        assert ok.status_code == 200


async def test_disconnect_while_streaming(sandbox_client: Any) -> None:
    async with (
        sandbox_client(scheduled("disconnect")) as (client, _),
        client.stream("POST", MULTI, json=body(pairs())) as response,
    ):
        assert response.status_code == 200
        length = int(response.headers["content-length"])
        received = b""
        with pytest.raises(httpx.RemoteProtocolError):
            async for chunk in response.aiter_raw():
                received += chunk
        assert 0 < len(received) < length


async def test_transport_app_errors() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("bug")

    async def silent(scope: Any, receive: Any, send: Any) -> None:
        return None

    async with httpx.AsyncClient(transport=SandboxTransport(broken)) as client:
        with pytest.raises(RuntimeError, match="bug"):
            await client.get("http://127.0.0.1/")
    transport = SandboxTransport(broken, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get("http://127.0.0.1/")).status_code == 500
    async with httpx.AsyncClient(transport=SandboxTransport(silent)) as client:
        assert (await client.get("http://127.0.0.1/")).status_code == 500


async def test_transport_passes_query_and_headers() -> None:
    app = create_app()
    async with httpx.AsyncClient(transport=SandboxTransport(app)) as client:
        response = await client.get(
            "http://example.invalid/v1/bulk-status?apiKey=sandbox&messageId=111"
        )
    assert response.json()["message_id"] == "111"
