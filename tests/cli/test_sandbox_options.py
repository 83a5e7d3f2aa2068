"""``partner-async sandbox`` and ``python -m partner_async.sandbox`` offer one option set."""

from __future__ import annotations

import datetime

import click
import pytest
from click.testing import CliRunner

import partner_async.sandbox
from partner_async.cli import cli
from partner_async.sandbox import SandboxConfig
from partner_async.sandbox._cli import build_parser, config_from_args
from partner_async.sandbox._cli import main as sandbox_main
from partner_async.sandbox._options import OPTIONS

ARGV = [
    "--port", "0", "--seed", "7", "--api-key", "k1", "--api-key", "k2", "--latency", "0.5",
    "--waiting-polls", "-1", "--waiting-seconds", "3", "--status-spellings", "variants",
    "--field-variants", "--language", "fr", "--item-errors", "request", "--request-not-found",
    "--validation-detail",
    "--http-error-status", "--echo-numbers-as-sent", "--max-items", "100",
    "--rate-limit", "30", "--rate-limit-no-retry-after", "--cost-resume-limit", "-1",
    "--tag-page-size", "10", "--today", "2024-03-15", "--fault", "http_503=0.1",
    "--schedule", "0=disconnect", "--retry-after", "-1", "--retry-after-date",
    "--slow-seconds", "2", "--server-error-body", "text",
]  # fmt: skip


def click_config(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> SandboxConfig:
    seen: list[SandboxConfig] = []
    monkeypatch.setattr(partner_async.sandbox, "serve", lambda config, **_: seen.append(config))
    result = CliRunner().invoke(cli, ["sandbox", *argv])
    assert result.exit_code == 0, result.output
    return seen[0]


def test_both_commands_have_every_option_of_the_table() -> None:
    command = cli.commands["sandbox"]
    click_flags = {
        flag for p in command.params if isinstance(p, click.Option) for flag in p.opts
    } - {"-h", "--help"}
    parser_flags = {
        flag for action in build_parser()._actions for flag in action.option_strings
    } - {"-h", "--help"}
    table = {option.flag for option in OPTIONS}
    assert click_flags == parser_flags == table


@pytest.mark.parametrize("argv", [[], ARGV])
def test_both_commands_build_the_same_config(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from_argparse = config_from_args(build_parser().parse_args(argv))
    assert click_config(argv, monkeypatch) == from_argparse
    if argv:
        assert from_argparse.rate_limit == 30 and not from_argparse.rate_limit_retry_after
        assert from_argparse.cost_resume_limit is None and from_argparse.faults.retry_after is None
        assert from_argparse.today == datetime.date(2024, 3, 15)
        assert not from_argparse.normalize_numbers and from_argparse.request_not_found
    else:
        assert from_argparse == SandboxConfig()


@pytest.mark.parametrize(
    "argv", [["--today", "15/03/2024"], ["--schedule", "x=http_503"], ["--rate-limit", "0"]]
)
def test_both_commands_refuse_the_same_bad_values(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(partner_async.sandbox, "serve", lambda *a, **k: None)
    result = CliRunner().invoke(cli, ["sandbox", *argv])
    assert result.exit_code == 1 and "Error" in result.stderr
    monkeypatch.setattr("partner_async.sandbox._server.serve", lambda *a, **k: None)
    with pytest.raises(SystemExit) as info:
        sandbox_main(argv)
    assert info.value.code == 2 and "error" in capsys.readouterr().err
