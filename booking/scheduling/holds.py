"""Holds on seats, and the cap per person.

A seat with ``held_until`` is taken only until then (:class:`AppointmentSeat`); from
that instant on it is free everywhere without any job: the listing leaves it out of its
counts (:func:`queries.get_taken`) and the next booking of its step deletes it
(:func:`seats_in_use`) before picking seats. Two things hold seats:

* a **held appointment** (status ``held``): booked online where the office asks for a
  double opt-in, or offered to someone on a waiting list. ``book_appointment(...,
  hold_until=...)`` makes one; :func:`confirm_hold` confirms it before ``held_until``;
  after that it has lapsed and cannot be confirmed (its seats may be someone else's);
* seats a citizen **gave up** (cancelled, or moved away from): they stay held until the
  office's release time (:func:`release_at`), so a reseller cannot cancel and rebook the
  same slot for a buyer. Staff cancellations free seats at once.

The cap: at most ``Office.max_active_per_email`` active future appointments (confirmed,
or held and not lapsed) per normalised email address and service, counted across all
offices. :func:`check_cap` runs under a lock on the address (:func:`lock_email_key`), so
concurrent bookings with variants of one address cannot all pass the count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, or_, select, update

from booking import metrics
from booking.db import db
from booking.offices.models import Office, Service
from booking.scheduling import codes, queries, seat_counts, slots, visit_steps, visits
from booking.scheduling.errors import SchedulingError
from booking.scheduling.models import CONFIRMED, HELD, Appointment, AppointmentSeat, AppointmentService


class CapReached(SchedulingError):
    """The person has as many active future appointments for the service as allowed."""

    def __init__(self, limit: int):
        super().__init__(f"at most {limit} active appointments per person and service")
        self.limit = limit


class HoldLapsed(SchedulingError):
    """The time to confirm a held appointment is over (or its seats are gone)."""


class NotConfirmed(SchedulingError):
    """A held appointment cannot be moved; it has to be confirmed first."""


# ---------------------------------------------------------------- times


def opt_in_until(office: Office, now: datetime) -> datetime | None:
    """Until when an online booking at ``office`` is held for its confirmation; None if
    the office asks for none."""
    minutes = office.opt_in_hold_minutes
    return now + timedelta(minutes=minutes) if minutes else None


def next_release(office: Office, after: datetime) -> datetime | None:
    """The first daily release time of the office (local wall clock) at or after
    ``after``; None if the office has none."""
    if office.release_time is None:
        return None
    tz = office.tz
    day = after.astimezone(tz).date()
    for offset in range(3):  # a wall time a DST change skips is found the next day
        instant = slots.local_to_utc(day + timedelta(days=offset), office.release_time, tz)
        if instant is not None and instant >= after:
            return instant
    raise AssertionError("unreachable: a wall time occurs within three days")


def release_at(office: Office, now: datetime) -> datetime | None:
    """When seats a citizen gives up now are offered again: after the office's delay,
    at its next release time (both if both are set); None: at once."""
    earliest = now + timedelta(minutes=office.release_delay_minutes or 0)
    if office.release_time is not None:
        return next_release(office, earliest)
    return earliest if earliest > now else None


# ---------------------------------------------------------------- seats


def is_live(now: datetime):
    """The condition of a seat that is taken at ``now`` (not a lapsed hold)."""
    return or_(AppointmentSeat.held_until.is_(None), AppointmentSeat.held_until > now)


_IN_USE = (  # (built once: every booking runs it)
    select(AppointmentSeat.id, AppointmentSeat.slot_at, AppointmentSeat.rule_id,
           AppointmentSeat.seat_no, AppointmentSeat.held_until)
    .where(AppointmentSeat.office_id == bindparam("office"),
           AppointmentSeat.slot_at.in_(bindparam("instants", expanding=True))))


def seats_in_use(office: Office, instants: list[datetime], now: datetime
                 ) -> dict[datetime, dict[int, set[int]]]:
    """Seat numbers in use per step and rule in the steps ``instants``, for picking free
    ones: the lapsed held seats among them are deleted first (when there are any), so
    that their numbers can be taken again. Seats another transaction is deleting are
    skipped and stay in use (PostgreSQL): bookings of a step never wait for each other."""
    rows = db.session.connection().execute(  # (Core: no ORM entities, no autoflush)
        _IN_USE, {"office": office.id, "instants": instants}).all()
    lapsed = [row.id for row in rows if row.held_until is not None and row.held_until <= now]
    gone: set[int] = set()
    if lapsed:
        gone = set(db.session.scalars(
            delete(AppointmentSeat).where(AppointmentSeat.id.in_(
                select(AppointmentSeat.id).where(AppointmentSeat.id.in_(lapsed))
                .with_for_update(skip_locked=True)))
            .returning(AppointmentSeat.id), execution_options={"synchronize_session": False}))
    used: dict[datetime, dict[int, set[int]]] = {}
    for row in rows:
        if row.id not in gone:
            used.setdefault(row.slot_at, {}).setdefault(row.rule_id, set()).add(row.seat_no)
    return used


def give_up_seats(appointment: Appointment, now: datetime, until: datetime | None,
                  keep: list[datetime] | None = None) -> seat_counts.Changes:
    """The appointment gives up its seats (except those in the steps ``keep``, which it
    keeps as they are): held until ``until`` (the release time), or freed at once
    (``until`` None). Seats it gave up earlier and still holds keep their time. Returns
    the changes of the kept counts for the caller to apply (:mod:`seat_counts`)."""
    mine = AppointmentSeat.appointment_id == appointment.id
    if keep:
        mine = mine & AppointmentSeat.slot_at.not_in(keep)
    key = (AppointmentSeat.rule_id, AppointmentSeat.slot_at)
    if until is None:
        rows = db.session.execute(
            delete(AppointmentSeat).where(mine).returning(*key, AppointmentSeat.held_until),
            execution_options={"synchronize_session": False})
        counted = seat_counts.unheld(rows, -1)
    else:
        db.session.execute(
            delete(AppointmentSeat).where(mine, AppointmentSeat.held_until <= now),
            execution_options={"synchronize_session": False})
        if appointment.status == HELD:  # its seats are all held: they take the release time
            db.session.execute(update(AppointmentSeat).where(mine).values(held_until=until),
                               execution_options={"synchronize_session": False})
            counted = seat_counts.Changes()
        else:  # the seats not held yet (those given up earlier keep their time)
            counted = seat_counts.changes(db.session.execute(
                update(AppointmentSeat).where(mine, AppointmentSeat.held_until.is_(None))
                .values(held_until=until).returning(*key),
                execution_options={"synchronize_session": False}), -1)
    db.session.expire(appointment, ["seats"])
    return counted


# ---------------------------------------------------------------- the cap per person


def lock_email_key(email_key: str) -> None:
    """Serialise bookings for one person (normalised address) until the transaction ends:
    a transaction advisory lock on PostgreSQL; SQLite runs one writer at a time anyway."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(email_key))))


def count_active(email_key: str, service_id: str, now: datetime) -> int:
    """Active future appointments of a person that include a service (among their
    lines): confirmed, or held and not lapsed, starting after ``now``; at every office."""
    return db.session.scalar(
        select(func.count()).select_from(Appointment).join(
            AppointmentService, AppointmentService.appointment_id == Appointment.id).where(
            Appointment.email_key == email_key, AppointmentService.service_id == service_id,
            Appointment.start_at > now,
            or_(Appointment.status == CONFIRMED,
                (Appointment.status == HELD) & (Appointment.held_until > now))))


def check_cap(email_key: str, services: Sequence[Service], limit: int, now: datetime) -> None:
    """Lock the person (:func:`lock_email_key`) and raise CapReached if they have
    ``limit`` active future appointments for any of ``services`` (a visit's) already.
    The lock is held until the commit, so the booking that follows is counted by the
    next one."""
    lock_email_key(email_key)
    for service in services:
        if count_active(email_key, service.id, now) >= limit:
            raise CapReached(limit)


# ---------------------------------------------------------------- confirming a hold


def confirm_hold(appointment: Appointment, now: datetime, token: str | None = None) -> str:
    """Confirm a held appointment before its ``held_until``; queues the confirmation email
    (with the calendar REQUEST) and returns the manage token for it (``token`` if given,
    else a new one is issued). Raises HoldLapsed after ``held_until``, if its seats are
    gone, or if the start is no longer offered (a closure, a rule change). Confirming a
    confirmed appointment again does nothing and returns the token."""
    from booking.notifications import appointment_mails  # (imports scheduling.operations)

    # a second click (another tab) waits for the first one's commit, then sees it
    db.session.get(Appointment, appointment.id, with_for_update=True, populate_existing=True)
    if appointment.status == CONFIRMED and token is not None:
        return token
    if appointment.status != HELD or appointment.held_until <= now:
        raise HoldLapsed("the hold is over")
    office, minutes = appointment.office, visits.visit_minutes(appointment.lines)
    covered = slots.covered_steps(appointment.start_at, minutes, office.slot_minutes)
    day = appointment.start_at.astimezone(office.tz).date()
    steps = visit_steps.open_steps(office, appointment.lines, day, day, lottery=False)
    policy = queries.get_policy(office)
    held = db.session.scalars(
        select(AppointmentSeat.slot_at).where(AppointmentSeat.appointment_id == appointment.id,
                                              is_live(now))).all()
    if (sorted(held) != covered or not slots.offers_start(
            steps, appointment.start_at, minutes,
            slots.Policy(policy.tz, policy.slot_minutes, timedelta(0), policy.horizon_days),
            now)):
        raise HoldLapsed("the seats are gone or the start is no longer offered")
    seat_counts.apply(seat_counts.changes(db.session.execute(
        update(AppointmentSeat)
        .where(AppointmentSeat.appointment_id == appointment.id,
               AppointmentSeat.held_until.is_not(None))
        .values(held_until=None).returning(AppointmentSeat.rule_id, AppointmentSeat.slot_at),
        execution_options={"synchronize_session": False}), 1))
    appointment.status = CONFIRMED
    appointment.held_until = None
    appointment.updated_at = now
    if token is None:
        token = codes.new_token()
        appointment.token_hash = codes.hash_token(token)
    db.session.flush()
    db.session.expire(appointment, ["seats"])
    metrics.count(metrics.BOOKINGS, office=office.id, channel=appointment.channel)
    if appointment.email:
        appointment_mails.notify_booked(appointment, token, now)
    return token
