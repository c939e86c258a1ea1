"""Walk-in queue operations: draw, check in, call, recall, start, finish, transfer, park.

Operations only flush; the request (or ``unit_of_work``) commits. Every change publishes
an office event that open displays and counter screens receive after the commit.
Correctness under concurrency rests on the database:

* ticket numbers come from an atomic upsert on ``ticket_days`` (the row lock serialises
  drawers of one office and day) and ``(office_id, day, seq)`` is unique;
* ``call_next`` locks the first eligible waiting ticket with ``FOR UPDATE SKIP LOCKED``
  on PostgreSQL (SQLite serialises writers with BEGIN IMMEDIATE) and moves it with a
  conditional update, so two counters never get the same ticket; a counter holds at most
  one active ticket (partial unique index).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from booking.audit import log as audit
from booking.db import db
from booking.notifications import ticket_mails
from booking.offices.models import Counter, Office, Service, counter_services, office_services
from booking.queueing import errors, events, ordering
from booking.queueing.models import (
    APPOINTMENT,
    CALLED,
    DONE,
    NO_SHOW,
    OPEN_STATUSES,
    PARKED,
    SERVING,
    UNSERVED,
    WAITING,
    WALK_IN,
    Ticket,
    TicketDay,
)
from booking.scheduling import queries as scheduling_queries
from booking.scheduling.models import ARRIVED, CANCELLED, Appointment
from booking.scheduling.models import NO_SHOW as APPT_NO_SHOW

REMIND_AHEAD = 3  # people ahead when the reminder email goes out
AVERAGE_SAMPLE = 20  # recent finished tickets per service for the average service time
AVERAGE_DAYS = 28


def _window(office: Office) -> timedelta:
    return timedelta(minutes=office.queue_window_minutes)


def _is_offered(office: Office, service_id: str) -> bool:
    return db.session.scalar(
        select(func.count()).select_from(office_services).where(
            office_services.c.office_id == office.id, office_services.c.service_id == service_id)
    ) > 0


def get_hours(office: Office, day) -> list[ordering.Hours]:
    """Today's opening periods: the availability rules in force on ``day``."""
    return [
        ordering.Hours(rule.start, rule.end, rule.service_ids)
        for rule in scheduling_queries.get_rules(office)
        if rule.applies(day, None)
    ]


def is_open_for(office: Office, service_id: str | None, now: datetime, *,
                always_open: bool = False) -> bool:
    """Walk-ins are taken now. ``always_open`` (the demo setting QUEUE_ALWAYS_OPEN, never
    in production) ignores opening hours, closures and holidays."""
    if always_open:
        return True
    day = ordering.local_day(now, office.tz)
    closed = scheduling_queries.get_closures(office, day, day)
    holiday = day in scheduling_queries.get_holidays(office.state, day, day)
    return ordering.is_open(get_hours(office, day), closed, holiday, service_id, now, office.tz)


def _next_seq(office: Office, day, walk_in: bool) -> tuple[int, int]:
    """Atomically take the next running number of the office's day; returns
    (seq, walk-ins so far including this one)."""
    dialect = db.session.get_bind().dialect.name
    values = {"office_id": office.id, "day": day, "last_seq": 1, "walk_ins": int(walk_in)}
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(TicketDay).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["office_id", "day"],
        set_={"last_seq": TicketDay.last_seq + 1,
              "walk_ins": TicketDay.walk_ins + int(walk_in)},
    ).returning(TicketDay.last_seq, TicketDay.walk_ins)
    seq, walk_ins = db.session.execute(stmt).one()
    return seq, walk_ins


def _new_ticket(office: Office, service: Service, now: datetime, *, kind: str,
                language: str, appointment: Appointment | None = None,
                due_at: datetime | None = None) -> Ticket:
    day = ordering.local_day(now, office.tz)
    seq, walk_ins = _next_seq(office, day, kind == WALK_IN)
    if kind == WALK_IN and office.queue_daily_limit is not None \
            and walk_ins > office.queue_daily_limit:
        raise errors.ContingentExhausted()
    ticket = Ticket(
        id=secrets.token_urlsafe(16),
        office_id=office.id,
        service_id=service.id,
        day=day,
        seq=seq,
        number=ordering.format_number(service.queue_prefix, seq),
        kind=kind,
        appointment_id=appointment.id if appointment else None,
        language=language if language in ("de", "en") else "de",
        status=WAITING,
        arrived_at=now,
        due_at=due_at,
        recalls=0,
    )
    db.session.add(ticket)
    db.session.flush()
    events.ticket_changed(ticket, "drawn")
    return ticket


def draw_ticket(office: Office, service_id: str, now: datetime, *, language: str = "de",
                always_open: bool = False) -> Ticket:
    """A walk-in ticket for ``service_id``. Raises ServiceNotOffered, OfficeClosedNow or
    ContingentExhausted; on error nothing is written."""
    service = db.session.get(Service, service_id) if isinstance(service_id, str) else None
    if service is None or not _is_offered(office, service.id):
        raise errors.ServiceNotOffered()
    if not is_open_for(office, service.id, now, always_open=always_open):
        raise errors.OfficeClosedNow()
    with db.session.begin_nested():
        return _new_ticket(office, service, now, kind=WALK_IN, language=language)


def check_in(office: Office, appointment: Appointment | None, now: datetime) -> Ticket:
    """Turn today's appointment into a ticket. Appointments checked in within the office's
    window before their start (or later) are due and go first; beyond the window after
    the start they join as walk-ins. Raises UnknownAppointment or NotCheckable."""
    if appointment is None or appointment.office_id != office.id:
        raise errors.UnknownAppointment()
    if appointment.status == CANCELLED:
        raise errors.NotCheckable("cancelled")
    if appointment.start_at.astimezone(office.tz).date() != ordering.local_day(now, office.tz):
        raise errors.NotCheckable("other_day")
    already = db.session.scalar(select(Ticket.id).where(Ticket.appointment_id == appointment.id))
    if already is not None or appointment.status != "confirmed":
        raise errors.NotCheckable("checked_in")
    late = now > appointment.start_at + _window(office)
    with db.session.begin_nested():
        ticket = _new_ticket(
            office, appointment.service, now, kind=APPOINTMENT, language=appointment.language,
            appointment=appointment, due_at=None if late else appointment.start_at,
        )
        appointment.status = ARRIVED
        appointment.updated_at = now
    return ticket


# -- reading the queue ------------------------------------------------------------------

def get_waiting(office: Office, now: datetime) -> list[Ticket]:
    """Today's waiting tickets (those of earlier days wait for the day end to close them)."""
    return list(db.session.scalars(
        select(Ticket).where(Ticket.office_id == office.id, Ticket.status == WAITING,
                             Ticket.day == ordering.local_day(now, office.tz))
    ))


def get_counter_services(office: Office, *, active_only: bool = True) -> dict[int, frozenset[str]]:
    query = (select(counter_services.c.counter_id, counter_services.c.service_id)
             .join(Counter, Counter.id == counter_services.c.counter_id)
             .where(Counter.office_id == office.id))
    if active_only:
        query = query.where(Counter.paused.is_(False))
    result: dict[int, set[str]] = {}
    for counter_id, service_id in db.session.execute(query):
        result.setdefault(counter_id, set()).add(service_id)
    return {k: frozenset(v) for k, v in result.items()}


def get_average_minutes(office: Office, service: Service, now: datetime) -> float:
    rows = db.session.execute(
        select(Ticket.started_at, Ticket.finished_at).where(
            Ticket.office_id == office.id, Ticket.service_id == service.id,
            Ticket.status == DONE, Ticket.started_at.is_not(None),
            Ticket.finished_at.is_not(None),
            Ticket.finished_at >= now - timedelta(days=AVERAGE_DAYS),
        ).order_by(Ticket.finished_at.desc()).limit(AVERAGE_SAMPLE)
    ).all()
    return ordering.average_minutes([f - s for s, f in rows], service.duration_minutes)


@dataclass(frozen=True)
class TicketState:
    """A ticket as the public sees it, in plain values: nothing personal."""

    id: str
    number: str
    service_id: str
    status: str
    counter: str | None  # the counter's name once called
    ahead: int | None  # people called before it; None unless waiting
    estimate: int | None  # minutes; None unless waiting (or no counter serves it)


class QueueView:
    """The office's queue at one instant: order, positions and waits, read once.

    Reads plain columns (not ORM objects) and computes every position in one pass, so
    its cost grows gently with the queue's length."""

    def __init__(self, office: Office, now: datetime):
        self.office, self.now = office, now
        rows = db.session.execute(
            select(Ticket.id, Ticket.service_id, Ticket.arrived_at, Ticket.due_at).where(
                Ticket.office_id == office.id, Ticket.status == WAITING,
                Ticket.day == ordering.local_day(now, office.tz))
        ).all()
        self.entries = ordering.order((ordering.Waiting(*row) for row in rows), now,
                                      _window(office))
        self.counter_services = get_counter_services(office)
        self._positions = ordering.positions(self.entries, self.counter_services.values())
        self._averages: dict[str, float] = {}
        self._serving: dict[str, int] = {}  # counters serving a service

    def __len__(self) -> int:
        return len(self.entries)

    def waiting_for(self, service_id: str) -> int:
        return sum(1 for e in self.entries if e.service_id == service_id)

    def average(self, service: Service | str) -> float:
        service_id = service if isinstance(service, str) else service.id
        if service_id not in self._averages:
            if isinstance(service, str):
                service = db.session.get(Service, service_id)
            self._averages[service_id] = get_average_minutes(self.office, service, self.now)
        return self._averages[service_id]

    def position(self, ticket: Ticket | str) -> int | None:
        """People ahead of the ticket (0: next), None if it is not waiting."""
        return self._positions.get(ticket if isinstance(ticket, str) else ticket.id)

    def _estimate(self, ahead: int | None, service_id: str) -> int | None:
        if ahead is None:
            return None
        if service_id not in self._serving:
            self._serving[service_id] = ordering.counters_serving(self.counter_services,
                                                                  service_id)
        return ordering.estimate_wait(ahead, self.average(service_id), self._serving[service_id])

    def estimate(self, ticket: Ticket) -> int | None:
        return self._estimate(self.position(ticket), ticket.service_id)

    def state(self, ticket: Ticket) -> TicketState:
        ahead = self.position(ticket)
        return TicketState(ticket.id, ticket.number, ticket.service_id, ticket.status,
                           ticket.counter.name if ticket.counter is not None else None,
                           ahead, self._estimate(ahead, ticket.service_id))

    def states_of_the_day(self) -> dict[str, TicketState]:
        """Every ticket of the office's day by id, with one query: what open status pages
        show, computed once per change however many pages are open."""
        rows = db.session.execute(
            select(Ticket.id, Ticket.number, Ticket.service_id, Ticket.status, Counter.name)
            .outerjoin(Counter, Counter.id == Ticket.counter_id)
            .where(Ticket.office_id == self.office.id,
                   Ticket.day == ordering.local_day(self.now, self.office.tz))
        ).all()
        states = {}
        for ticket_id, number, service_id, status, counter in rows:
            ahead = self._positions.get(ticket_id) if status == WAITING else None
            states[ticket_id] = TicketState(ticket_id, number, service_id, status, counter,
                                            ahead, self._estimate(ahead, service_id))
        return states

    def for_new(self, service: Service) -> tuple[int, int | None]:
        """(people waiting for what ``service`` competes for, estimated minutes) for a
        ticket drawn now."""
        rivals = ordering.rivals_of(service.id, self.counter_services.values())
        ahead = sum(1 for e in self.entries if e.service_id in rivals)
        counters = ordering.counters_serving(self.counter_services, service.id)
        return ahead, ordering.estimate_wait(ahead, self.average(service), counters)

    def for_counter(self, counter: Counter) -> list[Ticket]:
        """The waiting tickets the counter may call, in call order."""
        services = {s.id for s in counter.services}
        ids = [e.id for e in self.entries if e.service_id in services]
        if not ids:
            return []
        tickets = {t.id: t for t in db.session.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
        return [tickets[i] for i in ids if i in tickets]


# -- the counter ------------------------------------------------------------------------

def get_active(counter: Counter) -> Ticket | None:
    """The ticket called to or served at the counter."""
    return db.session.scalar(
        select(Ticket).where(Ticket.counter_id == counter.id, Ticket.status.in_((CALLED, SERVING)))
    )


def call_next(counter: Counter, now: datetime) -> Ticket | None:
    """Call the next eligible ticket to ``counter``; None when nobody waits for it.
    Raises CounterPaused or CounterBusy. Atomic across workers and servers."""
    # one call at a time per counter (a double click, two tabs): lock its row first
    db.session.execute(select(Counter.id).where(Counter.id == counter.id).with_for_update())
    db.session.refresh(counter, ["paused"])
    if counter.paused:
        raise errors.CounterPaused()
    if get_active(counter) is not None:
        raise errors.CounterBusy()
    office = counter.office
    services = [s.id for s in counter.services]
    if not services:
        return None
    due = case(
        (Ticket.due_at.is_not(None) & (Ticket.due_at <= now + _window(office)), 0), else_=1)
    query = (
        select(Ticket.id)
        .where(Ticket.office_id == office.id, Ticket.status == WAITING,
               Ticket.day == ordering.local_day(now, office.tz),
               Ticket.service_id.in_(services))
        .order_by(due, case((due == 0, Ticket.due_at), else_=Ticket.arrived_at),
                  Ticket.arrived_at, Ticket.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    for _ in range(5):  # a candidate taken between select and update: try the next one
        ticket_id = db.session.scalar(query)
        if ticket_id is None:
            return None
        moved = db.session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.status == WAITING)
            .values(status=CALLED, counter_id=counter.id, called_at=now, recalls=0)
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved == 1:
            ticket = db.session.get(Ticket, ticket_id, populate_existing=True)
            events.ticket_changed(ticket, "called")
            remind_almost_there(office, now)
            return ticket
    return None


# -- "email me when three people are ahead" ----------------------------------------------

def ask_for_reminder(ticket: Ticket, email: str, now: datetime) -> None:
    """The citizen wants an email when ``REMIND_AHEAD`` people are ahead of the waiting
    ``ticket`` (at once if that is so already). ``email`` must be validated."""
    _require(ticket, WAITING)
    ticket.notify_email, ticket.notified_at = email, None
    db.session.flush()
    remind_almost_there(ticket.office, now)


def remind_almost_there(office: Office, now: datetime) -> int:
    """Queue the reminder of every waiting ticket now close enough; runs when the queue
    moves forward (a call; transfers and returns only add to it). The address is
    dropped from the ticket once the email is queued. Returns how many were queued."""
    asked = db.session.scalars(
        select(Ticket).where(Ticket.office_id == office.id, Ticket.status == WAITING,
                             Ticket.notify_email.is_not(None),
                             Ticket.day == ordering.local_day(now, office.tz))
    ).all()
    if not asked:
        return 0
    view = QueueView(office, now)
    queued = 0
    for ticket in asked:
        ahead = view.position(ticket)
        if ahead is not None and ahead <= REMIND_AHEAD:
            ticket_mails.notify_almost_there(ticket, ticket.notify_email, ahead, now)
            ticket.notify_email, ticket.notified_at = None, now
            queued += 1
    db.session.flush()
    return queued


def _require(ticket: Ticket, *states: str) -> None:
    if ticket.status not in states:
        raise errors.WrongState()


def recall(ticket: Ticket, now: datetime) -> Ticket:
    """Call the ticket again (display and gong). Only after the office's cooldown."""
    _require(ticket, CALLED)
    cooldown = timedelta(seconds=ticket.office.queue_recall_cooldown_seconds)
    last = ticket.called_at
    if last is not None and now < last + cooldown:
        raise errors.RecallTooSoon(int((last + cooldown - now).total_seconds()) + 1)
    ticket.recalls += 1
    ticket.called_at = now
    db.session.flush()
    events.ticket_changed(ticket, "called")
    return ticket


def start(ticket: Ticket, now: datetime) -> Ticket:
    _require(ticket, CALLED)
    ticket.status, ticket.started_at = SERVING, now
    db.session.flush()
    events.ticket_changed(ticket, "started")
    return ticket


def finish(ticket: Ticket, now: datetime) -> Ticket:
    _require(ticket, CALLED, SERVING)
    ticket.status, ticket.finished_at = DONE, now
    if ticket.started_at is None:
        ticket.started_at = ticket.called_at or now
    db.session.flush()
    events.ticket_changed(ticket, "finished")
    return ticket


def no_show(ticket: Ticket, now: datetime) -> Ticket:
    """The called person did not come, after the office's number of recalls."""
    _require(ticket, CALLED)
    needed = ticket.office.queue_max_recalls
    if ticket.recalls < needed:
        raise errors.NoShowTooSoon(needed)
    ticket.status, ticket.finished_at = NO_SHOW, now
    if ticket.appointment is not None:
        ticket.appointment.status = APPT_NO_SHOW
        ticket.appointment.updated_at = now
    db.session.flush()
    events.ticket_changed(ticket, "no_show")
    return ticket


def transfer(ticket: Ticket, service_id: str, now: datetime) -> Ticket:
    """Back into the queue for another service, keeping the original arrival time."""
    _require(ticket, CALLED, SERVING, PARKED)
    office = ticket.office
    service = db.session.get(Service, service_id) if isinstance(service_id, str) else None
    if service is None or not _is_offered(office, service.id):
        raise errors.ServiceNotOffered()
    ticket.service_id = service.id
    ticket.status, ticket.counter_id = WAITING, None
    ticket.called_at = ticket.started_at = None
    ticket.recalls = 0
    db.session.flush()
    events.ticket_changed(ticket, "transferred")
    return ticket


def park(ticket: Ticket, now: datetime) -> Ticket:
    """Set aside (the citizen fetches a document); the counter is free for the next."""
    _require(ticket, CALLED, SERVING)
    ticket.status, ticket.counter_id = PARKED, None
    db.session.flush()
    events.ticket_changed(ticket, "parked")
    return ticket


def return_ticket(ticket: Ticket, counter: Counter, now: datetime) -> Ticket:
    """A parked ticket comes back: called to ``counter`` again."""
    _require(ticket, PARKED)
    if ticket.office_id != counter.office_id:
        raise errors.WrongState()
    if get_active(counter) is not None:
        raise errors.CounterBusy()
    ticket.status, ticket.counter_id, ticket.called_at, ticket.recalls = CALLED, counter.id, now, 0
    db.session.flush()
    events.ticket_changed(ticket, "called")
    return ticket


def set_paused(counter: Counter, paused: bool, *, actor=None,
               now: datetime | None = None) -> Counter:
    """Pause or resume; a counter with an active ticket can't pause. With an ``actor``
    (a staff user) a change is recorded in the audit log: pausing changes waiting-time
    estimates and who gets called, unlike the high-volume calls themselves."""
    if paused and get_active(counter) is not None:
        raise errors.CounterBusy()
    before = counter.paused
    counter.paused = paused
    db.session.flush()
    if actor is not None and before != paused:
        audit.record(actor, "counter.paused" if paused else "counter.resumed", "counter",
                     counter.id, office_id=counter.office_id, before={"paused": before},
                     after={"paused": paused}, now=now)
    events.office_changed(counter.office_id, "counter")
    return counter


def get_parked(office: Office) -> list[Ticket]:
    return list(db.session.scalars(
        select(Ticket).where(Ticket.office_id == office.id, Ticket.status == PARKED)
        .order_by(Ticket.arrived_at)
    ))


# -- the display ------------------------------------------------------------------------

def get_calls(office: Office, now: datetime, limit: int = 8) -> tuple[list[Ticket], list[Ticket]]:
    """(current calls: tickets called and not yet finished, newest first;
    recent calls of today that are over), for the waiting-room display."""
    day = ordering.local_day(now, office.tz)
    current = list(db.session.scalars(
        select(Ticket).where(Ticket.office_id == office.id, Ticket.day == day,
                             Ticket.status.in_((CALLED, SERVING)))
        .order_by(Ticket.called_at.desc()).limit(limit)
    ))
    recent = list(db.session.scalars(
        select(Ticket).where(Ticket.office_id == office.id, Ticket.day == day,
                             Ticket.status.in_((DONE, NO_SHOW)), Ticket.called_at.is_not(None))
        .order_by(Ticket.called_at.desc()).limit(limit)
    ))
    return current, recent


# -- day end ----------------------------------------------------------------------------

def close_day(now: datetime) -> int:
    """Close every open ticket of a past local day (recorded as not served) and drop the
    running numbers of past days. Walk-in tickets hold nothing personal; the link to an
    appointment goes with the appointment's own retention. Returns tickets closed."""
    closed = 0
    for office in db.session.scalars(select(Office)):
        today = ordering.local_day(now, office.tz)
        tickets = db.session.scalars(
            select(Ticket).where(Ticket.office_id == office.id, Ticket.day < today,
                                 Ticket.status.in_(OPEN_STATUSES))
        ).all()
        for ticket in tickets:
            ticket.status, ticket.counter_id = UNSERVED, None
            ticket.finished_at = ticket.finished_at or now
            closed += 1
        db.session.execute(  # addresses of reminders that never went out
            update(Ticket).where(Ticket.office_id == office.id, Ticket.day < today,
                                 Ticket.notify_email.is_not(None))
            .values(notify_email=None).execution_options(synchronize_session="fetch"))
        db.session.execute(
            TicketDay.__table__.delete().where(TicketDay.office_id == office.id,
                                               TicketDay.day < today))
        if tickets:
            events.office_changed(office.id, "day_end")
    db.session.flush()
    return closed

