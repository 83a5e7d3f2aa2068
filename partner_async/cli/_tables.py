"""How the single-request commands print what they got: a table on a terminal (rich),
indented JSON when piped or with ``--json``; the records (rows) of recipients and reports
picked from the values' JSON-ready ``to_dict()``."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, Final

import click
import msgspec

from partner_async import MailBulkReport, SMSBulkReport

__all__ = [
    "MAIL_RECIPIENT_KEYS",
    "SMS_RECIPIENT_KEYS",
    "cell",
    "mail_records",
    "pick",
    "print_json",
    "print_table",
    "show_report",
    "sms_records",
    "stdout_is_terminal",
    "wants_json",
]

SMS_RECIPIENT_KEYS: Final = ("phone_number", "status", "status_text", "date", "stop_sms")
MAIL_RECIPIENT_KEYS: Final = (
    "email", "token", "status", "status_text", "cost", "stop_mail", "date"
)  # fmt: skip


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal (a table), not a pipe or file (JSON)."""
    return sys.stdout.isatty()


def wants_json(as_json: bool) -> bool:
    """JSON with ``--json`` (``as_json``) or when stdout is not a terminal."""
    return as_json or not stdout_is_terminal()


def print_json(document: Any) -> None:
    """``document`` as JSON indented by 2, on stdout."""
    click.echo(msgspec.json.format(msgspec.json.encode(document), indent=2).decode())


def cell(value: Any) -> str:
    """A value as a table cell: None empty, booleans yes/no, else its text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def print_table(
    title: str, records: list[dict[str, Any]], right: tuple[str, ...] = (), empty: str = "-"
) -> None:
    """``records`` as a table under ``title``: one column per key of the first record
    (one column ``empty`` without records), the ``right`` ones right-aligned."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    columns = list(records[0]) if records else [empty]
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left")
    for record in records:
        table.add_row(*(cell(record[c]) for c in columns))
    Console().print(table)


def pick(value: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """Some fields of a value's JSON-ready ``to_dict()``, in this order."""
    document = value.to_dict()
    return {key: document[key] for key in keys}


def sms_records(recipients: Iterable[Any]) -> list[dict[str, Any]]:
    """The table/JSON records of SMS recipients (sms-status and tag-status)."""
    return [pick(r, SMS_RECIPIENT_KEYS) for r in recipients]


def mail_records(recipients: Iterable[Any]) -> list[dict[str, Any]]:
    """The table/JSON records of e-mail recipients (mail-status)."""
    return [pick(r, MAIL_RECIPIENT_KEYS) for r in recipients]


def show_report(
    title: str,
    report: SMSBulkReport | MailBulkReport,
    records: list[dict[str, Any]],
    as_json: bool,
) -> None:
    """A bulk-status report: its counts by status and its recipients' ``records``."""
    counts = {s.value: n for s, n in report.counts_by_status().most_common()}
    if wants_json(as_json):
        print_json({"message_id": report.message_id, "counts": counts, "recipients": records})
        return
    summary = ", ".join(f"{status} {n}" for status, n in counts.items())
    print_table(
        f"{title} {report.message_id}: {len(records)} recipients ({summary})",
        records,
        right=("cost",),
        empty="recipient",
    )
