"""Reading the walk-in queue: call order, positions and waits at one instant; the calls
the waiting-room display shows. Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, literal, or_, select, true, tuple_

from booking.db import db
from booking.offices.models import Counter, Office, Service, counter_services
from booking.queueing import estimates, ordering
from booking.queueing.models import CALLED, DONE, NO_SHOW, SERVING, WAITING, Ticket


def due_window(office: Office) -> timedelta:
    """How far from its start an appointment's ticket still counts as due."""
    return timedelta(minutes=office.queue_window_minutes)


def waiting_today(office: Office, now: datetime) -> tuple:
    """The conditions of the office's waiting tickets of today (those of earlier days wait
    for the day end to close them)."""
    return (Ticket.office_id == office.id, Ticket.status == WAITING,
            Ticket.day == ordering.local_day(now, office.tz))


def get_waiting(office: Office, now: datetime) -> list[Ticket]:
    return list(db.session.scalars(select(Ticket).where(*waiting_today(office, now))))


def get_counter_services(office: Office) -> dict[int, frozenset[str]]:
    """The services of each counter that is not paused."""
    query = (select(counter_services.c.counter_id, counter_services.c.service_id)
             .join(Counter, Counter.id == counter_services.c.counter_id)
             .where(Counter.office_id == office.id, Counter.paused.is_(False)))
    result: dict[int, set[str]] = {}
    for counter_id, service_id in db.session.execute(query):
        result.setdefault(counter_id, set()).add(service_id)
    return {k: frozenset(v) for k, v in result.items()}


def get_average_minutes(office: Office, service: Service, now: datetime) -> float:
    """Minutes a ticket of ``service`` takes (estimates.service_minutes), from the
    office's recent finished tickets of that service."""
    rows = db.session.execute(
        select(Ticket.started_at, Ticket.finished_at).where(
            Ticket.office_id == office.id, Ticket.service_id == service.id,
            Ticket.status == DONE, Ticket.started_at.is_not(None),
            Ticket.finished_at.is_not(None),
            Ticket.finished_at >= now - timedelta(days=estimates.SAMPLE_DAYS),
            Ticket.finished_at < now,
        ).order_by(Ticket.finished_at.desc()).limit(estimates.SAMPLE)
    ).all()
    return estimates.service_minutes([(f - s).total_seconds() / 60 for s, f in rows],
                                     service.duration_minutes)


# A waiting ticket's figures in one statement (``ticket_state``): the non-paused
# counters of its office that serve its service, the services they call (its rivals),
# the count of rivals' waiting tickets called before it, and the service's recent times.
_SERVING = (select(counter_services.c.counter_id)
            .join(Counter, Counter.id == counter_services.c.counter_id)
            .where(counter_services.c.service_id == bindparam("service"),
                   Counter.office_id == bindparam("office"), Counter.paused.is_(False)))
_RIVAL_SERVICES = (select(counter_services.c.service_id)
                   .where(counter_services.c.counter_id.in_(_SERVING)))
_WAITING_RIVALS = (Ticket.office_id == bindparam("office"), Ticket.status == WAITING,
                   Ticket.day == bindparam("day"),
                   or_(Ticket.service_id == bindparam("service"),
                       Ticket.service_id.in_(_RIVAL_SERVICES)))
_DUE = Ticket.due_at.is_not(None) & (Ticket.due_at <= bindparam("due_by"))
_MINE = (bindparam("due_at", type_=Ticket.due_at.type),
         bindparam("arrived_at", type_=Ticket.arrived_at.type),
         bindparam("id", type_=Ticket.id.type))
_BEFORE = {  # the call order of ordering.sort_key as a condition; by whether it is due
    True: _DUE & (tuple_(Ticket.due_at, Ticket.arrived_at, Ticket.id) < tuple_(*_MINE)),
    False: or_(_DUE, tuple_(Ticket.arrived_at, Ticket.id) < tuple_(*_MINE[1:])),
}
_SAMPLE = (select(Ticket.started_at, Ticket.finished_at).where(
    Ticket.office_id == bindparam("office"), Ticket.service_id == bindparam("service"),
    Ticket.status == DONE, Ticket.started_at.is_not(None), Ticket.finished_at.is_not(None),
    Ticket.finished_at >= bindparam("since"), Ticket.finished_at < bindparam("now"),
).order_by(Ticket.finished_at.desc()).limit(estimates.SAMPLE).subquery())
_ONE = select(literal(1).label("one")).subquery()
_STATE = {
    due: select(
        select(func.count()).select_from(Ticket)
        .where(*_WAITING_RIVALS, before).scalar_subquery(),
        select(func.count()).select_from(_SERVING.subquery()).scalar_subquery(),
        _SAMPLE.c.started_at, _SAMPLE.c.finished_at,
    ).select_from(_ONE.outerjoin(_SAMPLE, true()))
    for due, before in _BEFORE.items()
}


def ticket_state(ticket: Ticket, now: datetime) -> TicketState:
    """One ticket as the public sees it (a drawn ticket, a status page): the same figures
    as ``QueueView`` gives it (:func:`waiting_figures` while it waits today)."""
    ahead = estimate = None
    office = ticket.office if ticket.status == WAITING else None  # else: not needed
    if office is not None and ticket.day == ordering.local_day(now, office.tz):
        ahead, estimate = waiting_figures(office, ticket.service, ticket.id, ticket.arrived_at,
                                          ticket.due_at, now)
    return TicketState(ticket.id, ticket.number, ticket.service_id, ticket.status,
                       ticket.counter.name if ticket.counter is not None else None,
                       ahead, estimate)


def waiting_figures(office: Office, service: Service, ticket_id: str, arrived_at: datetime,
                    due_at: datetime | None, now: datetime) -> tuple[int, int | None]:
    """(people called before it, estimated wait in minutes or None if no counter serves
    it) of a ticket waiting today, stored or about to be: one statement counts who is
    ahead and the counters serving it and reads the service's recent times, so the cost
    does not grow with the queue."""
    window = due_window(office)
    due = ordering.is_due(ordering.Waiting(ticket_id, service.id, arrived_at, due_at), now,
                          window)
    rows = db.session.execute(_STATE[due], {
        "office": office.id, "service": service.id, "day": ordering.local_day(now, office.tz),
        "due_by": now + window, "due_at": due_at, "arrived_at": arrived_at,
        "id": ticket_id, "since": now - timedelta(days=estimates.SAMPLE_DAYS), "now": now,
    }).all()
    ahead, counters = rows[0][0], rows[0][1]
    average = estimates.service_minutes(
        [(f - s).total_seconds() / 60 for _, _, s, f in rows if s is not None],
        service.duration_minutes) if counters and ahead else 0.0
    return ahead, ordering.estimate_wait(ahead, average, counters)


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
            select(Ticket.id, Ticket.service_id, Ticket.arrived_at, Ticket.due_at)
            .where(*waiting_today(office, now))
        ).all()
        self.entries = ordering.order((ordering.Waiting(*row) for row in rows), now,
                                      due_window(office))
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
        return estimates.wait_minutes(ahead, self.average(service_id), self._serving[service_id])

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
        return ahead, estimates.wait_minutes(ahead, self.average(service), counters)

    def for_counter(self, counter: Counter) -> list[Ticket]:
        """The waiting tickets the counter may call, in call order."""
        services = {s.id for s in counter.services}
        ids = [e.id for e in self.entries if e.service_id in services]
        if not ids:
            return []
        tickets = {t.id: t for t in db.session.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
        return [tickets[i] for i in ids if i in tickets]


def get_calls(office: Office, now: datetime, limit: int = 8) -> tuple[list[Ticket], list[Ticket]]:
    """(current calls: tickets called and not yet finished, newest first;
    recent calls of today that are over), for the waiting-room display."""
    day = ordering.local_day(now, office.tz)

    def calls(*conditions) -> list[Ticket]:
        return list(db.session.scalars(
            select(Ticket).where(Ticket.office_id == office.id, Ticket.day == day, *conditions)
            .order_by(Ticket.called_at.desc()).limit(limit)))

    return (calls(Ticket.status.in_((CALLED, SERVING))),
            calls(Ticket.status.in_((DONE, NO_SHOW)), Ticket.called_at.is_not(None)))
