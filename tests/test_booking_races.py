"""Bookings racing each other and changes of the schedule (PostgreSQL): a seat that a
concurrent, not yet committed booking inserted first makes ours wait, fail on the seat
key once that booking commits, and take the next free seat; a closure or rule change
waits for the bookings in flight at its office and holds new ones back. These tests hold
the other transaction open on a second connection, let ours run into it and wait,
commit or roll back the other, and check what ours did and left behind."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_

import psycopg
import pytest
from sqlalchemy import func, select

from booking.notifications.models import OutboxMessage
from booking.offices.models import Closure
from booking.scheduling.errors import NotBookable, SlotTaken
from booking.scheduling.models import Appointment, AppointmentSeat
from tests.factories import local_iso, make_town, next_workday


@pytest.fixture
def town(ctx, db_kind):
    """SQLite runs one writing transaction at a time: there is no race to hold open, so
    the tests using this are marked ``postgresql`` (deselected on SQLite)."""
    assert db_kind == "postgresql", "mark the test @pytest.mark.postgresql"
    return make_town(ctx, capacity=2)


@pytest.fixture
def other(database_url):
    """A second connection, in a transaction of its own."""
    with psycopg.connect(database_url) as conn:
        yield conn


def hold_seats(conn, rule_id: int, steps: list[tuple[datetime, int]]) -> None:
    """A concurrent booking that has inserted its appointment and seats, not committed."""
    start = steps[0][0]
    conn.execute("SELECT id FROM offices WHERE id = 'amt' FOR KEY SHARE")  # as bookings do
    appointment_id = conn.execute(
        "INSERT INTO appointments (office_id, service_id, start_at, end_at, name, language,"
        " code, token_hash, ical_uid, sequence, status, channel, created_at, updated_at)"
        " VALUES ('amt', 'melde', %s, %s, 'Other', 'de', 'OTHER001', 'x', 'other-uid', 0,"
        " 'confirmed', 'online', now(), now()) RETURNING id",
        (start, start + timedelta(minutes=15))).fetchone()[0]
    for slot_at, seat_no in steps:
        conn.execute(
            "INSERT INTO appointment_seats (appointment_id, office_id, rule_id, slot_at, seat_no)"
            " VALUES (%s, 'amt', %s, %s, %s)", (appointment_id, rule_id, slot_at, seat_no))


def wait_until_blocked(conn) -> None:
    """Until some backend of this database waits for a lock (our booking on the other's
    seat); fails after a minute (not a timing assertion: the wait is certain, only slow
    machines need long)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with psycopg.connect(conn.info.dsn, autocommit=True) as probe:
            waiting = probe.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()[0]
        if waiting:
            return
        time.sleep(0.05)
    pytest.fail("the booking never waited for the other transaction")


def book_in_thread(domain_app, service_id: str, start: str, name: str, office_id="amt"):
    """Book with the domain code in a thread of its own and commit whatever it leaves
    (as a caller that shows an error page and commits would). Returns the thread and a
    dict that receives the appointment's id or the exception."""
    from booking.db import db, utcnow
    from booking.offices.models import Office, Service
    from booking.scheduling import operations, visits

    result: dict = {}

    def run():
        with domain_app.app_context():
            try:
                appointment, _ = operations.book_appointment(
                    db.session.get(Office, office_id), visits.single(db.session.get(Service, service_id)),
                    datetime.fromisoformat(start),
                    operations.Citizen(name, f"{name.lower()}@example.org"), utcnow())
                result["id"] = appointment.id
            except Exception as exc:  # noqa: BLE001  (checked by the test)
                result["error"] = exc
            db.session.commit()
            db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def book_behind_other(domain_app, other, service_id: str, start: str, name: str, *,
                      then=None) -> dict:
    """Book in a thread until it waits for ``other``'s transaction, then end that
    (commit, or ``then``) and return what the booking did (see book_in_thread)."""
    thread, result = book_in_thread(domain_app, service_id, start, name)
    wait_until_blocked(other)
    (then or other.commit)()
    thread.join()
    return result


def rule_id(ctx) -> int:
    from booking.offices.models import AvailabilityRule

    return ctx.scalar(select(AvailabilityRule.id))


def seats_of(ctx, appointment_id) -> list[tuple[datetime, int]]:
    ctx.rollback()
    return sorted(ctx.execute(
        select(AppointmentSeat.slot_at, AppointmentSeat.seat_no)
        .where(AppointmentSeat.appointment_id == appointment_id)).all())


def count(ctx, model) -> int:
    ctx.rollback()
    return ctx.scalar(select(func.count()).select_from(model))


def utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(UTC)


@pytest.mark.postgresql
def test_a_seat_inserted_by_a_concurrent_booking_is_skipped(domain_app, ctx, town, other):
    nine = local_iso(next_workday(), 9)
    hold_seats(other, rule_id(ctx), [(utc(nine), 1)])
    result = book_behind_other(domain_app, other, "melde", nine, "Erika")
    assert "error" not in result, result
    assert seats_of(ctx, result["id"]) == [(utc(nine), 2)]
    assert count(ctx, Appointment) == 2 and count(ctx, AppointmentSeat) == 2
    assert ctx.scalar(select(OutboxMessage.appointment_id)) == result["id"]
    assert count(ctx, OutboxMessage) == 1


@pytest.mark.postgresql
def test_the_last_seat_taken_concurrently_leaves_nothing(domain_app, ctx, town, other, client):
    nine = local_iso(next_workday(), 9)
    first = client.post("/api/v1/appointments", json={
        "office": "amt", "service": "melde", "start": nine, "name": "First",
        "email": "first@example.org"})
    assert first.status_code == 201  # seat 1
    hold_seats(other, rule_id(ctx), [(utc(nine), 2)])
    result = book_behind_other(domain_app, other, "melde", nine, "Late")
    assert isinstance(result.get("error"), SlotTaken), result
    # the failed attempt's appointment was rolled back, although the caller committed
    ctx.rollback()
    assert ctx.scalar(select(Appointment.name).where(Appointment.name == "Late")) is None
    assert count(ctx, Appointment) == 2 and count(ctx, AppointmentSeat) == 2
    assert count(ctx, OutboxMessage) == 1  # the first booking's


@pytest.mark.postgresql
def test_a_longer_service_whose_second_step_was_taken_retries_whole(domain_app, ctx, town,
                                                                    other):
    """The first attempt inserts its appointment and its 09:00 seat, then finds 09:15
    taken: both go, and the next attempt takes seat 2 at 09:15 (seat 1 at 09:00 stays
    the lowest free one there)."""
    day = next_workday()
    nine, quarter_past = local_iso(day, 9), local_iso(day, 9, 15)
    hold_seats(other, rule_id(ctx), [(utc(quarter_past), 1)])
    result = book_behind_other(domain_app, other, "pass", nine, "Paula")
    assert "error" not in result, result
    assert seats_of(ctx, result["id"]) == [(utc(nine), 1), (utc(quarter_past), 2)]
    assert count(ctx, Appointment) == 2 and count(ctx, AppointmentSeat) == 3
    assert count(ctx, OutboxMessage) == 1


@pytest.mark.postgresql
def test_an_aborted_concurrent_booking_frees_its_seat(domain_app, ctx, town, other):
    nine = local_iso(next_workday(), 9)
    hold_seats(other, rule_id(ctx), [(utc(nine), 1)])
    result = book_behind_other(domain_app, other, "melde", nine, "Erika", then=other.rollback)
    assert "error" not in result, result
    assert seats_of(ctx, result["id"]) == [(utc(nine), 1)]
    assert count(ctx, Appointment) == 1 and count(ctx, OutboxMessage) == 1


def test_the_queued_email_is_the_snapshot_of_the_booking(client, ctx):
    """The booking queues the JSON snapshot of what it wrote, with its envelope."""
    from booking.notifications import appointment_mails
    from booking.notifications.outbox import TOKEN

    make_town(ctx)
    start = local_iso(next_workday(), 10)
    body = client.post("/api/v1/appointments", json={
        "office": "amt", "service": "pass", "start": start, "name": "Erika Mustermann",
        "email": "Erika@Example.org", "language": "en"}).get_json()
    ctx.rollback()
    appointment = ctx.scalar(select(Appointment))
    row = ctx.scalar(select(OutboxMessage))
    expected = appointment_mails.snapshot(
        appointment, "booked", "REQUEST", datetime.fromisoformat(row.payload["now"]),
        body["manage_token"])
    assert row.payload == expected and row.payload[TOKEN] == body["manage_token"]
    assert (row.kind, row.appointment_id, row.status, row.attempts) == (
        "booked", appointment.id, "pending", 0)
    assert (row.sender, row.recipient) == appointment_mails.envelope(appointment)
    assert row.message is None and row.subject is None and row.next_attempt_at is not None


def behind_other(other, run) -> None:
    """Run ``run`` in a thread until it waits for ``other``'s transaction, commit that
    and wait for ``run`` to end."""
    thread = threading.Thread(target=run)
    thread.start()
    wait_until_blocked(other)
    other.commit()
    thread.join()


def change_behind_booking(domain_app, ctx, other, change) -> dict:
    """A booking at 9:00 being made on ``other`` while ``change(office, now)`` (an office
    manager's change with the confirmed list of affected appointments: none) runs in a
    thread; what the change asked to decide, once the booking committed."""
    from booking.db import db, utcnow
    from booking.offices import operations as office_operations
    from booking.offices.models import Office

    hold_seats(other, rule_id(ctx), [(utc(local_iso(next_workday(), 9)), 1)])
    result: dict = {}

    def run():
        with domain_app.app_context():
            try:
                change(db.session.get(Office, "amt"), utcnow())
                db.session.commit()
                result["done"] = True
            except office_operations.DecisionNeeded as exc:
                result["to_decide"] = [a.name for a in exc.appointments]
            db.session.rollback()
            db.session.remove()

    behind_other(other, run)
    return result


@pytest.mark.postgresql
def test_a_booking_in_flight_makes_a_closure_ask_again(domain_app, ctx, town, other):
    """A closure waits for a booking that is being made and then sees it: the list the
    manager confirmed is no longer complete, so nothing happens (DecisionNeeded)."""
    from booking.offices import closures

    nine = utc(local_iso(next_workday(), 9))
    draft = closures.ClosureDraft(nine, nine + timedelta(hours=3), None, "Wasserschaden")
    result = change_behind_booking(domain_app, ctx, other, lambda office, now: (
        closures.close(office, draft, frozenset(), None, now)))
    assert result == {"to_decide": ["Other"]}
    assert count(ctx, Closure) == 0


@pytest.mark.postgresql
def test_a_booking_in_flight_makes_a_rule_deletion_ask_again(domain_app, ctx, town, other):
    """Deleting a rule plans what happens to its appointments; it waits for a booking
    being made on the rule and then sees it, so the confirmed plan no longer fits."""
    from booking.db import db
    from booking.offices import rules
    from booking.offices.models import AvailabilityRule

    result = change_behind_booking(domain_app, ctx, other, lambda office, now: (
        rules.delete_rule(office, db.session.scalar(select(AvailabilityRule)),
                                      "cancel", frozenset(), "", None, now)))
    assert result == {"to_decide": ["Other"]}
    assert count(ctx, AvailabilityRule) == 1


def close_in_other(other, start: str, office_id: str = "amt") -> None:
    """A closure being made elsewhere, as offices.operations.close makes it: the office's
    row locked for update (operations.lock_office_schedule), the closure not committed."""
    other.execute("SELECT id FROM offices WHERE id = %s FOR UPDATE", (office_id,))
    other.execute("INSERT INTO closures (office_id, starts_at, ends_at, reason)"
                  " VALUES (%s, %s, %s, 'Wasserschaden')",
                  (office_id, utc(start), utc(start) + timedelta(hours=3)))


@pytest.mark.postgresql
def test_a_booking_held_back_by_a_closure_finds_the_start_closed(domain_app, ctx, town,
                                                                 other):
    """The booking waits for the closure's lock on the office before it reads the rules
    and closures, so it sees the closure and refuses."""
    nine = local_iso(next_workday(), 9)
    close_in_other(other, nine)
    result = book_behind_other(domain_app, other, "melde", nine, "Erika")
    assert isinstance(result.get("error"), NotBookable), result
    assert count(ctx, Appointment) == 0 and count(ctx, AppointmentSeat) == 0
    assert count(ctx, OutboxMessage) == 0


@pytest.mark.postgresql
def test_an_api_booking_held_back_by_a_closure_is_refused(client, ctx, town, other):
    day = next_workday()
    assert client.post("/api/v1/appointments", json={
        "office": "amt", "service": "melde", "start": local_iso(day, 11), "name": "First",
        "email": "first@example.org"}).status_code == 201
    nine = local_iso(day, 9)
    close_in_other(other, nine)
    result: dict = {}

    def run():
        result["response"] = client.post("/api/v1/appointments", json={
            "office": "amt", "service": "melde", "start": nine, "name": "Erika",
            "email": "erika@example.org"})

    behind_other(other, run)
    assert result["response"].status_code == 409, result["response"].get_json()
    assert count(ctx, Appointment) == 1  # the first one only


@pytest.mark.postgresql
def test_a_move_held_back_by_a_closure_finds_the_start_closed(domain_app, ctx, town, other):
    """Moving waits for a closure being made at its office before it reads the rules, and
    so it sees the closure and changes nothing."""
    from booking.db import db, utcnow
    from booking.offices.models import Office, Service
    from booking.scheduling import operations, visits

    first, later = next_workday(), next_workday(min_days=5)
    with domain_app.app_context():
        appointment, token = operations.book_appointment(
            db.session.get(Office, "amt"), visits.single(db.session.get(Service, "melde")),
            datetime.fromisoformat(local_iso(later, 10)),
            operations.Citizen("Erika", "erika@example.org"), utcnow())
        db.session.commit()
        appointment_id = appointment.id
        db.session.remove()
    close_in_other(other, local_iso(first, 9))
    result: dict = {}

    def run():
        with domain_app.app_context():
            moving = db.session.get(Appointment, appointment_id)
            try:
                operations.reschedule_appointment(
                    moving, datetime.fromisoformat(local_iso(first, 9, 15)), utcnow(), token)
                db.session.commit()
                result["moved"] = True
            except NotBookable:
                result["refused"] = True
            db.session.rollback()
            db.session.remove()

    behind_other(other, run)
    assert result == {"refused": True}
    assert seats_of(ctx, appointment_id) == [(utc(local_iso(later, 10)), 1)]
    assert ctx.get(Appointment, appointment_id).start_at == utc(local_iso(later, 10))


@pytest.mark.postgresql
def test_a_closure_at_another_office_does_not_hold_bookings_back(domain_app, ctx, town,
                                                                 other):
    """The lock is the office's own: a closure being made at 'nord' lets a booking at
    'amt' through at once (it completes while the closure is still open)."""
    from booking.offices.models import AvailabilityRule, Office, Service

    nord = Office(id="nord", name="Bürgerbüro Nord", address="Nordring 2",
                  email="nord@example.org", timezone="Europe/Berlin", state="HE")
    nord.services = [ctx.get(Service, "melde")]
    ctx.add(AvailabilityRule(office=nord, weekdays="12345", start_time=time_(8),
                             end_time=time_(12), valid_from=date(2020, 1, 1), capacity=1))
    ctx.commit()
    nine = local_iso(next_workday(), 9)
    close_in_other(other, nine, "nord")
    thread, result = book_in_thread(domain_app, "melde", nine, "Erika")
    thread.join(timeout=120)
    done = not thread.is_alive()
    other.commit()
    thread.join()
    assert done, "the booking at amt waited for the closure at nord"
    assert "error" not in result, result
    assert seats_of(ctx, result["id"]) == [(utc(nine), 1)]
