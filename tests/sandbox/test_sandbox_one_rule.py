"""The fast path, the slow path and ground_truth give one answer for every query.

The multi-status fast path answers well-formed items (``+336``/``+337`` number, integer
message id) in runs; the slow path answers any other form of the same query one item at
a time; :func:`ground_truth` says what both must answer. These tests send the same
queries in each form, poll after poll, under configurations that change the answers
(seeds, waiting rules, item errors, spellings, language), and check every entry against
the ground truth at that poll.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from partner_async.sandbox import (
    SandboxApp,
    SandboxConfig,
    SandboxTransport,
    Truth,
    create_app,
    ground_truth,
)

pytestmark = pytest.mark.anyio

POLLS = 4  # enough for every Waiting item to turn final under waiting_polls <= 3

CONFIGS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "seed1-at-once-entry": {"seed": 1, "waiting_polls": 0, "item_errors": "entry"},
    "seed7-one-poll": {"seed": 7, "waiting_polls": 1},
    "seed3-never-final": {"seed": 3, "waiting_polls": None, "item_errors": "entry"},
    "seed11-three-polls-variants": {"seed": 11, "waiting_polls": 3, "status_spellings": "variants"},
    "seed5-fr": {"seed": 5, "language": "fr", "item_errors": "not_found"},
    "seed9-raw-echo": {"seed": 9, "normalize_numbers": False, "status_spellings": "variants"},
}


def queries(seed: int) -> list[tuple[str, int]]:
    """Random valid queries (every status shows up) and ids no message has."""
    rng = random.Random(seed)
    pairs = [
        (f"+33{rng.choice('67')}{rng.randrange(10**8):08d}", rng.randrange(1, 10**9))
        for _ in range(240)
    ]
    phone = "+33612345678"
    return [*pairs, (phone, 0), ("+33712345678", -5), (phone, 2**63 - 1), (phone, 2**63 + 5)]


def fast_form(phone: str, mid: int) -> dict[str, Any]:
    return {"phoneNumber": phone, "messageId": mid}


def national_form(phone: str, mid: int) -> dict[str, Any]:
    return {"phoneNumber": "0" + phone[3:], "messageId": mid}


def string_id_form(phone: str, mid: int) -> dict[str, Any]:
    return {"phoneNumber": phone, "messageId": str(mid)}


def expected(truth: Truth, item: dict[str, Any], config: SandboxConfig) -> dict[str, Any]:
    """The documented entry of a ground truth, echoing the number as the item sent it
    unless the sandbox normalises numbers."""
    phone = truth.phone_number if config.normalize_numbers else item["phoneNumber"]
    if not truth.success:
        return {"success": False, "code": truth.code, "phoneNumber": phone,
                "messageId": truth.message_id, "status": truth.wire_status}  # fmt: skip
    return {
        "success": True, "code": 200, "phoneNumber": phone, "messageId": truth.message_id,
        "status": truth.wire_status, "date": str(truth.date),
        "stopSms": "1" if truth.stop_sms else "0", "isSpam": "1" if truth.is_spam else "0",
    }  # fmt: skip


def counting_slow_path(app: SandboxApp, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the items ``app`` answers through its slow path."""
    calls = [0]
    slow_entry = app._slow_entry

    def counted(item: Any) -> str | dict[str, Any] | int:
        calls[0] += 1
        return slow_entry(item)

    monkeypatch.setattr(app, "_slow_entry", counted)
    return calls


async def post(app: SandboxApp, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = orjson.dumps({"apiKey": "sandbox", "SMSStatut_List": items})
    async with httpx.AsyncClient(transport=SandboxTransport(app)) as http:
        response = await http.post("http://127.0.0.1/v1/multi-status", content=body)
    assert response.status_code == 200
    entries: list[dict[str, Any]] = orjson.loads(response.content)["StatutResponse_List"]
    return entries


Form = Callable[[str, int], dict[str, Any]]


@pytest.mark.parametrize("name", list(CONFIGS))
async def test_fast_and_slow_paths_answer_the_ground_truth(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = SandboxConfig(**CONFIGS[name])
    pairs = queries(config.seed)
    # the canonical form of an id beyond any message id (2**63 + 5) takes the slow path
    beyond = sum(mid > 2**63 - 1 for _, mid in pairs)
    # each form of the queries on an app of its own, so each app polls each query once a round
    forms: dict[str, tuple[Form, int]] = {
        "fast": (fast_form, beyond),
        "national": (national_form, len(pairs)),
        "string id": (string_id_form, len(pairs)),
    }
    apps = {form: create_app(config) for form in forms}
    slow_calls = {form: counting_slow_path(app, monkeypatch) for form, app in apps.items()}
    statuses = set()
    for poll in range(POLLS):
        for form, (make, slow) in forms.items():
            items = [make(phone, mid) for phone, mid in pairs]
            entries = await post(apps[form], items)
            assert len(entries) == len(items)
            for (phone, mid), item, entry in zip(pairs, items, entries, strict=True):
                truth = ground_truth(item["phoneNumber"], item["messageId"], polls=poll,
                                     config=config)  # fmt: skip
                assert entry == expected(truth, item, config), (form, poll, phone, mid)
                statuses.add(truth.status)
            assert slow_calls[form][0] == slow * (poll + 1), form
    assert {"Delivered", "Not delivered", "Number not found"} <= statuses
    if config.waiting_polls != 0:
        assert "Waiting" in statuses


@pytest.mark.parametrize("name", ["defaults", "seed7-one-poll", "seed11-three-polls-variants"])
async def test_mixed_requests_keep_order_and_polls(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fast and slow items interleaved in one request (runs of fast items cut by slow
    ones, the same query in two forms) answer in request order, each form counting a poll
    of the one query."""
    config = SandboxConfig(**CONFIGS[name])
    pairs = queries(config.seed + 100)[:120]
    rng = random.Random(config.seed)
    app = create_app(config)
    slow_calls = counting_slow_path(app, monkeypatch)
    polls = dict.fromkeys(pairs, 0)
    slow_items = 0
    for _ in range(POLLS):
        plan: list[tuple[tuple[str, int], Form]] = []
        for pair in pairs:
            for _copy in range(rng.choice((1, 1, 1, 2))):  # some queries twice in a request
                plan.append(
                    (pair, rng.choice((fast_form, fast_form, national_form, string_id_form)))
                )
        items = [form(*pair) for pair, form in plan]
        entries = await post(app, items)
        for (pair, form), item, entry in zip(plan, items, entries, strict=True):
            truth = ground_truth(item["phoneNumber"], item["messageId"], polls=polls[pair],
                                 config=config)  # fmt: skip
            assert entry == expected(truth, item, config), (form.__name__, pair)
            if ground_truth(*pair, config=config).status == "Waiting":
                polls[pair] += 1  # the sandbox counts the polls of Waiting items only
            slow_items += form is not fast_form
    assert slow_calls[0] == slow_items


async def test_waiting_seconds_on_both_paths() -> None:
    now = [100.0]
    config = SandboxConfig(seed=4, waiting_polls=None, waiting_seconds=30, clock=lambda: now[0])
    pairs = queries(4)[:200]
    apps = {form: create_app(config) for form in (fast_form, national_form)}
    for elapsed in (0.0, 29.0, 30.0, 45.0):
        now[0] = 100.0 + elapsed
        for form, app in apps.items():
            items = [form(phone, mid) for phone, mid in pairs]
            entries = await post(app, items)
            for (phone, mid), item, entry in zip(pairs, items, entries, strict=True):
                truth = ground_truth(phone, mid, elapsed=elapsed, config=config)
                assert entry == expected(truth, item, config)
