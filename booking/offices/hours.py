"""Opening hours as the public office page shows them: the regular hours per weekday, and
the days of the coming weeks that differ from them (a public holiday, a closure, rules
that change). Pure: plain values in, plain values out; ``today`` is an argument.

The hours are those of :func:`booking.queueing.opening.opening_periods` (every rule of
the office, whatever its services; office-wide closures cut out; public holidays
closed), turned back into local wall-clock times per day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.queueing.opening import Period, opening_periods
from booking.scheduling.slots import Rule

LocalPeriod = tuple[time, time]  # local wall-clock [start, end) on one day


@dataclass(frozen=True)
class Weekday:
    number: int  # ISO: 1 = Monday … 7 = Sunday
    periods: tuple[LocalPeriod, ...]  # empty: closed


@dataclass(frozen=True)
class Deviation:
    """A day of the coming weeks whose hours differ from the regular ones of its weekday."""

    day: date
    periods: tuple[LocalPeriod, ...]  # the hours that day; empty: closed all day
    holiday: str | None  # the public holiday's name
    closures: tuple[str, ...]  # the reasons of the closures that day ("" if none given)


@dataclass(frozen=True)
class Closed:
    """An office-wide closure: [starts_at, ends_at) in UTC and its reason."""

    starts_at: datetime
    ends_at: datetime
    reason: str


def _by_day(periods: Iterable[Period], tz: ZoneInfo) -> dict[date, tuple[LocalPeriod, ...]]:
    days: dict[date, list[LocalPeriod]] = {}
    for start, end in periods:
        local_start, local_end = start.astimezone(tz), end.astimezone(tz)
        # a period ending at midnight belongs to its start day (shown as 24:00 → time.max)
        end_time = local_end.time() if local_end.date() == local_start.date() else time.max
        days.setdefault(local_start.date(), []).append((local_start.time(), end_time))
    return {day: tuple(p) for day, p in days.items()}


def weekly_hours(rules: Iterable[Rule], tz: ZoneInfo, today: date) -> list[Weekday]:
    """Monday to Sunday: the hours of the rules in force on that weekday's next date from
    ``today`` on (the week that starts today), without closures and holidays."""
    last = today + timedelta(days=6)
    hours = _by_day(opening_periods(rules, [], [], None, tz, today, last), tz)
    by_number = {day.isoweekday(): hours.get(day, ()) for day in
                 (today + timedelta(days=i) for i in range(7))}
    return [Weekday(number, by_number[number]) for number in range(1, 8)]


def deviations(rules: Iterable[Rule], closures: Iterable[Closed], holidays: Mapping[date, str],
               tz: ZoneInfo, today: date, days: int) -> list[Deviation]:
    """The days from ``today`` on (``days`` of them) whose actual hours differ from the
    regular hours of their weekday (:func:`weekly_hours`), in date order. A holiday or
    closure on a day the office is closed anyway is no deviation."""
    rules, closures = list(rules), list(closures)
    last = today + timedelta(days=days - 1)
    regular = {w.number: w.periods for w in weekly_hours(rules, tz, today)}
    actual = _by_day(opening_periods(
        rules, [(c.starts_at, c.ends_at) for c in closures], holidays, None, tz, today, last),
        tz)
    found = []
    day = today
    while day <= last:
        periods = actual.get(day, ())
        if periods != regular[day.isoweekday()]:
            start = datetime.combine(day, time.min, tzinfo=tz)
            end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
            reasons = tuple(c.reason for c in closures if c.starts_at < end and c.ends_at > start)
            found.append(Deviation(day, periods, holidays.get(day), reasons))
        day += timedelta(days=1)
    return found
