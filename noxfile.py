"""The checks CI runs (`.ci/run`), as nox sessions: `nox -l` lists them.

    nox -s lint typecheck docs        # ruff (check and format), mypy --strict, mkdocs --strict
    nox -s tests                      # the suite on every Python 3.10-3.13 found on PATH
    nox -s coverage                   # branch coverage of the package, with a floor

Interpreters are looked up as ``python3.X`` on PATH; a missing one is skipped locally and
fails in CI (``CI`` set). Development dependencies are PEP 735 groups of pyproject.toml.

The tracker's Redis tests need a server: ``tests`` and ``coverage`` use
``PARTNER_ASYNC_TEST_REDIS`` when it is set, else start a throwaway ``redis-server`` (from
PATH, on a free loopback port, no persistence, in a temporary directory) and stop it
afterwards. Without ``redis-server`` those tests skip with a warning locally, and the
session fails in CI.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
IN_CI = bool(os.environ.get("CI"))

nox.options.sessions = ["lint", "typecheck", "docs", "tests", "coverage"]
nox.options.error_on_missing_interpreters = IN_CI
nox.options.reuse_existing_virtualenvs = not IN_CI


def install(session: nox.Session, *groups: str, editable: bool = True) -> None:
    """The package (editable) and the given dependency groups, with a pip that knows
    ``--group`` (25.1 and newer)."""
    session.install("--quiet", "--upgrade", "pip>=25.1")
    arguments = ["--quiet", "-e", "."] if editable else ["--quiet"]
    for group in groups:
        arguments += ["--group", group]
    session.install(*arguments)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check on the whole repository."""
    install(session, "lint", editable=False)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package and on the tests."""
    install(session, "typecheck")
    session.run("mypy", "--strict", "partner_async", "tests")


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """The documentation site, warnings as errors."""
    install(session, "docs")
    session.run("mkdocs", "build", "--strict", "--quiet", "--site-dir", session.create_tmp())


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite (asyncio and trio), on one Python."""
    install(session, "test")
    with redis_for_tests(session) as env:
        session.run(
            "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *session.posargs, env=env
        )


@nox.session(python="3.11")
def coverage(session: nox.Session) -> None:
    """Branch coverage of ``partner_async`` over the suite; fails under the floor set in
    pyproject.toml ([tool.coverage.report] fail_under)."""
    install(session, "coverage")
    with redis_for_tests(session) as env:
        session.run("coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider", env=env)
    session.run("coverage", "report")


REDIS_VARIABLE = "PARTNER_ASYNC_TEST_REDIS"


@contextlib.contextmanager
def redis_for_tests(session: nox.Session) -> Iterator[dict[str, str]]:
    """The environment that gives the tests a Redis: nothing to add when
    ``PARTNER_ASYNC_TEST_REDIS`` is set; else a throwaway ``redis-server`` for the block,
    stopped when it ends (failed or not). No ``redis-server`` on PATH: a warning locally
    (the Redis tests skip), an error in CI."""
    if os.environ.get(REDIS_VARIABLE):
        yield {}
        return
    executable = shutil.which("redis-server")
    if executable is None:
        missing = f"redis-server is not on PATH and {REDIS_VARIABLE} is unset"
        if IN_CI:
            session.error(f"{missing}: CI runs the tracker's Redis tests")
        session.warn(
            f"{missing}: the tracker's Redis tests will skip (install redis-server, or set "
            f"{REDIS_VARIABLE}=redis://127.0.0.1:PORT/0, a database the tests may flush)"
        )
        yield {}
        return
    with tempfile.TemporaryDirectory(prefix="partner-async-redis-") as directory:
        started = _start_redis(executable, Path(directory))
        if started is None:
            log = (Path(directory) / "redis.log").read_text(errors="replace")
            session.error(f"redis-server did not start: {log[-2000:]}")
        port, process = started
        try:
            session.log(f"redis-server {process.pid} on 127.0.0.1:{port} for the Redis tests")
            yield {REDIS_VARIABLE: f"redis://127.0.0.1:{port}/0"}
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _start_redis(executable: str, directory: Path) -> tuple[int, subprocess.Popen[bytes]] | None:
    """A ``redis-server`` answering PING on a free loopback port, keeping nothing on disk
    (its working directory and log are in ``directory``), or None. A port taken between
    choosing it and the server binding it means another try."""
    log = directory / "redis.log"
    for _ in range(3):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        with log.open("wb") as output:
            process = subprocess.Popen(
                [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(directory), "--daemonize", "no"],
                stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline:
            if _pings(port):
                return port, process
            time.sleep(0.05)
        if process.poll() is None:  # alive but silent for 10 s: give up on it
            process.kill()
        process.wait()
    return None


def _pings(port: int) -> bool:
    """Whether a Redis on 127.0.0.1:``port`` answers PING (without a client library)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False
