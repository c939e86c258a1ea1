"""Booking, cancelling and moving appointments.

Operations take the clock as an argument, only ``flush()``, and queue their emails in
the outbox; the caller's commit point makes everything happen or nothing.

One path takes seats, for every booking (JSON API, citizen pages, phone) and every move
(:func:`_seat_taker`): lock the office's schedule for reading, check the start against
the rules and closures as the database holds them, and in a savepoint pick the lowest
free seat of every step the appointment covers, insert them and add them to the kept
counts (:mod:`seat_counts`); again if a concurrent booking took a seat first (:mod:`retries`).
A booking is for a visit (:mod:`visits`: services, each for some persons): it lasts the
visit's time, on the seats of rules that offer every one of its services.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from booking import metrics
from booking.db import db
from booking.fairness.emails import normalise_email
from booking.notifications import appointment_mails
from booking.offices.models import Office
from booking.scheduling import (
    codes,
    holds,
    idempotency,
    queries,
    retries,
    seat_counts,
    slots,
    visit_steps,
    visits,
)
from booking.scheduling.errors import (
    AppointmentCancelled,
    DeadlinePassed,
    NotBookable,
    SlotTaken,
)
from booking.scheduling.models import (
    BY_CITIZEN,
    CANCELLED,
    CONFIRMED,
    HELD,
    ONLINE,
    PHONE,
    Appointment,
    AppointmentSeat,
    AppointmentService,
)


@dataclass(frozen=True)
class Citizen:
    name: str
    email: str | None
    phone: str | None = None
    language: str = "de"


def lock_office_schedule(office: Office, *, for_change: bool = False) -> None:
    """Order bookings against changes of an office's schedule (PostgreSQL; SQLite runs
    one writing transaction at a time anyway).

    Bookings and moves lock the office's row for key share: they never wait for one
    another, nor for bookings at other offices. A closure or a rule change
    (``for_change``) locks it for update: it waits until the bookings in flight at that
    office have committed, so its list of affected appointments is complete, and holds
    new ones back until it commits; those then read the new rules and closures.
    (A new booking takes the same lock while it checks its services:
    :func:`visit_steps.check_offered` with ``lock``.)"""
    db.session.execute(queries.OFFICE_LOCKS[for_change], {"office": office.id})


def default_range(office: Office, now: datetime) -> tuple[date, date]:
    """Today (local) to the end of the booking horizon."""
    return _days_in_horizon(office, now, None, None)


def _days_in_horizon(office: Office, now: datetime, first_day: date | None,
                     last_day: date | None) -> tuple[date, date]:
    """first_day..last_day (local dates, either open) within today..the horizon's end;
    first after last if nothing remains."""
    today = now.astimezone(office.tz).date()
    horizon_end = today + timedelta(days=office.horizon_days)
    return max(first_day or today, today), min(last_day or horizon_end, horizon_end)


def _policy(office: Office, by_staff: bool) -> slots.Policy:
    policy = queries.get_policy(office)
    return replace(policy, lead=timedelta(0)) if by_staff else policy


def list_free_slots(
    office: Office,
    lines: Sequence[visits.Line],
    now: datetime,
    first_day: date | None = None,
    last_day: date | None = None,
    *,
    by_staff: bool = False,
    booked: bool = False,
) -> list[slots.FreeSlot]:
    """Bookable starts at ``office`` on local dates first_day..last_day for the visit
    (its lines: services and persons; ``visits.single(service)`` for one): starts
    where its whole duration fits on the rules that offer all its services.
    ``by_staff``: staff may book without the citizens' lead time (never in the past).
    ``booked``: the lines of a booked appointment (a move keeps them): the office's
    limits are not checked again. Raises ServiceNotOffered or VisitNotAllowed."""
    visit_steps.check_offered(office, lines, limits=not booked)
    first_day, last_day = _days_in_horizon(office, now, first_day, last_day)
    if first_day > last_day:
        return []
    rules = visits.offering_rules(queries.get_rules(office), lines)
    steps = visit_steps.open_steps(office, lines, first_day, last_day, rules)
    taken = queries.get_taken(office, rules, first_day, last_day, now)
    return slots.free_slots(steps, taken, visits.visit_minutes(lines),
                            _policy(office, by_staff), now)


def first_free_day(office: Office, lines: Sequence[visits.Line], now: datetime
                   ) -> date | None:
    """The first local date with a free start for the visit within the horizon. Raises
    ServiceNotOffered or VisitNotAllowed."""
    free = list_free_slots(office, lines, now)
    return free[0].start_at.astimezone(office.tz).date() if free else None


def is_offered(office: Office, lines: Sequence[visits.Line], start_at: datetime,
               now: datetime, *, booked: bool = False) -> bool:
    """Whether ``start_at`` is a free start for the visit right now (``booked``: see
    :func:`list_free_slots`)."""
    day = start_at.astimezone(office.tz).date()
    return any(s.start_at == start_at
               for s in list_free_slots(office, lines, now, day, day, booked=booked))


def is_changeable(appointment: Appointment, now: datetime) -> bool:
    """Whether the citizen may still cancel or move it online."""
    deadline = appointment.start_at - timedelta(minutes=appointment.office.cancel_deadline_minutes)
    return not appointment.is_cancelled and now < deadline


# ---------------------------------------------------------------- taking seats

def _seat_taker(office: Office, lines: Sequence[visits.Line], start_at: datetime,
                now: datetime, by_staff: bool, hold_until: datetime | None = None, *,
                offered: bool = False) -> Callable[[Appointment], None]:
    """Lock the office's schedule (:func:`lock_office_schedule`; with ``offered``, check
    that the office offers the visit's services and allows the visit: ServiceNotOffered,
    VisitNotAllowed), check that it offers ``start_at`` for the visit's whole duration on
    rules that offer all its services (raises NotBookable), and return the step that
    gives an appointment starting then one seat in every step it covers: the lowest free
    seat number of each step (specific rules first; lapsed holds deleted first), inserted
    in time order (held until ``hold_until`` if given), or SlotTaken if a step is full.
    Run it inside :func:`retries.in_savepoint`."""
    if offered:
        visit_steps.check_offered(office, lines, lock=True)
    else:
        lock_office_schedule(office)
    duration = visits.visit_minutes(lines)
    day = start_at.astimezone(office.tz).date()
    steps = visit_steps.open_steps(office, lines, day, day)
    if not slots.offers_start(steps, start_at, duration, _policy(office, by_staff), now):
        raise NotBookable("this start is not offered")
    covered = slots.covered_steps(start_at, duration, office.slot_minutes)

    def take_seats(appointment: Appointment, released: seat_counts.Changes | None = None
                   ) -> None:
        """``released``: the seats the appointment gave up in this savepoint (a move),
        counted together with the new ones."""
        used = holds.seats_in_use(office, covered, now)
        picks = [slots.choose_seat(steps[at], used.get(at, {})) for at in covered]
        if None in picks:
            raise SlotTaken("no seat left")
        db.session.flush()  # the appointment's row first: the seats refer to it
        db.session.execute(insert(AppointmentSeat), [
            {"appointment_id": appointment.id, "office_id": office.id, "rule_id": rule_id,
             "slot_at": at, "seat_no": seat_no, "held_until": hold_until}
            for at, (rule_id, seat_no) in zip(covered, picks, strict=True)
        ])
        counted = seat_counts.Changes(released or {})
        if hold_until is None:
            counted.update(seat_counts.changes(
                ((rule_id, at) for at, (rule_id, _) in zip(covered, picks, strict=True)), 1))
        seat_counts.apply(counted)
        db.session.expire(appointment, ["seats"])

    return take_seats


def book_appointment(
    office: Office, lines: Sequence[visits.Line], start_at: datetime,
    citizen: Citizen, now: datetime,
    *, by_staff: bool = False, key: str | None = None, hold_until: datetime | None = None,
    cap: int | None = None, notify: bool = True,
) -> tuple[Appointment, str]:
    """Book ``start_at`` (aware) for the visit (its lines; ``visits.single(service)``
    for one person and service) and queue the confirmation; returns (appointment, token).
    ``by_staff`` (phone channel): the citizens' lead time does not apply.

    ``hold_until``: the appointment is only held (status ``held``, its seats free again
    from then on) until :func:`holds.confirm_hold` confirms it; the email asks to confirm
    (or, with ``notify`` False, nothing is sent: the caller writes its own).
    ``cap``: at most that many active future appointments per person (normalised email)
    and service, for each service of the visit (raises holds.CapReached; counted under a
    lock on the address).

    ``key`` (an idempotency key, see :mod:`booking.scheduling.idempotency`): if a booking
    with the same data was made under it, that appointment and token are returned and
    nothing is written or sent; KeyReused if it was made with other data.

    Raises NotBookable, SlotTaken, ServiceNotOffered or VisitNotAllowed; on error nothing
    is written.
    The booking code is unique in the database too: a code in use is retried like a
    seat taken concurrently, with a new one."""
    if key is not None:
        fingerprint = idempotency.fingerprint(
            office.id, visits.fingerprint_part(lines), start_at.astimezone(UTC).isoformat(), citizen.name,
            citizen.email, citizen.phone, citizen.language, by_staff)
        earlier = idempotency.get_booking(key, fingerprint)
        if earlier is not None:
            return earlier
    email_key = normalise_email(citizen.email) if citizen.email else None
    if cap is not None and email_key:
        holds.check_cap(email_key, [line.service for line in lines], cap, now)
    take_seats = _seat_taker(office, lines, start_at, now, by_staff, hold_until, offered=True)
    token = codes.new_token()
    appointment = Appointment(
        office=office, service=lines[0].service, start_at=start_at,
        end_at=start_at + timedelta(minutes=visits.visit_minutes(lines)),
        lines=[AppointmentService(position=n, service=line.service, persons=line.persons)
               for n, line in enumerate(lines)],
        name=citizen.name, email=citizen.email, email_key=email_key, phone=citizen.phone,
        status=HELD if hold_until else CONFIRMED, held_until=hold_until,
        language=citizen.language, token_hash=codes.hash_token(token),
        ical_uid=codes.new_uid(), sequence=0, channel=PHONE if by_staff else ONLINE,
        created_at=now, updated_at=now,
    )

    def attempt() -> None:
        appointment.code = codes.new_code()
        db.session.add(appointment)
        if key is not None:
            db.session.flush()
            # before the seats: a twin request waits here for this one's commit
            idempotency.record(key, fingerprint, appointment, token, now)
        take_seats(appointment)

    try:
        retries.in_savepoint(attempt)
    except IntegrityError as exc:
        if key is None or not idempotency.is_key_taken(exc):
            raise
        return idempotency.get_booking(key, fingerprint)  # the twin's, committed now
    if not hold_until:  # a held one counts when it is confirmed (holds.confirm_hold)
        metrics.count(metrics.BOOKINGS, office=office.id, channel=appointment.channel)
    if appointment.email and notify:
        if hold_until:
            appointment_mails.notify_held(appointment, token, now)
        else:
            appointment_mails.notify_booked(appointment, token, now)
    return appointment, token


def reschedule_appointment(
    appointment: Appointment, start_at: datetime, now: datetime, token: str | None = None,
    *, by_staff: bool = False, release_at: datetime | None = None,
) -> str:
    """Move to ``start_at`` at the same office, for the same services and persons (and
    their duration), atomically: the old seats are
    released in the savepoint that takes the new ones, so a failure changes nothing.
    ``release_at`` (a citizen's move): the old seats not covered by the new time stay
    held until then (:func:`holds.release_at`). A held appointment cannot be moved
    (holds.NotConfirmed).

    Keeps code and UID, raises SEQUENCE, queues the update email. Without the citizen's
    ``token`` (a staff move) a new token is issued. Returns the token for the manage link.
    ``by_staff``: neither the citizens' change deadline nor their lead time applies.
    """
    if appointment.is_cancelled:
        raise AppointmentCancelled("the appointment was cancelled")
    if appointment.is_held:
        raise holds.NotConfirmed("a held appointment is confirmed first")
    if not by_staff and not is_changeable(appointment, now):
        raise DeadlinePassed("the deadline for changes is over")
    if start_at == appointment.start_at:
        raise NotBookable("that is the current time of the appointment")
    lines = appointment.lines
    minutes = visits.visit_minutes(lines)
    take_seats = _seat_taker(appointment.office, lines, start_at, now, by_staff)
    # the steps both times cover keep their seats: given up, they would block the move
    new_steps = slots.covered_steps(start_at, minutes, appointment.office.slot_minutes)

    def attempt() -> None:
        # (a failed attempt's rollback expires the appointment: it reads its old times)
        if release_at is None:
            released = _release_seats(appointment)
        else:
            released = holds.give_up_seats(appointment, now, release_at, keep=new_steps)
            released.update(_release_seats(appointment, only=new_steps))
        appointment.start_at = start_at
        appointment.end_at = start_at + timedelta(minutes=minutes)
        take_seats(appointment, released)

    retries.in_savepoint(attempt)
    if token is None:
        token = codes.new_token()
        appointment.token_hash = codes.hash_token(token)
    appointment.sequence += 1
    appointment.updated_at = now
    # the new time gets its own reminder (booking.scheduling.reminders), with a new link
    appointment.reminder_queued_at = appointment.reminder_token_hash = None
    db.session.flush()
    if appointment.email:
        appointment_mails.notify_moved(appointment, token, now)
    return token


def _release_seats(appointment: Appointment, only: list[datetime] | None = None
                   ) -> seat_counts.Changes:
    """Delete the appointment's seats (of the steps ``only``); returns the changes of the
    kept counts for the caller to apply (:mod:`seat_counts`)."""
    mine = AppointmentSeat.appointment_id == appointment.id
    if only is not None:
        mine = mine & AppointmentSeat.slot_at.in_(only)
    rows = db.session.execute(
        delete(AppointmentSeat).where(mine).returning(
            AppointmentSeat.rule_id, AppointmentSeat.slot_at, AppointmentSeat.held_until),
        execution_options={"synchronize_session": False}).all()
    db.session.expire(appointment, ["seats"])
    return seat_counts.unheld(rows, -1)


def cancel_appointment(appointment: Appointment, now: datetime, *, enforce_deadline=True,
                       reason: str | None = None, release_at: datetime | None = None,
                       by: str = BY_CITIZEN) -> bool:
    """Cancel and queue the cancellation email. Returns False if it was already cancelled
    (no second email). Raises DeadlinePassed after the cancellation deadline.

    ``reason`` (see :func:`appointment_mails.cancellation_text`) is stored in
    ``cancel_reason`` and shown in the email.
    ``release_at`` (a citizen's cancellation): its seats stay held until then
    (:func:`holds.release_at`); otherwise they are free at once. ``by``: the citizen or
    the office (kept for statistics, counted in the metrics)."""
    if appointment.is_cancelled:
        return False
    if enforce_deadline and not is_changeable(appointment, now):
        raise DeadlinePassed("the cancellation deadline is over")
    if release_at is None:
        seat_counts.apply(_release_seats(appointment))
    else:
        seat_counts.apply(holds.give_up_seats(appointment, now, release_at))
    # a held appointment was never confirmed: no calendar entry to cancel, no email
    confirmed = appointment.status != HELD
    appointment.status = CANCELLED
    appointment.held_until = None
    appointment.cancelled_at = now
    appointment.cancelled_by = by
    appointment.updated_at = now
    appointment.sequence += 1
    appointment.cancel_reason = reason
    db.session.flush()
    metrics.count(metrics.CANCELLATIONS, office=appointment.office_id, by=by)
    if appointment.email and confirmed:
        appointment_mails.notify_cancelled(appointment, now, reason=reason)
    return True
