"""Geometry of the charts (pure): bars and heat-map cells in SVG user units. The
templates draw them; every bar and cell carries its number as text, so the chart does
not rely on colour, and the same numbers are in a table next to it."""

from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 16, 40


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: float
    label: str  # the category under the bar
    text: str  # the value as shown on the bar


@dataclass(frozen=True)
class Tick:
    y: float
    value: float


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom_y: float = HEIGHT - BOTTOM


def nice_maximum(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5, 5 × 10^n)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def bar_chart(items: list[tuple[str, float | None]], *, width: int = WIDTH,
              height: int = HEIGHT, text=lambda v: f"{v:g}") -> BarChart:
    """Vertical bars for (label, value) pairs; a missing value draws no bar."""
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    top = nice_maximum(max((v or 0 for _, v in items), default=0))
    slot = plot_w / max(len(items), 1)
    bars = []
    for i, (label, value) in enumerate(items):
        h = 0 if not value else plot_h * value / top
        bars.append(Bar(round(LEFT + i * slot + slot * 0.15, 1), round(TOP + plot_h - h, 1),
                        round(slot * 0.7, 1), round(h, 1), value or 0, label,
                        "" if value is None else text(value)))
    ticks = [Tick(round(TOP + plot_h - plot_h * k / 4, 1), top * k / 4) for k in range(5)]
    return BarChart(bars, ticks, width, height, LEFT, TOP + plot_h)


@dataclass(frozen=True)
class Cell:
    x: float
    y: float
    value: int
    level: int  # 0..4: shade and pattern density


@dataclass(frozen=True)
class HeatMap:
    cells: list[Cell]
    hours: list[int]
    weekdays: list[int]
    cell_w: float
    cell_h: float
    left: int
    top: int
    width: float
    height: float


def heat_map(counts: dict[tuple[int, int], int], *, first_hour: int = 7,
             last_hour: int = 18) -> HeatMap:
    """Weekday rows (Monday first) × hour columns; hours widened to those with data."""
    hours_seen = [h for _, h in counts]
    first = min([first_hour, *hours_seen])
    last = max([last_hour, *hours_seen])
    hours = list(range(first, last + 1))
    weekdays = list(range(1, 8))
    cell_w, cell_h, left, top = 36, 26, 48, 24
    peak = max(counts.values(), default=0)
    cells = []
    for row, day in enumerate(weekdays):
        for col, hour in enumerate(hours):
            value = counts.get((day, hour), 0)
            level = 0 if not value else min(4, 1 + int(4 * value / (peak + 1)))
            cells.append(Cell(left + col * cell_w, top + row * cell_h, value, level))
    return HeatMap(cells, hours, weekdays, cell_w, cell_h, left, top,
                   left + len(hours) * cell_w + 8, top + len(weekdays) * cell_h + 8)
