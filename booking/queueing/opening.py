"""Opening periods of an office: open now, until when, or when it opens next. Pure: plain
values in, plain values out; the clock is an argument.

The office takes walk-ins while an availability rule in force covers the time (for a
service: one that allows it), outside office-wide closures and public holidays, as
:func:`booking.queueing.ordering.is_open` decides for a single instant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from booking.scheduling.slots import Rule

Period = tuple[datetime, datetime]  # [start, end) in UTC


def opening_periods(rules: Iterable[Rule], closures: Iterable[Period], holidays: Iterable[date],
                    service_id: str | None, tz: ZoneInfo, first_day: date,
                    last_day: date) -> list[Period]:
    """The office's opening periods on local dates ``first_day..last_day``, merged where
    they touch or overlap, closures cut out; sorted."""
    rules, holidays = list(rules), set(holidays)
    periods = []
    day = first_day
    while day <= last_day:
        if day not in holidays:
            for rule in rules:
                if rule.applies(day, service_id):
                    periods.append((
                        datetime.combine(day, rule.start, tzinfo=tz).astimezone(UTC),
                        datetime.combine(day, rule.end, tzinfo=tz).astimezone(UTC)))
        day += timedelta(days=1)
    return _subtract(_merge(periods), _merge(closures))


def _merge(periods: Iterable[Period]) -> list[Period]:
    merged: list[Period] = []
    for start, end in sorted(periods):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(periods: list[Period], closed: list[Period]) -> list[Period]:
    result = []
    for start, end in periods:
        for c_start, c_end in closed:
            if c_end <= start or c_start >= end:
                continue
            if c_start > start:
                result.append((start, c_start))
            start = max(start, c_end)
            if start >= end:
                break
        if start < end:
            result.append((start, end))
    return result


@dataclass(frozen=True)
class Opening:
    """Open now (until ``open_until``), or closed (``next_opening``: None if none is known
    within the periods looked at)."""

    is_open: bool
    open_until: datetime | None = None
    next_opening: datetime | None = None


def opening_at(periods: Iterable[Period], now: datetime) -> Opening:
    """Whether ``now`` lies in one of ``periods`` (merged, sorted), and the period's end;
    else the start of the next one."""
    for start, end in periods:
        if start <= now < end:
            return Opening(True, open_until=end)
        if start > now:
            return Opening(False, next_opening=start)
    return Opening(False)
