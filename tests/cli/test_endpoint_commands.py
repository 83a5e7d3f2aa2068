"""``message-status``, ``tag-status`` and ``costs`` against the loopback sandbox."""

from __future__ import annotations

import random
from datetime import date

import orjson
import pytest
from click.testing import CliRunner

from partner_async.cli import cli
from partner_async.sandbox import (
    SandboxApp,
    SandboxConfig,
    bulk_recipients,
    cost_rows,
    ground_truth,
    tag_message_id,
)

from .conftest import Invoke


def found_query(config: SandboxConfig) -> tuple[str, int]:
    rng = random.Random(1)
    while True:
        query = (f"+336{rng.randrange(10**8):08d}", rng.randrange(1, 10**7))
        if ground_truth(*query, config=config).success:
            return query


def a_tag(config: SandboxConfig) -> str:
    return next(
        t for t in (f"promo-{i}" for i in range(100))
        if bulk_recipients(tag_message_id(t, config=config), config=config)
    )  # fmt: skip


def test_message_status_json(invoke: Invoke, sandbox_app: SandboxApp) -> None:
    phone, mid = found_query(sandbox_app.config)
    result = invoke("message-status", "0" + phone[3:], str(mid))
    assert result.exit_code == 0, result.output
    document = orjson.loads(result.stdout)
    truth = ground_truth(phone, mid, config=sandbox_app.config)
    assert (document["phone_number"], document["message_id"]) == (phone, mid)
    assert (document["status"], document["cost"], document["currency"]) == (
        truth.status,
        "0.045",
        "EUR",
    )
    assert document["date"].endswith("Z")


def test_message_status_table_and_errors(
    invoke: Invoke, sandbox_app: SandboxApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    phone, mid = found_query(sandbox_app.config)
    monkeypatch.setattr("partner_async.cli._tables.stdout_is_terminal", lambda: True)
    result = invoke("message-status", phone, str(mid))
    assert result.exit_code == 0, result.output
    assert f"SMS {mid} to {phone}" in result.stdout and "0.045" in result.stdout
    bad = invoke("message-status", "not-a-phone", "1")
    assert bad.exit_code == 1 and "invalid phone number 'not-a-phone'" in bad.stderr


def test_tag_status_json_and_table(
    invoke: Invoke, sandbox_app: SandboxApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = sandbox_app.config
    tag = a_tag(config)
    phones = bulk_recipients(tag_message_id(tag, config=config), config=config)
    document = orjson.loads(invoke("tag-status", tag).stdout)
    assert document["tag"] == tag and document["complete"] is True
    assert tuple(r["phone_number"] for r in document["recipients"]) == phones
    assert document["total"] == len(phones or ())
    monkeypatch.setattr("partner_async.cli._tables.stdout_is_terminal", lambda: True)
    table = invoke("tag-status", tag).stdout
    assert f"Tag {tag}:" in table and "phone_number" in table


def test_costs_json_and_arguments(invoke: Invoke, sandbox_app: SandboxApp) -> None:
    result = invoke("costs", "--from", "2023-01-10", "--to", "2023-03-01")
    assert result.exit_code == 0, result.output
    document = orjson.loads(result.stdout)
    truth = cost_rows((2023, 1), (2023, 3), config=sandbox_app.config)
    assert document["interval"] == "custom"
    assert [(r["year"], r["month"], r["messages_sent"], r["cost"]) for r in document["rows"]] == [
        (t.year, t.month, t.sent, t.cost) for t in truth
    ]
    assert document["total_messages"] == sum(t.sent for t in truth)
    last = orjson.loads(invoke("costs", "--interval", "last_month").stdout)
    assert last["interval"] == "last_month" and len(last["rows"]) == 1
    assert invoke("costs", "--interval", "custom").exit_code == 1
    assert invoke("costs", "--interval", "last_month", "--to", "2023-01-01").exit_code == 1
    assert invoke("costs", "--from", "01/02/2023", "--to", "2023-03-01").exit_code == 1


def test_costs_table_with_embedded_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("partner_async.cli._tables.stdout_is_terminal", lambda: True)
    result = CliRunner().invoke(cli, ["costs", "--sandbox"])
    assert result.exit_code == 0, result.output
    assert "Costs, last_twelve_months:" in result.stdout
    assert str(date.today().year) in result.stdout
