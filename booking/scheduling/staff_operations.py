"""What staff do with appointments: arrival, no-show, cancel, move, phone bookings.

Each operation changes the appointment through the citizen-facing operations where
those exist (so seats, sequence numbers and emails behave the same), records an audit
entry in the same transaction, and only ``flush()``es. The acting user and ``now``
are arguments; nothing here reads the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, or_, select

from booking.audit import log as audit
from booking.db import db
from booking.notifications import appointment_mails
from booking.offices.models import Counter, Office
from booking.scheduling import codes, operations, visits
from booking.scheduling.errors import SchedulingError
from booking.scheduling.models import ARRIVED, BY_OFFICE, CONFIRMED, NO_SHOW, Appointment

ENTITY = "appointment"
FEED_PAST = timedelta(days=7)
SEARCH_LIMIT = 200


class InvalidTransition(SchedulingError):
    """The appointment's status does not allow this step (e.g. no-show before its start)."""


class NotYetStarted(InvalidTransition):
    """A no-show can only be recorded once the start time has passed."""


def _status(appointment: Appointment) -> dict:
    return audit.snapshot(appointment, ["status"])


def _times(appointment: Appointment) -> dict:
    # in UTC: a value just assigned may carry the caller's offset until it is reloaded
    return {name: getattr(appointment, name).astimezone(UTC).isoformat()
            for name in ("start_at", "end_at")}


def _record(actor, action: str, appointment: Appointment, before: dict | None, after: dict,
            now: datetime) -> None:
    audit.record(actor, action, ENTITY, appointment.id, office_id=appointment.office_id,
                 before=before, after=after, now=now)


def _require_confirmed(appointment: Appointment) -> None:
    if appointment.status != CONFIRMED:
        raise InvalidTransition(f"appointment is {appointment.status}, not confirmed")


def can_mark_arrived(appointment: Appointment) -> bool:
    return appointment.status == CONFIRMED


def can_mark_no_show(appointment: Appointment, now: datetime) -> bool:
    return appointment.status == CONFIRMED and now >= appointment.start_at


def mark_arrived(appointment: Appointment, actor, now: datetime) -> None:
    """The citizen is here. Only for confirmed appointments; raises InvalidTransition."""
    _require_confirmed(appointment)
    before = _status(appointment)
    appointment.status = ARRIVED
    appointment.updated_at = now
    db.session.flush()
    _record(actor, "appointment.arrived", appointment, before, _status(appointment), now)


def mark_no_show(appointment: Appointment, actor, now: datetime) -> None:
    """The citizen did not come. Only for confirmed appointments whose start has passed;
    raises NotYetStarted before the start and InvalidTransition for other statuses."""
    _require_confirmed(appointment)
    if now < appointment.start_at:
        raise NotYetStarted("the appointment has not started yet")
    before = _status(appointment)
    appointment.status = NO_SHOW
    appointment.updated_at = now
    db.session.flush()
    _record(actor, "appointment.no_show", appointment, before, _status(appointment), now)


def cancel_by_staff(appointment: Appointment, actor, now: datetime,
                    reason: str | None = None) -> None:
    """Cancel on the office's side: no deadline; the citizen gets the cancellation email
    (with ``reason``, if given) if they gave an address. Only confirmed appointments;
    raises InvalidTransition."""
    _require_confirmed(appointment)
    fields = ["status", "cancel_reason"]
    before = audit.snapshot(appointment, fields)
    operations.cancel_appointment(
        appointment, now, enforce_deadline=False, by=BY_OFFICE,
        reason=appointment_mails.cancellation_text(appointment.language, reason))
    _record(actor, "appointment.cancelled", appointment, before,
            audit.snapshot(appointment, fields), now)


def move_by_staff(appointment: Appointment, start_at: datetime, actor, now: datetime) -> None:
    """Move to another free start of the same service. A new manage token is issued and
    the citizen (if they gave an address) gets the new time and link by email.

    Raises InvalidTransition unless confirmed, and whatever ``reschedule_appointment``
    raises (NotBookable, SlotTaken, DeadlinePassed).
    """
    _require_confirmed(appointment)
    before = _times(appointment)
    operations.reschedule_appointment(appointment, start_at, now, token=None, by_staff=True)
    _record(actor, "appointment.moved", appointment, before, _times(appointment), now)


def book_for_caller(office: Office, lines: Sequence[visits.Line], start_at: datetime,
                    citizen: operations.Citizen, actor, now: datetime, *,
                    key: str | None = None) -> Appointment:
    """Book the visit's ``lines`` (services and persons; ``visits.single(service)`` for
    one) on the phone channel. With ``citizen.email`` the caller gets the usual
    confirmation email; without one (``None``) nothing is sent. Raises what
    ``book_appointment`` raises (NotBookable, SlotTaken, ServiceNotOffered,
    VisitNotAllowed, KeyReused). A repeat under the same ``key`` returns the first
    booking and records nothing."""
    appointment, _token = operations.book_appointment(
        office, lines, start_at, citizen, now, by_staff=True, key=key)
    if appointment.created_at != now:
        return appointment  # booked before under the same key
    _record(actor, "appointment.booked", appointment, None,
            {**audit.snapshot(appointment, ["status", "channel", "service_id"]),
             **_times(appointment)}, now)
    return appointment


# ---------------------------------------------------------------- reads for staff pages


def get_office_appointment(office: Office, appointment_id: int, *,
                           lock: bool = False) -> Appointment | None:
    """The appointment if it belongs to ``office``. ``lock`` (before a change) waits for
    another request changing it (PostgreSQL row lock; SQLite serialises writers anyway),
    so two clerks can't both cancel it and send two emails."""
    appointment = db.session.get(Appointment, appointment_id, with_for_update=lock or None)
    if appointment is None or appointment.office_id != office.id:
        return None
    return appointment


def get_counter(office: Office, counter_id: int) -> Counter | None:
    counter = db.session.get(Counter, counter_id)
    return counter if counter is not None and counter.office_id == office.id else None


def search_appointments(office: Office, query: str, limit: int = SEARCH_LIMIT) -> list[Appointment]:
    """An office's appointments on any day whose booking code is ``query`` (as people type
    it: lower case, spaces, dashes) or whose name contains it, ignoring case."""
    text = " ".join(query.split())
    if not text:
        return []
    conditions = [func.lower(Appointment.name).contains(text.lower(), autoescape=True)]
    code = codes.normalise_code(text)
    if code:
        conditions.append(Appointment.code == code)
    return list(db.session.scalars(
        select(Appointment)
        .where(Appointment.office_id == office.id, or_(*conditions))
        .order_by(Appointment.start_at, Appointment.id)
        .limit(limit)
    ))


def get_feed_appointments(offices: list[Office], now: datetime) -> list[Appointment]:
    """Confirmed and arrived appointments of ``offices`` from a week ago to the end of each
    office's booking horizon, by start."""
    rows: list[Appointment] = []
    for office in offices:
        _, last_day = operations.default_range(office, now)
        end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=office.tz)
        rows += db.session.scalars(
            select(Appointment).where(
                Appointment.office_id == office.id,
                Appointment.status.in_((CONFIRMED, ARRIVED)),
                Appointment.start_at >= now - FEED_PAST,
                Appointment.start_at < end,
            )
        )
    return sorted(rows, key=lambda a: (a.start_at, a.id))
