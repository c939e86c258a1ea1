"""The kiosk (ticket machine) and the public ticket status page, through the test client:
drawing with Post/Redirect/Get, refusals, appointment check-in with marked errors, the
QR codes, the language switch, the live status stream (initial render), and 404s."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import segno
from sqlalchemy import func, select

from booking.db import utcnow
from booking.offices.models import Closure, Counter, Office
from booking.queueing import counter_operations
from booking.queueing.models import Ticket
from booking.scheduling.models import CANCELLED
from tests.factories import TICKET_URL, csrf_from, draw, drawn_ticket, english, make_appointment

BASE = "http://booking.test"


# ---------------------------------------------------------------- helpers


def qr_path(svg_html: str) -> str:
    """The module path of the first QR code (segno's dark modules) in the HTML."""
    match = re.search(r'<svg[^>]*class="qr"[^>]*>.*?<path[^>]*class="qrline"[^>]*d="([^"]+)"',
                      svg_html, re.S)
    assert match, "no QR code in the page"
    return match.group(1)


def expected_qr_path(data: str) -> str:
    """What segno draws for ``data``: the page's QR code must encode exactly this."""
    return qr_path(segno.make(data, error="m", micro=False).svg_inline(svgclass="qr"))


def ticket_count(ctx) -> int:
    ctx.rollback()
    count = ctx.scalar(select(func.count()).select_from(Ticket))
    ctx.rollback()
    return count


def check_in(client, code, office="amt"):
    page = client.get(f"/kiosk/{office}/checkin")
    return client.post(f"/kiosk/{office}/checkin",
                       data={"csrf_token": csrf_from(page.get_data(as_text=True)), "code": code})


def assert_code_marked(html: str, message: str) -> None:
    field = re.search(r'<input[^>]*id="code"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in field
    described = re.search(r'aria-describedby="([^"]+)"', field).group(1).split()
    assert "code-error" in described
    error = re.search(r'<p class="error" id="code-error">(.*?)</p>', html, re.S)
    assert error and message in error.group(1)


# ---------------------------------------------------------------- start page


def test_start_page_has_a_button_per_service_and_a_check_in_link(client, floor):
    response = client.get("/kiosk/amt")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="de">' in html
    assert re.search(r'<button type="submit" name="service" value="pass"', html)
    assert re.search(r'<button type="submit" name="service" value="melde"', html)
    assert "Reisepass beantragen" in html
    assert csrf_from(html)
    assert 'href="/kiosk/amt/checkin"' in html
    assert "kiosk.css" in html and "kiosk.js" in html
    assert "data-idle-url" not in html  # the German start page stays as it is


def test_language_toggle_renders_english_and_idles_back_to_german(client, floor):
    html = client.get("/kiosk/amt?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Take a ticket" in html and "Apply for a passport" in html
    assert "Nobody is waiting." in html
    assert 'data-idle-url="/kiosk/amt?lang=de"' in html
    assert re.search(r'<a href="/kiosk/amt\?lang=de" lang="de" hreflang="de">Deutsch</a>', html)
    # the choice stays for the next page (session), as on the citizen pages
    assert "Check in for your appointment" in client.get("/kiosk/amt/checkin").get_data(
        as_text=True)


def test_service_buttons_show_who_is_waiting(client, floor):
    english(client)
    drawn_ticket(client, "pass")
    drawn_ticket(client, "pass")
    html = client.get("/kiosk/amt").get_data(as_text=True)
    # 'pass' competes with 'melde' at counter 1: two waiting, 30 minutes each, one counter
    assert "2 people waiting · about 60 minutes" in html


# ---------------------------------------------------------------- drawing a ticket


def test_draw_redirects_to_the_ticket_page_with_number_position_and_qr(client, ctx, floor):
    english(client)
    first_id, _ = drawn_ticket(client)
    ticket_id, html = drawn_ticket(client)
    assert '<span class="ticket-number" id="ticket-number">P002</span>' in html
    assert "Apply for a passport" in html
    assert '<dd id="ticket-ahead">1 person ahead of you</dd>' in html
    assert '<dd id="ticket-wait">Estimated wait: about 30 minutes</dd>' in html
    # the QR code encodes the ticket's live status page
    status_url = f"{BASE}/tickets/{ticket_id}"
    assert qr_path(html) == expected_qr_path(status_url)
    assert qr_path(html) != expected_qr_path(f"{BASE}/tickets/{first_id}")
    assert re.search(r'<svg role="img" aria-label="QR code with the link to the live status '
                     r'of ticket P002"', html)
    # print button for JavaScript, idle return without it
    assert re.search(r'<button[^>]*data-print hidden>Print ticket</button>', html)
    assert '<noscript><meta http-equiv="refresh" content="30;url=/kiosk/amt?lang=de">' in html
    ctx.rollback()
    ticket = ctx.get(Ticket, ticket_id)
    assert (ticket.number, ticket.language, ticket.kind) == ("P002", "en", "walk_in")
    ctx.rollback()


def test_reloading_the_ticket_page_draws_no_second_ticket(client, ctx, floor):
    response = draw(client)
    assert response.status_code == 303
    for _ in range(3):
        page = client.get(response.headers["Location"])
        assert page.status_code == 200 and "P001" in page.get_data(as_text=True)
        assert page.headers["Cache-Control"] == "no-store"
    assert ticket_count(ctx) == 1


def test_idle_time_can_be_shortened_by_query(client, floor):
    ticket_id, _ = drawn_ticket(client)
    html = client.get(f"/kiosk/amt/tickets/{ticket_id}?idle=2").get_data(as_text=True)
    assert 'data-idle-seconds="2"' in html
    html = client.get(f"/kiosk/amt/tickets/{ticket_id}?idle=nonsense").get_data(as_text=True)
    assert 'data-idle-seconds="30"' in html


def test_refused_service_not_offered(client, ctx, floor):
    english(client)
    for service in ("nonexistent", ""):
        response = draw(client, service)
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert 'role="alert"' in html and "This office does not offer this service." in html
        # the page is the start page again, and its language switch leads to a GET page
        assert 'name="service" value="pass"' in html
        assert 'href="/kiosk/amt?lang=de"' in html
    response = draw(client, "melde", office="nord")  # nord offers only 'pass'
    assert response.status_code == 422
    assert ticket_count(ctx) == 0


def test_refused_when_the_office_is_closed_now(client, ctx, floor):
    now = utcnow()
    ctx.add(Closure(office=floor, starts_at=now - timedelta(hours=1),
                    ends_at=now + timedelta(hours=1)))
    ctx.commit()
    english(client)
    html = client.get("/kiosk/amt").get_data(as_text=True)
    assert 'id="kiosk-closed"' in html
    response = draw(client)
    assert response.status_code == 409
    assert "the office is closed at this time" in response.get_data(as_text=True)
    assert ticket_count(ctx) == 0


def test_refused_when_the_contingent_is_used_up(client, ctx, floor):
    floor.queue_daily_limit = 1
    ctx.commit()
    english(client)
    drawn_ticket(client)
    response = draw(client)
    assert response.status_code == 409
    assert "tickets are all given out" in response.get_data(as_text=True)
    assert ticket_count(ctx) == 1


def test_a_missing_csrf_token_shows_the_kiosk_again(client, ctx, floor):
    english(client)
    response = client.post("/kiosk/amt/tickets", data={"service": "pass"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The page had expired. Please try again." in html
    assert csrf_from(html) and 'name="service" value="pass"' in html
    response = client.post("/kiosk/amt/checkin", data={"code": "ACDE3467"})
    assert response.status_code == 400
    assert_code_marked(response.get_data(as_text=True), "The page had expired.")
    assert client.post("/kiosk/nope/tickets", data={"service": "pass"}).status_code == 404
    assert ticket_count(ctx) == 0


@pytest.mark.parametrize("path", [
    "/kiosk/nope",
    "/kiosk/nope/checkin",
    "/kiosk/amt/tickets/unknown-ticket-id",
    "/kiosk/amt/tickets/" + "x" * 300,
    "/kiosk/" + "x" * 300,
    "/tickets/unknown-ticket-id",
    "/tickets/" + "x" * 300,
    "/tickets/unknown-ticket-id/events",
])
def test_unknown_offices_and_tickets_are_404(client, floor, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "text/html" in response.content_type


def test_a_ticket_is_shown_only_under_its_own_office(client, floor):
    response = draw(client, "pass", office="nord")
    assert response.status_code == 303
    ticket_id = response.headers["Location"].rsplit("/", 1)[1]
    assert client.get(f"/kiosk/nord/tickets/{ticket_id}").status_code == 200
    assert client.get(f"/kiosk/amt/tickets/{ticket_id}").status_code == 404


# ---------------------------------------------------------------- check-in


@pytest.mark.parametrize("typed", ["acde-3467", " ACDE 3467 ", "Acde3467",
                                   f"{BASE}/kiosk/amt/checkin?code=ACDE3467"])
def test_check_in_with_the_booking_code(client, ctx, floor, typed):
    make_appointment(ctx, floor, utcnow() + timedelta(minutes=5))
    english(client)
    response = check_in(client, typed)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert TICKET_URL.search(response.headers["Location"])
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<span class="ticket-number" id="ticket-number">P001</span>' in html
    assert "You are next." in html
    assert "Erika" not in html and "erika" not in html
    ctx.rollback()
    ticket = ctx.scalar(select(Ticket))
    assert ticket.kind == "appointment" and ticket.appointment.status == "arrived"
    ctx.rollback()


@pytest.mark.parametrize("case, status, message", [
    ("unknown", 404, "No appointment with this booking code at this office."),
    ("other_office", 404, "No appointment with this booking code at this office."),
    ("other_day", 409, ", not today."),
    ("cancelled", 409, "This appointment was cancelled."),
    ("checked_in", 409, "This appointment is already checked in."),
    ("empty", 422, "Enter your booking code."),
])
def test_check_in_errors_mark_the_field(client, ctx, floor, case, status, message):
    now = utcnow()
    office = ctx.get(Office, "nord") if case == "other_office" else floor
    start_at = now + timedelta(days=2) if case == "other_day" else now + timedelta(minutes=5)
    make_appointment(ctx, office, start_at, status=CANCELLED if case == "cancelled" else "confirmed")
    english(client)
    if case == "checked_in":
        assert check_in(client, "ACDE3467").status_code == 303
    code = {"unknown": "CDEF4679", "empty": "  - "}.get(case, "acde 3467")
    response = check_in(client, code)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert_code_marked(html, message)
    assert "<title>Error:" in html
    assert f'value="{code}"' in html  # what was typed stays in the field
    assert ticket_count(ctx) == (1 if case == "checked_in" else 0)


def test_check_in_link_prefills_the_code(client, floor):
    html = client.get("/kiosk/amt/checkin?code=acde-3467").get_data(as_text=True)
    field = re.search(r'<input[^>]*id="code"[^>]*>', html).group(0)
    assert 'value="ACDE-3467"' in field and "autofocus" in field
    assert "aria-invalid" not in field
    assert client.get("/kiosk/amt/checkin").status_code == 200


# ---------------------------------------------------------------- confirmation page QR


def test_confirmation_and_manage_pages_carry_a_check_in_qr_code(client, ctx, floor):
    appointment = make_appointment(ctx, floor, utcnow() + timedelta(days=3))
    for url in ("/manage/ACDE3467/manage-token-123?new=1&lang=en",
                "/manage/ACDE3467/manage-token-123"):
        html = client.get(url).get_data(as_text=True)
        assert qr_path(html) == expected_qr_path("ACDE3467")  # the bare code, not a link
        assert re.search(r'<svg role="img" aria-label="QR code for checking in at the office '
                         r'with booking code ACDE-3467"', html)
        assert '<span class="checkin-code" id="checkin-code">ACDE-3467</span>' in html
    appointment.status = CANCELLED
    ctx.commit()
    html = client.get("/manage/ACDE3467/manage-token-123").get_data(as_text=True)
    assert 'class="qr"' not in html


# ---------------------------------------------------------------- status page


def test_status_page_while_waiting(client, ctx, floor):
    english(client)
    drawn_ticket(client)
    ticket_id, _ = drawn_ticket(client)
    response = client.get(f"/tickets/{ticket_id}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert '<span class="ticket-big" id="ticket-number">P002</span>' in html
    assert '<dd id="ticket-state">Waiting</dd>' in html
    assert '<dd id="ticket-ahead">1 person ahead of you</dd>' in html
    assert '<dd id="ticket-wait">Estimated wait: about 30 minutes</dd>' in html
    assert 'aria-live="polite"' in html and 'aria-live="assertive"' in html
    assert 'id="ticket-counter"' not in html
    assert f'sse-connect="/tickets/{ticket_id}/events?lang=en"' in html
    assert "vendor/htmx-ext-sse.min.js" in html
    assert '<noscript><meta http-equiv="refresh" content="30"></noscript>' in html


def test_status_page_once_called(client, ctx, floor):
    english(client)
    ticket_id, _ = drawn_ticket(client)
    ctx.rollback()
    counter_operations.call_next(
        ctx.scalar(select(Counter).where(Counter.name == "1")), utcnow())
    ctx.commit()
    html = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    assert re.search(r'aria-live="assertive"[^>]*>\s*<p class="call-banner" id="ticket-counter">'
                     r'Please go to Counter 1.</p>', html)
    assert '<dd id="ticket-state">Called to Counter 1</dd>' in html
    assert 'id="ticket-ahead"' not in html
    kiosk = client.get(f"/kiosk/amt/tickets/{ticket_id}").get_data(as_text=True)
    assert "Called to Counter 1" in kiosk


def test_status_page_language_follows_the_ticket_unless_switched(app, ctx, floor):
    make_appointment(ctx, floor, utcnow() + timedelta(minutes=5))  # booked in English
    kiosk = app.test_client()
    assert check_in(kiosk, "ACDE3467").status_code == 303  # the kiosk is in German
    ctx.rollback()
    ticket_id = ctx.scalar(select(Ticket.id))
    ctx.rollback()
    phone = app.test_client()
    html = phone.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    assert '<html lang="en">' in html and "Your number" in html
    html = phone.get(f"/tickets/{ticket_id}?lang=de").get_data(as_text=True)
    assert '<html lang="de">' in html
    assert f'sse-connect="/tickets/{ticket_id}/events?lang=de"' in html


def test_status_page_shows_nothing_personal(client, ctx, floor):
    make_appointment(ctx, floor, utcnow() + timedelta(minutes=5))
    assert check_in(client, "ACDE3467").status_code == 303
    ctx.rollback()
    ticket_id = ctx.scalar(select(Ticket.id))
    ctx.rollback()
    for path in (f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/events",
                 f"/kiosk/amt/tickets/{ticket_id}"):
        body = client.get(path).get_data(as_text=True)
        for personal in ("Erika", "Mustermann", "erika.mustermann", "5550123", "ACDE",
                         "manage-token"):
            assert personal not in body, (path, personal)


def test_status_stream_is_an_event_stream_with_the_status_fragment(client, ctx, floor):
    english(client)
    ticket_id, _ = drawn_ticket(client)
    response = client.get(f"/tickets/{ticket_id}/events")
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    body = response.get_data(as_text=True)
    events = dict(re.findall(r"event: (\w+)\n((?:data: .*\n)+)\n", body))
    assert set(events) == {"status", "call"}
    status_html = "\n".join(line[6:] for line in events["status"].splitlines())
    assert '<dl class="ticket-facts" data-status="waiting" data-ahead="0">' in status_html
    assert '<dd id="ticket-state">Waiting</dd>' in status_html
    assert "You are next." in status_html
    assert "ticket-counter" not in events["call"]


def test_open_status_pages_follow_a_call(app, client, ctx, floor, monkeypatch):
    """Two status pages are open when a counter calls the first ticket: the first shows
    its counter, the second that it is next (both from one read of the queue)."""
    # long enough for the call to arrive on a busy machine; the streams end by themselves
    monkeypatch.setitem(app.config, "REALTIME_STREAM_MAX_SECONDS", 4)
    english(client)
    first, _ = drawn_ticket(client)
    second, _ = drawn_ticket(client)
    desk = ctx.scalar(select(Counter).where(Counter.name == "1"))  # handles pass
    streams = {t: iter(client.get(f"/tickets/{t}/events", buffered=False).response)
               for t in (first, second)}
    initial = {t: next(chunks).decode() for t, chunks in streams.items()}
    assert "You are next." in initial[first] and "1 person ahead of you" in initial[second]

    assert counter_operations.call_next(desk, utcnow()).id == first
    ctx.commit()
    after = {t: b"".join(chunks).decode() for t, chunks in streams.items()}
    first_events = dict(re.findall(r"event: (\w+)\n((?:data: .*\n)+)\n", after[first]))
    second_events = dict(re.findall(r"event: (\w+)\n((?:data: .*\n)+)\n", after[second]))
    assert "Please go to Counter 1." in first_events["call"]
    assert 'data-status="called"' in first_events["status"]
    # the called number's page drops its reminder form; the waiting one keeps it
    assert "reminder" in first_events and "<form" not in first_events["reminder"]
    assert "You are next." in second_events["status"]
    assert "call" not in second_events  # unchanged parts are not sent again
    assert "reminder" not in second_events
