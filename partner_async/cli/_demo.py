"""``partner-async demo``: the command, its deterministic queries, and the summary tables
of a run."""

from __future__ import annotations

import random
import time
from collections import Counter

import attrs
import click
from rich.console import Console
from rich.table import Table

from partner_async import (
    CallStats,
    MultiStatusResult,
    RetryPolicy,
    SMSPartnerClient,
    StatusResult,
    StatusUpdate,
    UnresolvedReason,
)

from ._options import CONTEXT, SANDBOX_KEY, batch_options
from ._progress import Rounds, reporter
from ._runtime import EXIT_OK, EXIT_UNRESOLVED, run_async, sandbox_server

__all__ = [
    "DemoRun",
    "FollowCounter",
    "demo",
    "demo_queries",
    "print_summary",
    "summary_tables",
]


def _invalid(kind: int, position: int) -> tuple[str, int | str]:
    """An invalid query, distinct per ``position``, so that every outcome kind shows up:
    a number too short (the SDK refuses it before sending: INVALID_QUERY), a French
    landline (the API refuses it with code 9: REJECTED once the SDK isolates it), a
    message id that is not a number (INVALID_QUERY)."""
    if kind == 0:
        return f"+336{position % 10_000:04d}", 1_000_000 + position
    if kind == 1:
        return f"+331{position % 100_000_000:08d}", 1_000_000 + position
    return f"+336{position % 100_000_000:08d}", f"id-{position}"


def demo_queries(count: int, seed: int = 0) -> list[tuple[str, int | str]]:
    """``count`` deterministic ``(phone_number, message_id)`` queries for the demo.

    Valid French mobile numbers (``+336...``/``+337...``, a few in national form
    ``06 ...``) spread over a pool of message ids; about 1% repeat an earlier query; one
    query in 20,000 (at least 3) is invalid. The same ``count`` and ``seed`` always give
    the same list.
    """
    rng = random.Random(seed)
    message_ids = [rng.randrange(1_000_000, 99_999_999) for _ in range(max(count // 100, 1))]
    invalid_every = max(min(count // 3, 20_000), 1)
    queries: list[tuple[str, int | str]] = []
    for position in range(count):
        if position % invalid_every == invalid_every - 1:
            queries.append(_invalid((position // invalid_every) % 3, position))
            continue
        if queries and rng.random() < 0.01:
            queries.append(queries[rng.randrange(len(queries))])
            continue
        prefix = rng.choice("67")
        subscriber = rng.randrange(100_000_000)
        if rng.random() < 0.02:
            digits = f"0{prefix}{subscriber:08d}"
            phone = " ".join(digits[i : i + 2] for i in range(0, 10, 2))
        else:
            phone = f"+33{prefix}{subscriber:08d}"
        queries.append((phone, rng.choice(message_ids)))
    return queries


@attrs.define
class FollowCounter:
    """``wait_for_final``'s ``on_update``: counts the Waiting queries that turned final."""

    followed: int = 0
    rounds: int = 0

    def __call__(self, update: StatusUpdate) -> None:
        """Count one update."""
        current = update.current
        if type(update.previous) is StatusResult and type(current) is StatusResult:
            self.followed += current.is_final
        self.rounds = max(self.rounds, update.round)


@attrs.frozen
class DemoRun:
    """What the demo measured, for the summary."""

    queries: int
    results: MultiStatusResult
    wall_time: float
    check_time: float
    followed: int
    rounds: int
    faults: Counter[str]


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def summary_tables(run: DemoRun) -> list[Table]:
    """The demo's summary: outcomes by status, code and reason, then the run's figures."""
    results = run.results
    distinct = len(results)
    outcomes = Table(title="Outcomes", title_justify="left", show_edge=False)
    outcomes.add_column("outcome")
    outcomes.add_column("queries", justify="right")
    outcomes.add_column("share", justify="right")
    for status, count in results.counts_by_status().most_common():
        label = f"status {status.value}" + (" (not found)" if status.value == "Unknown" else "")
        outcomes.add_row(label, f"{count:,}", _pct(count, distinct))
    outcomes.add_section()
    for code, count in results.counts_by_code().most_common():
        label = {200: "found", 4: "number not found"}.get(code, "")
        outcomes.add_row(f"code {code} {label}".rstrip(), f"{count:,}", _pct(count, distinct))
    outcomes.add_section()
    reasons = results.counts_by_reason()
    for reason, count in reasons.most_common():
        outcomes.add_row(f"unresolved: {reason.value}", f"{count:,}", _pct(count, distinct))
    if not reasons:
        outcomes.add_row("unresolved", "0", "0.0%")

    stats: CallStats = results.stats
    figures = Table(title="Run", title_justify="left", show_edge=False)
    figures.add_column("figure")
    figures.add_column("value", justify="right")
    figures.add_row("input queries", f"{run.queries:,}")
    figures.add_row("distinct queries", f"{distinct:,}")
    figures.add_row("duplicates", f"{run.queries - distinct:,}")
    figures.add_row("requests", f"{stats.requests:,}")
    figures.add_row("retries", f"{stats.retries:,}")
    figures.add_row("re-asked (missing from answers)", f"{stats.reasked:,}")
    figures.add_row("Waiting followed to final", f"{run.followed:,} in {run.rounds} rounds")
    injected = [(kind, n) for kind, n in run.faults.most_common() if n]
    for kind, n in injected:
        figures.add_row(f"sandbox fault injected: {kind}", f"{n:,}")
    if not injected:
        figures.add_row("sandbox faults injected", "0")
    figures.add_row("first pass", f"{run.check_time:.2f} s")
    figures.add_row("wall time", f"{run.wall_time:.2f} s")
    rate = run.queries / run.check_time if run.check_time > 0 else 0.0
    figures.add_row("items/s (first pass)", f"{rate:,.0f}")
    return [outcomes, figures]


def print_summary(run: DemoRun, console: Console) -> None:
    """Print :func:`summary_tables` to ``console``."""
    for table in summary_tables(run):
        console.print(table)
        console.print()


@click.command(context_settings=CONTEXT)
@click.option(
    "--queries",
    "count",
    type=click.IntRange(min=1),
    default=200_000,
    show_default=True,
    help="How many queries to check.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of queries and data.")
@batch_options(concurrency=16)
@click.option(
    "--faults/--no-faults",
    default=True,
    show_default=True,
    help="Let the sandbox inject a few faults (HTTP 503, dropped and reordered entries).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or log lines.")
def demo(
    count: int, seed: int, concurrency: int, batch_size: int, faults: bool, quiet: bool
) -> None:
    """Check N generated queries against the embedded emulator, then follow the Waiting
    ones to a final status, and print a summary. No API key, no network: loopback only.
    """
    from partner_async.sandbox import FaultConfig, SandboxConfig

    fault_config = FaultConfig()
    if faults:
        fault_config = FaultConfig(
            http_503=0.01, drop_entries=0.01, reorder_entries=0.05, reformat_numbers=0.02
        )
    queries = demo_queries(count, seed)
    console = Console()
    with (
        reporter(quiet) as display,
        sandbox_server(
            # a landline refuses its whole batch (code 9): the demo shows the isolation
            SandboxConfig(seed=seed, faults=fault_config, item_errors="request")
        ) as server,
    ):
        if not quiet:
            shown = ", ".join(f"{k} {v:.0%}" for k, v in fault_config.rates().items() if v)
            console.print(f"Sandbox on {server.sms_base_url}, seed {seed}")
            console.print(f"Faults: {shown or 'none'}")
            console.print(f"Checking {count:,} queries, {concurrency} requests in flight")

        async def run() -> DemoRun:
            rounds = Rounds(display, len(queries), "checking")
            follow = FollowCounter()
            started = time.monotonic()
            async with SMSPartnerClient(
                SANDBOX_KEY,
                base_url=server.sms_base_url,
                max_concurrency=concurrency,
                batch_size=batch_size,
                retry=RetryPolicy(max_retries=5, backoff_base=0.05, backoff_max=1.0),
            ) as client:
                results = await client.wait_for_final(
                    queries, deadline=60.0, poll_interval=0.2, progress=rounds, on_update=follow
                )
            rounds.finish()
            wall_time = time.monotonic() - started
            return DemoRun(
                queries=count,
                results=results,
                wall_time=wall_time,
                check_time=rounds.first_pass_seconds or wall_time,
                followed=follow.followed,
                rounds=follow.rounds,
                faults=Counter(server.app.stats.faults),
            )

        result = run_async(run)
    print_summary(result, console)
    # The demo's own invalid queries end unresolved on purpose; anything else would not.
    expected = {UnresolvedReason.INVALID_QUERY, UnresolvedReason.REJECTED}
    unexpected = any(r.reason not in expected for r in result.results.unresolved)
    raise click.exceptions.Exit(EXIT_UNRESOLVED if unexpected else EXIT_OK)
