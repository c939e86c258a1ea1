"""The data behind the charts: a day's arrivals and waits by hour, waits per service as
a distribution, demand by weekday and hour, and trends over weeks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import and_, case, func, select

from booking.db import db
from booking.queueing.models import Ticket
from booking.statistics import sql
from booking.statistics.figures import appointments, tickets, wait_seconds
from booking.statistics.period import Period
from booking.statistics.sql import WEEK

#: Bands of waiting time in minutes: [0, 5), [5, 10), …, [60, ∞)
WAIT_BANDS = (0, 5, 10, 15, 20, 30, 45, 60)


@dataclass(frozen=True)
class Hour:
    hour: int
    arrivals: int
    wait_mean: float | None  # minutes, of those called


def day_by_hour(office_id: str, timezone: str, day: date,
                service_id: str | None = None) -> list[Hour]:
    """Tickets of a day by local hour of arrival, with their mean wait."""
    sql.prepare()
    t = Ticket
    hour = sql.local_hour(t.arrived_at, timezone)
    waited = case((t.called_at.is_not(None), wait_seconds()), else_=None)
    query = (select(hour, func.count(), func.avg(waited))
             .where(t.office_id == office_id, t.day == day).group_by(hour).order_by(hour))
    if service_id:
        query = query.where(t.service_id == service_id)
    return [Hour(int(h), int(n), None if w is None else round(float(w) / 60, 1))
            for h, n, w in db.session.execute(query)]


def wait_distribution(period: Period) -> dict[str, list[int]]:
    """Per service: how many tickets waited in each band of :data:`WAIT_BANDS`."""
    sql.prepare()
    t = Ticket
    waited = wait_seconds()
    band = case(*[(waited < WAIT_BANDS[i + 1] * 60, i) for i in range(len(WAIT_BANDS) - 1)],
                else_=len(WAIT_BANDS) - 1)
    query = (select(t.service_id, band, func.count())
             .where(t.office_id == period.office_id, t.day >= period.first,
                    t.day <= period.last, t.called_at.is_not(None))
             .group_by(t.service_id, band))
    if period.service_id:
        query = query.where(t.service_id == period.service_id)
    result: dict[str, list[int]] = {}
    for service_id, index, count in db.session.execute(query):
        result.setdefault(service_id, [0] * len(WAIT_BANDS))[int(index)] += int(count)
    return result


def heat_map(period: Period) -> dict[tuple[int, int], int]:
    """Tickets drawn (walk-ins and check-ins) per (ISO weekday, local hour)."""
    sql.prepare()
    t = Ticket
    weekday, hour = sql.isodow(t.day), sql.local_hour(t.arrived_at, period.timezone)
    query = (select(weekday, hour, func.count())
             .where(and_(t.office_id == period.office_id, t.day >= period.first,
                         t.day <= period.last))
             .group_by(weekday, hour))
    if period.service_id:
        query = query.where(t.service_id == period.service_id)
    return {(int(d), int(h)): int(n) for d, h, n in db.session.execute(query)}


@dataclass(frozen=True)
class Week:
    start: date
    appointments: int
    walk_ins: int
    wait_median: float | None


def weekly_trend(period: Period) -> list[Week]:
    """Per week (from Monday) the period touches: appointments booked, walk-ins drawn,
    median wait."""
    weekly = replace(period, granularity=WEEK)
    booked, drawn = appointments(weekly), tickets(weekly)
    result = []
    for week in weekly.buckets():
        a, t = booked.get((week, None)), drawn.get((week, None))
        result.append(Week(week, a.booked if a else 0, t.walk_ins if t else 0,
                           t.wait_median if t else None))
    return result
