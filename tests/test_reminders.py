"""Appointment reminders N hours before, with a fake clock through ``flask send-reminders``
and the background sender's round: sent once, only for confirmed appointments booked
before their reminder time, in the booking's language, with the QR code and a working
manage link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from booking.notifications.models import OutboxMessage
from booking.offices.models import Office, Service
from booking.scheduling import operations, visits
from booking.scheduling.models import Appointment
from tests import smtp
from tests.factories import at, book, make_town, next_workday, written_email

smtp_server = smtp.smtp_server
mail_to_sink = smtp.mail_to_sink
KIND = "appointment_reminder"


@pytest.fixture
def town(ctx):
    return make_town(ctx)


def run_cli(app, now) -> str:
    result = app.test_cli_runner().invoke(args=["send-reminders", "--now", now.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def reminder_rows(ctx) -> list[int]:
    ctx.rollback()
    rows = ctx.scalars(select(OutboxMessage.id).where(OutboxMessage.kind == KIND)
                       .order_by(OutboxMessage.id)).all()
    ctx.rollback()
    return list(rows)


def delivered(app, ctx, row_id: int):
    smtp.deliver(app)
    with app.app_context():
        return written_email(row_id, KIND)


def test_sent_once_with_qr_and_a_working_manage_link(app, client, ctx, town):
    day = next_workday(3)
    booked = book(ctx, "pass", day, 9)
    assert run_cli(app, at(day, 9) - timedelta(hours=25)) == "queued 0 reminders\n"
    assert run_cli(app, at(day, 9) - timedelta(hours=23)) == "queued 1 reminders\n"
    assert run_cli(app, at(day, 9) - timedelta(hours=22)) == "queued 0 reminders\n"  # once
    (row_id,) = reminder_rows(ctx)
    msg = delivered(app, ctx, row_id)
    assert msg["To"].addresses[0].addr_spec == "anna@example.org"
    assert str(msg["Subject"]).startswith("Erinnerung: Reisepass beantragen")
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "Biometrisches Foto" in text  # what to bring
    html = msg.get_body(preferencelist=("html",)).get_content()
    png = next(p for p in msg.walk() if p.get_content_type() == "image/png")
    assert f'src="cid:{png["Content-ID"][1:-1]}"' in html
    assert not any(p.get_content_type() == "text/calendar" for p in msg.walk())
    link = re.search(r"http://booking\.test(/manage/\S+)", text)[1]
    page = client.get(link)
    assert page.status_code == 200 and booked.code[:4] in page.get_data(as_text=True)
    assert run_cli(app, at(day, 9) - timedelta(hours=1)) == "queued 0 reminders\n"


def test_not_for_late_bookings_cancelled_or_unconfirmed_ones(app, ctx, town):
    day = next_workday(3)
    office, service = ctx.get(Office, "amt"), ctx.get(Service, "melde")
    start = at(day, 10)
    # booked 10 hours before: after its reminder time (24 h before)
    operations.book_appointment(office, visits.single(service), start,
                                operations.Citizen("Spät", "late@example.org"),
                                start - timedelta(hours=10))
    cancelled = book(ctx, "melde", day, 9, mail="gone@example.org")
    held = book(ctx, "pass", day, 11, mail="held@example.org")
    ctx.commit()
    operations.cancel_appointment(ctx.get(Appointment, cancelled.id), start - timedelta(days=2))
    # a status other than confirmed (as a double opt-in's hold would be)
    ctx.execute(update(Appointment).where(Appointment.id == held.id).values(status="arrived"))
    ctx.commit()
    assert run_cli(app, start - timedelta(hours=5)) == "queued 0 reminders\n"
    assert reminder_rows(ctx) == []


def test_office_setting_zero_turns_them_off_and_other_hours_move_them(app, ctx, town):
    day = next_workday(4)
    book(ctx, "pass", day, 9)
    ctx.get(Office, "amt").reminder_hours = 0
    ctx.commit()
    assert run_cli(app, at(day, 9) - timedelta(hours=2)) == "queued 0 reminders\n"
    ctx.get(Office, "amt").reminder_hours = 48
    ctx.commit()
    assert run_cli(app, at(day, 9) - timedelta(hours=47)) == "queued 1 reminders\n"


def test_english_booking_gets_an_english_reminder(app, client, ctx, town):
    day = next_workday(3)
    response = client.post("/api/v1/appointments", json={
        "office": "amt", "service": "melde", "start": at(day, 9).isoformat(),
        "name": "Jane Doe", "email": "jane@example.org", "language": "en"})
    assert response.status_code == 201
    run_cli(app, at(day, 9) - timedelta(hours=3))
    (row_id,) = reminder_rows(ctx)
    msg = delivered(app, ctx, row_id)
    assert str(msg["Subject"]).startswith("Reminder: Register your address")
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "Please bring: ID card" in text and "Hello Jane Doe," in text


def test_background_round_with_a_fake_clock(app, ctx, town):
    from booking.notifications.outbox import sender

    day = next_workday(3)
    book(ctx, "pass", day, 9)
    sender.run_round(app, at(day, 9) - timedelta(hours=20), jobs=True)
    sender.run_round(app, at(day, 9) - timedelta(hours=19), jobs=True)
    assert len(reminder_rows(ctx)) == 1
    ctx.rollback()
    row = ctx.get(OutboxMessage, reminder_rows(ctx)[0])
    assert row.status == "sent"  # the same round delivered it
    ctx.rollback()


def test_reminder_arrives_at_a_real_smtp_server(app, ctx, town, mail_to_sink):
    day = next_workday(3)
    book(ctx, "pass", day, 9, mail="erika@example.org", name="Erika Muster")
    run_cli(app, at(day, 9) - timedelta(hours=23))
    assert smtp.deliver(app) == (2, 0)  # the confirmation and the reminder
    received = next(m for m in mail_to_sink.wait_for(2)
                    if str(m["Subject"]).startswith("Erinnerung:"))
    assert received["To"].addresses[0].addr_spec == "erika@example.org"
    assert any(p.get_content_type() == "image/png" for p in received.walk())
    assert "/manage/" in received.get_body(preferencelist=("plain",)).get_content()


def test_a_moved_appointment_is_reminded_of_its_new_time(app, ctx, town):
    day = next_workday(3)
    booked = book(ctx, "pass", day, 9)
    assert run_cli(app, at(day, 9) - timedelta(hours=23)) == "queued 1 reminders\n"
    later = next_workday(10)
    operations.reschedule_appointment(ctx.get(Appointment, booked.id), at(later, 10),
                                      at(day, 9) - timedelta(hours=22), by_staff=True)
    ctx.commit()
    assert run_cli(app, at(day, 9) - timedelta(hours=21)) == "queued 0 reminders\n"
    assert run_cli(app, at(later, 10) - timedelta(hours=23)) == "queued 1 reminders\n"
    assert len(reminder_rows(ctx)) == 2
