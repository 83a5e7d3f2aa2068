"""``track``: durable follow-up of a campaign to final status on a store
(:class:`~partner_async.StatusTracker`): ``add``, ``run``, ``status``, ``export``."""

from __future__ import annotations

import sys
import time
from typing import Any

import attrs
import click
import msgspec

from partner_async import SMSPartnerClient, StatusResult, StatusTracker, TrackerUpdate

from ._io import open_input, open_output, read_in_thread
from ._options import (
    CONTEXT,
    JSON_OPTION,
    connection_options,
    key_and_url,
    maybe_sandbox,
    resolve_api_key,
)
from ._progress import ProgressLike, Reporter, reporter
from ._runtime import run_async
from ._tables import wants_json

__all__ = ["track"]

_STORE = click.option(
    "--store",
    metavar="URL",
    required=True,
    help="The tracker's store: sqlite:///path.db (one process) or redis://host:port/db "
    "(several workers).",
)
#: Normalising queries needs a client, not a key: add, status and export ask nothing.
_OFFLINE_KEY = "offline"
#: Seconds between two log lines of ``track run`` when stderr is not a terminal.
_LOG_INTERVAL = 5.0
#: Seconds between two snapshots handed to the bar or log (not one per update).
_SHOW = 0.1
#: Seconds between two re-reads of the store's counts while ``track run`` runs: between
#: them the display counts from the updates; the re-read adds what other workers did and
#: corrects an update delivered again after a crash.
_RESYNC = 30.0


@click.group("track", context_settings=CONTEXT)
def track() -> None:
    """Follow a campaign to final status, durably (survives restarts; Redis: many workers)."""


def _offline(store: str) -> StatusTracker:
    return StatusTracker(SMSPartnerClient(_OFFLINE_KEY), store=store)


@track.command("add", context_settings=CONTEXT)
@click.argument("file")
@_STORE
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default=None,
              help="Input format (default: from the extension; csv).")  # fmt: skip
def add(file: str, store: str, fmt: str | None) -> None:
    """Add the queries of FILE (CSV or JSONL, '-' for stdin) to the store; idempotent."""

    async def run() -> tuple[int, int]:
        with open_input(file, fmt) as source:
            async with _offline(store) as tracker:
                added = await tracker.add(read_in_thread(source))
                return added, source.rows_read

    added, read = run_async(run)
    click.echo(f"{added} new queries added ({read} rows read) to {store}", err=True)


def _update_record(update: TrackerUpdate) -> dict[str, Any]:
    current = update.current
    record: dict[str, Any] = {
        "id": update.id,
        "phone_number": update.query.phone_number,
        "message_id": update.query.message_id,
        "round": update.round,
        "final": update.is_final,
    }
    if isinstance(current, StatusResult):
        record.update(status=current.status.value, status_text=current.status_text,
                      date=current.to_dict()["date"])  # fmt: skip
    else:
        record.update(unresolved=current.reason.value, detail=current.detail)
    return record


def _not_counted(counts: dict[str, int]) -> int:
    return counts.get("pending", 0) + counts.get("undelivered", 0)


@attrs.define
class _RunProgress:
    """What ``track run`` displays (a :class:`~._progress.ProgressLike` snapshot): queries
    final (``done``) of ``total``, ``pending``, updates ``delivered``, the highest
    ``round`` an update came from."""

    done: int = 0
    total: int | None = None
    pending: int = 0
    delivered: int = 0
    round: int = 0
    requests: int = 0
    retries: int = 0
    unresolved: int = 0

    def recount(self, counts: dict[str, int]) -> None:
        """Take the store's counts (a ``tracker.counts()``)."""
        self.total = sum(counts.values()) - _not_counted(counts)
        self.pending = counts.get("pending", 0)
        self.done = self.total - self.pending

    def add(self, update: TrackerUpdate) -> None:
        """Count one update (a query turning final moves from pending to done: a final
        query is not asked again, so it has one final update, unless delivered again)."""
        self.delivered += 1
        self.round = max(self.round, update.round)
        if update.is_final:
            self.pending = max(self.pending - 1, 0)
            self.done = min(self.done + 1, self.total or 0)


def _run_detail(progress: ProgressLike) -> str:
    assert isinstance(progress, _RunProgress)
    return f"{progress.pending:,} pending, {progress.delivered:,} updates, round {progress.round}"


@track.command("run", context_settings=CONTEXT)
@_STORE
@click.option("-o", "--output", metavar="FILE", default=None,
              help="Append every update as a JSON line to FILE ('-': stdout).")  # fmt: skip
@click.option("--until-final/--once", default=True, show_default=True,
              help="Run until no query is pending, or one pass over what is due.")  # fmt: skip
@click.option("--poll-interval", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Seconds before asking a Waiting query again (x1.5 each time).")  # fmt: skip
@click.option("--deadline", type=click.FloatRange(min=0), default=None,
              help="Stop after this many seconds (the store stays consistent).")  # fmt: skip
@click.option("--worker", metavar="NAME", default=None,
              help="This worker's name (a restart under it resumes at once).")  # fmt: skip
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, log lines or summary.")
@connection_options("SMSPARTNER_API_KEY")
def run_command(
    store: str,
    output: str | None,
    until_final: bool,
    poll_interval: float,
    deadline: float | None,
    worker: str | None,
    quiet: bool,
    **connection: Any,
) -> None:
    """Poll the store's due queries and write each change (at-least-once, with a stable id).

    Progress on stderr: a bar on a terminal (queries final / total, pending, updates
    delivered, the current round), else a log line every 5 seconds; none with --quiet.
    Ctrl-C (SIGINT) stops at once and leaves the store consistent: changes not yet
    written out are delivered again by the next run. Several `track run` processes may
    share one redis:// store.
    """
    sandbox = connection.get("sandbox", False)
    api_key = resolve_api_key(
        connection.get("api_key"),
        connection.get("api_key_file"),
        "SMSPARTNER_API_KEY",
        sandbox=sandbox,
    )
    with maybe_sandbox(sandbox) as server:
        key, url = key_and_url(sandbox, api_key, connection.get("base_url"), server)

        async def run(display: Reporter) -> _RunProgress:
            out = sys.stdout if output in (None, "-") else open(output, "a")  # noqa: SIM115, ASYNC230
            progress = _RunProgress()
            try:
                async with (
                    SMSPartnerClient(key, base_url=url, timeout=connection.get("timeout", 30.0),
                                     max_retries=connection.get("retries", 3)) as client,
                    StatusTracker(client, store=store, poll_interval=poll_interval,
                                  worker=worker) as tracker,
                ):  # fmt: skip
                    progress.recount(await tracker.counts())
                    display.start("tracking", progress.total, progress.done)
                    display(progress)
                    show, resync = time.monotonic() + _SHOW, time.monotonic() + _RESYNC
                    async for update in tracker.run(until_final=until_final, deadline=deadline):
                        if output is not None:
                            out.write(msgspec.json.encode(_update_record(update)).decode() + "\n")
                            out.flush()  # written out before the update is marked delivered
                        progress.add(update)
                        now = time.monotonic()
                        if now >= resync:
                            progress.recount(await tracker.counts())
                            resync = now + _RESYNC
                        if now >= show:
                            display(progress)
                            show = now + _SHOW
                    progress.recount(await tracker.counts())
                    display(progress)
                    display.finish()
            finally:
                if out is not sys.stdout:
                    out.close()
            return progress

        with reporter(quiet, detail=_run_detail, interval=_LOG_INTERVAL, fill=False) as display:
            done = run_async(lambda: run(display), secrets=(api_key,))
        if not quiet:
            click.echo(f"{done.delivered:,} updates; {done.done:,}/{done.total or 0:,} final, "
                       f"{done.pending:,} pending in {store}", err=True)  # fmt: skip


@track.command("status", context_settings=CONTEXT)
@_STORE
@JSON_OPTION
def status(store: str, as_json: bool) -> None:
    """How many queries have each latest status, and how many are pending."""

    async def run() -> dict[str, int]:
        async with _offline(store) as tracker:
            return await tracker.counts()

    counts = run_async(run)
    if wants_json(as_json):
        click.echo(msgspec.json.encode(counts, order="sorted").decode())
        return
    for name, value in sorted(counts.items()):
        click.echo(f"{name:>20}  {value}")


@track.command("export", context_settings=CONTEXT)
@_STORE
@click.option("-o", "--output", metavar="FILE", required=True,
              help="Write each query's latest outcome to FILE (CSV or JSONL).")  # fmt: skip
def export(store: str, output: str) -> None:
    """Every query of the store with its latest outcome (queries not answered yet are
    left out and counted)."""

    async def run() -> tuple[int, int]:
        written = skipped = 0
        with open_output(output) as writer:
            async with _offline(store) as tracker:
                async for _, outcome in tracker.export():
                    if outcome is None:
                        skipped += 1
                        continue
                    writer.write((([], outcome),))  # no input row: the outcome columns
                    written += 1
            writer.finish()
        return written, skipped

    written, skipped = run_async(run)
    click.echo(f"{written} outcomes written to {output}; {skipped} not answered yet", err=True)
