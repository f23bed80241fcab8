"""The TTL advisor's trade-off as chart geometry: pure, from the advisor's JSON (`as_dict()`) to shapes.

x is the candidate TTL in seconds; the left axis is the share of callers who would lose their hold before
saying yes (a line, broken where the advisor could not estimate it), the right axis the idle slot-minutes held
by callers who never booked (bars). Vertical rules mark the current and the recommended TTL. The shapes are
drawn by the `advisor_chart.svg` template, so every text in the chart is escaped like the rest of the page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

WIDTH = 680
HEIGHT = 280
LEFT, RIGHT, TOP, BOTTOM = 60, 64, 40, 44
BAR_WIDTH = 14
SHARE_MAXIMA = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0)
TICKS = 4
# Rough width of one label character at the chart's font size, to keep labels inside the chart.
CHAR_PX = 6.5

Scale = Callable[[float], float]


@dataclass(frozen=True)
class Tick:
    """An axis tick: position along its axis (px) and its label."""

    at: float
    label: str


@dataclass(frozen=True)
class Point:
    """A loss-share point with its tooltip."""

    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Bar:
    """An idle slot-minutes bar with its tooltip."""

    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Marker:
    """A vertical rule at the current or recommended TTL, its label beside it (`anchor`: SVG text-anchor)."""

    x: float
    kind: str
    label: str
    anchor: str = "middle"
    row: int = 0  # 1 drops the label a line, for the rare pair that would still collide

    @property
    def label_x(self) -> float:
        """Where the label starts or ends: a few pixels off the rule, so the rule never crosses it."""
        return self.x + {"start": 4, "end": -4}.get(self.anchor, 0)

    @property
    def extent(self) -> tuple[float, float]:
        """The label's estimated horizontal span."""
        width = len(self.label) * CHAR_PX
        left = {"start": self.label_x, "end": self.label_x - width}.get(self.anchor, self.x - width / 2)
        return left, left + width


@dataclass(frozen=True)
class Chart:
    """Everything the SVG template draws; `message` replaces the plot when there is nothing to draw."""

    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    right_edge: int = WIDTH - RIGHT
    bottom_edge: int = HEIGHT - BOTTOM
    x_ticks: list[Tick] = field(default_factory=list)
    share_ticks: list[Tick] = field(default_factory=list)
    minute_ticks: list[Tick] = field(default_factory=list)
    segments: list[list[Point]] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    message: str | None = None

    @property
    def polylines(self) -> list[str]:
        """Each unbroken run of loss-share points as an SVG `points` attribute."""
        return [" ".join(f"{p.x:.1f},{p.y:.1f}" for p in run) for run in self.segments if len(run) > 1]

    @property
    def points(self) -> list[Point]:
        """Every loss-share point."""
        return [p for run in self.segments for p in run]


@dataclass(frozen=True)
class Candidate:
    """One candidate TTL as read from the advisor (missing or invalid numbers become None)."""

    ttl: float
    loss: float | None
    idle: float | None


def number(value: object) -> float | None:
    """A finite number, else None (JSON null, booleans, strings and NaN are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def candidates_of(advisor: Mapping[str, Any]) -> list[Candidate]:
    """The advisor's candidates with a usable TTL, by TTL, one per TTL."""
    raw = advisor.get("candidates")
    found: dict[float, Candidate] = {}
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            continue
        ttl = number(item.get("ttlSeconds"))
        if ttl is not None and ttl > 0:
            found[ttl] = Candidate(ttl, number(item.get("lossShare")), number(item.get("idleSlotMinutes")))
    return [found[ttl] for ttl in sorted(found)]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is >= value (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= value)


def share_ceiling(value: float) -> float:
    """The top of the loss-share axis: a round share just above the largest one."""
    return next((m for m in SHARE_MAXIMA if m >= value), 1.0)


def seconds_label(seconds: float) -> str:
    """`90 s`, `7.5 s`."""
    return f"{seconds:g} s"


def percent_label(share: float) -> str:
    """`12%`, `2.5%`."""
    return f"{share * 100:.3g}%"


def advisor_chart(advisor: Mapping[str, Any]) -> Chart:
    """The geometry of the trade-off chart, or a Chart with only a message when there is nothing to plot."""
    candidates = candidates_of(advisor)
    if not candidates:
        return Chart(message="No candidate TTLs to compare yet.")
    current = number(advisor.get("currentTtlSeconds"))
    recommended = number(advisor.get("recommendedTtlSeconds"))
    extent = max([c.ttl for c in candidates] + [t for t in (current, recommended) if t is not None])
    x_max = math.ceil(extent * 1.1 / 30) * 30
    share_max = share_ceiling(max((c.loss for c in candidates if c.loss is not None), default=0.0))
    minute_max = nice_ceiling(max((c.idle for c in candidates if c.idle is not None), default=0.0))

    def x(seconds: float) -> float:
        return round(LEFT + seconds / x_max * (WIDTH - RIGHT - LEFT), 1)

    def y(fraction: float) -> float:
        return round(HEIGHT - BOTTOM - min(max(fraction, 0.0), 1.0) * (HEIGHT - BOTTOM - TOP), 1)

    return Chart(
        x_ticks=[Tick(x(c.ttl), f"{c.ttl:g}") for c in candidates],
        share_ticks=[Tick(y(i / TICKS), percent_label(share_max * i / TICKS)) for i in range(TICKS + 1)],
        minute_ticks=[Tick(y(i / TICKS), f"{minute_max * i / TICKS:g}") for i in range(TICKS + 1)],
        segments=_segments(candidates, x, lambda share: y(share / share_max)),
        bars=[
            Bar(
                x(c.ttl) - BAR_WIDTH / 2,
                y(c.idle / minute_max),
                BAR_WIDTH,
                round(y(0) - y(c.idle / minute_max), 1),
                f"{seconds_label(c.ttl)}: {c.idle:.3g} idle slot-minutes",
            )
            for c in candidates
            if c.idle is not None
        ],
        markers=_markers(current, recommended, x),
    )


def _segments(candidates: list[Candidate], x: Scale, y: Scale) -> list[list[Point]]:
    # A candidate without an estimate breaks the line rather than pretending a value.
    runs: list[list[Point]] = [[]]
    for c in candidates:
        if c.loss is None:
            runs.append([])
            continue
        title = f"{seconds_label(c.ttl)}: {percent_label(c.loss)} would lose their hold"
        runs[-1].append(Point(x(c.ttl), y(c.loss), title))
    return [run for run in runs if run]


def _markers(current: float | None, recommended: float | None, x: Scale) -> list[Marker]:
    if current is not None and current == recommended:
        return [_marker(x(current), "both", f"current = recommended {seconds_label(current)}", None)]
    # Each label goes on the side away from the other rule, so two close rules never overprint their labels.
    found = []
    if current is not None:
        other = None if recommended is None else x(recommended)
        found.append(_marker(x(current), "current", f"current {seconds_label(current)}", other))
    if recommended is not None:
        other = None if current is None else x(current)
        found.append(
            _marker(x(recommended), "recommended", f"recommended {seconds_label(recommended)}", other)
        )
    if len(found) == 2 and _overlap(found[0].extent, found[1].extent):
        found[1] = replace(found[1], row=1)
    return found


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _marker(at: float, kind: str, label: str, other: float | None) -> Marker:
    if other is None:
        return Marker(at, kind, label)
    room_left, room_right = at, WIDTH - at
    wanted = "end" if other > at else "start"
    # A label that would run off the chart goes to the other side after all.
    needed = len(label) * CHAR_PX + 4
    if wanted == "end" and room_left < needed <= room_right:
        wanted = "start"
    elif wanted == "start" and room_right < needed <= room_left:
        wanted = "end"
    return Marker(at, kind, label, wanted)
