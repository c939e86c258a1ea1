"""The figures of a period, grouped in the database: appointments, tickets and their
waits, counters, capacity, channels, waitlist and reminders.

Rows carry only counts, durations and ids of services and counters. Waits run from the
ticket's arrival, or from its appointment's start when it came early (``due_at``), to
its first call; service times from start to finish of tickets served (``done``).
Durations are given in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from sqlalchemy import and_, case, func, select
from sqlalchemy import null as sa_null

from booking.db import db
from booking.offices.models import Office, Service
from booking.queueing.models import APPOINTMENT, DONE, NO_SHOW, UNSERVED, WALK_IN, Ticket
from booking.scheduling import queries
from booking.scheduling.models import (
    ARRIVED,
    BY_OFFICE,
    CANCELLED,
    CONFIRMED,
    HELD,
    ONLINE,
    PHONE,
    Appointment,
    AppointmentService,
)
from booking.statistics import sql
from booking.statistics.period import Period
from booking.waitlist import stats as waitlist_stats

NO_SHOW_APPOINTMENT = "no_show"
KEPT = (CONFIRMED, ARRIVED, NO_SHOW_APPOINTMENT)  # appointments that hold their seats


def _minutes(value) -> float | None:
    return None if value is None else round(float(value) / 60, 1)


def _sum(expr) -> object:
    """How many rows of the group ``expr`` holds for (``count(*) FILTER``: cheaper than
    summing a ``CASE``)."""
    return func.count().filter(expr)


@dataclass
class AppointmentFigures:
    booked: int = 0
    cancelled_citizen: int = 0
    cancelled_office: int = 0
    no_show: int = 0
    arrived: int = 0
    online: int = 0
    phone: int = 0
    reminders: int = 0
    lead_seconds: float = 0.0  # summed; lead_hours divides
    kept_seconds: float = 0.0  # length of those kept (confirmed, arrived, no-show), summed
    persons: int = 0  # of the appointments booked (a family: Reisepass × 3 counts 3)

    def add(self, other: AppointmentFigures) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def lead_hours(self) -> float | None:
        return round(self.lead_seconds / self.booked / 3600, 1) if self.booked else None


def appointments(period: Period) -> dict[tuple[date, str | None], AppointmentFigures]:
    """Appointments starting in the period (held ones never confirmed left out), per
    (bucket, service) and per (bucket, None) for all services. An appointment for several
    services counts under each of them, with that service's persons, and once in all
    services, with all its persons. Every figure adds up, so the database groups by day
    and the days are summed into weeks or months here."""
    sql.prepare()
    line = AppointmentService
    # per service: the lines (one appointment per line, its service and persons)
    rows = db.session.execute(
        _appointment_query(period, line.service_id, func.sum(line.persons))
        .join(line, line.appointment_id == Appointment.id)
        .where(*([line.service_id == period.service_id] if period.service_id else [])))
    result: dict[tuple[date, str | None], AppointmentFigures] = {}
    for bucket, service_id, figures in _appointment_rows(period, rows):
        result.setdefault((bucket, service_id), AppointmentFigures()).add(figures)
        if period.service_id:  # all services here: the one chosen
            result.setdefault((bucket, None), AppointmentFigures()).add(figures)
    if period.service_id:
        return result
    # all services: each appointment once, with all its persons
    persons = (select(line.appointment_id, func.sum(line.persons).label("persons"))
               .group_by(line.appointment_id).subquery())
    rows = db.session.execute(
        _appointment_query(period, None, func.sum(persons.c.persons))
        .join(persons, persons.c.appointment_id == Appointment.id))
    for bucket, _, figures in _appointment_rows(period, rows):
        result.setdefault((bucket, None), AppointmentFigures()).add(figures)
    return result


def _appointment_query(period: Period, service_column, persons):
    """The figures per day (and ``service_column`` when given) of the period's
    appointments; ``persons`` sums their persons."""
    start, end = period.bounds
    a = Appointment
    day = sql.local_day(a.start_at, period.timezone, period.first, period.last)
    by_office = func.coalesce(a.cancelled_by, "citizen") == BY_OFFICE
    groups = [day] if service_column is None else [day, service_column]
    return (select(day, service_column if service_column is not None else sa_null(),
                   func.count(),
                   _sum(and_(a.status == CANCELLED, by_office.is_(False))),
                   _sum(and_(a.status == CANCELLED, by_office.is_(True))),
                   _sum(a.status == NO_SHOW_APPOINTMENT), _sum(a.status == ARRIVED),
                   _sum(a.channel == ONLINE), _sum(a.channel == PHONE),
                   _sum(a.reminder_queued_at.is_not(None)),
                   func.coalesce(func.sum(sql.seconds(a.start_at, a.created_at)), 0),
                   func.coalesce(func.sum(case((a.status.in_(KEPT), sql.seconds(a.end_at,
                                                                                 a.start_at)),
                                               else_=0.0)), 0),
                   func.coalesce(persons, 0))
            .where(a.office_id == period.office_id, a.start_at >= start, a.start_at < end,
                   a.status != HELD)
            .group_by(*groups))


def _appointment_rows(period: Period, rows):
    for row in rows:
        yield (period.bucket_of(sql.as_date(row[0])), row[1],
               AppointmentFigures(*[int(v) for v in row[2:10]], float(row[10]),
                                  float(row[11]), int(row[12])))


#: Bands of waiting time in minutes: [0, 5), [5, 10), …, [60, ∞)
WAIT_BANDS = (0, 5, 10, 15, 20, 30, 45, 60)


def roll_up(day_figures: dict[tuple[date, str | None], AppointmentFigures], period: Period
            ) -> dict[tuple[date, str | None], AppointmentFigures]:
    """Appointment figures per day summed into the period's buckets."""
    result: dict[tuple[date, str | None], AppointmentFigures] = {}
    for (day, service_id), figures in day_figures.items():
        result.setdefault((period.bucket_of(day), service_id), AppointmentFigures()).add(figures)
    return result


@dataclass
class TicketFigures:
    walk_ins: int = 0
    check_ins: int = 0
    served: int = 0
    no_show: int = 0
    unserved: int = 0
    reminders: int = 0
    called: int = 0
    wait_seconds: float = 0.0  # summed over those called
    wait_median: float | None = None  # minutes
    wait_p90: float | None = None
    service_mean: float | None = None  # minutes, of tickets served
    planned: int | None = None  # the service's duration, minutes
    bands: list[int] = field(default_factory=lambda: [0] * len(WAIT_BANDS))

    @property
    def wait_mean(self) -> float | None:
        return _minutes(self.wait_seconds / self.called) if self.called else None


def wait_seconds() -> object:
    """Seconds from arrival (or the appointment's start, if later) to the first call."""
    t = Ticket
    begin = case((and_(t.due_at.is_not(None), t.due_at > t.arrived_at), t.due_at),
                 else_=t.arrived_at)
    waited = sql.seconds(t.called_at, begin)
    return case((waited < 0, 0.0), else_=waited)


def _ticket_values(period: Period, granularity: str):
    """A subquery of the period's tickets: bucket, service, kind and status flags, wait
    and service seconds (each computed once per ticket)."""
    t = Ticket
    served = case((and_(t.status == DONE, t.started_at.is_not(None),
                        t.finished_at.is_not(None)),
                   sql.seconds(t.finished_at, t.started_at)), else_=None)
    buckets = replace(period, granularity=granularity).buckets()
    query = (select(sql.bucket(t.day, granularity, buckets).label("bucket"), t.service_id, t.kind,
                    t.status, t.notified_at.is_not(None).label("notified"),
                    case((t.called_at.is_not(None), wait_seconds()), else_=None).label("waited"),
                    served.label("served"))
             .where(t.office_id == period.office_id, t.day >= period.first,
                    t.day <= period.last))
    if period.service_id:
        query = query.where(t.service_id == period.service_id)
    return sql.fenced(query)


def tickets(period: Period, *, granularity: str | None = None, percentiles: bool = True
            ) -> dict[tuple[date, str | None], TicketFigures]:
    """Tickets of the period's days, per (bucket, service) and (bucket, None); without
    ``percentiles`` (cheaper) no median and 90th percentile."""
    sql.prepare()
    v = _ticket_values(period, granularity or period.granularity)
    bands = [_sum(and_(v.c.waited >= WAIT_BANDS[i] * 60, v.c.waited < WAIT_BANDS[i + 1] * 60))
             for i in range(len(WAIT_BANDS) - 1)] + [_sum(v.c.waited >= WAIT_BANDS[-1] * 60)]
    query = select(v.c.bucket, v.c.service_id, _sum(v.c.kind == WALK_IN),
                   _sum(v.c.kind == APPOINTMENT), _sum(v.c.status == DONE),
                   _sum(v.c.status == NO_SHOW), _sum(v.c.status == UNSERVED),
                   _sum(v.c.notified), func.count(v.c.waited),
                   func.coalesce(func.sum(v.c.waited), 0), func.avg(v.c.served), *bands,
                   *(sql.percentiles(v.c.waited, (0.5, 0.9)) if percentiles else ()))
    planned = dict(db.session.execute(select(Service.id, Service.duration_minutes)).all())
    result: dict[tuple[date, str | None], TicketFigures] = {}
    for row in sql.grouped(query, v.c.bucket, v.c.service_id):
        (walk_ins, check_ins, served, no_show, unserved, reminders, called, waited,
         service_mean) = row[2:11]
        end = 11 + len(WAIT_BANDS)
        median, p90 = (sql.percentile_values(tuple(row[end:]), 2) if percentiles
                       else (None, None))
        result[(sql.as_date(row[0]), row[1])] = TicketFigures(
            int(walk_ins), int(check_ins), int(served), int(no_show), int(unserved),
            int(reminders), int(called), float(waited), _minutes(median), _minutes(p90),
            _minutes(service_mean), planned.get(row[1]) if row[1] else None,
            [int(n) for n in row[11:end]])
    return result


@dataclass
class CounterFigures:
    counter_id: int
    name: str
    days: int = 0
    served: int = 0
    busy_seconds: float = 0.0
    span_seconds: float = 0.0

    @property
    def utilisation(self) -> float | None:
        """Share of the counter's working time (first call to last finish, each day)
        spent serving, in percent."""
        if not self.span_seconds:
            return None
        return round(100 * min(self.busy_seconds / self.span_seconds, 1.0), 1)

    @property
    def busy_hours(self) -> float:
        return round(self.busy_seconds / 3600, 1)


@dataclass
class Capacity:
    published: int = 0  # seats of slot steps offered by the rules (holidays, closures off)
    booked: int = 0  # of them taken by appointments (confirmed, arrived, no-show)

    @property
    def share(self) -> float | None:
        return round(100 * self.booked / self.published, 1) if self.published else None


def capacity(period: Period, appointment_figures: dict | None = None) -> dict[date, Capacity]:
    """Seats published and booked per bucket. Published: the steps the rules open, with
    the closures and holidays as they are now. Booked: the slot steps the appointments
    kept (confirmed, arrived, no-show) cover, from ``appointment_figures`` of the period
    (queried when not given)."""
    office = db.session.get(Office, period.office_id)
    result = {b: Capacity() for b in period.buckets()}
    steps = queries.get_open_steps(office, queries.get_rules(office), period.service_id,
                                   period.first, period.last)
    for step in steps.values():
        result[period.bucket_of(step.day)].published += sum(r.capacity for r in step.rules)
    if appointment_figures is None:
        appointment_figures = appointments(period)
    step_seconds = office.slot_minutes * 60
    for (bucket, service_id), figures in appointment_figures.items():
        if service_id is None:
            result.setdefault(bucket, Capacity()).booked += round(
                figures.kept_seconds / step_seconds)
    return result


@dataclass(frozen=True)
class Channel:
    online: int
    phone: int
    kiosk: int  # walk-in tickets drawn


def channels(period: Period, appointment_figures, ticket_figures) -> dict[date, Channel]:
    result = {}
    for b in period.buckets():
        a = appointment_figures.get((b, None)) or AppointmentFigures()
        t = ticket_figures.get((b, None)) or TicketFigures()
        result[b] = Channel(a.online, a.phone, t.walk_ins)
    return result


def waitlist(period: Period) -> list[waitlist_stats.Counts]:
    return waitlist_stats.get_offer_counts(period.office_id, period.first, period.last,
                                           period.service_id)
