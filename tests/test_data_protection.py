"""Personal data ends where the privacy notice says: the nightly day end and the
retention purge leave no citizen's address in any table, sent emails keep no manage
token, and responses that carry a token are never stored by a cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from booking.db import utcnow
from booking.notifications.models import OutboxMessage
from booking.queueing import arrivals, counter_operations
from booking.queueing.reminders import ask_for_reminder
from tests import smtp
from tests.factories import (
    counter,
    csrf_from,
    local_iso,
    make_appointment,
    make_town,
    next_workday,
    tables_containing,
)


@pytest.fixture
def town(ctx):
    return make_town(ctx)


ADDRESSES = ("waiting@example.org", "queued@example.org", "sent@example.org")


def _reminders_in_every_state(app, ctx, floor, asked_at: datetime) -> None:
    """One reminder still waiting on its ticket, one email queued, one sent (drawn at
    ``asked_at`` whatever the opening hours: it may have been a holiday)."""
    tickets = [arrivals.draw_ticket(floor, "pass", asked_at + timedelta(minutes=i),
                                    always_open=True).ticket for i in range(6)]
    ask_for_reminder(tickets[1], "sent@example.org", asked_at)  # one ahead: at once
    ctx.commit()
    assert smtp.deliver(app) == (1, 0)  # written as a file
    ask_for_reminder(tickets[2], "queued@example.org", asked_at)  # queued, not sent
    ask_for_reminder(tickets[-1], "waiting@example.org", asked_at)  # five ahead: waits
    counter_operations.call_next(counter(ctx, "1"), asked_at)
    ctx.commit()
    # the emails were queued on that day too
    ctx.execute(update(OutboxMessage).values(created_at=asked_at))
    ctx.commit()


def test_sent_reminders_keep_no_address(app, ctx, floor):
    """"We keep your address only until that one email is sent"."""
    (ticket,) = [arrivals.draw_ticket(floor, "pass", utcnow()).ticket]
    ask_for_reminder(ticket, "sent@example.org", utcnow())
    ctx.commit()
    assert tables_containing(ctx, "sent@example.org") == ["outbox_messages.recipient",
                                                          "outbox_messages.payload"]
    assert smtp.deliver(app) == (1, 0)
    assert tables_containing(ctx, "sent@example.org") == []


def test_the_day_end_leaves_no_reminder_address(app, ctx, floor):
    yesterday = utcnow() - timedelta(days=1)
    _reminders_in_every_state(app, ctx, floor, yesterday)
    assert tables_containing(ctx, "waiting@example.org") == ["tickets.notify_email"]
    assert tables_containing(ctx, "queued@example.org")  # still there before the day end
    result = app.test_cli_runner().invoke(args=["queue", "close-day"])
    assert result.exit_code == 0, result.output
    for address in ADDRESSES:
        assert tables_containing(ctx, address) == [], address


def test_the_purge_leaves_no_citizen_data_in_any_table(app, ctx, floor):
    month_ago = utcnow() - timedelta(days=30)
    _reminders_in_every_state(app, ctx, floor, month_ago)
    make_appointment(ctx, floor, datetime(2026, 11, 2, 9, tzinfo=UTC))  # long past
    result = app.test_cli_runner().invoke(args=["purge", "--days", "0"])
    assert result.exit_code == 0, result.output
    assert "1 reminder emails" in result.output  # the queued one; the sent one is gone
    for value in (*ADDRESSES, "erika.mustermann@example.org", "Erika Mustermann",
                  "5550123"):
        assert tables_containing(ctx, value) == [], value


def test_sent_emails_keep_no_manage_token(app, client, ctx, town):
    booked = client.post("/api/v1/appointments", json={
        "office": "amt", "service": "pass", "start": local_iso(next_workday(), 9),
        "name": "Anna Muster", "email": "anna@example.org"})
    token = booked.get_json()["manage_token"]
    assert tables_containing(ctx, token) == ["outbox_messages.payload"]
    assert smtp.deliver(app) == (1, 0)
    assert tables_containing(ctx, token) == []


def test_responses_with_a_manage_token_are_not_stored(client, ctx, town):
    booked = client.post("/api/v1/appointments", json={
        "office": "amt", "service": "pass", "start": local_iso(next_workday(), 9),
        "name": "Anna Muster", "email": "anna@example.org"})
    assert booked.status_code == 201 and booked.headers["Cache-Control"] == "no-store"
    code, token = booked.get_json()["code"], booked.get_json()["manage_token"]
    moved = client.post(f"/api/v1/appointments/{code}/reschedule",
                        headers={"Authorization": f"Bearer {token}"},
                        json={"start": local_iso(next_workday(), 10)})
    assert moved.status_code == 200 and moved.headers["Cache-Control"] == "no-store"

    start = local_iso(next_workday(), 11)
    url = "/offices/amt/services/pass/book"
    form = client.get(url, query_string={"start": start})
    posted = client.post(url, data={"csrf_token": csrf_from(form.get_data(as_text=True)),
                                    "start": start, "name": "Anna Muster",
                                    "email": "anna@example.org", "privacy": "y"})
    assert posted.status_code == 303 and "/manage/" in posted.headers["Location"]
    assert posted.headers["Cache-Control"] == "no-store"
    assert posted.headers["Referrer-Policy"] == "no-referrer"
    page = client.get(posted.headers["Location"])
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("logged, expected", [
    ("GET /manage/ABCD2345/s3cr3t/cancel HTTP/1.1", "GET /manage/ABCD2345/***/cancel HTTP/1.1"),
    ("/%6Danage/ABCD2345/s3cr3t", "/manage/ABCD2345/***"),
    ("//manage/ABCD2345/s3cr3t", "/manage/ABCD2345/***"),
    ("/manage/ABCD2345//s3cr3t/move?start=x", "/manage/ABCD2345/***/move"),
    ("GET /staff/offices/amt/schedule?q=Erika%20Mustermann&day=2026-12-07 HTTP/1.1",
     "GET /staff/offices/amt/schedule HTTP/1.1"),
    ("https://termine.example/staff/offices/amt/schedule?q=Erika+Mustermann",
     "https://termine.example/staff/offices/amt/schedule"),
    ("/manage%2FABCD2345%2Fs3cr3t", "/manage/ABCD2345/***"),
    ("/%256Danage/ABCD2345/s3cr3t", "/manage/ABCD2345/***"),
    ("/Manage/ABCD2345/s3cr3t", "/Manage/ABCD2345/***"),
    ("https://termine.example//manage/ABCD2345/s3cr3t", "https://termine.example/manage/ABCD2345/***"),
    ("/staff/feed/s3cr3t.ics", "/staff/feed/***.ics"),
    ("/offices/amt/services/pass/", "/offices/amt/services/pass/"),
])
def test_access_logs_mask_every_spelling_of_a_token_path(logged, expected):
    """What deploy/gunicorn.conf.py writes (tests/test_nginx.py runs it for real)."""
    from booking.log_masking import mask_secrets

    assert mask_secrets(logged) == expected
