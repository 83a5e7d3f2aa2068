"""``python -m partner_async.sandbox`` without the ``sandbox`` extra: a clear message."""

from __future__ import annotations

import subprocess
import sys

# Runs the module as ``python -m`` does, with uvicorn made unimportable.
_WITHOUT_UVICORN = (
    "import runpy, sys; sys.modules['uvicorn'] = None; "
    "sys.argv[0] = 'partner_async.sandbox'; "
    "runpy.run_module('partner_async.sandbox', run_name='__main__', alter_sys=True)"
)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_UVICORN, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serving_without_uvicorn_says_which_extra_to_install() -> None:
    result = _run("--port", "0")
    assert result.returncode == 1
    assert result.stderr == (
        "Error: python -m partner_async.sandbox needs uvicorn: "
        "pip install 'partner-async[sandbox]'\n"
    )
    assert "Traceback" not in result.stderr


def test_help_and_usage_errors_need_no_uvicorn() -> None:
    help_result = _run("--help")
    assert help_result.returncode == 0
    assert "--port" in help_result.stdout
    usage = _run("--port", "not-a-port")
    assert usage.returncode == 2
    assert "argument --port" in usage.stderr and "not-a-port" in usage.stderr
