"""The loopback server, the command line, the pytest plugin, and key hygiene."""

from __future__ import annotations

import ast
import logging
import os
import pathlib
import signal
import subprocess
import sys
from typing import Any

import httpx
import pytest

import partner_async.sandbox
from partner_async.sandbox import (
    FaultConfig,
    SandboxApp,
    SandboxConfig,
    SandboxServer,
    SandboxTransport,
    create_app,
    ground_truth,
)
from partner_async.sandbox._cli import build_parser, config_from_args

SECRET = "s3cr3t-Key-that-must-never-show"
WRONG = "wr0ng-Key-that-must-never-show"
SANDBOX_DIR = pathlib.Path(partner_async.sandbox.__file__).parent


def multi(key: str, phone: str = "+33612345678", mid: int = 1226613) -> dict[str, Any]:
    return {"apiKey": key, "SMSStatut_List": [{"phoneNumber": phone, "messageId": mid}]}


def test_server_sync_context() -> None:
    with SandboxServer(SandboxConfig(seed=4)) as server:
        assert server.running
        assert server.port > 0
        assert server.sms_base_url == f"http://127.0.0.1:{server.port}/v1"
        assert server.mail_base_url == f"http://127.0.0.1:{server.port}/mail/v1"
        response = httpx.post(server.sms_base_url + "/multi-status", json=multi("sandbox"))
        entry = response.json()["StatutResponse_List"][0]
        assert entry["status"] == ground_truth("+33612345678", 1226613, seed=4).status
        mail = httpx.get(server.mail_base_url + "/bulk-status",
                         params={"apiKey": "sandbox", "messageId": "300"})  # fmt: skip
        assert mail.json()["code"] in (200, 4)
    assert not server.running
    with pytest.raises(RuntimeError):  # type: ignore[unreachable]  # (narrowed before)
        _ = server.port


@pytest.mark.anyio
async def test_server_async_context() -> None:
    async with SandboxServer() as server, httpx.AsyncClient() as client:
        response = await client.post(server.sms_base_url + "/multi-status", json=multi("x"))
        assert response.json()["code"] == 10


def test_server_serves_a_given_app_and_can_swap_it() -> None:
    first, second = create_app(), create_app(SandboxConfig(api_keys=("other",)))
    with SandboxServer(first) as server:
        url = server.sms_base_url + "/multi-status"
        assert httpx.post(url, json=multi("sandbox")).json()["code"] == 200
        server.app = second
        assert httpx.post(url, json=multi("sandbox")).json()["code"] == 10
    assert first.stats.requests == 1
    assert second.stats.requests == 1


def test_sandbox_server_fixture(sandbox_server: SandboxServer, sandbox_app: SandboxApp) -> None:
    assert sandbox_server.app is sandbox_app
    response = httpx.get(sandbox_server.sms_base_url + "/bulk-status",
                         params={"apiKey": "sandbox", "messageId": "111"})  # fmt: skip
    assert response.json()["message_id"] == "111"
    assert sandbox_app.stats.requests == 1


@pytest.mark.anyio
async def test_disconnect_over_loopback(
    sandbox_server: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(SandboxConfig(faults=FaultConfig(schedule={0: "disconnect"})))
    sandbox_server.app = app
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient() as client:
        refused = await client.post(sandbox_server.sms_base_url + "/multi-status",
                                    json=multi(SECRET))  # fmt: skip
        assert refused.json()["code"] == 10
    assert app.stats.faults["disconnect"] == 0  # the key was refused: no fault
    sandbox_server.app = app = create_app(
        SandboxConfig(api_keys=(SECRET,), faults=FaultConfig(schedule={0: "disconnect"}))
    )
    async with httpx.AsyncClient() as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await client.post(sandbox_server.sms_base_url + "/multi-status", json=multi(SECRET))
        ok = await client.post(sandbox_server.sms_base_url + "/multi-status", json=multi(SECRET))
        assert ok.status_code == 200
    assert app.stats.faults["disconnect"] == 1
    assert SECRET not in caplog.text
    assert "returned without completing" not in caplog.text


def test_transport_fixture(sandbox_transport: SandboxTransport, sandbox_app: SandboxApp) -> None:
    assert sandbox_transport.app is sandbox_app


class TestConfigOverride:
    @pytest.fixture
    def sandbox_config(self) -> SandboxConfig:
        return SandboxConfig(seed=42, api_keys=("mine",))

    def test_app_uses_the_overridden_config(self, sandbox_app: SandboxApp) -> None:
        assert sandbox_app.config.seed == 42

    @pytest.mark.anyio
    async def test_clients(self, sms_client: Any, mail_client: Any) -> None:
        import partner_async

        assert isinstance(sms_client, partner_async.SMSPartnerClient)
        assert isinstance(mail_client, partner_async.MailPartnerClient)
        assert sms_client.base_url.rstrip("/") == "http://127.0.0.1/v1"
        assert mail_client.base_url.rstrip("/") == "http://127.0.0.1/mail/v1"


# ------------------------------------------------------------------------ command line


def test_cli_options() -> None:
    args = build_parser().parse_args([
        "--seed", "7", "--api-key", "a", "--api-key", "b", "--latency", "0.5",
        "--waiting-polls", "-1", "--waiting-seconds", "3", "--status-spellings", "variants",
        "--field-variants", "--language", "fr", "--item-errors", "entry",
        "--fault", "http_503=0.1", "--fault", "slow=0.2", "--schedule", "0=disconnect",
        "--retry-after", "9", "--retry-after-date", "--slow-seconds", "2",
        "--server-error-body", "text", "--http-error-status",
    ])  # fmt: skip
    config = config_from_args(args)
    assert config.seed == 7
    assert config.api_keys == ("a", "b")
    assert config.latency == 0.5
    assert config.waiting_polls is None
    assert config.waiting_seconds == 3
    assert config.status_spellings == "variants"
    assert config.field_variants
    assert config.language == "fr"
    assert config.item_errors == "entry"
    assert config.http_error_status
    assert config.faults == FaultConfig(
        http_503=0.1, slow=0.2, schedule={0: "disconnect"}, retry_after=9,
        retry_after_http_date=True, slow_seconds=2, server_error_body="text",
    )  # fmt: skip
    assert config_from_args(build_parser().parse_args([])) == SandboxConfig()
    assert build_parser().parse_args([]).host == "127.0.0.1"


@pytest.mark.parametrize("argv", [["--fault", "boom=0.1"], ["--schedule", "x=http_503"]])
def test_cli_rejects_bad_options(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(argv)
    assert "expected" in capsys.readouterr().err


def test_cli_serves_and_never_prints_received_keys() -> None:
    """End to end through ``python -m partner_async.sandbox``: the printed banner names
    the configured key once; keys received (accepted or not, in URLs or bodies, with
    faults and errors) never appear in anything the process prints."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "partner_async.sandbox", "--port", "0", "--api-key", SECRET,
         "--schedule", "0=disconnect", "--schedule", "1=http_500", "--schedule", "2=slow",
         "--slow-seconds", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline() for _ in range(4)]
        sms = banner[0].split()[-1]
        mail = banner[1].split()[-1]
        assert sms.startswith("http://127.0.0.1:")
        assert sms.endswith("/v1")
        assert mail == sms.replace("/v1", "/mail/v1")
        assert banner[2].split()[-1] == SECRET
        with httpx.Client() as client:
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                client.post(sms + "/multi-status", json=multi(SECRET))
            assert client.post(sms + "/multi-status", json=multi(SECRET)).status_code == 500
            assert client.post(sms + "/multi-status", json=multi(SECRET)).status_code == 200
            assert client.post(sms + "/multi-status", json=multi(WRONG)).json()["code"] == 10
            for key in (SECRET, WRONG):
                client.get(sms + "/bulk-status", params={"apiKey": key, "messageId": "111"})
                client.get(mail + "/bulk-status", params={"apiKey": key, "messageId": "300"})
                client.get(sms + "/nowhere", params={"apiKey": key})
                client.post(sms + "/multi-status", content=b'{"apiKey": "' + key.encode())
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    printed = "".join(banner) + out + err
    assert WRONG not in printed
    assert printed.count(SECRET) == 1  # the banner's "API key:" line only
    assert "Traceback" not in err


def test_sandbox_never_imports_sdk_internals() -> None:
    for path in SANDBOX_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                assert node.level <= 1, f"{path.name} imports from a parent package"
                assert not module.startswith("partner_async._"), path.name
                if module.startswith("partner_async") and node.level == 0:
                    assert module.startswith("partner_async.sandbox"), path.name
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("partner_async._"), path.name


def test_public_names() -> None:
    names = partner_async.sandbox.__all__
    assert names == sorted(names)
    for name in names:
        obj = getattr(partner_async.sandbox, name)
        if callable(obj):
            assert obj.__doc__, name
