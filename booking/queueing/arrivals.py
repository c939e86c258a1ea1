"""Into the queue: walk-in tickets drawn while the office is open, appointments checked in;
out of it at the day end. Operations only flush; every change publishes an office event.

Ticket numbers come from an atomic upsert on ``ticket_days`` (the row lock serialises
drawers of one office and day) and ``(office_id, day, seq)`` is unique.
"""

from __future__ import annotations

import secrets
from datetime import datetime, time
from typing import NamedTuple

from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value

from booking import metrics
from booking.db import db
from booking.offices.models import Office, Service, office_services
from booking.queueing import errors, events, ordering, reminders
from booking.queueing.models import APPOINTMENT, OPEN_STATUSES, UNSERVED, WAITING, WALK_IN, Ticket, TicketDay
from booking.queueing.waits import TicketState, due_window, waiting_figures
from booking.scheduling import queries as scheduling_queries
from booking.scheduling.models import ARRIVED, CANCELLED, HELD, Appointment

_OFFERED = (select(Service).join(office_services, office_services.c.service_id == Service.id)
            .where(office_services.c.office_id == bindparam("office"),
                   Service.id == bindparam("service")))


def offered_service(office: Office, service_id: str) -> Service:
    """The service ``service_id`` if the office offers it; raises ServiceNotOffered."""
    service = db.session.scalar(_OFFERED, {"office": office.id, "service": service_id}) \
        if isinstance(service_id, str) else None
    if service is None:
        raise errors.ServiceNotOffered()
    return service


def is_open_for(office: Office, service_id: str | None, now: datetime, *,
                always_open: bool = False) -> bool:
    """Walk-ins are taken now: within today's opening periods (the availability rules in
    force), not closed, not a holiday. ``always_open`` (the demo setting QUEUE_ALWAYS_OPEN,
    never in production) ignores opening hours, closures and holidays."""
    if always_open:
        return True
    day = ordering.local_day(now, office.tz)
    hours = [ordering.Hours(rule.start, rule.end, rule.service_ids)
             for rule in scheduling_queries.get_rules(office) if rule.applies(day, None)]
    closed = scheduling_queries.get_closures(office, day, day)
    holiday = day in scheduling_queries.get_holidays(office.state, day, day)
    return ordering.is_open(hours, closed, holiday, service_id, now, office.tz)


def _take_number(dialect) -> dict:
    """The upsert that takes the next running number, for one SQL dialect's insert: built
    once, with and without the daily limit of walk-ins as its condition."""
    stmt = dialect.insert(TicketDay).values(
        office_id=bindparam("p_office"), day=bindparam("p_day", type_=TicketDay.day.type),
        last_seq=1, walk_ins=bindparam("p_walk_in"))
    set_ = {"last_seq": TicketDay.last_seq + 1,
            "walk_ins": TicketDay.walk_ins + bindparam("p_walk_in")}
    return {limited: stmt.on_conflict_do_update(
        index_elements=["office_id", "day"], set_=set_,
        where=TicketDay.walk_ins < bindparam("p_limit") if limited else None,
    ).returning(TicketDay.last_seq) for limited in (False, True)}


_TAKE_NUMBER = {"postgresql": _take_number(postgresql), "sqlite": _take_number(sqlite)}


def _next_seq(office: Office, day, walk_in: bool) -> int:
    """Atomically take the next running number of the office's day. A walk-in beyond the
    office's daily limit (``queue_daily_limit``, at least 1) gets none: the update's
    condition fails, nothing is written, and ContingentExhausted is raised."""
    limit = office.queue_daily_limit if walk_in else None
    stmt = _TAKE_NUMBER[db.session.get_bind().dialect.name][limit is not None]
    seq = db.session.scalar(stmt, {"p_office": office.id, "p_day": day,
                                   "p_walk_in": int(walk_in), "p_limit": limit})
    if seq is None:
        raise errors.ContingentExhausted()
    return seq


class Drawn(NamedTuple):
    """A ticket just drawn or checked in, and how the public sees it."""

    ticket: Ticket
    state: TicketState


def _new_ticket(office: Office, service: Service, now: datetime, *, kind: str,
                language: str, appointment: Appointment | None = None,
                due_at: datetime | None = None) -> Drawn:
    """A waiting ticket, with how the public sees it. The running number is taken last:
    from its upsert to the commit, the office's other kiosks wait for the day's row, so
    the figures (who is ahead, the estimate) and the event come first. A ticket drawn
    at the same moment at another kiosk may be missing from the figures; its status
    page counts it."""
    day = ordering.local_day(now, office.tz)
    ticket_id = secrets.token_urlsafe(16)
    ahead, estimate = waiting_figures(office, service, ticket_id, now, due_at, now)
    events.office_changed(office.id, "drawn", ticket=ticket_id)
    seq = _next_seq(office, day, kind == WALK_IN)
    # one INSERT … RETURNING gives the persistent ticket (no unit-of-work flush)
    ticket = db.session.scalar(insert(Ticket).returning(Ticket), [dict(
        id=ticket_id, office_id=office.id, service_id=service.id, day=day,
        seq=seq, number=ordering.format_number(service.queue_prefix, seq), kind=kind,
        appointment_id=appointment.id if appointment else None,
        language=language if language in ("de", "en") else "de",
        status=WAITING, arrived_at=now, due_at=due_at, recalls=0,
    )])
    set_committed_value(ticket, "office", office)  # known: no lazy loads
    set_committed_value(ticket, "service", service)
    metrics.count(metrics.TICKETS, office=office.id, kind=kind)
    return Drawn(ticket, TicketState(ticket.id, ticket.number, service.id, WAITING, None,
                                     ahead, estimate))


def draw_ticket(office: Office, service_id: str, now: datetime, *, language: str = "de",
                always_open: bool = False) -> Drawn:
    """A walk-in ticket for ``service_id``, with how the public sees it. Raises
    ServiceNotOffered, OfficeClosedNow or ContingentExhausted; on error nothing is
    written."""
    service = offered_service(office, service_id)
    if not is_open_for(office, service.id, now, always_open=always_open):
        raise errors.OfficeClosedNow()
    # no savepoint needed: a refused number (ContingentExhausted) writes nothing
    return _new_ticket(office, service, now, kind=WALK_IN, language=language)


def check_in(office: Office, appointment: Appointment | None, now: datetime) -> Drawn:
    """Turn today's appointment into a ticket, with how the public sees it. Appointments
    checked in within the office's window before their start (or later) are due and go
    first; beyond the window after the start they join as walk-ins. Raises
    UnknownAppointment or NotCheckable."""
    if appointment is None or appointment.office_id != office.id:
        raise errors.UnknownAppointment()
    if appointment.status == CANCELLED:
        raise errors.NotCheckable("cancelled")
    if appointment.status == HELD:  # never confirmed by email: not an appointment
        raise errors.NotCheckable("not_confirmed")
    day = appointment.start_at.astimezone(office.tz).date()
    if day != ordering.local_day(now, office.tz):
        raise errors.NotCheckable("other_day", day)
    already = db.session.scalar(select(Ticket.id).where(Ticket.appointment_id == appointment.id))
    if already is not None or appointment.status != "confirmed":
        raise errors.NotCheckable("checked_in")
    late = now > appointment.start_at + due_window(office)
    with db.session.begin_nested():
        drawn = _new_ticket(
            office, appointment.service, now, kind=APPOINTMENT, language=appointment.language,
            appointment=appointment, due_at=None if late else appointment.start_at,
        )
        appointment.status = ARRIVED
        appointment.updated_at = now
    return drawn


def close_day(now: datetime) -> int:
    """Close every open ticket of a past local day (recorded as not served) and drop the
    running numbers of past days; reminders of past days lose their addresses and emails.
    Walk-in tickets hold nothing else personal; the link to an appointment goes with the
    appointment's own retention. Returns tickets closed."""
    closed = 0
    day_starts = [now]
    for office in db.session.scalars(select(Office)):
        today = ordering.local_day(now, office.tz)
        day_starts.append(datetime.combine(today, time(0), tzinfo=office.tz))
        tickets = db.session.scalars(
            select(Ticket).where(Ticket.office_id == office.id, Ticket.day < today,
                                 Ticket.status.in_(OPEN_STATUSES))
        ).all()
        for ticket in tickets:
            ticket.status, ticket.counter_id = UNSERVED, None
            ticket.finished_at = ticket.finished_at or now
            closed += 1
        db.session.execute(
            TicketDay.__table__.delete().where(TicketDay.office_id == office.id,
                                               TicketDay.day < today))
        if tickets:
            events.office_changed(office.id, "day_end")
    # addresses and emails of reminders of past days (every office's today began after
    # them), whether the email went out or not
    reminders.forget_reminders(before=min(day_starts))
    db.session.flush()
    return closed
