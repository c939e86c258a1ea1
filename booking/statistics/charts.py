"""The data behind the charts: a day's arrivals and waits by hour, waits per service as
a distribution, demand by weekday and hour, and trends over weeks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import case, func, select

from booking.db import db
from booking.queueing.models import Ticket
from booking.statistics import sql
from booking.statistics.figures import (
    WAIT_BANDS,
    AppointmentFigures,
    TicketFigures,
    appointments,
    tickets,
    wait_seconds,
)
from booking.statistics.period import Period
from booking.statistics.sql import WEEK


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


def wait_distribution(ticket_figures: dict) -> dict[str, list[int]]:
    """Per service: how many tickets waited in each band of :data:`WAIT_BANDS`, from
    the figures of :func:`figures.tickets` (summed over their buckets)."""
    result: dict[str, list[int]] = {}
    for (_, service_id), f in ticket_figures.items():
        if service_id is not None and f.called:
            counts = result.setdefault(service_id, [0] * len(WAIT_BANDS))
            for k, n in enumerate(f.bands):
                counts[k] += n
    return result


@dataclass(frozen=True)
class Week:
    start: date
    appointments: int
    walk_ins: int
    wait_mean: float | None  # minutes


def weekly_trend(period: Period, appointment_figures: dict | None = None,
                 ticket_figures: dict | None = None,
                 week_figures: dict[date, TicketFigures] | None = None) -> list[Week]:
    """Per week (from Monday) the period touches: appointments booked, walk-ins drawn,
    mean wait. From figures per day or week when given (appointments: any; tickets: not
    per month; ``week_figures``: :func:`sides.side_figures`' weeks), else queried."""
    weekly = replace(period, granularity=WEEK)
    if appointment_figures is None:
        appointment_figures = appointments(weekly)
    if week_figures is not None:
        ticket_figures = {(week, None): f for week, f in week_figures.items()}
    elif ticket_figures is None or period.granularity == "month":
        ticket_figures = tickets(weekly, percentiles=False)
    booked: dict[date, AppointmentFigures] = {}
    drawn: dict[date, TicketFigures] = {}
    for (bucket, service_id), f in appointment_figures.items():
        if service_id is None:
            booked.setdefault(sql.bucket_start(bucket, WEEK), AppointmentFigures()).add(f)
    for (bucket, service_id), f in ticket_figures.items():
        if service_id is None:
            week = drawn.setdefault(sql.bucket_start(bucket, WEEK), TicketFigures())
            week.walk_ins += f.walk_ins
            week.called += f.called
            week.wait_seconds += f.wait_seconds
    result = []
    for week in weekly.buckets():
        a, t = booked.get(week), drawn.get(week)
        result.append(Week(week, a.booked if a else 0, t.walk_ins if t else 0,
                           t.wait_mean if t else None))
    return result
