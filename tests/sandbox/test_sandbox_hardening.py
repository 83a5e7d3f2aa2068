"""Issue 12: the sandbox refuses non-loopback hosts and answers absurd ids like the vendor."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from partner_async.sandbox import SandboxServer
from partner_async.sandbox._cli import build_parser


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "example.com"])
def test_the_sandbox_command_binds_loopback_only(
    host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--host", host])
    assert exited.value.code == 2
    assert "not a loopback address" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    assert build_parser().parse_args(["--host", host]).host == host.strip("[]")


def test_python_m_sandbox_refuses_every_interface() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "partner_async.sandbox", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "not a loopback address" in done.stderr


def test_a_5000_digit_message_id_gets_a_vendor_answer_not_a_500() -> None:
    huge = "9" * 5000
    with SandboxServer() as server, httpx.Client() as http:
        multi = http.post(
            f"{server.sms_base_url}/multi-status",
            json={
                "apiKey": "sandbox",
                "SMSStatut_List": [{"phoneNumber": "+33612345678", "messageId": huge}],
            },
        )
        bulk = http.get(
            f"{server.sms_base_url}/bulk-status", params={"apiKey": "sandbox", "messageId": huge}
        )
    assert multi.status_code == 200
    [entry] = multi.json()["StatutResponse_List"]
    assert (entry["success"], entry["code"]) == (False, 4)
    assert bulk.status_code == 200
    assert (bulk.json()["success"], bulk.json()["code"]) == (False, 4)
