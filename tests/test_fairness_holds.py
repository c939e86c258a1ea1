"""Seat holds: the double opt-in (booked only once confirmed through the email's page)
and the release delay (a time a citizen gives up is offered again only later). Lapsed
holds free their seats by themselves: only a later ``now``, no job."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from booking.db import utcnow
from booking.notifications.models import OutboxMessage
from booking.notifications.outbox import deliver_due
from booking.offices.models import Service
from booking.scheduling import holds, operations, visits
from booking.scheduling.errors import SlotTaken
from booking.scheduling.models import Appointment, AppointmentSeat
from tests.factories import at, csrf_from, local_iso, make_town, next_workday, second_app, written_email

MEASURES_ON = {"ANTI_ABUSE": True, "ALTCHA_ENABLED": False, "RATELIMIT_ENABLED": False}


@pytest.fixture(scope="module")
def fair_app(app, app_config):
    """The app with the measures of this module on (the suite runs with them off)."""
    with second_app({**app_config, **MEASURES_ON}) as fair:
        yield fair


@pytest.fixture
def fair_client(fair_app):
    return fair_app.test_client()


@pytest.fixture
def town(ctx):
    """'amt' with one seat per step, a 30-minute double opt-in and a 10-minute release delay."""
    office = make_town(ctx, capacity=1)
    office.opt_in_hold_minutes = 30
    office.release_delay_minutes = 10
    office.max_active_per_email = None
    ctx.commit()
    return office


def citizen(email="anna@example.org"):
    return operations.Citizen("Anna Muster", email)


def starts(office, service, now, day):
    return [s.start_at for s in operations.list_free_slots(office, visits.single(service), now, day, day)]


def test_a_lapsed_hold_frees_its_seat_without_any_job(ctx, town):
    passport = ctx.get(Service, "pass")
    day, now = next_workday(), utcnow()
    start = at(day, 9)
    appointment, _ = operations.book_appointment(
        town, visits.single(passport), start, citizen(), now, hold_until=now + timedelta(minutes=30))
    assert appointment.status == "held" and appointment.held_until == now + timedelta(minutes=30)
    ctx.commit()
    assert start not in starts(town, passport, now + timedelta(minutes=29), day)
    with pytest.raises(SlotTaken):
        operations.book_appointment(town, visits.single(passport), start, citizen("bob@example.org"),
                                    now + timedelta(minutes=29))
    ctx.rollback()

    later = now + timedelta(minutes=30)  # held_until <= now: free
    assert start in starts(town, passport, later, day)
    second, _ = operations.book_appointment(town, visits.single(passport), start, citizen("bob@example.org"),
                                            later)
    ctx.commit()
    seats = ctx.scalars(select(AppointmentSeat)).all()
    assert {s.appointment_id for s in seats} == {second.id}  # the lapsed ones were deleted
    assert all(s.held_until is None for s in seats)
    with pytest.raises(holds.HoldLapsed):
        holds.confirm_hold(appointment, later)
    ctx.rollback()


def test_confirm_hold_in_time_keeps_the_seats_and_sends_the_confirmation(ctx, town):
    passport = ctx.get(Service, "pass")
    day, now = next_workday(), utcnow()
    appointment, token = operations.book_appointment(
        town, visits.single(passport), at(day, 9), citizen(), now, hold_until=now + timedelta(minutes=5))
    new_token = holds.confirm_hold(appointment, now + timedelta(minutes=4), token)
    ctx.commit()
    assert new_token == token and appointment.status == "confirmed"
    assert appointment.held_until is None
    assert ctx.scalars(select(AppointmentSeat.held_until)).all() == [None, None]
    kinds = ctx.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert kinds == ["held", "booked"]
    # long after the hold's end it stays booked
    assert at(day, 9) not in starts(town, passport, now + timedelta(hours=1), day)
    ctx.rollback()


def booking_form(client, start, **fields):
    page = client.get("/offices/amt/services/pass/book", query_string={"start": start})
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "start": start,
            "name": "Max Müller", "email": "max@example.org", "phone": "", "privacy": "y",
            **fields}
    return client.post("/offices/amt/services/pass/book", data=data)


def mail_of(ctx, kind):
    ctx.rollback()
    deliver_due()
    row = ctx.scalars(select(OutboxMessage.id).where(OutboxMessage.kind == kind)).one()
    msg = written_email(row, kind)
    ctx.rollback()
    return msg


def test_double_opt_in_through_the_real_email(fair_client, ctx, town):
    day = next_workday()
    booked = booking_form(fair_client, local_iso(day, 9))
    assert booked.status_code == 303
    ctx.rollback()
    appointment = ctx.scalar(select(Appointment))
    assert appointment.status == "held"
    ctx.rollback()

    msg = mail_of(ctx, "held")
    assert not any(p.get_content_type() == "text/calendar" for p in msg.walk())
    text = msg.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://booking\.test(/manage/\S+/confirm)", text).group(1)

    page = fair_client.get(link)  # what a mail scanner does: nothing changes
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="confirm-hold"' in html and 'method="post"' in html
    ctx.rollback()
    assert ctx.scalar(select(Appointment.status)) == "held"
    ctx.rollback()

    assert fair_client.post(link, data={}).status_code == 400  # no CSRF token: refused
    confirmed = fair_client.post(link, data={"csrf_token": csrf_from(html)})
    assert confirmed.status_code == 303
    ctx.rollback()
    assert ctx.scalar(select(Appointment.status)) == "confirmed"
    assert ctx.scalar(select(Appointment.held_until)) is None
    booked_mail = mail_of(ctx, "booked")
    calendar = next(p for p in booked_mail.walk() if p.get_content_type() == "text/calendar")
    assert calendar.get_param("method") == "REQUEST"
    assert fair_client.get(confirmed.headers["Location"]).status_code == 200


def test_api_booking_says_held_and_until_when(fair_client, ctx, town):
    day = next_workday()
    response = fair_client.post("/api/v1/appointments", json={
        "office": "amt", "service": "pass", "start": local_iso(day, 9), "name": "Max",
        "email": "max@example.org"})
    body = response.get_json()
    assert response.status_code == 201 and body["status"] == "held"
    held_until = datetime.fromisoformat(body["held_until"])
    assert timedelta(minutes=29) < held_until - datetime.now(UTC) <= timedelta(minutes=30)
    moved = fair_client.post(f"/api/v1/appointments/{body['code']}/reschedule",
                             json={"start": local_iso(day, 10)},
                             headers={"Authorization": f"Bearer {body['manage_token']}"})
    assert moved.status_code == 409  # confirmed first


def test_a_lapsed_hold_is_refused_and_says_book_again(fair_client, ctx, town):
    day = next_workday()
    manage = booking_form(fair_client, local_iso(day, 9)).headers["Location"].split("?")[0]
    past = utcnow() - timedelta(minutes=1)
    ctx.execute(update(Appointment).values(held_until=past))
    ctx.execute(update(AppointmentSeat).values(held_until=past))
    ctx.commit()
    page = fair_client.get(f"{manage}/confirm")
    html = page.get_data(as_text=True)
    assert 'id="hold-lapsed"' in html and 'id="confirm-hold"' not in html
    assert "/offices/amt/services/pass/" in html  # book again
    form = fair_client.get("/offices/amt/services/pass/book",
                           query_string={"start": local_iso(day, 10)})
    refused = fair_client.post(f"{manage}/confirm",
                               data={"csrf_token": csrf_from(form.get_data(as_text=True))})
    assert refused.status_code == 303
    ctx.rollback()
    assert ctx.scalar(select(Appointment.status)) == "held"
    assert ctx.scalars(select(OutboxMessage.kind)).all() == ["held"]  # no confirmation
    ctx.rollback()


def test_citizen_cancel_releases_the_seat_only_at_the_release_time(ctx, town):
    passport = ctx.get(Service, "pass")
    day, now = next_workday(), utcnow()
    start = at(day, 9)
    appointment, _ = operations.book_appointment(town, visits.single(passport), start, citizen(), now)
    release = holds.release_at(town, now)
    assert release == now + timedelta(minutes=10)
    operations.cancel_appointment(appointment, now, release_at=release)
    ctx.commit()
    assert start not in starts(town, passport, now + timedelta(minutes=9), day)
    with pytest.raises(SlotTaken):
        operations.book_appointment(town, visits.single(passport), start, citizen("bob@example.org"),
                                    now + timedelta(minutes=9))
    ctx.rollback()
    assert start in starts(town, passport, release, day)
    operations.book_appointment(town, visits.single(passport), start, citizen("bob@example.org"), release)
    ctx.commit()


def test_a_move_away_holds_the_old_time_but_not_the_overlap(ctx, town):
    passport = ctx.get(Service, "pass")
    day, now = next_workday(), utcnow()
    appointment, token = operations.book_appointment(town, visits.single(passport), at(day, 9),
                                                     citizen(), now)
    # 09:15 overlaps 09:00–09:30 in one step: that seat moves along with it
    operations.reschedule_appointment(appointment, at(day, 9, 15), now, token,
                                      release_at=now + timedelta(minutes=10))
    ctx.commit()
    seats = sorted((s.slot_at, s.held_until) for s in ctx.scalars(select(AppointmentSeat)))
    assert seats == [(at(day, 9), now + timedelta(minutes=10)), (at(day, 9, 15), None),
                     (at(day, 9, 30), None)]
    assert at(day, 8, 45) not in starts(town, passport, now, day)  # would need 09:00
    assert at(day, 8, 45) in starts(town, passport, now + timedelta(minutes=10), day)
    ctx.rollback()


def test_staff_cancellation_frees_at_once(ctx, town):
    passport = ctx.get(Service, "pass")
    day, now = next_workday(), utcnow()
    appointment, _ = operations.book_appointment(town, visits.single(passport), at(day, 9), citizen(), now)
    operations.cancel_appointment(appointment, now, enforce_deadline=False)
    ctx.commit()
    assert at(day, 9) in starts(town, passport, now, day)
    ctx.rollback()


def test_release_time_of_day(ctx, town):
    town.release_delay_minutes, town.release_time = 10, time(7)
    morning = at(next_workday(), 6, 55).astimezone(UTC)
    assert holds.release_at(town, morning) == at(next_workday(), 7).astimezone(UTC) \
        + timedelta(days=1)  # 06:55 + 10 min is after 07:00: the next day's
    assert holds.release_at(town, morning - timedelta(minutes=10)) == at(next_workday(), 7)
    town.release_delay_minutes = 0
    assert holds.release_at(town, morning) == at(next_workday(), 7)
    town.release_time = None
    assert holds.release_at(town, morning) is None
    ctx.rollback()


def test_pages_publish_the_rule_and_cancel_through_the_page_holds(fair_client, ctx, town):
    day = next_workday()
    calendar = fair_client.get("/offices/amt/services/pass/", query_string={"day": str(day)})
    assert "offered again 10 minutes after" in fair_client.get(
        "/offices/amt/services/pass/?lang=en").get_data(as_text=True)
    assert 'id="release-rule"' in calendar.get_data(as_text=True)
    town.opt_in_hold_minutes = None
    ctx.commit()
    manage = booking_form(fair_client, local_iso(day, 9)).headers["Location"].split("?")[0]
    page = fair_client.get(manage).get_data(as_text=True)
    assert fair_client.post(f"{manage}/cancel",
                            data={"csrf_token": csrf_from(page)}).status_code == 303
    slots = fair_client.get(f"/api/v1/offices/amt/services/pass/slots?from={day}&to={day}")
    assert local_iso(day, 9) not in [s["start"] for s in slots.get_json()]
    ctx.rollback()
    assert ctx.scalar(select(AppointmentSeat.held_until)) is not None
    ctx.rollback()


def test_switched_off_it_books_and_frees_as_before(client, ctx, town):
    day = next_workday()
    manage = booking_form(client, local_iso(day, 9)).headers["Location"].split("?")[0]
    ctx.rollback()
    assert ctx.scalar(select(Appointment.status)) == "confirmed"
    ctx.rollback()
    page = client.get(manage).get_data(as_text=True)
    assert 'id="release-rule"' not in page
    client.post(f"{manage}/cancel", data={"csrf_token": csrf_from(page)})
    slots = client.get(f"/api/v1/offices/amt/services/pass/slots?from={day}&to={day}")
    assert local_iso(day, 9) in [s["start"] for s in slots.get_json()]
    ctx.rollback()
    assert ctx.scalar(select(AppointmentSeat)) is None
    ctx.rollback()


def test_held_appointments_are_not_checked_in_and_show_as_held_to_clerks(ctx, town):
    from booking.queueing import arrivals, errors

    passport = ctx.get(Service, "pass")
    now = utcnow()
    appointment, _ = operations.book_appointment(
        town, visits.single(passport), at(next_workday(), 9), citizen(), now,
        hold_until=now + timedelta(minutes=30))
    with pytest.raises(errors.NotCheckable) as refused:
        arrivals.check_in(town, appointment, appointment.start_at)
    assert refused.value.reason == "not_confirmed"
    ctx.rollback()


def test_the_clerks_schedule_shows_live_holds_as_awaiting_and_leaves_lapsed_ones_out(
        client, ctx, town):
    from tests.factories import log_in, make_user

    passport = ctx.get(Service, "pass")
    day, now = next_workday(), utcnow()
    for hour, name, until in ((9, "Live Hold", now + timedelta(minutes=30)),
                              (10, "Lapsed Hold", now - timedelta(minutes=1))):
        operations.book_appointment(town, visits.single(passport), at(day, hour),
                                    operations.Citizen(name, "x@example.org"),
                                    now - timedelta(minutes=2), hold_until=until)
    ctx.commit()
    log_in(client, make_user(ctx, "clerk", "amt")[1])
    html = client.get("/staff/offices/amt/schedule", query_string={"date": str(day),
                                                                   "lang": "en"}).get_data(
        as_text=True)
    assert "Live Hold" in html and "Awaiting the citizen" in html
    assert "Lapsed Hold" not in html


def test_cancelling_a_held_booking_sends_no_calendar_cancel(ctx, town):
    """It was never confirmed: the citizen has no calendar entry to cancel."""
    from booking.notifications.models import OutboxMessage

    passport, now = ctx.get(Service, "pass"), utcnow()
    held, _ = operations.book_appointment(
        town, visits.single(passport), at(next_workday(), 9), citizen(), now,
        hold_until=now + timedelta(minutes=30), notify=False)
    confirmed, _ = operations.book_appointment(
        town, visits.single(passport), at(next_workday(), 10), citizen("bob@example.org"), now)
    ctx.commit()
    assert operations.cancel_appointment(held, now, enforce_deadline=False)
    assert operations.cancel_appointment(confirmed, now, enforce_deadline=False)
    ctx.commit()
    kinds = ctx.execute(select(OutboxMessage.recipient, OutboxMessage.kind)
                        .order_by(OutboxMessage.id)).all()
    assert [tuple(k) for k in kinds] == [("bob@example.org", "booked"),
                                         ("bob@example.org", "cancelled")]
    ctx.rollback()
