"""The clerk's counter screen: who may open and use it, the whole flow of a ticket through
the HTML forms (without JavaScript and with htmx), refusals as messages, bad input, the
live-update stream, and the audit entries of pausing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from sqlalchemy import select

from booking.audit.models import AuditEntry
from booking.db import utcnow
from booking.offices.models import Counter, Office
from booking.queueing import arrivals, counter_operations
from booking.queueing.models import CALLED, DONE, NO_SHOW, PARKED, SERVING, WAITING, Ticket
from tests.factories import at, cheap_hashing, counter, csrf_from, log_in, make_user, passport_appointment

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    cheap_hashing(monkeypatch)


@dataclass(frozen=True)
class Ids:
    c1: int  # Schalter 1 (amt): pass + melde
    c2: int  # Schalter 2 (amt): melde
    nord: int  # N1 (office nord)


@pytest.fixture
def ids(ctx, floor):  # noqa: F811
    values = Ids(counter(ctx, "1").id, counter(ctx, "2").id,
                 counter(ctx, "N1").id)
    ctx.rollback()
    return values


def as_role(ctx, client, role: str) -> None:
    """Log ``client`` in as: clerk (of amt), other_clerk (of nord), manager (of amt),
    other_manager (of nord), admin, or nobody (anonymous)."""
    offices = {"clerk": ("clerk", "amt"), "other_clerk": ("clerk", "nord"),
               "manager": ("manager", "amt"), "other_manager": ("manager", "nord"),
               "admin": ("admin",)}
    if role != "anonymous":
        _, session_id = make_user(ctx, *offices[role])
        log_in(client, session_id)
    with client.session_transaction() as sess:
        sess["lang"] = "en"  # the assertions read the English texts


def token(client) -> str:
    """A CSRF token of the client's session (logged in or not)."""
    return csrf_from(client.get("/login").get_data(as_text=True))


def draw(ctx, service: str = "pass", office: str = "amt") -> str:
    ticket = arrivals.draw_ticket(ctx.get(Office, office), service, utcnow()).ticket
    ctx.commit()
    ticket_id = ticket.id
    ctx.rollback()
    return ticket_id


def call(ctx, counter_id: int) -> str:
    ticket = counter_operations.call_next(ctx.get(Counter, counter_id), utcnow())
    ctx.commit()
    ticket_id = ticket.id
    ctx.rollback()
    return ticket_id


def park(ctx, ticket_id: str) -> None:
    counter_operations.park(ctx.get(Ticket, ticket_id), utcnow())
    ctx.commit()


def read(ctx, ticket_id: str) -> dict:
    ctx.rollback()
    t = ctx.get(Ticket, ticket_id)
    values = {"status": t.status, "counter": t.counter_id, "service": t.service_id,
              "arrived_at": t.arrived_at, "recalls": t.recalls, "number": t.number}
    ctx.rollback()
    return values


def text(response) -> str:
    return response.get_data(as_text=True)


def post(client, url: str, data: dict | None = None, headers: dict | None = None):
    return client.post(url, data={"csrf_token": token(client), **(data or {})},
                       headers=headers or {})


# ---------------------------------------------------------------- access matrix

ROLES = ("anonymous", "clerk", "other_clerk", "manager", "other_manager", "admin")
ALLOWED = {"clerk", "manager", "admin"}  # staff of office amt (admins: every office)


def _called(ctx, ids):
    draw(ctx)
    return call(ctx, ids.c1)


def _parked(ctx, ids):
    ticket_id = _called(ctx, ids)
    park(ctx, ticket_id)
    return ticket_id


# name: (method, URL, set-up returning the ticket id or None, form data, status if allowed)
ENDPOINTS = {
    "index": ("GET", "/counter/", None, None, 200),
    "screen": ("GET", "/counter/{c1}", None, None, 200),
    "events": ("GET", "/counter/{c1}/events", None, None, 200),
    "call_next": ("POST", "/counter/{c1}/call-next", None, {}, 200),  # nobody waits
    "pause": ("POST", "/counter/{c1}/pause", None, {}, 303),
    "resume": ("POST", "/counter/{c1}/resume", None, {}, 303),
    "recall": ("POST", "/counter/{c1}/tickets/{ticket}/recall", _called, {}, 409),  # cooldown
    "start": ("POST", "/counter/{c1}/tickets/{ticket}/start", _called, {}, 303),
    "finish": ("POST", "/counter/{c1}/tickets/{ticket}/finish", _called, {}, 303),
    "no_show": ("POST", "/counter/{c1}/tickets/{ticket}/no-show", _called, {}, 409),
    "park": ("POST", "/counter/{c1}/tickets/{ticket}/park", _called, {}, 303),
    "return": ("POST", "/counter/{c1}/tickets/{ticket}/return", _parked, {}, 303),
    "transfer": ("POST", "/counter/{c1}/tickets/{ticket}/transfer", _called,
                 {"service": "melde"}, 303),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_access(ctx, client, ids, endpoint, role):
    method, url, setup, data, expected = ENDPOINTS[endpoint]
    ticket_id = setup(ctx, ids) if setup else None
    url = url.format(c1=ids.c1, ticket=ticket_id)
    as_role(ctx, client, role)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={**data, "csrf_token": token(client)})
    if role == "anonymous":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    elif endpoint == "index" or role in ALLOWED:
        assert response.status_code == expected, text(response)[:2000]
    else:
        assert response.status_code == 403
    if setup and role not in ALLOWED:
        assert read(ctx, ticket_id)["status"] in (CALLED, PARKED)  # untouched


def test_chooser_lists_the_users_counters_and_is_linked_from_the_dashboard(ctx, client, ids):
    ctx.get(Counter, ids.c2).paused = True
    ctx.commit()
    as_role(ctx, client, "clerk")
    page = text(client.get("/counter/?lang=en"))
    assert f'href="/counter/{ids.c1}"' in page and f'href="/counter/{ids.c2}"' in page
    assert f'href="/counter/{ids.nord}"' not in page and "Schalter N1" not in page
    assert "Apply for a passport, Register your address" in page
    assert page.count(">paused<") == 1
    assert 'href="/counter/"' in text(client.get("/staff/"))
    other = client.application.test_client()
    as_role(ctx, other, "admin")
    assert f'href="/counter/{ids.nord}"' in text(other.get("/counter/"))


def test_unknown_and_foreign_counters_and_tickets(ctx, client, ids):
    nord_ticket = draw(ctx, "pass", "nord")
    as_role(ctx, client, "clerk")
    assert client.get("/counter/99999").status_code == 404
    assert client.get("/counter/abc").status_code == 404
    assert client.get("/counter/99999999999999999999").status_code == 404
    assert post(client, "/counter/99999/call-next").status_code == 404
    assert post(client, f"/counter/{ids.c1}/tickets/nope/finish").status_code == 404
    assert post(client, f"/counter/{ids.c1}/tickets/{'x' * 200}/finish").status_code == 404
    assert post(client, f"/counter/{ids.c1}/tickets/{nord_ticket}/finish").status_code == 403
    assert post(client, f"/counter/{ids.c1}/tickets/{nord_ticket}/bogus").status_code == 404
    assert client.get(f"/counter/{ids.c1}/call-next").status_code == 405
    # an administrator reaches every office, but not with another office's ticket
    admin = client.application.test_client()
    as_role(ctx, admin, "admin")
    refused = post(admin, f"/counter/{ids.c1}/tickets/{nord_ticket}/finish")
    assert refused.status_code == 409
    assert read(ctx, nord_ticket)["status"] == WAITING


# ---------------------------------------------------------------- the flow


def test_full_flow_without_javascript(ctx, client, ids):
    kiosk = client.application.test_client()  # the kiosk draws through the API
    first = kiosk.post("/api/v1/offices/amt/tickets", json={"service": "pass"}).get_json()
    second = kiosk.post("/api/v1/offices/amt/tickets", json={"service": "melde"}).get_json()
    as_role(ctx, client, "clerk")
    arrived = read(ctx, first["id"])["arrived_at"]
    base = f"/counter/{ids.c1}"
    page = text(client.get(base + "?lang=en"))
    assert "2 waiting" in page
    assert page.index('data-ticket="P001"') < page.index('data-ticket="M002"')
    assert "No ticket at this counter." in page

    response = post(client, base + "/call-next")
    assert response.status_code == 303 and response.headers["Location"] == base
    page = text(client.get(base))
    assert "Ticket P001 is called." in page
    assert '<p class="ticket-big" data-ticket="P001">P001</p>' in page
    assert "1 waiting" in page and 'aria-disabled="true" aria-describedby="call-note"' in page
    assert "Walk-in" in page and "Apply for a passport" in page
    ticket = f"{base}/tickets/{first['id']}"

    refused = post(client, ticket + "/recall")  # the 30-second cooldown
    assert refused.status_code == 409
    assert re.search(r"Please wait \d+ seconds before calling again\.", text(refused))
    assert 'data-ticket="P001"' in text(refused)  # the screen, re-rendered
    assert read(ctx, first["id"])["recalls"] == 0

    assert post(client, ticket + "/start").status_code == 303
    assert read(ctx, first["id"])["status"] == SERVING
    assert post(client, ticket + "/start").status_code == 409  # already being served

    assert post(client, ticket + "/transfer", {"service": "melde"}).status_code == 303
    moved = read(ctx, first["id"])
    assert (moved["status"], moved["service"], moved["counter"]) == (WAITING, "melde", None)
    assert moved["arrived_at"] == arrived and moved["number"] == "P001"
    assert "Ticket P001 waits again, now for Register your address." in text(client.get(base))

    # called again: it keeps its place before the later melde ticket
    assert post(client, base + "/call-next").status_code == 303
    assert read(ctx, first["id"])["status"] == CALLED

    assert post(client, ticket + "/park").status_code == 303
    assert read(ctx, first["id"])["status"] == PARKED
    page = text(client.get(base))
    assert "Ticket P001 is parked." in page
    assert f'action="{ticket}/return"' in page  # in the parked list, to return here

    assert post(client, ticket + "/return").status_code == 303
    assert read(ctx, first["id"])["status"] == CALLED
    assert post(client, ticket + "/finish").status_code == 303
    assert read(ctx, first["id"])["status"] == DONE
    page = text(client.get(base))
    assert "Ticket P001 is finished." in page and "No ticket at this counter." in page
    assert read(ctx, second["id"])["status"] == WAITING
    # queue actions are operational, not audited
    ctx.rollback()
    assert ctx.scalars(select(AuditEntry)).all() == []
    ctx.rollback()


def test_call_next_with_nobody_waiting_says_so(ctx, client, ids):
    as_role(ctx, client, "clerk")
    for headers in ({}, HX):
        response = post(client, f"/counter/{ids.c1}/call-next", headers=headers)
        assert response.status_code == 200
        assert "Nobody is waiting for this counter." in text(response)


def test_no_show_only_after_the_recalls(ctx, client, ids):
    office = ctx.get(Office, "amt")
    office.queue_recall_cooldown_seconds, office.queue_max_recalls = 0, 2
    ctx.commit()
    ticket_id = _called(ctx, ids)
    as_role(ctx, client, "clerk")
    ticket = f"/counter/{ids.c1}/tickets/{ticket_id}"
    page = text(client.get(f"/counter/{ids.c1}"))
    assert 'id="no-show" class="button" aria-disabled="true"' in page
    assert "A no-show can be recorded after 2 recalls. Recalls so far: 0." in page
    refused = post(client, ticket + "/no-show")
    assert refused.status_code == 409
    assert "A no-show can be recorded after 2 recalls." in text(refused)
    assert post(client, ticket + "/recall").status_code == 303
    assert post(client, ticket + "/recall").status_code == 303
    page = text(client.get(f"/counter/{ids.c1}"))
    assert "Ticket P001 is called again." in page and "Recalls so far" not in page
    assert 'id="no-show" class="button">' in page  # no longer marked as refused
    assert post(client, ticket + "/no-show").status_code == 303
    assert read(ctx, ticket_id)["status"] == NO_SHOW


def test_pause_stops_calls_and_is_audited(ctx, client, ids):
    draw(ctx)
    as_role(ctx, client, "clerk")
    base = f"/counter/{ids.c1}"
    assert post(client, base + "/pause").status_code == 303
    page = text(client.get(base))
    assert "This counter is paused" in page and 'id="resume"' in page
    refused = post(client, base + "/call-next")
    assert refused.status_code == 409
    assert "This counter is paused. Resume it to call tickets." in text(refused)
    assert post(client, base + "/resume").status_code == 303
    assert post(client, base + "/call-next").status_code == 303
    busy = post(client, base + "/pause")  # not with a called ticket
    assert busy.status_code == 409 and "Finish or park the current ticket first." in text(busy)
    ctx.rollback()
    entries = ctx.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.entity_id, e.office_id, e.before, e.after, e.user_email)
            for e in entries] == [
        ("counter.paused", str(ids.c1), "amt", {"paused": False}, {"paused": True},
         "clerk-amt@example.org"),
        ("counter.resumed", str(ids.c1), "amt", {"paused": True}, {"paused": False},
         "clerk-amt@example.org")]
    ctx.rollback()


def test_waiting_list_marks_due_appointments_and_shows_waits(ctx, client, ids):
    office = ctx.get(Office, "amt")
    # at 10:00 of today (Berlin): both appointments lie today, whatever the real time of day
    with time_machine.travel(at(utcnow().astimezone(office.tz).date(), 10), tick=True):
        draw(ctx)  # P001, a walk-in
        now = utcnow()
        for start in (now + timedelta(minutes=5), now + timedelta(hours=3)):
            arrivals.check_in(office, passport_appointment(ctx, office, start), now)
        ctx.commit()
        as_role(ctx, client, "clerk")
        page = text(client.get(f"/counter/{ids.c1}?lang=en"))
    rows = re.findall(r'<tr data-ticket="(\w+)">(.*?)</tr>', page, re.S)
    assert [number for number, _ in rows] == ["P002", "P001", "P003"]  # the due one first
    cells = {number: " ".join(row.split()) for number, row in rows}
    assert "Appointment <strong class=\"badge due\">due now</strong>" in cells["P002"]
    assert "due now" not in cells["P003"] and "Appointment" in cells["P003"]
    assert "Walk-in" in cells["P001"] and "0 min" in cells["P001"]
    assert "3 waiting" in page


# ---------------------------------------------------------------- htmx


def test_htmx_gets_the_main_region_only(ctx, client, ids):
    draw(ctx)
    draw(ctx, "melde")
    as_role(ctx, client, "clerk")
    base = f"/counter/{ids.c1}"
    full = client.get(base)
    assert "<html" in text(full) and "HX-Request" in full.headers["Vary"]
    fragment = client.get(base, headers=HX)
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    assert "<html" not in text(fragment) and 'id="counter-screen"' in text(fragment)

    called = post(client, base + "/call-next", headers=HX)
    assert called.status_code == 200 and "HX-Request" in called.headers["Vary"]
    body = text(called)
    assert "<html" not in body and "<nav" not in body
    assert re.search(r'<div id="counter-screen"[^>]*data-focus="current-heading"', body)
    assert 'id="counter-message" hx-swap-oob="innerHTML"' in body
    assert "Ticket P001 is called." in body
    assert 'id="waiting-count" hx-swap-oob="innerHTML">1 waiting' in body
    assert 'data-ticket="M002"' in body
    # a refusal: the region with the message, 409
    ticket_id = read_current(ctx, ids.c1)
    refused = post(client, f"{base}/tickets/{ticket_id}/recall", headers=HX)
    assert refused.status_code == 409 and "<html" not in text(refused)
    assert "before calling again" in text(refused)
    assert 'data-focus="recall"' in text(refused)
    finished = post(client, f"{base}/tickets/{ticket_id}/finish", headers=HX)
    assert finished.status_code == 200 and 'data-focus="call-next"' in text(finished)
    assert read(ctx, ticket_id)["status"] == DONE


def read_current(ctx, counter_id: int) -> str:
    ctx.rollback()
    ticket_id = counter_operations.get_active(ctx.get(Counter, counter_id)).id
    ctx.rollback()
    return ticket_id


# ---------------------------------------------------------------- bad input


def test_bad_input_is_refused_with_4xx(ctx, client, ids):
    ticket_id = _called(ctx, ids)
    as_role(ctx, client, "clerk")
    ticket = f"/counter/{ids.c1}/tickets/{ticket_id}"
    for data in ({"service": "nope"}, {}, {"service": ""}):
        response = post(client, ticket + "/transfer", data)
        assert response.status_code == 422
        body = text(response)
        assert "Please choose one of the services of this office." in body
        assert re.search(r'<select id="transfer-service" name="service" '
                         r'aria-describedby="transfer-hint transfer-error" aria-invalid="true">',
                         body)
    assert post(client, ticket + "/transfer", {"service": "nope"},
                headers=HX).status_code == 422
    assert read(ctx, ticket_id)["status"] == CALLED
    # no CSRF token
    assert client.post(ticket + "/finish").status_code == 400
    assert client.post(ticket + "/finish", data={"csrf_token": "forged"}).status_code == 400
    assert client.post(f"/counter/{ids.c1}/call-next").status_code == 400
    assert read(ctx, ticket_id)["status"] == CALLED
    # acting on a ticket that is not this counter's
    assert post(client, f"/counter/{ids.c2}/tickets/{ticket_id}/finish").status_code == 409
    assert read(ctx, ticket_id)["status"] == CALLED


# ---------------------------------------------------------------- live updates


def test_event_stream_renders_the_waiting_list(ctx, client, ids):
    draw(ctx)
    draw(ctx, "melde")
    called = _called(ctx, ids)
    as_role(ctx, client, "clerk")
    response = client.get(f"/counter/{ids.c1}/events?lang=en")
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    body = text(response)
    events = dict(re.findall(r"event: (\w+)\n((?:data: .*\n)+)", body))
    assert set(events) == {"count", "waiting", "current"}
    assert "2 waiting" in events["count"]
    assert 'data-ticket="M002"' in events["waiting"] and 'data-ticket="P003"' in events["waiting"]
    assert read(ctx, called)["number"] == "P001"
    assert 'data-ticket="P001"' in events["current"] and "<button" not in body
    page = text(client.get(f"/counter/{ids.c1}"))
    assert f'sse-connect="/counter/{ids.c1}/events"' in page
    for name in ("count", "waiting", "current"):
        assert f'sse-swap="{name}"' in page
    assert "htmx-ext-sse.min.js" in page
    assert "htmx-ext-sse.min.js" not in text(client.get("/counter/"))


def test_event_render_reads_the_database_each_time_even_outside_the_request(
        app, ctx, client, ids, monkeypatch):
    """The real stream calls ``render`` for every event, possibly after the request's
    context is gone: it re-reads the database and needs only the application."""
    from booking import realtime

    captured = {}

    def fake_sse_response(channels, render):
        captured.update(channels=list(channels), render=render)
        return "", 204

    monkeypatch.setattr(realtime, "sse_response", fake_sse_response)
    as_role(ctx, client, "clerk")
    assert client.get(f"/counter/{ids.c1}/events?lang=en").status_code == 204
    assert captured["channels"] == ["office:amt"]
    draw(ctx)
    event = SimpleNamespace(channel="office:amt", data={"kind": "drawn", "number": "X999"},
                            resync=False)  # what render reads of a realtime.Event
    with app.app_context():
        first = dict(captured["render"](event))
    assert "1 waiting" in first["count"] and 'data-ticket="P001"' in first["waiting"]
    assert "X999" not in "".join(first.values())  # the payload is never shown
    draw(ctx, "melde")
    with app.app_context():
        second = dict(captured["render"](None))
    assert "2 waiting" in second["count"] and 'data-ticket="M002"' in second["waiting"]
