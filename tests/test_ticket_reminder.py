""""Email me when three people are ahead": from the status page through the outbox to a
real SMTP server; the address is dropped once the email is queued or at the day end."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from booking.db import utcnow
from booking.notifications.models import OutboxMessage
from booking.queueing import arrivals, counter_operations, errors
from booking.queueing.models import Ticket
from booking.queueing.reminders import ask_for_reminder
from tests import smtp
from tests.factories import BERLIN, T0, counter, csrf_from, drawn_ticket, english

TZ = ZoneInfo(BERLIN)

smtp_server = smtp.smtp_server
mail_to_sink = smtp.mail_to_sink


def reminders(ctx) -> list[OutboxMessage]:
    return ctx.scalars(select(OutboxMessage).where(OutboxMessage.kind == "ticket_reminder")
                       .order_by(OutboxMessage.id)).all()


def queue_of(ctx, floor, n: int, language: str = "de") -> list[Ticket]:
    return [arrivals.draw_ticket(floor, "pass", T0 + timedelta(minutes=i), language=language).ticket
            for i in range(n)]


def test_the_email_is_queued_once_when_three_are_ahead(ctx, floor):
    tickets = queue_of(ctx, floor, 7)
    last = tickets[-1]  # six ahead
    ask_for_reminder(last, "erika@example.org", T0)
    ctx.commit()
    assert reminders(ctx) == [] and last.notify_email == "erika@example.org"
    desk = counter(ctx, "1")  # takes pass and melde
    for _ in range(2):  # five, then four ahead
        counter_operations.call_next(desk, T0)
        counter_operations.finish(counter_operations.get_active(desk), T0)
    assert reminders(ctx) == []
    counter_operations.call_next(desk, T0)  # three ahead now
    ctx.commit()
    (row,) = reminders(ctx)
    assert row.recipient == "erika@example.org"
    assert row.payload["number"] == last.number and row.payload["ahead"] == 3
    assert last.notify_email is None and last.notified_at is not None  # address dropped
    counter_operations.finish(counter_operations.get_active(desk), T0)
    counter_operations.call_next(desk, T0)  # two ahead: no second email
    ctx.commit()
    assert len(reminders(ctx)) == 1


def test_asking_when_already_close_sends_at_once_and_only_while_waiting(ctx, floor):
    first, second = queue_of(ctx, floor, 2)
    ask_for_reminder(second, "max@example.org", T0)
    ctx.commit()
    assert [r.payload["ahead"] for r in reminders(ctx)] == [1]
    counter_operations.call_next(counter(ctx, "1"), T0)
    ctx.commit()
    try:
        ask_for_reminder(first, "max@example.org", T0)  # called already
    except errors.WrongState:
        pass
    else:
        raise AssertionError("a called ticket took a reminder")
    ctx.rollback()
    assert ctx.get(Ticket, first.id).notify_email is None


def test_the_day_end_drops_addresses_that_were_never_used(ctx, floor):
    tickets = queue_of(ctx, floor, 6)
    ask_for_reminder(tickets[-1], "erika@example.org", T0)
    ctx.commit()
    arrivals.close_day(datetime(2026, 12, 2, 1, 0, tzinfo=TZ))
    ctx.commit()
    assert ctx.get(Ticket, tickets[-1].id).notify_email is None
    assert reminders(ctx) == []


def test_status_page_form_validates_and_confirms(client, ctx, floor):
    english(client)
    for _ in range(4):
        drawn_ticket(client)
    ticket_id, _ = drawn_ticket(client)  # four ahead
    page = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    assert "Reminder by email" in page and 'name="email"' in page
    action = re.search(r'action="([^"]*/reminder[^"]*)"', page).group(1).replace("&amp;", "&")

    bad = client.post(action, data={"csrf_token": csrf_from(page), "email": "not-an-address"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "<title>Error:" in html
    assert 'aria-invalid="true"' in html and 'id="email-error"' in html
    assert 'href="#email"' in html  # the summary links to the field
    ctx.rollback()
    assert ctx.get(Ticket, ticket_id).notify_email is None

    expired = client.post(action, data={"email": "erika@example.org"})  # no CSRF token
    assert expired.status_code == 400
    html = expired.get_data(as_text=True)
    assert "The page had expired. Please send the form again." in html
    assert 'aria-invalid="true"' in html and csrf_from(html)  # the form again, renewed

    good = client.post(action, data={"csrf_token": csrf_from(page), "email": " Erika@Example.org "})
    assert good.status_code == 303 and good.headers["Location"].endswith(f"/tickets/{ticket_id}?lang=en")
    ctx.rollback()
    assert ctx.get(Ticket, ticket_id).notify_email == "Erika@example.org"
    after = client.get(good.headers["Location"]).get_data(as_text=True)
    assert "We will send you an email when three people are ahead of you." in after
    assert "Erika@example.org" not in after  # the page shows nothing personal
    assert 'name="email"' not in after
    ctx.rollback()
    assert reminders(ctx) == []  # four ahead: not yet


def test_status_page_after_the_reminder_went_out(client, ctx, floor):
    english(client)
    ticket_id, page = drawn_ticket(client)  # nobody ahead: the email goes at once
    page = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    response = client.post(f"/tickets/{ticket_id}/reminder?lang=en",
                           data={"csrf_token": csrf_from(page), "email": "erika@example.org"})
    assert response.status_code == 303
    ctx.rollback()
    assert [r.payload["ahead"] for r in reminders(ctx)] == [0]
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The reminder email has been sent." in after and 'name="email"' not in after


def test_status_page_refuses_a_reminder_for_a_called_number(client, ctx, floor):
    english(client)
    ticket_id, _ = drawn_ticket(client)
    page = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    counter_operations.call_next(counter(ctx, "1"), utcnow())
    ctx.commit()
    response = client.post(f"/tickets/{ticket_id}/reminder?lang=en",
                           data={"csrf_token": csrf_from(page), "email": "erika@example.org"})
    assert response.status_code == 409
    assert "no longer waiting" in response.get_data(as_text=True)
    ctx.rollback()
    assert ctx.get(Ticket, ticket_id).notify_email is None
    assert client.post("/tickets/unknown/reminder", data={}).status_code == 404


def test_the_reminder_reaches_a_real_smtp_server_in_the_ticket_language(app, ctx, floor,
                                                                        mail_to_sink):
    tickets = queue_of(ctx, floor, 2, language="en")
    ask_for_reminder(tickets[1], "erika@example.org", T0)
    ctx.commit()
    assert smtp.deliver(app) == (1, 0)
    (received,) = mail_to_sink.received
    assert received.rcpt_tos == ["erika@example.org"]
    msg = received.message
    assert msg["Subject"] == f"Number {tickets[1].number}: your turn is coming soon"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    # the line after the greeting starts a sentence (in English with a capital)
    assert "Hello,\r\n\r\nOnly 1 person is ahead of you at" in text
    assert "<strong>Only 1 person is ahead of you at" in html
    assert f"/tickets/{tickets[1].id}?lang=en" in text and f"/tickets/{tickets[1].id}?lang=en" in html
    assert '<html lang="en">' in html
    # the ticket kept no address; the outbox row goes with the outbox's own retention
    ctx.rollback()
    assert ctx.get(Ticket, tickets[1].id).notify_email is None


def test_reminder_through_the_json_api(client, ctx, floor):
    tickets = [client.post("/api/v1/offices/amt/tickets", json={"service": "pass"}).get_json()
               for _ in range(5)]
    last, first = tickets[-1]["id"], tickets[0]["id"]
    url = f"/api/v1/tickets/{last}/reminder"

    response = client.post(url, json={"email": "erika@example.org"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["reminder"] == "asked" and body["position"] == 4 and "email" not in body
    ctx.rollback()
    assert ctx.get(Ticket, last).notify_email == "erika@example.org"

    near = client.post(f"/api/v1/tickets/{tickets[1]['id']}/reminder",
                       json={"email": "max@example.org"})
    assert near.status_code == 200 and near.get_json()["reminder"] == "sent"

    bad = client.post(url, json={"email": "erika@"})
    assert bad.status_code == 422 and "email" in bad.get_json()["errors"]
    assert client.post(url, json=["erika@example.org"]).status_code == 400
    assert client.post(url, data="{", content_type="application/json").status_code == 400
    assert client.post("/api/v1/tickets/nope/reminder",
                       json={"email": "erika@example.org"}).status_code == 404
    assert client.post("/api/v1/tickets/" + "x" * 300 + "/reminder",
                       json={"email": "erika@example.org"}).status_code == 404

    ctx.rollback()
    counter_operations.call_next(counter(ctx, "1"), utcnow())  # takes the first
    ctx.commit()
    called = client.post(f"/api/v1/tickets/{first}/reminder", json={"email": "erika@example.org"})
    assert called.status_code == 409 and called.get_json()["error"]
    ctx.rollback()
    assert ctx.get(Ticket, first).notify_email is None
    # the call moved the last ticket to three ahead: its reminder went out with it
    assert [(r.recipient, r.payload["ahead"]) for r in reminders(ctx)] == [
        ("max@example.org", 1), ("erika@example.org", 3)]


def test_one_reminder_per_ticket_and_its_address_is_fixed(client, ctx, floor):
    """The status page must not send mail to anybody, any number of times: the first
    address stays, every further request is refused, and nothing more is queued."""
    ticket_id = client.post("/api/v1/offices/amt/tickets", json={"service": "pass"}
                            ).get_json()["id"]  # nobody ahead: the email goes at once
    url = f"/api/v1/tickets/{ticket_id}/reminder"
    assert client.post(url, json={"email": "erika@example.org"}).get_json()["reminder"] == "sent"
    for address in ("victim@example.org", "erika@example.org"):
        again = client.post(url, json={"email": address}, headers={"Accept-Language": "en"})
        assert again.status_code == 409
        assert again.get_json()["error"] == "A reminder for this number was requested already."
    ctx.rollback()
    assert [r.recipient for r in reminders(ctx)] == ["erika@example.org"]

    english(client)
    second, _ = drawn_ticket(client)
    for _ in range(4):
        drawn_ticket(client)
    last, _ = drawn_ticket(client)  # far back: the address waits on the ticket
    page = client.get(f"/tickets/{last}").get_data(as_text=True)
    action = f"/tickets/{last}/reminder?lang=en"
    assert client.post(action, data={"csrf_token": csrf_from(page),
                                     "email": "erika@example.org"}).status_code == 303
    changed = client.post(action, data={"csrf_token": csrf_from(page),
                                        "email": "victim@example.org"})
    assert changed.status_code == 409
    assert "A reminder for this number was requested already." in changed.get_data(as_text=True)
    ctx.rollback()
    assert ctx.get(Ticket, last).notify_email == "erika@example.org"
    assert second != last and len(reminders(ctx)) == 1


def test_the_database_refuses_a_second_reminder(ctx, floor):
    """One conditional update decides, so a request that read the ticket before another
    one's reminder committed is refused too; and no address can be stored without the
    once-only mark."""
    import pytest
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm.attributes import set_committed_value

    first, second = queue_of(ctx, floor, 2)
    ask_for_reminder(second, "erika@example.org", T0)
    ctx.commit()
    set_committed_value(second, "reminder_asked_at", None)  # as read before that commit
    with pytest.raises(errors.ReminderAsked):
        ask_for_reminder(second, "victim@example.org", T0)
    ctx.rollback()
    assert [r.recipient for r in reminders(ctx)] == ["erika@example.org"]
    with pytest.raises(IntegrityError):
        ctx.execute(update(Ticket).where(Ticket.id == first.id)
                    .values(notify_email="victim@example.org"))
    ctx.rollback()
