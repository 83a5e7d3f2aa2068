"""``sms-status`` and ``mail-status``: every recipient of one message (the two
``bulk-status`` endpoints), one command built twice."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from partner_async import MailPartnerClient, SMSPartnerClient

from ._options import CONTEXT, JSON_OPTION, connection_options, fetch
from ._tables import mail_records, show_report, sms_records

__all__ = ["mail_status", "sms_status"]

C = TypeVar("C", SMSPartnerClient, MailPartnerClient)


def _bulk_status_command(
    name: str,
    client: type[C],
    env_var: str,
    noun: str,
    title: str,
    records: Callable[[Iterable[Any]], list[dict[str, Any]]],
) -> click.Command:
    """The command ``name``: ``client.bulk_status(MESSAGE_ID)`` shown as a table or JSON."""

    @click.command(
        name,
        context_settings=CONTEXT,
        help=f"Every recipient of one {noun} (MESSAGE_ID) and its delivery status.\n\n"
        "A table on a terminal, JSON otherwise (or with --json).",
    )
    @click.argument("message_id")
    @connection_options(env_var)
    @JSON_OPTION
    def command(message_id: str, as_json: bool, **connection: Any) -> None:
        report = fetch(client, connection, lambda c: c.bulk_status(message_id))
        show_report(title, report, records(report.recipients), as_json)

    return command


sms_status = _bulk_status_command(
    "sms-status", SMSPartnerClient, "SMSPARTNER_API_KEY", "SMS", "SMS", sms_records
)
mail_status = _bulk_status_command(
    "mail-status", MailPartnerClient, "MAILPARTNER_API_KEY", "e-mail", "E-mail", mail_records
)
