"""Progress while callers run: rich's bar on a terminal, plain bounded-rate lines anywhere else (CI, logs)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

MODES = ("auto", "bar", "lines", "none")
LINE_EVERY_S = 5.0
# A line each time another tenth of the callers has finished.
LINE_STEPS = 10
POLL_S = 1.0

# Called once per finished caller with whether that caller was told "booked".
Advance = Callable[[bool], None]


def progress_line(name: str, done: int, total: int, booked: int, elapsed_s: float) -> str:
    """One line, e.g. `progress: proxy 120/300 callers done, 87 booked, elapsed 12.3 s`."""
    return f"progress: {name} {done}/{total} callers done, {booked} booked, elapsed {elapsed_s:.1f} s"


def step_of(done: int, total: int, steps: int) -> int:
    """How many whole `1/steps` shares of the total are done; integers, so 3/10 is exactly 30 %."""
    return done * steps // total if total else 0


def line_due(
    *, now: float, last_at: float, done: int, last_done: int, total: int, every_s: float, steps: int
) -> bool:
    """A line when another `1/steps` of the callers finished or `every_s` passed since the last line."""
    return step_of(done, total, steps) > step_of(last_done, total, steps) or now - last_at >= every_s


class Reporter:
    """No progress at all; the base of the two visible kinds."""

    def start(self, name: str, total: int) -> Advance:
        """A strategy begins with `total` callers; the returned callback counts each finished caller."""
        return lambda booked: None

    def poll(self) -> None:
        """Called about once a second, so a quiet spell still reports (lines only)."""

    def __enter__(self) -> Reporter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


@dataclass
class _Task:
    name: str
    total: int
    started_at: float
    last_at: float
    done: int = 0
    booked: int = 0
    last_done: int = 0


class LineProgress(Reporter):
    """Plain flushed lines: at most one per `every_s` of wall time, plus one per `1/steps` of the callers."""

    def __init__(
        self,
        stream: TextIO,
        *,
        clock: Callable[[], float] = time.monotonic,
        every_s: float = LINE_EVERY_S,
        steps: int = LINE_STEPS,
    ) -> None:
        self.stream = stream
        self.clock = clock
        self.every_s = every_s
        self.steps = steps
        self.task: _Task | None = None

    def start(self, name: str, total: int) -> Advance:
        now = self.clock()
        self.task = _Task(name=name, total=total, started_at=now, last_at=now)
        # A first line says which strategy began, before its first caller can take long.
        self._emit(self.task, now)
        return self._advance

    def poll(self) -> None:
        task = self.task
        if task is not None and task.done < task.total:
            self._maybe_emit(task)

    def _advance(self, booked: bool) -> None:
        task = self.task
        if task is None:
            return
        task.done += 1
        task.booked += booked
        self._maybe_emit(task)

    def _maybe_emit(self, task: _Task) -> None:
        now = self.clock()
        if line_due(
            now=now,
            last_at=task.last_at,
            done=task.done,
            last_done=task.last_done,
            total=task.total,
            every_s=self.every_s,
            steps=self.steps,
        ):
            self._emit(task, now)

    def _emit(self, task: _Task, now: float) -> None:
        task.last_at, task.last_done = now, task.done
        line = progress_line(task.name, task.done, task.total, task.booked, now - task.started_at)
        self.stream.write(line + "\n")
        # A log file or CI pipe is block-buffered: without a flush the lines arrive all at once at the end.
        self.stream.flush()


class BarProgress(Reporter):
    """rich's live bar, one row per strategy, with the booked count."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description:>15}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[booked]} booked"),
            TimeElapsedColumn(),
            console=console,
        )

    def start(self, name: str, total: int) -> Advance:
        # The live display begins with the first strategy, after the configuration block has been printed.
        if not self.progress.live.is_started:
            self.progress.start()
        task = self.progress.add_task(name, total=total, booked=0)
        booked_so_far = [0]

        def advance(booked: bool) -> None:
            booked_so_far[0] += booked
            self.progress.update(task, advance=1, booked=booked_so_far[0])

        return advance

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()


def resolve_mode(mode: str, stream: TextIO) -> str:
    """`auto` is the bar on a terminal and lines anywhere else; the other modes are forced."""
    if mode != "auto":
        return mode
    isatty = getattr(stream, "isatty", None)
    return "bar" if callable(isatty) and isatty() else "lines"


def reporter_for(mode: str, stream: TextIO) -> Reporter:
    """The reporter for a --progress mode, writing to `stream` (the run's stderr)."""
    resolved = resolve_mode(mode, stream)
    if resolved == "lines":
        return LineProgress(stream)
    if resolved == "bar":
        # Forced onto a non-terminal the bar still animates; that is what --progress bar asks for.
        return BarProgress(Console(file=stream, force_terminal=True))
    return Reporter()


async def heartbeat(reporter: Reporter, interval_s: float = POLL_S) -> None:
    """Poll the reporter until cancelled, so a stall (no caller finishing) still shows up as lines."""
    while True:
        await asyncio.sleep(interval_s)
        reporter.poll()
