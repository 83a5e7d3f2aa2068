"""The README's tables of outcomes and retries say exactly what the code does: they are
parsed here and compared with the code's rules (``_codes.CODES``, ``is_retryable_status``,
``classify``), so that neither can change without the other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from partner_async import (
    AuthenticationError,
    InsufficientCreditError,
    PermissionDeniedError,
)
from partner_async._codes import CODES, CodeKind, code_kind
from partner_async._runner import Failure, classify, is_retryable_status
from partner_async._transport import RawResponse
from partner_async._wire import decode_multi_status

README = Path(__file__).parent.parent / "README.md"
HTTP_ERRORS = range(400, 600)


def table(header: str) -> list[list[str]]:
    """The rows (cells) of the README table whose header line starts with ``header``."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def numbers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\b\d{1,3}\b", text)}


def http_statuses(text: str) -> set[int]:
    """The HTTP statuses a cell names: after "HTTP", with "every 5xx except A and B"."""
    found = re.search(r"HTTP (.*)", text)
    if not found:
        return set()
    part = found.group(1).split(";")[0]
    statuses: set[int] = set()
    every = re.search(r"every 5xx except (\d+) and (\d+)", part)
    if every:
        statuses |= set(range(500, 600)) - {int(every.group(1)), int(every.group(2))}
        part = part.replace(every.group(0), "")
    return statuses | (numbers(part) & set(HTTP_ERRORS))


def body_codes(text: str) -> set[int]:
    """The vendor codes a cell names (the part before any "HTTP")."""
    return numbers(text.split("HTTP")[0])


def classified(status: int) -> str:
    raw = RawResponse(status_code=status, content=b"<html>", content_type="", retry_after=None)
    try:
        verdict = classify(raw, decode_multi_status)
    except (AuthenticationError, PermissionDeniedError):
        return "raised"
    assert isinstance(verdict, Failure), status
    return "yes" if verdict.retryable else "no"


# -- "What is retried" ---------------------------------------------------------------

_VERDICTS = {"yes": CodeKind.RETRY, "raised": CodeKind.FATAL, "split": CodeKind.SPLIT,
             "no": CodeKind.REJECT}  # fmt: skip


def verdict(cell: str) -> str:
    if cell.startswith("yes"):
        return "yes"
    if "raised at once" in cell:
        return "raised"
    if "split" in cell:
        return "split"
    assert cell == "no", cell
    return "no"


def test_retry_table_codes_are_the_code_table() -> None:
    rows = [(body_codes(f.split("body code")[1]), verdict(v)) for f, v in
            table("| failure | retried? |") if "body code" in f]  # fmt: skip
    listed = [code for codes, _ in rows for code in codes]
    assert sorted(listed) == sorted(CODES)  # every code once, no other
    for codes, said in rows:
        for code in codes:
            assert code_kind(code) is _VERDICTS[said], (code, said)
    [unknown_row] = [v for f, v in table("| failure | retried? |") if "unknown codes" in f]
    assert _VERDICTS[verdict(unknown_row)] is code_kind(12345)


def test_retry_table_http_statuses_are_the_code_rule() -> None:
    said: dict[int, str] = {}
    for failure, cell in table("| failure | retried? |"):
        for status in http_statuses(failure):
            said[status] = verdict(cell)
        if "other 4xx" in failure:
            other = verdict(cell)
    for status in HTTP_ERRORS:
        expected = said.get(status, other if status < 500 else "<missing>")
        assert classified(status) == expected, status
        assert is_retryable_status(status) is (expected == "yes"), status
    assert {501, 505} <= {s for s, v in said.items() if v == "no"}


# -- "What a query ends as" ----------------------------------------------------------


def outcomes() -> dict[str, str]:
    return {outcome: when for outcome, when, _ in table("| outcome | when | fields |")}


def test_outcome_table_rejected_row() -> None:
    when = outcomes()["`Unresolved(REJECTED, code)`"]
    kinds = (CodeKind.SPLIT, CodeKind.REJECT)
    assert body_codes(when) == {c for c in CODES if code_kind(c) in kinds}
    assert "unknown codes" in when
    assert http_statuses(when) == {501, 505}
    assert "other HTTP 4xx" in when


def test_outcome_table_retried_rows() -> None:
    rows = outcomes()
    server = rows["`Unresolved(SERVER_ERROR)`"]
    retryable = {s for s in HTTP_ERRORS if is_retryable_status(s)}
    assert http_statuses(server.split(" or body code")[0]) == retryable - {429}
    assert numbers(server.split("body code")[1]) == {
        c for c in CODES if code_kind(c) is CodeKind.RETRY and c != 429
    }
    limited = rows["`Unresolved(RATE_LIMITED)`"]
    assert numbers(limited) == {429}


@pytest.mark.parametrize(
    ("row", "error", "http"),
    [
        ("raises `AuthenticationError`", AuthenticationError, {401}),
        ("raises `PermissionDeniedError`", PermissionDeniedError, {403}),
        ("raises `InsufficientCreditError`", InsufficientCreditError, set()),
    ],
)
def test_outcome_table_raising_rows(row: str, error: type[Exception], http: set[int]) -> None:
    when = outcomes()[row]
    assert body_codes(when) == {c for c, (_, _, cls) in CODES.items() if cls is error}
    assert http_statuses(when) == http
    for status in http:
        assert classified(status) == "raised"
