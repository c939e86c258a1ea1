"""On PostgreSQL a worker keeps each office's booking configuration (office, service,
rules, closures) in memory and books against it without reading it again; the booking
statement checks the configuration's version, which a trigger raises on every change.
These tests change the configuration behind the worker's back, on a connection of their
own, and check that the next booking through the API follows the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import func, select

from booking.scheduling.models import Appointment, AppointmentSeat
from tests.conftest import BERLIN, local_iso, make_town, next_workday

BERLIN_TZ = ZoneInfo(BERLIN)


@pytest.fixture
def town(ctx, db_kind):
    if db_kind != "postgresql":
        pytest.skip("the configuration is kept in memory on PostgreSQL only")
    return make_town(ctx, capacity=2)


@pytest.fixture
def admin(database_url):
    """Changes as another server or an administrator would make them."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


def version(conn) -> int:
    return conn.execute("SELECT version FROM booking_config_version").fetchone()[0]


def book(client, start: str, service: str = "melde", name: str = "Erika"):
    return client.post("/api/v1/appointments", json={
        "office": "amt", "service": service, "start": start, "name": name,
        "email": "erika@example.org"})


def count(ctx, model) -> int:
    ctx.rollback()
    return ctx.scalar(select(func.count()).select_from(model))


def test_every_change_to_the_configuration_raises_the_version(town, admin):
    changes = [
        "UPDATE offices SET lead_time_minutes = 60",
        "UPDATE services SET duration_minutes = 30 WHERE id = 'melde'",
        "DELETE FROM office_services WHERE service_id = 'pass'",
        "UPDATE availability_rules SET capacity = 3",
        "INSERT INTO closures (office_id, starts_at, ends_at, reason)"
        " VALUES ('amt', now(), now() + interval '1 day', 'Test')",
        "DELETE FROM closures",
    ]
    for change in changes:
        before = version(admin)
        admin.execute(change)
        assert version(admin) == before + 1, change
    before = version(admin)
    admin.execute("SELECT count(*) FROM availability_rules")  # reading changes nothing
    assert version(admin) == before


def test_a_closure_made_elsewhere_is_respected(client, ctx, town, admin):
    day = next_workday()
    assert book(client, local_iso(day, 9)).status_code == 201  # the configuration is kept now
    starts = datetime.fromisoformat(local_iso(day, 10)).astimezone(UTC)
    admin.execute("INSERT INTO closures (office_id, starts_at, ends_at, reason)"
                  " VALUES ('amt', %s, %s, 'Wasserschaden')",
                  (starts, starts + timedelta(hours=2)))
    refused = book(client, local_iso(day, 10, 30), name="Late")
    assert refused.status_code == 409
    assert count(ctx, Appointment) == 1 and count(ctx, AppointmentSeat) == 1
    assert book(client, local_iso(day, 9, 15)).status_code == 201  # outside the closure


def test_a_rule_opened_elsewhere_can_be_booked_at_once(client, ctx, town, admin):
    day = next_workday()
    assert book(client, local_iso(day, 9)).status_code == 201
    assert book(client, local_iso(day, 14)).status_code == 409  # not offered (yet)
    admin.execute("INSERT INTO availability_rules (office_id, weekdays, start_time, end_time,"
                  " valid_from, capacity) VALUES ('amt', '123456', '13:00', '16:00',"
                  " '2020-01-01', 1)")
    assert book(client, local_iso(day, 14)).status_code == 201


def test_a_capacity_lowered_elsewhere_holds(client, ctx, town, admin):
    day = next_workday()
    nine = local_iso(day, 9)
    assert book(client, nine).status_code == 201  # one of two seats; configuration kept
    admin.execute("UPDATE availability_rules SET capacity = 1")
    assert book(client, nine, name="Second").status_code == 409  # the kept 2 would allow it
    assert count(ctx, Appointment) == 1


def test_a_service_withdrawn_elsewhere_is_refused(client, ctx, town, admin):
    day = next_workday()
    assert book(client, local_iso(day, 9)).status_code == 201
    admin.execute("DELETE FROM office_services WHERE service_id = 'melde'")
    response = book(client, local_iso(day, 9, 15))
    assert response.status_code == 422 and "service" in response.get_json()["errors"]
    assert count(ctx, Appointment) == 1


def test_a_kept_booking_answers_and_queues_as_one_that_read_the_database(app, client, ctx,
                                                                         town):
    """The second booking uses the kept configuration (no statement through SQLAlchemy
    at all); its answer, its row and its queued email are those of the first kind."""
    from sqlalchemy import event

    from booking.db import db
    from booking.notifications import appointment_mails
    from booking.notifications.models import OutboxMessage

    day = next_workday()
    with app.app_context():
        engine = db.engine
    statements = []

    def count_statement(*_):
        statements.append(1)

    first = book(client, local_iso(day, 9))  # reads (and keeps) the configuration
    event.listen(engine, "after_cursor_execute", count_statement)
    try:
        second = book(client, local_iso(day, 10), service="pass", name="Max")  # reads, keeps
        statements.clear()
        third = book(client, local_iso(day, 11), service="pass", name="Lena")
    finally:
        event.remove(engine, "after_cursor_execute", count_statement)
    assert (first.status_code, second.status_code, third.status_code) == (201, 201, 201)
    assert statements == []  # the kept path runs on the DBAPI connection only
    a, b = second.get_json(), third.get_json()
    assert set(a) == set(b)
    assert b["start"] == local_iso(day, 11) and b["end"] == local_iso(day, 11, 30)
    assert (b["office"], b["service"], b["status"], b["sequence"], b["language"]) == (
        "amt", "pass", "confirmed", 0, "de")
    fetched = client.get(f"/api/v1/appointments/{b['code']}",
                         headers={"Authorization": f"Bearer {b['manage_token']}"})
    assert fetched.status_code == 200
    assert fetched.get_json() == {k: v for k, v in b.items()
                                  if k not in ("manage_token", "manage_url")}
    manage = urlsplit(b["manage_url"])
    assert client.get(f"{manage.path}?{manage.query}").status_code == 200  # the manage page
    ctx.rollback()
    appointment = ctx.scalar(select(Appointment).where(Appointment.code == b["code"]))
    row = ctx.scalar(select(OutboxMessage).where(OutboxMessage.appointment_id == appointment.id))
    assert row.payload == appointment_mails.snapshot(
        appointment, "booked", "REQUEST", datetime.fromisoformat(row.payload["now"]),
        b["manage_token"])
    assert (row.sender, row.recipient) == appointment_mails.envelope(appointment)
    assert (appointment.channel, appointment.ical_uid) == ("online", b["uid"])


def slots_of(client, day) -> list[dict]:
    response = client.get(f"/api/v1/offices/amt/services/melde/slots?from={day}&to={day}")
    assert response.status_code == 200
    return response.get_json()


def test_a_listing_against_the_kept_configuration_is_the_listing_read_afresh(app, client,
                                                                          ctx, town):
    """Once kept, a slot listing reads only the seats taken (and the version) and gives
    what computing from the database gives."""
    from sqlalchemy import event

    from booking.db import db, utcnow
    from booking.offices.models import Office, Service
    from booking.scheduling import operations

    day = next_workday()
    slots_of(client, day)  # reads the configuration and keeps it
    assert book(client, local_iso(day, 9)).status_code == 201  # a new snapshot: no cached list
    with app.app_context():
        engine = db.engine
    statements = []

    def seen(_conn, _cursor, statement, *_):
        statements.append(statement)

    event.listen(engine, "after_cursor_execute", seen)
    try:
        listed = slots_of(client, day)
    finally:
        event.remove(engine, "after_cursor_execute", seen)
    assert not any("availability_rules" in s or "closures" in s for s in statements)
    assert sum("array_agg" in s for s in statements) == 1
    with app.app_context():
        fresh = operations.list_free_slots(db.session.get(Office, "amt"),
                                           db.session.get(Service, "melde"), utcnow(), day, day)
        expected = [{"start": s.start_at.astimezone(BERLIN_TZ).isoformat(),
                     "end": s.end_at.astimezone(BERLIN_TZ).isoformat(), "available": s.available}
                    for s in fresh]
        db.session.remove()
    assert listed == expected and len(listed) == 16
    assert {"start": local_iso(day, 9), "end": local_iso(day, 9, 15), "available": 1} in listed


def test_a_listing_follows_a_closure_made_elsewhere(client, ctx, town, admin):
    day = next_workday()
    assert len(slots_of(client, day)) == 16  # 8:00-12:00; the configuration is kept now
    starts = datetime.fromisoformat(local_iso(day, 10)).astimezone(UTC)
    admin.execute("INSERT INTO closures (office_id, starts_at, ends_at, reason)"
                  " VALUES ('amt', %s, %s, 'Wasserschaden')",
                  (starts, starts + timedelta(hours=2)))
    listed = slots_of(client, day)
    assert [s["start"] for s in listed] == [local_iso(day, h, m) for h in (8, 9)
                                            for m in (0, 15, 30, 45)]
