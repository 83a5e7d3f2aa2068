"""``sms-status``, ``mail-status``, ``sandbox`` and ``demo``, in-process."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from click.testing import CliRunner

import partner_async.sandbox
from partner_async.cli import cli
from partner_async.cli._demo import demo_queries
from partner_async.sandbox import (
    SandboxApp,
    SandboxConfig,
    SandboxServer,
    bulk_recipients,
    ground_truth,
    mail_bulk_recipients,
    mail_ground_truth,
)

from .conftest import KEY, Invoke


def existing_sms_message(config: SandboxConfig) -> int:
    return next(m for m in range(1_226_613, 1_226_700) if bulk_recipients(m, config=config))


def test_sms_status_json_matches_the_sandbox(invoke: Invoke, sandbox_app: SandboxApp) -> None:
    message_id = existing_sms_message(sandbox_app.config)
    result = invoke("sms-status", str(message_id))  # stdout is not a terminal: JSON
    assert result.exit_code == 0, result.output
    document = orjson.loads(result.stdout)
    assert document["message_id"] == str(message_id)
    phones = [r["phone_number"] for r in document["recipients"]]
    assert tuple(phones) == bulk_recipients(message_id, config=sandbox_app.config)
    for recipient in document["recipients"]:
        truth = ground_truth(recipient["phone_number"], message_id, config=sandbox_app.config)
        assert recipient["status"] == truth.status
    assert sum(document["counts"].values()) == len(phones)


def test_mail_status_json_matches_the_sandbox(
    sandbox_server: SandboxServer, sandbox_app: SandboxApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILPARTNER_API_KEY", KEY)
    config = sandbox_app.config
    message_id = next(str(m) for m in range(300, 400) if mail_bulk_recipients(m, config=config))
    args = ["mail-status", message_id, "--json", "--base-url", sandbox_server.mail_base_url]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    document = orjson.loads(result.stdout)
    emails = tuple(r["email"] for r in document["recipients"])
    assert emails == mail_bulk_recipients(message_id, config=config)
    for recipient in document["recipients"]:
        truth = mail_ground_truth(recipient["email"], message_id, config=config)
        assert truth is not None
        assert (recipient["status"], recipient["token"]) == (truth.status, truth.token)
    assert KEY not in result.output


def test_sms_status_table_on_a_terminal(
    invoke: Invoke, sandbox_app: SandboxApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("partner_async.cli._tables.stdout_is_terminal", lambda: True)
    message_id = existing_sms_message(sandbox_app.config)
    result = invoke("sms-status", str(message_id))
    assert result.exit_code == 0, result.output
    assert f"SMS {message_id}:" in result.stdout
    assert "phone_number" in result.stdout
    first = bulk_recipients(message_id, config=sandbox_app.config)
    assert first is not None
    assert first[0] in result.stdout


def test_unknown_message_is_an_error(invoke: Invoke, sandbox_app: SandboxApp) -> None:
    missing = next(
        m for m in range(1, 10_000) if bulk_recipients(m, config=sandbox_app.config) is None
    )
    result = invoke("sms-status", str(missing))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: MessageNotFoundError")


def test_bulk_status_with_embedded_sandbox() -> None:
    config = SandboxConfig()
    message_id = existing_sms_message(config)
    result = CliRunner().invoke(cli, ["sms-status", str(message_id), "--sandbox"])
    assert result.exit_code == 0, result.output
    phones = tuple(r["phone_number"] for r in orjson.loads(result.stdout)["recipients"])
    assert phones == bulk_recipients(message_id, config=config)

    mail_id = next(str(m) for m in range(300, 400) if mail_bulk_recipients(m, config=config))
    result = CliRunner().invoke(cli, ["mail-status", mail_id, "--sandbox"])
    assert result.exit_code == 0, result.output
    emails = tuple(r["email"] for r in orjson.loads(result.stdout)["recipients"])
    assert emails == mail_bulk_recipients(mail_id, config=config)


# ---------------------------------------------------------------------------------------
# sandbox


def test_sandbox_command_builds_the_config_and_masks_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[dict[str, Any]] = []

    def fake_serve(config: SandboxConfig, host: str, port: int, *, out: Any) -> None:
        calls.append({"config": config, "host": host, "port": port})
        print(f"API key:               {config.api_keys[0]}", file=out)

    monkeypatch.setattr(partner_async.sandbox, "serve", fake_serve)
    args = [
        "sandbox", "--port", "0", "--seed", "7", "--api-key", KEY, "--api-key", "second-key",
        "--latency", "0.01", "--fault", "http_503=0.1", "--fault", "drop_entries=0.05",
        "--waiting-polls", "-1",
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert KEY not in result.output
    assert "API key:               ***" in result.stdout
    (call,) = calls
    config = call["config"]
    assert (call["host"], call["port"]) == ("127.0.0.1", 0)
    assert (config.seed, config.api_keys, config.latency) == (7, (KEY, "second-key"), 0.01)
    assert config.waiting_polls is None
    assert (config.faults.http_503, config.faults.drop_entries) == (0.1, 0.05)


@pytest.mark.parametrize(
    "args",
    [
        ["--host", "0.0.0.0"],
        ["--host", "192.168.1.2"],
        ["--fault", "http_503"],
        ["--fault", "nope=0.1"],
        ["--fault", "http_503=2"],
        ["--fault", "http_503=0.7", "--fault", "http_500=0.7"],
    ],
)
def test_sandbox_command_refuses_bad_options(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(partner_async.sandbox, "serve", lambda *a, **k: None)
    result = CliRunner().invoke(cli, ["sandbox", *args])
    assert result.exit_code == 1
    assert "Error" in result.stderr


# ---------------------------------------------------------------------------------------
# demo


def test_demo_queries_are_deterministic_and_mixed() -> None:
    queries = demo_queries(3_000, seed=1)
    assert queries == demo_queries(3_000, seed=1)
    assert queries != demo_queries(3_000, seed=2)
    assert len(queries) == 3_000
    assert 0 < len(queries) - len(set(queries)) < 100  # about 1% repeats
    assert any(phone.startswith("+331") for phone, _ in queries)  # a landline
    assert any(isinstance(message_id, str) for _, message_id in queries)  # a bad id


def test_demo_small_run() -> None:
    result = CliRunner().invoke(cli, ["demo", "--queries", "1500", "--seed", "3"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for expected in (
        "Outcomes",
        "status Delivered",
        "status Not delivered",
        "code 4 number not found",
        "unresolved: invalid_query",
        "unresolved: rejected",
        "Waiting followed to final",
        "input queries",
        "1,500",
        "items/s",
    ):
        assert expected in out, expected
    assert "status Waiting" not in out  # every Waiting query was followed to final
