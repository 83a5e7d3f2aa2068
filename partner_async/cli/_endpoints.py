"""``message-status``, ``tag-status`` and ``costs``: the single-request SMS endpoints,
in the style of ``sms-status`` (a table on a terminal, JSON when piped or with --json)."""

from __future__ import annotations

import datetime
from typing import Any, Final, cast, get_args

import click

from partner_async import (
    CostInterval,
    CostStatistics,
    MessageStatus,
    SMSPartnerClient,
    TagStatusReport,
)

from ._options import CONTEXT, JSON_OPTION, connection_options, fetch
from ._runtime import fail
from ._tables import pick, print_json, print_table, sms_records, wants_json

__all__ = ["costs", "message_status", "tag_status"]


def _as_text(value: Any) -> Any:
    return None if value is None else str(value)


_MESSAGE_KEYS: Final = (
    "phone_number", "message_id", "status", "status_text", "date", "stop_sms",
    "cost",  # exact decimal text, not a float
    "currency", "country_code",
)  # fmt: skip


def _message_record(status: MessageStatus) -> dict[str, Any]:
    return pick(status, _MESSAGE_KEYS)


@click.command("message-status", context_settings=CONTEXT)
@click.argument("phone_number")
@click.argument("message_id")
@connection_options("SMSPARTNER_API_KEY")
@JSON_OPTION
def message_status(phone_number: str, message_id: str, as_json: bool, **connection: Any) -> None:
    """The status of one SMS (MESSAGE_ID) to one recipient (PHONE_NUMBER).

    A table on a terminal, JSON otherwise (or with --json). National numbers are read
    in the FR region.
    """
    status = fetch(
        SMSPartnerClient, connection, lambda c: c.message_status(phone_number, message_id)
    )
    record = _message_record(status)
    if wants_json(as_json):
        print_json(record)
        return
    rows = [{"field": name, "value": value} for name, value in record.items()]
    print_table(f"SMS {status.message_id} to {status.phone_number}", rows)


@click.command("tag-status", context_settings=CONTEXT)
@click.argument("tag")
@connection_options("SMSPARTNER_API_KEY")
@JSON_OPTION
def tag_status(tag: str, as_json: bool, **connection: Any) -> None:
    """Every recipient of the SMS sent with TAG and its delivery status.

    A table on a terminal, JSON otherwise (or with --json). The vendor pages this answer
    without a documented way to ask for the next page: "complete" says whether every
    recipient came.
    """
    report: TagStatusReport = fetch(
        SMSPartnerClient, connection, lambda c: c.bulk_status_by_tag(tag)
    )
    counts = {s.value: n for s, n in report.counts_by_status().most_common()}
    records = sms_records(report.recipients)
    if wants_json(as_json):
        print_json(
            {
                "tag": report.tag,
                "current_page": report.current_page,
                "total": report.total,
                "complete": report.is_complete,
                "counts": counts,
                "recipients": records,
            }
        )
        return
    summary = ", ".join(f"{status} {n}" for status, n in counts.items())
    listed = f"{len(records)} of {report.total}" if not report.is_complete else str(len(records))
    print_table(f"Tag {report.tag}: {listed} recipients ({summary})", records)


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from None


@click.command("costs", context_settings=CONTEXT)
@click.option(
    "--interval",
    type=click.Choice(get_args(CostInterval)),
    default=None,
    help="The period (default: last_twelve_months; custom when --from/--to are given).",
)
@click.option("--from", "start", metavar="YYYY-MM-DD", callback=_date, help="First day (custom).")
@click.option("--to", "end", metavar="YYYY-MM-DD", callback=_date, help="Last day (custom).")
@connection_options("SMSPARTNER_API_KEY")
@JSON_OPTION
def costs(
    interval: str | None,
    start: datetime.date | None,
    end: datetime.date | None,
    as_json: bool,
    **connection: Any,
) -> None:
    """SMS sent and their cost, per month (statistics/cost-resume).

    A table on a terminal, JSON otherwise (or with --json). The vendor allows 5 such
    requests per minute.
    """
    if interval is None:
        interval = "custom" if start is not None or end is not None else "last_twelve_months"
    if interval == "custom" and (start is None or end is None):
        fail("--interval custom needs --from and --to")
    if interval != "custom" and (start is not None or end is not None):
        fail(f"--from and --to are for --interval custom, not {interval}")
    statistics: CostStatistics = fetch(
        SMSPartnerClient,
        connection,
        lambda c: c.cost_statistics(cast(CostInterval, interval), start=start, end=end),
    )
    records = [
        {
            "year": row.year,
            "month": row.month_number,
            "name": row.month,
            "type": row.type,
            "messages_sent": row.messages_sent,
            "cost": _as_text(row.cost),
            "start": row.to_dict()["date"],
        }
        for row in statistics.rows
    ]
    total_cost, total_messages = str(statistics.total_cost), statistics.total_messages
    if wants_json(as_json):
        print_json(
            {
                "interval": statistics.interval,
                "total_cost": total_cost,
                "total_messages": total_messages,
                "rows": records,
            }
        )
        return
    print_table(
        f"Costs, {statistics.interval}: {total_messages} SMS, {total_cost} in all",
        records,
        right=("messages_sent", "cost"),
    )
