"""The waiting-room display: numbers and counters only, never names; its event stream."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from booking.db import utcnow
from booking.offices.models import Counter, Office
from booking.queueing import arrivals, counter_operations
from tests.factories import passport_appointment


def test_board_shows_calls_waiting_and_no_names(client, ctx, floor):  # noqa: F811
    now = utcnow()
    c1 = ctx.scalar(select(Counter).where(Counter.name == "1"))
    appt = passport_appointment(ctx, floor, now + timedelta(minutes=5))
    appt.name = "Erika Geheimname"
    first = arrivals.check_in(floor, appt, now).ticket
    arrivals.draw_ticket(floor, "melde", now)
    arrivals.draw_ticket(floor, "pass", now)
    counter_operations.call_next(c1, now)
    ctx.commit()
    assert first.status == "called"
    page = client.get("/offices/amt/display")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'sse-connect="/offices/amt/display/events"' in html
    assert "Geheimname" not in html and "Erika" not in html
    assert 'class="call call-newest"' in html and "P001" in html and "Schalter 1" in html
    assert 'data-newest="P001@Schalter 1@' in html
    # two waiting (M002 and P003): one melde, one passport, with estimates
    assert '<span class="total">2</span>' in html
    assert "Wohnsitz anmelden" in html and "Reisepass beantragen" in html
    english = client.get("/offices/amt/display?lang=en").get_data(as_text=True)
    assert "Register your address" in english and 'lang="en"' in english


def test_board_of_unknown_office_is_404(client, ctx, floor):  # noqa: F811
    assert client.get("/offices/nope/display").status_code == 404
    assert client.get("/offices/" + "x" * 300 + "/display").status_code == 404
    assert ctx.get(Office, "amt") is not None


def test_live_renders_once_per_event_and_key():
    import threading

    from booking.web import live

    calls = []

    def render(tag):
        def inner():
            calls.append(tag)
            return f"html-{tag}-{len(calls)}"
        return inner

    event, other = object(), object()
    results = []
    threads = [threading.Thread(target=lambda: results.append(live.shared("k", event, render("a"))))
               for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["a"] and set(results) == {"html-a-1"}
    assert live.shared("k", other, render("b")) == "html-b-2"  # another event renders anew
    assert live.shared("k2", event, render("c")) == "html-c-3"  # another key too
    assert live.shared("k", None, render("d")) == "html-d-4"  # initial renders are never shared
    assert live.shared("k", None, render("e")) == "html-e-5"


def test_board_stream_starts_with_the_current_state(client, ctx, floor):
    arrivals.draw_ticket(floor, "melde", utcnow())
    ctx.commit()
    response = client.get("/offices/amt/display/events")
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    assert response.headers["X-Accel-Buffering"] == "no"
    body = response.get_data(as_text=True)
    events = dict(re.findall(r"event: (\w+)\n((?:data: .*\n)+)\n", body))
    assert set(events) == {"calls", "waiting"}
    assert '<span class="total">1</span>' in events["waiting"]
    assert "No call at the moment." in events["calls"] or "Zurzeit kein Aufruf." in events["calls"]
    assert client.get("/offices/nope/display/events").status_code == 404
