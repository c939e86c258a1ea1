"""At the counter: call next, recall, start, finish, no-show, transfer, park and return,
pause. Operations only flush; every change publishes an office event that open displays
and counter screens receive after the commit.

``call_next`` locks the first eligible waiting ticket with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL (SQLite serialises writers with BEGIN IMMEDIATE) and moves it with a
conditional update, so two counters never get the same ticket; a counter holds at most
one active ticket (partial unique index).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from booking import metrics
from booking.audit import log as audit
from booking.db import db
from booking.offices.models import Counter, Office, counter_services
from booking.queueing import errors, events, ordering
from booking.queueing.arrivals import offered_service
from booking.queueing.models import CALLED, DONE, NO_SHOW, PARKED, SERVING, WAITING, Ticket
from booking.queueing.reminders import remind_almost_there
from booking.queueing.waits import due_window
from booking.scheduling.models import NO_SHOW as APPT_NO_SHOW


def get_active(counter: Counter) -> Ticket | None:
    """The ticket called to or served at the counter."""
    return db.session.scalar(
        select(Ticket).where(Ticket.counter_id == counter.id, Ticket.status.in_((CALLED, SERVING)))
    )


def get_parked(office: Office) -> list[Ticket]:
    return list(db.session.scalars(
        select(Ticket).where(Ticket.office_id == office.id, Ticket.status == PARKED)
        .order_by(Ticket.arrived_at)
    ))


# call_next's statements, built once (their values are bound per call). The counter's
# row is locked, reading in the same statement whether it is paused or has a ticket.
_ACTIVE = (select(Ticket.id).where(Ticket.counter_id == bindparam("counter"),
                                   Ticket.status.in_((CALLED, SERVING))).exists())
_LOCK_COUNTER = (select(Counter.paused, _ACTIVE).where(Counter.id == bindparam("counter"))
                 .with_for_update(of=Counter))
# The call order (ordering.sort_key) as two index-ordered reads of one row each: the
# first due appointment, else the first by arrival, among the services of the counter;
# the row is locked (SKIP LOCKED: a ticket another counter is taking is passed over;
# SQLite serialises writers) and moved. Never reads the whole queue. The answer also
# says whether anybody waiting asked for a reminder (usually nobody: no further read).
_t = aliased(Ticket)
_DUE = _t.due_at.is_not(None) & (_t.due_at <= bindparam("due_by", type_=Ticket.due_at.type))
_WAITING = (_t.office_id == bindparam("office"), _t.status == WAITING,
            _t.day == bindparam("today", type_=Ticket.day.type),
            _t.service_id.in_(select(counter_services.c.service_id)
                              .where(counter_services.c.counter_id == bindparam("counter"))))
_FIRST_DUE = (select(_t.id).where(*_WAITING, _DUE).order_by(_t.due_at, _t.arrived_at, _t.id)
              .limit(1).with_for_update(skip_locked=True, of=_t).scalar_subquery())
_FIRST_COME = (select(_t.id).where(*_WAITING, ~_DUE).order_by(_t.arrived_at, _t.id)
               .limit(1).with_for_update(skip_locked=True, of=_t).scalar_subquery())
_ASKED = (select(_t.id).where(_t.office_id == bindparam("office"), _t.status == WAITING,
                              _t.day == bindparam("today", type_=Ticket.day.type),
                              _t.notify_email.is_not(None)).exists())
_CALL = (update(Ticket)
         .where(Ticket.id == func.coalesce(_FIRST_DUE, _FIRST_COME), Ticket.status == WAITING)
         .values(status=CALLED, counter_id=bindparam("counter"),
                 called_at=bindparam("now", type_=Ticket.called_at.type), recalls=0)
         .returning(Ticket, _ASKED)
         .execution_options(populate_existing=True))


def call_next(counter: Counter, now: datetime) -> Ticket | None:
    """Call the next eligible ticket to ``counter``; None when nobody waits for it.
    Raises CounterPaused or CounterBusy. Atomic across workers and servers."""
    # one call at a time per counter (a double click, two tabs): lock its row first
    paused, busy = db.session.execute(_LOCK_COUNTER, {"counter": counter.id}).one()
    set_committed_value(counter, "paused", paused)
    if paused:
        raise errors.CounterPaused()
    if busy:
        raise errors.CounterBusy()
    office = counter.office
    row = db.session.execute(_CALL, {
        "counter": counter.id, "office": office.id, "now": now,
        "today": ordering.local_day(now, office.tz), "due_by": now + due_window(office),
    }).one_or_none()
    if row is None:
        return None
    ticket, asked = row
    events.ticket_changed(ticket, "called")
    metrics.count(metrics.CALLS, office=office.id)
    if asked:
        remind_almost_there(office, now)
    return ticket


def _require(ticket: Ticket, *states: str) -> None:
    if ticket.status not in states:
        raise errors.WrongState()


def _changed(ticket: Ticket, kind: str) -> Ticket:
    db.session.flush()
    events.ticket_changed(ticket, kind)
    return ticket


def recall(ticket: Ticket, now: datetime) -> Ticket:
    """Call the ticket again (display and gong). Only after the office's cooldown."""
    _require(ticket, CALLED)
    cooldown = timedelta(seconds=ticket.office.queue_recall_cooldown_seconds)
    last = ticket.called_at
    if last is not None and now < last + cooldown:
        raise errors.RecallTooSoon(int((last + cooldown - now).total_seconds()) + 1)
    ticket.recalls += 1
    ticket.called_at = now
    return _changed(ticket, "called")


def start(ticket: Ticket, now: datetime) -> Ticket:
    _require(ticket, CALLED)
    ticket.status, ticket.started_at = SERVING, now
    return _changed(ticket, "started")


_FINISH = (update(Ticket.__table__).where(Ticket.id == bindparam("ticket"))
           .values(status=DONE, finished_at=bindparam("finished", type_=Ticket.finished_at.type),
                   started_at=bindparam("started", type_=Ticket.started_at.type)))


def finish(ticket: Ticket, now: datetime) -> Ticket:
    """Served. One UPDATE of the three columns (the most frequent action after a call:
    no unit-of-work flush), recorded on the loaded ticket as it is in the database."""
    _require(ticket, CALLED, SERVING)
    started = ticket.started_at or ticket.called_at or now
    db.session.execute(_FINISH, {"ticket": ticket.id, "finished": now, "started": started})
    for name, value in (("status", DONE), ("finished_at", now), ("started_at", started)):
        set_committed_value(ticket, name, value)
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
    return _changed(ticket, "no_show")


def transfer(ticket: Ticket, service_id: str, now: datetime) -> Ticket:
    """Back into the queue for another service, keeping the original arrival time."""
    _require(ticket, CALLED, SERVING, PARKED)
    ticket.service_id = offered_service(ticket.office, service_id).id
    ticket.status, ticket.counter_id = WAITING, None
    ticket.called_at = ticket.started_at = None
    ticket.recalls = 0
    return _changed(ticket, "transferred")


def park(ticket: Ticket, now: datetime) -> Ticket:
    """Set aside (the citizen fetches a document); the counter is free for the next."""
    _require(ticket, CALLED, SERVING)
    ticket.status, ticket.counter_id = PARKED, None
    return _changed(ticket, "parked")


def return_ticket(ticket: Ticket, counter: Counter, now: datetime) -> Ticket:
    """A parked ticket comes back: called to ``counter`` again."""
    _require(ticket, PARKED)
    if ticket.office_id != counter.office_id:
        raise errors.WrongState()
    if get_active(counter) is not None:
        raise errors.CounterBusy()
    ticket.status, ticket.counter_id, ticket.called_at, ticket.recalls = CALLED, counter.id, now, 0
    return _changed(ticket, "called")


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
