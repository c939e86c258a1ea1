"""An appointment for several services and persons shows them wherever it appears: the
citizen's pages, emails and calendar entry, the clerk's schedule and appointment page,
the check-in ticket, the JSON APIs, the staff feed and the statistics."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select

from booking.db import utcnow
from tests.factories import (
    FAMILY_TOKEN,
    at,
    csrf_from,
    family_appointment,
    local_iso,
    log_in,
    make_user,
    next_workday,
    plain_text,
    written_email,
)
from tests.ical_parsers import PARSERS

SUMMARY_EN = "Apply for a passport × 3, Register your address"
SUMMARY_DE = "Reisepass beantragen × 3, Wohnsitz anmelden"
MANAGE = f"/manage/FAMY3467/{FAMILY_TOKEN}"


@pytest.fixture
def family(ctx, floor):
    """Reisepass × 3 and Wohnsitz anmelden × 1 at 'amt' (open every day), 09:00–10:45
    local time three workdays ahead."""
    appointment = family_appointment(ctx, floor, at(next_workday(3), 9).astimezone(UTC))
    ids = {"id": appointment.id, "start_at": appointment.start_at}
    ctx.rollback()
    return ids


# ---------------------------------------------------------------- citizen pages


def test_manage_page_shows_services_persons_total_fee_and_what_to_bring(client, family):
    html = client.get(f"{MANAGE}?lang=en").get_data(as_text=True)
    assert f'<dd class="services">{SUMMARY_EN}</dd>' in html
    assert '<dt>Services</dt>' in html and '<dd class="persons">4</dd>' in html
    assert '<dd class="fee">€210.00</dd>' in html  # 3 × 70 € for the passports, 0 € address
    assert "09:00 to 10:45" in plain_text(html)
    assert "Please bring: Biometric photo; ID card" in plain_text(html)

    german = client.get(f"{MANAGE}?lang=de").get_data(as_text=True)
    assert f'<dd class="services">{SUMMARY_DE}</dd>' in german
    assert "<dt>Personen</dt>" in german


def test_single_appointment_keeps_its_one_service_row(client, ctx, floor):
    from tests.factories import make_appointment

    make_appointment(ctx, floor, at(next_workday(3), 9).astimezone(UTC))
    html = client.get("/manage/ACDE3467/manage-token-123?lang=en").get_data(as_text=True)
    assert '<dt>Service</dt><dd class="services">Apply for a passport</dd>' in html
    assert 'class="persons"' not in html and '<dd class="fee">€70.00</dd>' in html


def test_move_pages_name_the_services_and_keep_the_whole_length(client, family):
    text = plain_text(client.get(f"{MANAGE}/move?lang=en").get_data(as_text=True))
    assert f"For: {SUMMARY_EN}" in text
    new_start = at(next_workday(4), 13)
    page = client.get(f"{MANAGE}/move/confirm",
                      query_string={"start": new_start.isoformat(), "lang": "en"})
    assert page.status_code == 200
    text = plain_text(page.get_data(as_text=True))
    assert SUMMARY_EN in text and "Persons 4" in text
    assert "13:00 to 14:45" in text and "€210.00" in text


def test_calendar_download_names_every_service_for_all_parsers(client, family):
    response = client.get(f"{MANAGE}/appointment.ics?lang=en")
    assert response.status_code == 200
    for parser, parse in PARSERS.items():
        parsed = parse(response.data)
        assert parsed["summary"] == f"{SUMMARY_EN} – Bürgerbüro Teststadt", parser
        assert f"Services: {SUMMARY_EN}" in parsed["description"], parser
        assert "Persons: 4" in parsed["description"], parser
        assert "Biometric photo; ID card" in parsed["description"], parser
        assert parsed["dtend"] and parsed["dtstart"], parser


def test_citizen_api_lists_services_and_persons(client, family):
    body = client.get("/api/v1/appointments/FAMY3467",
                      headers={"Authorization": f"Bearer {FAMILY_TOKEN}"}).get_json()
    assert body["service"] == "pass" and body["persons"] == 4
    assert body["services"] == [
        {"service": "pass", "name": "Apply for a passport", "persons": 3},
        {"service": "melde", "name": "Register your address", "persons": 1}]


# ---------------------------------------------------------------- emails


def _queued_emails(app, ctx, family) -> dict:
    """Confirmation, reminder, move and cancellation of the family's appointment, sent;
    each parsed as a mail client gets it, by kind."""
    from booking.db import db, unit_of_work
    from booking.notifications import appointment_mails, reminder_mails
    from booking.notifications.models import OutboxMessage
    from booking.notifications.outbox import deliver_due
    from booking.scheduling.models import Appointment

    now = utcnow()
    with app.app_context(), unit_of_work():
        appointment = db.session.get(Appointment, family["id"])
        appointment_mails.notify_booked(appointment, FAMILY_TOKEN, now)
        reminder_mails.notify_reminder(appointment, FAMILY_TOKEN, now)
        appointment.start_at += timedelta(hours=1)
        appointment.end_at += timedelta(hours=1)
        appointment.sequence += 1
        appointment_mails.notify_moved(appointment, FAMILY_TOKEN, now)
        appointment.status, appointment.sequence = "cancelled", appointment.sequence + 1
        appointment_mails.notify_cancelled(appointment, now)
    with app.app_context():
        assert deliver_due() == (4, 0)
        rows = db.session.execute(select(OutboxMessage.id, OutboxMessage.kind).where(
            OutboxMessage.appointment_id == family["id"])).all()
        return {kind: written_email(row_id, kind) for row_id, kind in rows}


def test_every_email_names_the_services_and_persons(app, ctx, family):
    messages = _queued_emails(app, ctx, family)
    assert set(messages) == {"booked", "appointment_reminder", "moved", "cancelled"}
    for kind, msg in messages.items():
        assert SUMMARY_EN in msg["Subject"], kind
        text = msg.get_body(preferencelist=("plain",)).get_content()
        html = msg.get_body(preferencelist=("html",)).get_content()
        assert f"Service: {SUMMARY_EN}" in text and "Persons: 4" in text, kind
        assert f"<td>{SUMMARY_EN}</td>" in html, kind
        assert re.search(r">Persons</th><td>4</td>", html), kind
        if kind != "cancelled":
            assert "Fee: €210.00" in text and "Biometric photo; ID card" in text, kind
    for kind in ("booked", "moved", "cancelled"):
        ics = next(p for p in messages[kind].walk() if p.get_content_type() == "text/calendar")
        for parser, parse in PARSERS.items():
            parsed = parse(ics.get_content().encode("utf-8"))
            assert parsed["summary"] == f"{SUMMARY_EN} – Bürgerbüro Teststadt", (kind, parser)
            assert "Persons: 4" in parsed["description"], (kind, parser)


def test_email_queued_before_appointments_had_lines_still_renders(app, ctx, family):
    """A snapshot without ``lines`` (queued before the change) names its one service."""
    from booking.db import db
    from booking.notifications import appointment_mails
    from booking.scheduling.models import Appointment

    with app.app_context(), app.test_request_context():
        appointment = db.session.get(Appointment, family["id"])
        snap = appointment_mails.snapshot(appointment, "booked", "REQUEST", utcnow(), "t")
        del snap["lines"]
        msg = appointment_mails.render(snap)
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "Service: Apply for a passport\n" in text and "Persons" not in text


# ---------------------------------------------------------------- staff


def test_clerk_sees_the_appointment_as_one_with_its_services(client, ctx, family):
    log_in(client, make_user(ctx, "clerk", "amt")[1])
    day = family["start_at"].astimezone(at(next_workday(3), 9).tzinfo).date()
    html = client.get(f"/staff/offices/amt/schedule?date={day}&lang=en").get_data(
        as_text=True)
    assert f"{SUMMARY_EN} <span class=\"persons\">(4 persons)</span>" in html
    assert html.count(SUMMARY_EN) == 1  # one row for the whole appointment
    printed = client.get(f"/staff/offices/amt/schedule?date={day}&print=1&lang=en")
    assert f"{SUMMARY_EN} (4 persons)" in printed.get_data(as_text=True)
    page = client.get(f"/staff/offices/amt/appointments/{family['id']}?lang=en").get_data(
        as_text=True)
    assert f'<dd class="services">{SUMMARY_EN}</dd>' in page
    assert '<dd class="persons">4</dd>' in page

    rows = client.get(f"/api/v1/offices/amt/appointments?date={day}").get_json()
    assert len(rows) == 1 and rows[0]["persons"] == 4 and rows[0]["service"] == "pass"
    assert rows[0]["services"] == [
        {"service": "pass", "name": "Reisepass beantragen", "persons": 3},
        {"service": "melde", "name": "Wohnsitz anmelden", "persons": 1}]


def test_staff_feed_event_names_services_and_persons(client, ctx, family):
    from booking.accounts import operations as accounts
    from booking.accounts.models import User

    user_id, session_id = make_user(ctx, "clerk", "amt")
    token = accounts.issue_feed_token(ctx.get(User, user_id))
    ctx.commit()
    data = client.get(f"/staff/feed/{token}.ics?lang=en").data
    for parser, parse in PARSERS.items():
        events = [e for e in parse(data)["events"] if "FAMY-3467" in e["summary"]]
        assert len(events) == 1, parser
        assert events[0]["summary"] == f"FAMY-3467 · {SUMMARY_EN}", parser
        assert events[0]["description"] == "Persons: 4", parser


def test_check_in_makes_one_ticket_that_shows_the_services(client, ctx, floor):
    from booking.queueing.models import Ticket

    start = (utcnow() + timedelta(minutes=5)).replace(second=0, microsecond=0)
    family_appointment(ctx, floor, start)
    page = client.get("/kiosk/amt/checkin?lang=en")
    response = client.post("/kiosk/amt/checkin", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "code": "FAMY3467"})
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'<dd id="ticket-service">{SUMMARY_EN}</dd>' in html
    ctx.rollback()
    assert ctx.scalar(select(func.count()).select_from(Ticket)) == 1
    ticket = ctx.scalar(select(Ticket))
    assert ticket.appointment.code == "FAMY3467" and ticket.service_id == "pass"
    ctx.rollback()

    from booking.web.counter.screen import _row

    with client.application.test_request_context("/?lang=en"):
        from booking.db import db
        ticket = db.session.scalar(select(Ticket))
        assert _row(ticket, ticket.office, utcnow(), "en").service == SUMMARY_EN


# ---------------------------------------------------------------- statistics


def test_statistics_count_each_service_and_the_persons(app, ctx, floor):
    from booking.db import unit_of_work
    from booking.retention import run_purge
    from booking.statistics import figures
    from booking.statistics.period import Period
    from tests.factories import make_appointment

    day = next_workday(3)
    family_appointment(ctx, floor, at(day, 9).astimezone(UTC))
    make_appointment(ctx, floor, at(day, 11).astimezone(UTC))  # Reisepass, one person

    def counted(service_id=None):
        period = Period(office_id="amt", first=day, last=day, granularity="day",
                        timezone="Europe/Berlin", service_id=service_id)
        result = {key[1]: (f.booked, f.persons) for key, f in
                  figures.appointments(period).items()}
        ctx.rollback()
        return result

    expected = {"pass": (2, 4), "melde": (1, 1), None: (2, 5)}
    assert counted() == expected
    assert counted("melde") == {"melde": (1, 1), None: (1, 1)}
    with app.app_context(), unit_of_work():
        run_purge(utcnow() + timedelta(days=400), timedelta(days=1))
    assert counted() == expected


def test_clerk_moves_a_family_appointment_only_where_its_whole_length_fits(client, ctx,
                                                                           family):
    from booking.scheduling.models import Appointment

    log_in(client, make_user(ctx, "clerk", "amt")[1])
    day = family["start_at"].astimezone(at(next_workday(3), 9).tzinfo).date()
    move_url = f"/staff/offices/amt/appointments/{family['id']}/move"
    html = client.get(move_url, query_string={"date": str(day), "lang": "en"}).get_data(
        as_text=True)
    # 105 minutes in an office open until 23:59: the latest start is 22:00, where one
    # passport alone (30 minutes) could still start at 23:15
    starts = re.findall(r'name="slot" id="slot-\d+" value="([^"]+)"', html)
    assert starts and starts[-1] == local_iso(day, 22, 0)
    assert local_iso(day, 10, 15) in starts
    moved = client.post(move_url, data={"csrf_token": csrf_from(html), "day": str(day),
                                        "slot": local_iso(day, 10, 15)})
    assert moved.status_code == 303
    ctx.rollback()
    appointment = ctx.get(Appointment, family["id"])
    assert appointment.end_at - appointment.start_at == timedelta(minutes=105)
    assert [(line.service_id, line.persons) for line in appointment.lines] == [
        ("pass", 3), ("melde", 1)]


def test_clerk_books_a_family_on_the_phone_where_its_whole_length_fits(client, ctx, floor):
    """The clerk's phone booking takes persons and further services like the citizens'
    calendar: only starts where the whole visit fits, booked as one appointment."""
    from booking.scheduling.models import PHONE, Appointment

    log_in(client, make_user(ctx, "clerk", "amt")[1])
    day = next_workday(3)
    visit = {"service": "pass", "day": str(day), "persons": "3", "also-melde": "1"}
    page = client.get("/staff/offices/amt/book", query_string={**visit, "lang": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="visit-persons" name="persons"' in html and 'name="also-melde"' in html
    assert SUMMARY_EN in plain_text(html)
    # 105 minutes: the latest start is 22:00 (one passport alone could start at 23:15)
    starts = re.findall(r'name="slot" id="slot-\d+" value="([^"]+)"', html)
    assert starts and starts[-1] == local_iso(day, 22, 0)
    for name, value in (("persons", "3"), ("also-melde", "1")):  # step two carries them on
        assert f'<input type="hidden" name="{name}" value="{value}">' in html
    booked = client.post("/staff/offices/amt/book", data={
        **visit, "csrf_token": csrf_from(html), "slot": local_iso(day, 9),
        "name": "Familie Anruf", "email": "", "phone": "", "language": "en"})
    assert booked.status_code == 303
    ctx.rollback()
    appointment = ctx.scalar(select(Appointment))
    assert appointment.channel == PHONE
    assert appointment.end_at - appointment.start_at == timedelta(minutes=105)
    assert [(line.service_id, line.persons) for line in appointment.lines] == [
        ("pass", 3), ("melde", 1)]


@pytest.mark.parametrize("fields", [{"persons": "0"}, {"persons": "zwei"},
                                    {"persons": "5", "also-melde": "5"}])
def test_clerk_phone_booking_refuses_a_visit_the_office_does_not_allow(client, ctx, floor,
                                                                      fields):
    from booking.scheduling.models import Appointment

    log_in(client, make_user(ctx, "clerk", "amt")[1])
    day = next_workday(3)
    query = {"service": "pass", "day": str(day), **fields}
    page = client.get("/staff/offices/amt/book", query_string=query)
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'id="visit-error"' in html and 'aria-invalid="true"' in html
    assert 'name="slot"' not in html  # no times for a visit that can't be booked
    posted = client.post("/staff/offices/amt/book", data={
        **query, "csrf_token": csrf_from(html), "slot": local_iso(day, 9), "name": "Anna",
        "email": "", "phone": "", "language": "de"})
    assert posted.status_code == 422
    ctx.rollback()
    assert ctx.scalar(select(func.count()).select_from(Appointment)) == 0
