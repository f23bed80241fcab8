"""Progress: plain, flushed, bounded-rate lines off a terminal; the bar only on one (or when forced)."""

from __future__ import annotations

import io
import re

from proxy.loadtest.progress import (
    BarProgress,
    LineProgress,
    Reporter,
    line_due,
    progress_line,
    reporter_for,
    resolve_mode,
)

LINE = re.compile(r"^progress: (\S+) (\d+)/(\d+) callers done, (\d+) booked, elapsed \d+\.\d s$")


class Clock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Log(io.StringIO):
    """A non-terminal stream that counts flushes."""

    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _lines(log: Log) -> list[str]:
    return log.getvalue().splitlines()


def test_a_fast_run_gives_a_start_line_and_one_line_per_tenth() -> None:
    clock, log = Clock(), Log()
    reporter = LineProgress(log, clock=clock)
    advance = reporter.start("proxy", 300)
    for i in range(300):
        clock.now += 0.01
        advance(i % 3 != 0)
    lines = _lines(log)
    assert len(lines) == 11
    assert all(LINE.match(line) for line in lines)
    assert lines[0] == "progress: proxy 0/300 callers done, 0 booked, elapsed 0.0 s"
    assert lines[3] == "progress: proxy 90/300 callers done, 60 booked, elapsed 0.9 s"
    assert lines[-1] == "progress: proxy 300/300 callers done, 200 booked, elapsed 3.0 s"
    assert log.flushes == len(lines)
    assert "\x1b" not in log.getvalue() and "\r" not in log.getvalue()


def test_a_slow_run_reports_every_five_seconds_and_no_more() -> None:
    clock, log = Clock(), Log()
    reporter = LineProgress(log, clock=clock)
    advance = reporter.start("direct-naive", 1000)
    # 40 callers over 120 s: under one tenth, so only the clock makes lines.
    for _ in range(40):
        clock.now += 3.0
        advance(True)
    lines = _lines(log)
    assert len(lines) == 1 + 120 // 6  # the start line, then one per 5 s, seen at 3 s granularity (every 6 s)
    assert lines[-1].startswith("progress: direct-naive 40/1000 callers done, 40 booked")


def test_a_stall_still_reports_through_poll_and_stops_once_done() -> None:
    clock, log = Clock(), Log()
    reporter = LineProgress(log, clock=clock)
    advance = reporter.start("proxy", 2)
    for _ in range(12):
        clock.now += 1.0
        reporter.poll()
    # Nobody finished for 12 s: a line at 5 s and at 10 s, besides the start line.
    assert [line.split(", elapsed ")[1] for line in _lines(log)] == ["0.0 s", "5.0 s", "10.0 s"]
    advance(False)
    advance(True)
    before = len(_lines(log))
    clock.now += 60.0
    reporter.poll()
    assert len(_lines(log)) == before
    assert _lines(log)[-1] == "progress: proxy 2/2 callers done, 1 booked, elapsed 12.0 s"


def test_each_strategy_starts_its_own_count() -> None:
    clock, log = Clock(), Log()
    reporter = LineProgress(log, clock=clock)
    first = reporter.start("direct-naive", 1)
    first(True)
    clock.now += 7.0
    second = reporter.start("proxy", 1)
    second(False)
    assert _lines(log)[-2:] == [
        "progress: proxy 0/1 callers done, 0 booked, elapsed 0.0 s",
        "progress: proxy 1/1 callers done, 0 booked, elapsed 0.0 s",
    ]


def _due(now: float, done: int, last_done: int, total: int = 300) -> bool:
    return line_due(now=now, last_at=0.0, done=done, last_done=last_done, total=total, every_s=5.0, steps=10)


def test_line_due_is_by_tenths_or_by_time() -> None:
    assert _due(1.0, done=30, last_done=29)
    assert not _due(1.0, done=31, last_done=30)
    assert _due(5.0, done=31, last_done=31)
    # Integer tenths: 3 of 10 is exactly 30 %, not 29.999... %.
    assert _due(0.0, done=3, last_done=2, total=10)
    assert progress_line("p", 1, 2, 0, 1.25) == "progress: p 1/2 callers done, 0 booked, elapsed 1.2 s"


def test_auto_is_lines_off_a_terminal_and_the_bar_on_one() -> None:
    assert resolve_mode("auto", io.StringIO()) == "lines"
    assert resolve_mode("auto", Tty()) == "bar"
    assert resolve_mode("lines", Tty()) == "lines"
    assert resolve_mode("bar", io.StringIO()) == "bar"
    assert isinstance(reporter_for("auto", io.StringIO()), LineProgress)
    assert isinstance(reporter_for("auto", Tty()), BarProgress)


def test_none_writes_nothing() -> None:
    stream = io.StringIO()
    reporter = reporter_for("none", stream)
    assert type(reporter) is Reporter
    with reporter:
        reporter.start("proxy", 3)(True)
        reporter.poll()
    assert stream.getvalue() == ""


def test_the_forced_bar_draws_with_the_booked_count() -> None:
    stream = Tty()
    reporter = reporter_for("bar", stream)
    with reporter:
        advance = reporter.start("proxy", 2)
        advance(True)
        advance(False)
    assert "2/2" in stream.getvalue() and "1 booked" in stream.getvalue()
