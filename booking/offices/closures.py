"""Closures of a whole office or of one counter, and the appointments they cancel.

Closing one counter takes one seat off the capacity of *every* rule in force during the
closure (two counters closed: two seats). The appointments holding the seat numbers
above that reduced capacity are the ones affected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import force_locale, gettext
from sqlalchemy import select

from booking import i18n
from booking.audit import log as audit
from booking.db import db
from booking.notifications import appointment_mails
from booking.offices import operations as ops
from booking.offices.models import Closure, Office
from booking.offices.operations import CANCEL
from booking.scheduling import operations, queries
from booking.scheduling.models import CONFIRMED, Appointment, AppointmentSeat


def _apology_closure(appointment: Appointment, draft: ClosureDraft, office: Office) -> str:
    language = appointment.language
    with force_locale(language):
        text = gettext("We are very sorry: the office has to close (%(period)s), so we had "
                       "to cancel your appointment.",
                       period=i18n.period(draft.starts_at, draft.ends_at, office.tz, language))
    return appointment_mails.cancellation_text(language, draft.reason, text)


@dataclass(frozen=True)
class ClosureDraft:
    starts_at: datetime
    ends_at: datetime
    counter_id: int | None
    reason: str


def get_affected(office: Office, draft: ClosureDraft, now: datetime) -> list[Appointment]:
    """The confirmed appointments (not yet begun) that the closure would cancel.

    Whole office: every one overlapping the closure. One counter: in each step of the
    closure, the holders of seat numbers above the rule's capacity minus the counters
    closed then (this one and others already closed), for every rule in force.
    """
    if draft.counter_id is None:
        found = db.session.scalars(
            select(Appointment).where(
                Appointment.office_id == office.id, Appointment.status == CONFIRMED,
                Appointment.start_at >= now, Appointment.start_at < draft.ends_at,
                Appointment.end_at > draft.starts_at)
        ).all()
        return sorted(found, key=lambda a: (a.start_at, a.code))
    step = timedelta(minutes=office.slot_minutes)
    rows = db.session.execute(
        select(AppointmentSeat, Appointment)
        .join(Appointment, AppointmentSeat.appointment_id == Appointment.id)
        .where(AppointmentSeat.office_id == office.id, Appointment.status == CONFIRMED,
               Appointment.start_at >= now, AppointmentSeat.held_until.is_(None),
               AppointmentSeat.slot_at < draft.ends_at,
               AppointmentSeat.slot_at > draft.starts_at - step)
    ).all()
    if not rows:
        return []
    counter_closures = db.session.execute(
        select(Closure.counter_id, Closure.starts_at, Closure.ends_at).where(
            Closure.office_id == office.id, Closure.counter_id.is_not(None),
            Closure.counter_id != draft.counter_id,
            Closure.starts_at < draft.ends_at, Closure.ends_at > draft.starts_at - step)
    ).all()
    capacity = {r.id: r.capacity for r in queries.get_rules(office)}
    affected: dict[int, Appointment] = {}
    for seat, appt in rows:
        end = seat.slot_at + step
        closed = 1 + len({c for c, a, b in counter_closures if a < end and seat.slot_at < b})
        if seat.seat_no > capacity[seat.rule_id] - closed:
            affected[appt.id] = appt
    return sorted(affected.values(), key=lambda a: (a.start_at, a.code))


def closure_state(closure: Closure) -> dict:
    return audit.snapshot(closure)


def close(office: Office, draft: ClosureDraft, seen_ids: frozenset[int], actor,
          now: datetime) -> tuple[Closure, list[Appointment]]:
    """Create the closure and cancel every affected appointment, each with an apology and
    the reason (cancellation email with the rebooking link for those with an address).

    ``seen_ids`` are the affected appointments the manager was shown; if the list is
    different now (or was not looked at), nothing happens: DecisionNeeded.
    """
    operations.lock_office_schedule(office, for_change=True)  # none may slip in before the commit
    affected = get_affected(office, draft, now)
    ops.decide(affected, CANCEL, seen_ids)
    closure = Closure(office=office, starts_at=draft.starts_at, ends_at=draft.ends_at,
                      counter_id=draft.counter_id, reason=draft.reason)
    db.session.add(closure)
    db.session.flush()
    ops.cancel_all(affected, lambda a: _apology_closure(a, draft, office), actor, now)
    after = {**closure_state(closure), "cancelled": sorted(a.code for a in affected)}
    ops.record(actor, "closure.created", "closure", closure.id, office.id, None, after, now)
    return closure, affected


def delete_closure(closure: Closure, actor, now: datetime) -> None:
    """Reopen. Appointments cancelled for the closure stay cancelled."""
    before = closure_state(closure)
    db.session.delete(closure)
    db.session.flush()
    ops.record(actor, "closure.deleted", "closure", before["id"], before["office_id"], before,
            None, now)


def get_planned_closures(office: Office, now: datetime) -> list[Closure]:
    return list(db.session.scalars(
        select(Closure).where(Closure.office_id == office.id, Closure.ends_at > now)
        .order_by(Closure.starts_at, Closure.id)))
