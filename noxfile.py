"""The checks CI runs (`.ci/run`), as nox sessions: `nox -l` lists them.

    nox -s lint typecheck docs        # ruff (check and format), mypy --strict, mkdocs --strict
    nox -s tests                      # the suite on every Python 3.10-3.13 found on PATH
    nox -s coverage                   # branch coverage of the package, with a floor

Interpreters are looked up as ``python3.X`` on PATH; a missing one is skipped locally and
fails in CI (``CI`` set). Development dependencies are PEP 735 groups of pyproject.toml.
"""

from __future__ import annotations

import os

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
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python="3.11")
def coverage(session: nox.Session) -> None:
    """Branch coverage of ``partner_async`` over the suite; fails under the floor set in
    pyproject.toml ([tool.coverage.report] fail_under)."""
    install(session, "coverage")
    session.run("coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider")
    session.run("coverage", "report")
