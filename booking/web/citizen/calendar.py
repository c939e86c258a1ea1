"""Month grid for the slot calendar. Pure."""

from __future__ import annotations

import calendar as std_calendar
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Day:
    day: date
    in_month: bool
    has_slots: bool
    selected: bool
    is_today: bool


@dataclass(frozen=True)
class Month:
    first: date
    weeks: list[list[Day]]
    prev: date | None  # first day of the previous month, if it can have slots
    next: date | None


def parse_month(value: str | None, default: date) -> date:
    """'2026-12' → date(2026, 12, 1); anything else → the default's month."""
    if value:
        try:
            year, month = (int(part) for part in value.split("-"))
            if 2000 <= year <= 2199:
                return date(year, month, 1)
        except ValueError:
            pass
    return default.replace(day=1)


def month_bounds(first: date) -> tuple[date, date]:
    last = std_calendar.monthrange(first.year, first.month)[1]
    return first, first.replace(day=last)


def shift_month(first: date, delta: int) -> date:
    index = first.year * 12 + first.month - 1 + delta
    return date(index // 12, index % 12 + 1, 1)


def month_grid(
    first: date, free_days: set[date], selected: date | None, today: date, last_bookable: date
) -> Month:
    weeks = []
    for week in std_calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month):
        weeks.append([
            Day(d, d.month == first.month, d.month == first.month and d in free_days,
                d == selected, d == today)
            for d in week
        ])
    prev_month = shift_month(first, -1)
    next_month = shift_month(first, 1)
    return Month(
        first=first,
        weeks=weeks,
        prev=prev_month if month_bounds(prev_month)[1] >= today else None,
        next=next_month if next_month <= last_bookable else None,
    )
