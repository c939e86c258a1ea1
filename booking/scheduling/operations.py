"""Booking, cancelling and moving appointments.

Operations take the clock as an argument, only ``flush()``, and queue their emails in
the outbox; the caller's commit point makes everything happen or nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import TextClause, delete, insert, inspect, select, text
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached

from booking.calendars.ical import REQUEST
from booking.db import db, own_statement_connection, statements_commit_themselves, utcnow
from booking.notifications import appointment_mails, outbox
from booking.notifications.models import PENDING
from booking.offices.models import Office, Service
from booking.scheduling import codes, queries, slots
from booking.scheduling.errors import (
    AppointmentCancelled,
    DeadlinePassed,
    NotBookable,
    ServiceNotOffered,
    SlotTaken,
    StaleConfiguration,
)
from booking.scheduling.models import CANCELLED, CONFIRMED, ONLINE, Appointment, AppointmentSeat

SEAT_ATTEMPTS = 5


@dataclass(frozen=True)
class Citizen:
    name: str
    email: str | None
    phone: str | None = None
    language: str = "de"


def check_offered(office: Office, service: Service) -> None:
    # the loaded collection if there is one, else one small query (no ORM collection load)
    if "services" not in inspect(office).unloaded:
        offered = service in office.services
    else:
        offered = queries.is_offered(office.id, service.id)
    if not offered:
        raise ServiceNotOffered(f"{office.id} does not offer {service.id}")


def default_range(office: Office, now: datetime) -> tuple[date, date]:
    """Today (local) to the end of the booking horizon."""
    return _days_in_horizon(office.tz, office.horizon_days, now, None, None)


def _days_in_horizon(tz: ZoneInfo, horizon_days: int, now: datetime, first_day: date | None,
                     last_day: date | None) -> tuple[date, date]:
    """first_day..last_day (local dates, either open) within today..the horizon's end;
    first after last if nothing remains."""
    today = now.astimezone(tz).date()
    horizon_end = today + timedelta(days=horizon_days)
    return max(first_day or today, today), min(last_day or horizon_end, horizon_end)


def list_free_slots(
    office: Office,
    service: Service,
    now: datetime,
    first_day: date | None = None,
    last_day: date | None = None,
    *,
    by_staff: bool = False,
) -> list[slots.FreeSlot]:
    """Bookable starts for ``service`` at ``office`` on local dates first_day..last_day.
    ``by_staff``: staff may book without the citizens' lead time (never in the past)."""
    check_offered(office, service)
    first_day, last_day = _days_in_horizon(office.tz, office.horizon_days, now, first_day,
                                           last_day)
    if first_day > last_day:
        return []
    steps = queries.get_open_steps(office, service.id, first_day, last_day)
    taken = queries.get_taken(office, first_day, last_day)
    return slots.free_slots(
        steps, taken, service.duration_minutes, _policy(office, by_staff), now
    )


def list_free_slots_as_kept(office_id: str, service_id: str, now: datetime,
                            first_day: date | None = None, last_day: date | None = None
                            ) -> tuple[list[slots.FreeSlot], slots.Policy] | None:
    """As :func:`list_free_slots` (for citizens) against the configuration this process
    keeps (PostgreSQL): one statement reads the seats taken and the configuration's
    version. Returns (free slots, the office's policy); None if nothing is kept for the
    office and service, if the kept offer or closures do not cover the request, or if
    the configuration changed: the caller then lists as usual (and keeps it afresh)."""
    kept = queries.kept(office_id, service_id)
    if kept is None or not kept.inputs.offered:
        return None
    policy = kept.policy
    first_day, last_day = _days_in_horizon(policy.tz, policy.horizon_days, now, first_day,
                                           last_day)
    if first_day > last_day:
        return [], policy
    if not kept.covers_days(first_day, last_day):
        return None
    version, taken = queries.get_taken_and_version(office_id, policy.tz, first_day, last_day)
    if version != kept.version:
        queries.forget_kept(office_id, service_id)
        return None
    steps = kept.open_steps_between(first_day, last_day)
    return slots.free_slots(steps, taken, kept.duration_minutes, policy, now), policy


def _policy(office: Office, by_staff: bool) -> slots.Policy:
    policy = queries.get_policy(office)
    return replace(policy, lead=timedelta(0)) if by_staff else policy


def is_offered(office: Office, service: Service, start_at: datetime, now: datetime) -> bool:
    """Whether ``start_at`` is a free start right now."""
    day = start_at.astimezone(office.tz).date()
    return any(s.start_at == start_at for s in list_free_slots(office, service, now, day, day))


def _offered_steps(office: Office, service: Service, start_at: datetime, now: datetime,
                   by_staff: bool, inputs: queries.BookingInputs | None = None
                   ) -> tuple[slots.OpenSteps, list[datetime]]:
    """The open steps of the start's day and the steps the appointment covers; raises
    NotBookable if ``start_at`` is not a start the office offers (taken or not)."""
    day = start_at.astimezone(office.tz).date()
    steps = queries.get_open_steps(office, service.id, day, day, inputs)
    if not slots.offers_start(steps, start_at, service.duration_minutes,
                              _policy(office, by_staff), now):
        raise NotBookable("this start is not offered")
    return steps, slots.covered_steps(start_at, service.duration_minutes, office.slot_minutes)


def _pick_seats(office: Office, steps: slots.OpenSteps, covered: list[datetime]
                ) -> list[tuple[int, int]]:
    """(rule id, seat number) for every covered step, free as far as we can see now;
    raises SlotTaken if a step is full. Only the insert decides (unique seat key)."""
    used = queries.get_used_seats(office, covered)
    picks = [slots.choose_seat(steps[at], used.get(at, {})) for at in covered]
    if any(pick is None for pick in picks):
        raise SlotTaken("no seat left")
    return picks


def _insert_seats(appointment_id: int, office: Office, covered: list[datetime],
                  picks: list[tuple[int, int]]) -> None:
    # one executemany statement, without the ORM's unit of work
    db.session.execute(insert(AppointmentSeat), [
        {"appointment_id": appointment_id, "office_id": office.id, "rule_id": rule_id,
         "slot_at": at, "seat_no": seat_no}
        for at, (rule_id, seat_no) in zip(covered, picks, strict=True)
    ])


_RETRIED_KEYS = {"uq_appointment_seats_seat": "seat", "uq_appointments_code": "code"}
_SQLITE_KEYS = {
    "appointment_seats.rule_id, appointment_seats.slot_at, appointment_seats.seat_no": "seat",
    "appointments.code": "code",
}


def _retried_conflict(exc: IntegrityError) -> str | None:
    """'seat' if a concurrent booking took one of our seats first, 'code' if the random
    booking code is already in use; None for any other violation (a bug: not retried)."""
    name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)  # psycopg
    if name is not None:
        return _RETRIED_KEYS.get(name)
    message = str(exc.orig)
    prefix = "UNIQUE constraint failed: "  # SQLite names the columns instead
    return _SQLITE_KEYS.get(message[len(prefix):]) if message.startswith(prefix) else None


def _hold_seats(appointment: Appointment, office: Office, service: Service, now: datetime,
                by_staff: bool = False) -> None:
    """Give ``appointment`` one seat in every step it covers, or raise.

    Seat numbers are unique per (rule, step) in the database; a concurrent request
    that took the same seat first makes our insert fail, and we try the next seat.
    """
    steps, covered = _offered_steps(office, service, appointment.start_at, now, by_staff)
    for _ in range(SEAT_ATTEMPTS):
        picks = _pick_seats(office, steps, covered)
        try:
            with db.session.begin_nested():
                _insert_seats(appointment.id, office, covered, picks)
                db.session.expire(appointment, ["seats"])
        except IntegrityError as exc:
            if _retried_conflict(exc) != "seat":
                raise
            continue  # someone took one of these seats a moment ago; look again
        return
    raise SlotTaken("no seat left after retries")


def _booking_steps(office: Office, service: Service, start_at: datetime, now: datetime,
                   by_staff: bool, inputs: queries.BookingInputs | None = None):
    """(inputs, open steps of the day, covered steps) for booking ``start_at``; the
    inputs read now unless given (None on SQLite). Raises ServiceNotOffered or
    NotBookable."""
    if inputs is None:
        inputs = queries.booking_inputs(office, service, start_at)
    if inputs is None:
        check_offered(office, service)
    elif not inputs.offered:
        raise ServiceNotOffered(f"{office.id} does not offer {service.id}")
    return (inputs, *_offered_steps(office, service, start_at, now, by_staff, inputs))


def book_appointment(
    office: Office, service: Service, start_at: datetime, citizen: Citizen, now: datetime,
    *, by_staff: bool = False, inputs: queries.BookingInputs | None = None,
) -> tuple[Appointment, str]:
    """Book ``start_at`` (aware) and queue the confirmation; returns (appointment, token).
    ``by_staff`` (phone channel): the citizens' lead time does not apply. ``inputs``: what
    :func:`queries.load_and_keep` read with the office and service (PostgreSQL).

    Raises NotBookable, SlotTaken or ServiceNotOffered; on error nothing is written.

    Both the seats and the booking code are unique in the database: if a concurrent
    booking took a seat first, or (rarely) the random code exists already, the attempt
    leaves nothing behind and we try again with the seats free now and a new code. No
    query checks the code beforehand; the constraint decides. On PostgreSQL an attempt is
    one statement (:func:`_book_in_one_statement`), elsewhere a savepoint around the
    appointment and its seats.
    """
    inputs, steps, covered = _booking_steps(office, service, start_at, now, by_staff, inputs)
    token = codes.new_token()
    token_hash, ical_uid = codes.hash_token(token), codes.new_uid()
    end_at = start_at + timedelta(minutes=service.duration_minutes)
    for _ in range(SEAT_ATTEMPTS):
        appointment = Appointment(
            office=office,
            service=service,
            start_at=start_at,
            end_at=end_at,
            name=citizen.name,
            email=citizen.email,
            phone=citizen.phone,
            language=citizen.language,
            code=codes.new_code(),
            token_hash=token_hash,
            ical_uid=ical_uid,
            sequence=0,
            created_at=now,
            updated_at=now,
        )
        if inputs is not None:
            try:
                if _book_in_one_statement(appointment, token, steps, covered, now,
                                          inputs.version):
                    return appointment, token
            except StaleConfiguration:  # nothing written: check the start again
                inputs, steps, covered = _booking_steps(office, service, start_at, now,
                                                        by_staff)
            continue  # a seat was taken a moment ago, or the code exists: look again
        picks = _pick_seats(office, steps, covered)
        try:
            with db.session.begin_nested():  # a failed attempt leaves no row and no object
                db.session.add(appointment)
                db.session.flush()
                _insert_seats(appointment.id, office, covered, picks)
        except IntegrityError as exc:
            if _retried_conflict(exc) is None:
                raise
            continue  # a seat was taken a moment ago, or the code exists: look again
        break
    else:
        raise SlotTaken("no seat left after retries")
    db.session.expire(appointment, ["seats"])  # inserted without the ORM: load when asked
    if appointment.email:
        appointment_mails.notify_booked(appointment, token, now)
    return appointment, token


@dataclass(frozen=True)
class Booked:
    """An appointment :func:`book_as_kept` booked, as the values it wrote: no ORM object
    and no session (the JSON API answers from it; the email snapshot reads the same
    attribute names as from an :class:`Appointment`)."""

    id: int | None  # None until the statement has inserted it
    office_id: str
    service_id: str
    start_at: datetime
    end_at: datetime
    name: str
    email: str | None
    phone: str | None
    language: str
    code: str
    token_hash: str
    ical_uid: str
    sequence: int
    status: str
    channel: str
    created_at: datetime
    updated_at: datetime
    tz: ZoneInfo  # the office's


def book_as_kept(office_id: str, service_id: str, start_at: datetime, citizen: Citizen,
                 now: datetime) -> tuple[Booked, str] | None:
    """Book against the configuration this process keeps (:func:`queries.kept_for_booking`,
    PostgreSQL) in one self-committing statement on a connection of its own
    (:func:`db.own_statement_connection`): no read, no ORM, no session. The statement
    checks the configuration's version and writes nothing if it changed.

    Returns (booked, token); raises SlotTaken if every seat is taken. None if nothing is
    kept for it, if the session cannot be passed by (SQLite, a transaction begun), or if
    the kept configuration refused the start or was out of date: the caller then books
    with what the database holds now (a refusal must not rest on kept data)."""
    kept = queries.kept_for_booking(office_id, service_id, start_at)
    if kept is None:
        return None
    policy = kept.policy
    steps = kept.open_steps(start_at.astimezone(policy.tz).date())
    if not (kept.inputs.offered and slots.offers_start(steps, start_at, kept.duration_minutes,
                                                       policy, now)):
        queries.forget_kept(office_id, service_id)
        return None
    covered = slots.covered_steps(start_at, kept.duration_minutes, policy.slot_minutes)
    token = codes.new_token()
    fixed = {
        "office_id": office_id, "service_id": service_id, "start_at": start_at,
        "end_at": start_at + timedelta(minutes=kept.duration_minutes), "name": citizen.name,
        "email": citizen.email, "phone": citizen.phone, "language": citizen.language,
        "token_hash": codes.hash_token(token), "ical_uid": codes.new_uid(), "sequence": 0,
        "status": CONFIRMED, "channel": ONLINE, "created_at": now, "updated_at": now,
        "tz": policy.tz,
    }
    with own_statement_connection() as connection:
        if connection is None:
            return None
        for _ in range(SEAT_ATTEMPTS):
            booked = Booked(id=None, code=codes.new_code(), **fixed)
            candidates, params = _book_params(booked, token, steps, covered, now, kept.version)
            try:
                row = connection.execute(_raw_book_sql(candidates), params).fetchone()
            except psycopg.IntegrityError as exc:  # nothing was written
                if _RETRIED_KEYS.get(exc.diag.constraint_name) != "seat":
                    raise
                continue  # a seat was taken a moment ago: look again
            try:
                booked_id, _ = _statement_outcome(row, covered, kept.version)
            except StaleConfiguration:
                queries.forget_kept(office_id, service_id)
                return None
            if booked_id is not None:  # (else the code is in use: a new one)
                if booked.email:
                    outbox.queued_by_statement()
                return replace(booked, id=booked_id), token
    raise SlotTaken("no seat left after retries")


# One attempt at a booking on PostgreSQL, in one statement: for every covered step the
# first free seat (the step's rules in order, lowest number first, as slots.choose_seat)
# among the seats committed when the statement starts; the appointment if every step
# has one; its seats; and the confirmation for the outbox if every seat was inserted.
# The seat key (rule, step, seat number) and the code stay unique in the database: a code
# taken by a concurrent booking in the meantime is skipped (ON CONFLICT DO NOTHING, after
# waiting for that booking's transaction like a plain INSERT would). So is a seat when
# the statement runs inside a longer transaction, and the caller removes what this
# attempt inserted; when the statement commits itself (the API) such a seat fails the
# whole statement instead, which writes nothing. Either way the caller tries again.
# The candidates (step, rule order, rule, capacity) are a VALUES list rather than
# arrays: its row count is part of the statement, so PostgreSQL's generic plan for the
# prepared statement is as good as a custom one and is reused instead of planning the
# statement on every booking. One statement text per number of candidates.
_BOOK_SQL = """
WITH picks AS (
    SELECT DISTINCT ON (c.slot_at) c.slot_at, c.rule_id, free.seat_no
    FROM (VALUES {candidates}) AS c(slot_at, ord, rule_id, capacity)
    CROSS JOIN LATERAL (
        SELECT min(n.seat_no) AS seat_no
        FROM generate_series(1, c.capacity) AS n(seat_no)
        WHERE n.seat_no <> ALL (ARRAY(  -- the seat key's index
            SELECT s.seat_no FROM appointment_seats s
            WHERE s.rule_id = c.rule_id AND s.slot_at = c.slot_at))
    ) AS free
    WHERE free.seat_no IS NOT NULL
    ORDER BY c.slot_at, c.ord
), appointment AS (
    INSERT INTO appointments (office_id, service_id, start_at, end_at, name, email, phone,
                              language, code, token_hash, ical_uid, sequence, status,
                              channel, created_at, updated_at)
    SELECT :office_id, :service_id, :start_at, :end_at, :name, :email, :phone, :language,
           :code, :token_hash, :ical_uid, :sequence, :status, :channel, :created_at,
           :updated_at
    WHERE (SELECT count(*) FROM picks) = :steps
      AND {config_version} = CAST(:config_version AS bigint)
    ON CONFLICT (code) DO NOTHING
    RETURNING id
), seats AS (
    INSERT INTO appointment_seats (appointment_id, office_id, rule_id, slot_at, seat_no)
    SELECT a.id, :office_id, p.rule_id, p.slot_at, p.seat_no
    FROM appointment a CROSS JOIN picks p
    ORDER BY p.slot_at
    {on_seat_conflict}
    RETURNING 1
), mail AS (
    INSERT INTO outbox_messages (created_at, kind, appointment_id, sender, recipient,
                                 payload, status, attempts, next_attempt_at)
    SELECT :queued_at, 'booked', a.id, :sender, :recipient,
           CAST(:payload_head || a.id || :payload_tail AS json), :pending, 0, :queued_at
    FROM appointment a
    WHERE :mail AND (SELECT count(*) FROM seats) = :steps
)
SELECT (SELECT count(*) FROM picks) AS free_steps,
       (SELECT id FROM appointment) AS id,
       (SELECT count(*) FROM seats) AS seats,
       {config_version} AS config_version
"""


@lru_cache(maxsize=64)
def _book_statement(candidates: int, own_transaction: bool) -> TextClause:
    """``own_transaction``: the statement runs on its own (autocommit), so a seat taken
    concurrently fails the whole statement and nothing is written; inside a longer
    transaction such a seat is skipped instead (an error would abort the transaction).
    The appointment is inserted only if the configuration's version is still the one
    the rules were read with (or kept with)."""
    rows = ", ".join(
        f"(CAST(:slot_at_{i} AS timestamptz), CAST(:ord_{i} AS int), "
        f"CAST(:rule_id_{i} AS int), CAST(:capacity_{i} AS int))"
        for i in range(candidates))
    conflict = "" if own_transaction else (
        "ON CONFLICT ON CONSTRAINT uq_appointment_seats_seat DO NOTHING")
    return text(_BOOK_SQL.replace("{candidates}", rows).replace("{on_seat_conflict}", conflict)
                .replace("{config_version}", queries.CONFIG_VERSION_SQL))


@lru_cache(maxsize=64)
def _raw_book_sql(candidates: int) -> str:
    """The self-committing statement in psycopg's own parameter style (for
    :func:`book_as_kept`, which runs it on the DBAPI connection)."""
    return str(_book_statement(candidates, True).compile(dialect=psycopg_dialect()))


_NO_ID = '"appointment_id": null'
_APPOINTMENT_VALUES = ("office_id", "service_id", "start_at", "end_at", "name", "email",
                       "phone", "language", "code", "token_hash", "ical_uid", "sequence",
                       "status", "channel", "created_at", "updated_at")


def _book_params(appointment, token: str, steps: slots.OpenSteps, covered: list[datetime],
                 now: datetime, config_version: int) -> tuple[int, dict]:
    """(number of seat candidates, the statement's parameters) for ``appointment`` (an
    Appointment or a Booked with its values set, no id yet)."""
    candidates: dict[str, object] = {}
    for at in covered:
        for ord_, rule in enumerate(steps[at].rules):
            i = len(candidates) // 4
            candidates.update({f"slot_at_{i}": at, f"ord_{i}": ord_, f"rule_id_{i}": rule.id,
                               f"capacity_{i}": rule.capacity})
    params = {column: getattr(appointment, column) for column in _APPOINTMENT_VALUES}
    params.update(candidates)
    params.update(sender=None, recipient=None, payload_head=None, payload_tail=None,
                  steps=len(covered), mail=bool(appointment.email), queued_at=utcnow(),
                  pending=PENDING, config_version=config_version)
    if appointment.email:
        # the queued snapshot as enqueue_payload stores it (json.dumps), its id filled in
        # by the statement: a JSON key outside any string cannot occur inside one
        payload = appointment_mails.snapshot(appointment, "booked", REQUEST, now, token)
        head, found, tail = json.dumps(payload).partition(_NO_ID)
        if not found:
            raise RuntimeError("the email snapshot does not name its appointment")
        params["sender"], params["recipient"] = appointment_mails.envelope(appointment)
        params["payload_head"], params["payload_tail"] = head + '"appointment_id": ', tail
    return len(candidates) // 4, params


def _statement_outcome(row, covered: list[datetime], config_version: int
                       ) -> tuple[int | None, int]:
    """(the new appointment's id or None if its code was in use, seats inserted) from
    the statement's result row; raises StaleConfiguration (nothing was written) or
    SlotTaken (a covered step has no free seat)."""
    free_steps, appointment_id, seats, version = row
    if version != config_version:
        raise StaleConfiguration("the booking configuration changed")
    if free_steps < len(covered):
        raise SlotTaken("no seat left")
    return appointment_id, seats


def _book_in_one_statement(appointment: Appointment, token: str, steps: slots.OpenSteps,
                           covered: list[datetime], now: datetime, config_version: int) -> bool:
    """One attempt (PostgreSQL) in the session: True if booked (``appointment`` is then
    persistent in the session, with its seats and its confirmation queued), False if a
    seat or the code was taken concurrently (nothing is left behind). Raises SlotTaken if
    a step has no free seat, StaleConfiguration (nothing written) if the configuration's
    version is no longer ``config_version``."""
    appointment.office_id, appointment.service_id = appointment.office.id, appointment.service.id
    appointment.status, appointment.channel = CONFIRMED, ONLINE
    appointment.cancel_reason = appointment.cancelled_at = None
    candidates, params = _book_params(appointment, token, steps, covered, now, config_version)
    own_transaction = statements_commit_themselves()
    try:
        row = db.session.execute(_book_statement(candidates, own_transaction), params).one()
    except IntegrityError as exc:  # (own transaction only: nothing was written)
        if not own_transaction or _retried_conflict(exc) != "seat":
            raise
        return False
    appointment_id, seats = _statement_outcome(row, covered, config_version)
    if appointment_id is None:
        return False  # the code is in use
    if seats < len(covered):  # a seat was taken: remove the appointment and its seats
        appointments = Appointment.__table__
        db.session.execute(delete(appointments).where(appointments.c.id == appointment_id))
        return False
    appointment.id = appointment_id
    make_transient_to_detached(appointment)  # as if loaded: no INSERT at the next flush
    db.session.add(appointment)
    if appointment.email:
        outbox.queued_by_statement()
    return True


def hold_bookings() -> None:
    """Wait for the bookings and seat changes in flight to commit, then hold back new
    ones until this transaction ends (PostgreSQL; SQLite writes one at a time anyway).
    For a change that must see every booking it affects: a closure cancels those it
    covers. A booking that waited finds the configuration changed when it goes on (its
    statement checks the version) and looks at the start again."""
    if db.session.get_bind().dialect.name == "postgresql":
        # (SHARE ROW EXCLUSIVE: conflicts with inserts and deletes and with itself, so
        # two closures queue up instead of deadlocking over each other's cancellations)
        db.session.execute(text("LOCK TABLE appointment_seats IN SHARE ROW EXCLUSIVE MODE"))


def is_changeable(appointment: Appointment, now: datetime) -> bool:
    """Whether the citizen may still cancel or move it online."""
    deadline = appointment.start_at - timedelta(minutes=appointment.office.cancel_deadline_minutes)
    return not appointment.is_cancelled and now < deadline


def _release_seats(appointment: Appointment) -> None:
    db.session.execute(
        delete(AppointmentSeat).where(AppointmentSeat.appointment_id == appointment.id)
    )
    db.session.expire(appointment, ["seats"])


def cancel_appointment(appointment: Appointment, now: datetime, *, enforce_deadline=True,
                       reason: str | None = None) -> bool:
    """Cancel and queue the cancellation email. Returns False if it was already cancelled
    (no second email). Raises DeadlinePassed after the cancellation deadline.

    ``reason`` (at most 300 characters: the office's explanation, in the citizen's
    language) is stored in ``cancel_reason`` and shown in the email."""
    if appointment.is_cancelled:
        return False
    if enforce_deadline and not is_changeable(appointment, now):
        raise DeadlinePassed("the cancellation deadline is over")
    _release_seats(appointment)
    appointment.status = CANCELLED
    appointment.cancelled_at = now
    appointment.updated_at = now
    appointment.sequence += 1
    appointment.cancel_reason = reason
    db.session.flush()
    if appointment.email:
        appointment_mails.notify_cancelled(appointment, now, reason=reason)
    return True


def reschedule_appointment(
    appointment: Appointment, start_at: datetime, now: datetime, token: str | None = None,
    *, by_staff: bool = False,
) -> str:
    """Move to ``start_at`` at the same office and service, atomically: the new seats are
    taken in the same savepoint that releases the old ones, so a failure changes nothing.

    Keeps code and UID, raises SEQUENCE, queues the update email. Without the citizen's
    ``token`` (a staff move) a new token is issued. Returns the token for the manage link.
    ``by_staff``: neither the citizens' change deadline nor their lead time applies.
    """
    if appointment.is_cancelled:
        raise AppointmentCancelled("the appointment was cancelled")
    if not by_staff and not is_changeable(appointment, now):
        raise DeadlinePassed("the deadline for changes is over")
    if start_at == appointment.start_at:
        raise NotBookable("that is the current time of the appointment")
    office, service = appointment.office, appointment.service
    old = (appointment.start_at, appointment.end_at)
    try:
        with db.session.begin_nested():
            _release_seats(appointment)
            appointment.start_at = start_at
            appointment.end_at = start_at + timedelta(minutes=service.duration_minutes)
            db.session.flush()
            _hold_seats(appointment, office, service, now, by_staff)
    except Exception:
        appointment.start_at, appointment.end_at = old
        raise
    if token is None:
        token = codes.new_token()
        appointment.token_hash = codes.hash_token(token)
    appointment.sequence += 1
    appointment.updated_at = now
    db.session.flush()
    if appointment.email:
        appointment_mails.notify_moved(appointment, token, now)
    return token


def get_day_appointments(office: Office, day: date, *, include_cancelled: bool = True
                         ) -> list[Appointment]:
    """An office's appointments on a local date, by start time."""
    start = datetime.combine(day, time.min, tzinfo=office.tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=office.tz)
    query = (
        select(Appointment)
        .where(Appointment.office_id == office.id, Appointment.start_at >= start,
               Appointment.start_at < end)
        .order_by(Appointment.start_at, Appointment.id)
    )
    if not include_cancelled:
        query = query.where(Appointment.status != CANCELLED)
    return list(db.session.scalars(query))


def get_appointment_by_code(code: str) -> Appointment | None:
    return db.session.scalar(
        select(Appointment).where(Appointment.code == codes.normalise_code(code))
    )


def get_appointment_for_citizen(code: str, token: str | None) -> Appointment | None:
    """The appointment if ``token`` is its manage token; None for a wrong code or token alike."""
    appointment = get_appointment_by_code(code)
    if appointment is None or not codes.token_matches(token, appointment.token_hash):
        return None
    return appointment
