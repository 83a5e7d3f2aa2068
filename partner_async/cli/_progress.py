"""Progress display: a rich bar on a terminal, log lines otherwise, nothing with --quiet.

The SDK calls the ``progress`` callback (a plain sync callable) after each batch with a
``Progress`` snapshot; a :class:`Reporter` is such a callable. What a line or bar shows
after the count and rate is the reporter's ``detail`` (default: requests, retries,
unresolved), so other commands (``track run``) reuse the reporters with their own counters.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO, Protocol

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = [
    "Detail",
    "LogReporter",
    "NullReporter",
    "ProgressLike",
    "Reporter",
    "RichReporter",
    "RoundProgressLike",
    "Rounds",
    "reporter",
]


class ProgressLike(Protocol):
    """What the CLI reads from the SDK's ``Progress`` snapshots."""

    @property
    def done(self) -> int: ...
    @property
    def total(self) -> int | None: ...
    @property
    def requests(self) -> int: ...
    @property
    def retries(self) -> int: ...
    @property
    def unresolved(self) -> int: ...


class RoundProgressLike(ProgressLike, Protocol):
    """A snapshot of ``wait_for_final``: which polling round it counts."""

    @property
    def round(self) -> int: ...


#: What follows the count and rate: text made from a snapshot.
Detail = Callable[[ProgressLike], str]


def _counters(progress: ProgressLike) -> str:
    return (
        f"{progress.requests:,} requests, {progress.retries:,} retries, "
        f"{progress.unresolved:,} unresolved"
    )


def _retries(progress: ProgressLike) -> str:
    return f"{progress.retries:,} retries"


class Reporter:
    """Base reporter: shows nothing. Subclasses display each snapshot."""

    def start(self, description: str, total: int | None = None, done: int = 0) -> None:
        """Begin a phase (``"checking"``, ``"waiting"``) of ``total`` items (None: unknown),
        ``done`` of them already (not counted in the rate)."""

    def __call__(self, progress: ProgressLike) -> None:
        """Show one snapshot (called by the SDK after each batch)."""

    def finish(self) -> None:
        """End the current phase (the bar stays on screen, or a last log line is written)."""

    def close(self) -> None:
        """Stop displaying (idempotent)."""

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


NullReporter = Reporter


def _rate(done: int, elapsed: float) -> float:
    return done / elapsed if elapsed > 0 else 0.0


class LogReporter(Reporter):
    """Plain lines on stderr, at most one every ``interval`` seconds, and one per phase end.

    ``partner-async: checking 120,000/200,000 (60.0%) 45,210/s, 400 requests, 3 retries``
    (after the rate: ``detail`` of the snapshot).
    """

    def __init__(
        self, stream: IO[str] | None = None, interval: float = 5.0, detail: Detail | None = None
    ) -> None:
        self._stream = stream
        self._interval = interval
        self._detail = detail or _counters
        self._base = 0
        self._description = ""
        self._total: int | None = None
        self._started = 0.0
        self._next = 0.0
        self._last: ProgressLike | None = None
        self._lines = 0

    def start(self, description: str, total: int | None = None, done: int = 0) -> None:
        """Begin a phase; its first line comes after ``interval`` seconds."""
        self._description = description
        self._total = total
        self._base = done
        self._started = time.monotonic()
        self._next = self._started + self._interval
        self._last = None
        self._lines = 0

    def __call__(self, progress: ProgressLike) -> None:
        """Remember the snapshot; write a line when ``interval`` seconds have passed."""
        self._last = progress
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self._interval
            self._lines += 1
            self._emit(progress, now)

    def _emit(self, progress: ProgressLike, now: float) -> None:
        total = progress.total if progress.total is not None else self._total
        done = progress.done
        share = f" ({100 * done / total:.1f}%)" if total else ""
        of = f"/{total:,}" if total is not None else ""
        rate = _rate(done - self._base, now - self._started)
        click.echo(
            f"partner-async: {self._description} {done:,}{of}{share} {rate:,.0f}/s, "
            f"{self._detail(progress)}",
            file=self._stream or sys.stderr,
        )

    def finish(self) -> None:
        """Write the phase's last line (unless the phase was too short for any line)."""
        if self._last is not None and self._lines:
            self._emit(self._last, time.monotonic())
        self._last = None


class _CountColumn(ProgressColumn):
    """``12,000/200,000`` (or ``12,000`` while the total is unknown)."""

    def render(self, task: Task) -> Text:
        done = f"{int(task.completed):,}"
        if task.total is not None:
            done += f"/{int(task.total):,}"
        return Text(done, style="progress.download")


class _RateColumn(ProgressColumn):
    """Items per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        shown = "?" if speed is None else f"{speed:,.0f}"
        return Text(f"{shown}/s", style="progress.data.speed")


class RichReporter(Reporter):
    """A rich progress bar on stderr: items done, rate, ETA, then ``detail`` (default:
    retries). ``fill``: :meth:`finish` fills the bar to what was done (the total was an
    estimate); without it the bar stays where the last snapshot left it."""

    def __init__(self, detail: Detail | None = None, fill: bool = True) -> None:
        self._detail = detail or _retries
        self._fill = fill
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=20),
            _CountColumn(),
            _RateColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[detail]}"),
            console=Console(stderr=True),
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._task: TaskID | None = None
        self._total: int | None = None
        self._last: ProgressLike | None = None
        self._running = False

    def start(self, description: str, total: int | None = None, done: int = 0) -> None:
        """Add a bar for a phase (``total`` None: the bar pulses until the SDK knows)."""
        if not self._running:
            self._progress.start()
            self._running = True
        self._total = total
        self._last = None
        self._task = self._progress.add_task(
            description,
            total=total,
            completed=done,
            requests=0,
            retries=0,
            detail="0 retries" if self._detail is _retries else "",
        )

    def __call__(self, progress: ProgressLike) -> None:
        """Move the bar to this snapshot."""
        if self._task is None:
            return
        self._last = progress
        total = progress.total if progress.total is not None else self._total
        self._progress.update(
            self._task,
            completed=progress.done,
            total=total,
            requests=progress.requests,
            retries=progress.retries,
            detail=self._detail(progress),
        )

    def finish(self) -> None:
        """Fill the bar to what was done (the input's length was only an estimate)."""
        if self._fill and self._task is not None and self._last is not None:
            self._progress.update(self._task, total=self._last.done, completed=self._last.done)
        if self._task is not None:
            self._progress.stop_task(self._task)
        self._task = None

    def close(self) -> None:
        """Stop the live display."""
        if self._running:
            self._running = False
            self._progress.stop()


class Rounds:
    """Adapts the progress of ``wait_for_final`` (one pass per polling round, each
    counting from 0, named by :attr:`Progress.round`) to a :class:`Reporter`: one bar or
    log phase per round.

    Attributes:
        round: the current round (0 is the first pass over the whole input).
        first_pass_seconds: how long the first pass took (set once it ends).
    """

    def __init__(self, reporter: Reporter, total: int | None, description: str) -> None:
        self._reporter = reporter
        self._started = time.monotonic()
        self._last_time = self._started
        self.round = 0
        self.first_pass_seconds: float | None = None
        reporter.start(description, total)

    def __call__(self, progress: RoundProgressLike) -> None:
        """Forward one snapshot, starting a new phase when its round begins."""
        now = time.monotonic()
        if progress.round != self.round:
            if self.first_pass_seconds is None:
                self.first_pass_seconds = self._last_time - self._started
            self.round = progress.round
            self._reporter.finish()
            self._reporter.start(f"re-poll {self.round}", progress.total)
        self._last_time = now
        self._reporter(progress)

    def finish(self) -> None:
        """End the last round's phase."""
        if self.first_pass_seconds is None:
            self.first_pass_seconds = self._last_time - self._started
        self._reporter.finish()


def reporter(
    quiet: bool,
    stream: IO[str] | None = None,
    *,
    detail: Detail | None = None,
    interval: float = 5.0,
    fill: bool = True,
) -> Reporter:
    """The reporter for this run: none with ``quiet``, a bar when stderr is a terminal,
    else log lines (one every ``interval`` seconds); ``detail`` and ``fill`` as
    :class:`LogReporter` and :class:`RichReporter` take them."""
    if quiet:
        return NullReporter()
    err = stream or sys.stderr
    if err.isatty():
        return RichReporter(detail, fill=fill)
    return LogReporter(err, interval, detail)
