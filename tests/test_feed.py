"""The open live feed: /api/v1/offices/<office>/status, /api/v1/status and the embeddable
widget pages; opening periods, the next opening across closures and holidays, and the
first free start per service."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.config import ConfigError, frame_ancestors
from booking.db import utcnow
from booking.offices.models import Closure, Office, Service
from booking.queueing import arrivals, opening, status
from booking.scheduling import next_free, operations, visits
from booking.scheduling.slots import Rule
from tests.factories import BERLIN, book, make_town, passport_appointment

TZ = ZoneInfo(BERLIN)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ).astimezone(UTC)


# ---------------------------------------------------------------- opening periods (pure)

RULE = Rule(1, frozenset({1, 2, 3, 4, 5, 6}), time(8), time(12), date(2020, 1, 1), None, 2)
AFTERNOON = Rule(2, frozenset({2}), time(14), time(16), date(2020, 1, 1), None, 1,
                 frozenset({"pass"}))
TUESDAY = date(2026, 12, 1)


def periods(closures=(), holidays=(), service=None, first=TUESDAY, days=10):
    return opening.opening_periods([RULE, AFTERNOON], closures, holidays, service, TZ, first,
                                   first + timedelta(days=days))


def test_open_now_until_the_end_of_the_period():
    state = opening.opening_at(periods(), local(TUESDAY, 10))
    assert state == opening.Opening(True, open_until=local(TUESDAY, 12))


def test_next_opening_the_same_day_for_a_service_with_afternoon_hours():
    assert opening.opening_at(periods(), local(TUESDAY, 13)).next_opening == local(TUESDAY, 14)
    assert opening.opening_at(periods(service="pass"), local(TUESDAY, 13)).next_opening == \
        local(TUESDAY, 14)
    assert opening.opening_at(periods(service="melde"), local(TUESDAY, 13)).next_opening == \
        local(TUESDAY + timedelta(days=1), 8)


def test_next_opening_across_a_closure_and_holidays():
    christmas = [date(2026, 12, 25), date(2026, 12, 26)]
    thursday = date(2026, 12, 24)
    monday = date(2026, 12, 28)
    closure = [(local(monday, 7), local(monday, 9, 30))]
    found = periods(closure, christmas, first=thursday)
    # Friday and Saturday are holidays, Sunday has no hours, Monday opens after the closure
    assert opening.opening_at(found, local(thursday, 12, 30)) == opening.Opening(
        False, next_opening=local(monday, 9, 30))
    # a closure inside a period ends it early
    cut = periods([(local(TUESDAY, 11), local(TUESDAY, 11, 30))])
    assert opening.opening_at(cut, local(TUESDAY, 10)).open_until == local(TUESDAY, 11)
    assert opening.opening_at(cut, local(TUESDAY, 11, 10)).next_opening == \
        local(TUESDAY, 11, 30)


def test_no_opening_ahead():
    assert opening.opening_at([], local(TUESDAY, 10)) == opening.Opening(False)


instants = st.datetimes(min_value=datetime(2026, 11, 30), max_value=datetime(2026, 12, 30),
                        timezones=st.just(UTC))


@given(instants, st.sampled_from([None, "pass", "melde"]))
def test_opening_agrees_with_the_kiosk_rule(now, service):
    """Open in the feed exactly when the kiosk hands out tickets (ordering.is_open)."""
    from booking.queueing import ordering

    closures = [(local(date(2026, 12, 3), 9), local(date(2026, 12, 3), 10, 30))]
    holidays = [date(2026, 12, 25), date(2026, 12, 26)]
    day = now.astimezone(TZ).date()
    found = opening.opening_periods([RULE, AFTERNOON], closures, holidays, service, TZ,
                                    day - timedelta(days=1), day + timedelta(days=1))
    hours = [ordering.Hours(r.start, r.end, r.service_ids) for r in (RULE, AFTERNOON)
             if r.applies(day, None)]
    assert opening.opening_at(found, now).is_open == ordering.is_open(
        hours, closures, day in holidays, service, now, TZ)


# ---------------------------------------------------------------- office status (domain)

def test_office_status_at_chosen_instants(ctx):
    office = make_town(ctx)  # Mon–Sat 08–12, state HE
    thursday = date(2026, 12, 24)
    monday = date(2026, 12, 28)
    ctx.add(Closure(office=office, starts_at=local(monday, 7), ends_at=local(monday, 10),
                    reason="Betriebsversammlung"))
    ctx.commit()
    now = local(thursday, 13)
    found = status.get_office_status(office, now)
    assert not found.opening.is_open and found.opening.next_opening == local(monday, 10)
    assert [row.is_open for row in found.services] == [False, False]
    assert all(row.estimate is None for row in found.services)  # no tickets while closed
    assert arrivals.is_open_for(office, None, now) is False
    during = status.get_office_status(office, local(TUESDAY, 10))
    assert during.opening == opening.Opening(True, open_until=local(TUESDAY, 12))
    assert arrivals.is_open_for(office, None, local(TUESDAY, 10)) is True
    demo = status.get_office_status(office, now, always_open=True)
    assert demo.opening.is_open and all(row.is_open for row in demo.services)


# ---------------------------------------------------------------- first free start

def test_first_free_start_agrees_with_the_full_listing(ctx):
    office = make_town(ctx, capacity=1, lead_minutes=0)
    now = utcnow()
    services = list(office.services)
    first = next_free.first_free_starts(office, services, now)
    for service in services:
        listing = operations.list_free_slots(office, visits.single(service), now)
        assert first[service.id] == (listing[0] if listing else None)
    # fill the first free day for passports: the next start is the next free one
    day = first["pass"].start_at.astimezone(TZ).date()
    for slot in operations.list_free_slots(office, visits.single(ctx.get(Service, "pass")), now, day, day):
        if slot.start_at.astimezone(TZ).minute in (0, 30):
            book(ctx, "pass", day, slot.start_at.astimezone(TZ).hour,
                 slot.start_at.astimezone(TZ).minute)
    ctx.commit()
    again = next_free.first_free_starts(office, services, now)
    for service in services:
        listing = operations.list_free_slots(office, visits.single(service), now)
        assert again[service.id] == (listing[0] if listing else None)
    assert again["pass"].start_at.astimezone(TZ).date() > day
    assert operations.first_free_day(office, visits.single(ctx.get(Service, "pass")), now) == \
        again["pass"].start_at.astimezone(TZ).date()


def test_no_free_start_within_the_horizon(ctx):
    office = make_town(ctx, horizon_days=5, weekdays="7")  # Sundays only
    sunday = utcnow().astimezone(TZ).date()
    while sunday.isoweekday() != 7:
        sunday += timedelta(days=1)
    ctx.add(Closure(office=office, starts_at=local(sunday, 0) - timedelta(days=7),
                    ends_at=local(sunday, 23) + timedelta(days=7)))
    ctx.commit()
    assert next_free.first_free_starts(office, office.services, utcnow()) == {
        "pass": None, "melde": None}


# ---------------------------------------------------------------- the JSON feed

SERVICE_KEYS = {"id", "name", "open", "waiting", "ahead", "estimated_wait_minutes",
                "next_free_appointment"}
OFFICE_KEYS = {"office", "name", "address", "open", "open_until", "next_opening", "services"}


def _draw(client, service, office="amt"):
    response = client.post(f"/api/v1/offices/{office}/tickets", json={"service": service})
    assert response.status_code == 201, response.get_json()


def test_office_status_feed(client, ctx, floor):
    appointment = passport_appointment(ctx, floor, utcnow() + timedelta(minutes=5))
    appointment.name, appointment.email = "Erika Geheimname", "erika@example.org"
    arrivals.check_in(floor, appointment, utcnow())
    ctx.commit()
    for service in ("pass", "pass", "melde"):
        _draw(client, service)
    response = client.get("/api/v1/offices/amt/status")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == OFFICE_KEYS and body["office"] == "amt"
    assert body["open"] is True and body["next_opening"] is None
    assert body["open_until"] is not None
    rows = {row["id"]: row for row in body["services"]}
    assert all(set(row) == SERVICE_KEYS for row in rows.values())
    # counter 1 serves passports and registrations, counter 2 registrations only
    assert rows["pass"]["waiting"] == 3 and rows["melde"]["waiting"] == 1
    assert rows["pass"]["ahead"] == 4 and rows["melde"]["ahead"] == 4
    assert rows["pass"]["estimated_wait_minutes"] == 4 * 30  # planned, one counter
    assert rows["melde"]["estimated_wait_minutes"] == 30  # 4 × 15 minutes, two counters
    assert rows["pass"]["name"] == "Reisepass beantragen"
    ctx.rollback()
    now = utcnow()
    for service in floor.services:
        first = operations.list_free_slots(floor, visits.single(service), now)[0].start_at
        assert rows[service.id]["next_free_appointment"] == first.astimezone(TZ).isoformat()
    text = response.get_data(as_text=True)
    assert "Geheimname" not in text and "erika" not in text.lower()
    assert appointment.code not in text
    english = client.get("/api/v1/offices/amt/status?lang=en").get_json()
    assert english["services"][0]["name"] == "Apply for a passport"


def test_status_feed_headers(client, ctx, floor):
    response = client.get("/api/v1/offices/amt/status")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.cache_control.public and response.cache_control.max_age == 5
    assert "Set-Cookie" not in response.headers
    etag = response.headers["ETag"]
    again = client.get("/api/v1/offices/amt/status", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["Access-Control-Allow-Origin"] == "*"
    _draw(client, "pass")  # the queue changed: a new body
    changed = client.get("/api/v1/offices/amt/status", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    chosen = client.get("/api/v1/offices/amt/status?lang=en")
    assert chosen.cache_control.public and "Set-Cookie" not in chosen.headers
    negotiated = client.get("/api/v1/offices/amt/status", headers={"Accept-Language": "en"})
    assert "Accept-Language" in negotiated.headers["Vary"]
    # CORS only on the feed
    assert "Access-Control-Allow-Origin" not in client.get("/api/v1/offices").headers


def test_status_of_every_office(client, ctx, floor):
    response = client.get("/api/v1/status")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    offices = response.get_json()["offices"]
    assert [o["office"] for o in offices] == ["nord", "amt"]  # by name
    assert all(set(o) == OFFICE_KEYS for o in offices)
    nord = next(o for o in offices if o["office"] == "nord")
    assert [s["id"] for s in nord["services"]] == ["pass"]


@pytest.mark.parametrize("path", ["/api/v1/offices/nope/status",
                                  "/api/v1/offices/" + "x" * 300 + "/status"])
def test_unknown_office_is_a_json_404(client, ctx, floor, path):
    response = client.get(path)
    assert response.status_code == 404 and response.is_json
    assert response.get_json()["message"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_status_of_a_closed_office(client, ctx, floor):
    now = utcnow()
    ctx.add(Closure(office=ctx.get(Office, "amt"), starts_at=now - timedelta(hours=1),
                    ends_at=now + timedelta(hours=3), reason="Umzug"))
    ctx.commit()
    body = client.get("/api/v1/offices/amt/status").get_json()
    assert body["open"] is False and body["open_until"] is None
    opens = datetime.fromisoformat(body["next_opening"])
    assert abs(opens - (now + timedelta(hours=3))) < timedelta(seconds=1)
    assert all(s["open"] is False and s["estimated_wait_minutes"] is None
               for s in body["services"])
    assert "Umzug" not in str(body)


# ---------------------------------------------------------------- the widget

def test_widget_page(client, ctx, floor):
    _draw(client, "pass")
    page = client.get("/widget/offices/amt/status")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="de">' in html and "<script" not in html.lower()
    assert '<meta http-equiv="refresh" content="60">' in html
    assert '<th scope="col">Wartende Personen</th>' in html
    assert '<th scope="row">Reisepass beantragen</th>' in html
    assert "Jetzt geöffnet bis" in html and "etwa 30 Minuten" in html
    assert 'target="_top"' in html
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in csp and "script-src 'self'" in csp
    assert "X-Frame-Options" not in page.headers
    assert page.cache_control.public and "Set-Cookie" not in page.headers
    english = client.get("/widget/offices/amt/status?lang=en")
    text = english.get_data(as_text=True)
    assert '<html lang="en">' in text and "People waiting" in text and "Open now until" in text
    assert "Set-Cookie" not in english.headers
    etag = english.headers["ETag"]
    assert client.get("/widget/offices/amt/status?lang=en",
                      headers={"If-None-Match": etag}).status_code == 304


def test_widget_of_every_office_and_unknown_office(client, ctx, floor):
    page = client.get("/widget/status?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<script" not in html.lower()
    assert "Waiting times in the citizen offices" in html
    assert "Bürgerbüro Nord" in html and "Bürgerbüro Teststadt" in html
    assert client.get("/widget/offices/nope/status").status_code == 404


def test_widget_frame_ancestors_setting(app, client, ctx, floor, monkeypatch):
    monkeypatch.setitem(app.config, "WIDGET_FRAME_ANCESTORS", "https://www.musterstadt.de")
    page = client.get("/widget/offices/amt/status")
    assert "frame-ancestors https://www.musterstadt.de;" in page.headers[
        "Content-Security-Policy"]
    # every other page still refuses to be framed
    other = client.get("/api/v1/offices/amt/status")
    assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"]
    assert other.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("value, expected", [
    (None, "*"), ("", "*"), ("https://www.musterstadt.de", "https://www.musterstadt.de"),
    ("'self'  https://*.musterstadt.de:443/portal/", "'self' https://*.musterstadt.de:443/portal/"),
    ("https:", "https:"),
])
def test_frame_ancestors_setting_accepts_source_lists(value, expected):
    assert frame_ancestors(value) == expected


@pytest.mark.parametrize("value", ["https://a.de; script-src *", "a.de,b.de", "'unsafe-inline'",
                                   "'none' https://a.de", "javascript:alert(1)"])
def test_frame_ancestors_setting_refuses_anything_else(value):
    with pytest.raises(ConfigError):
        frame_ancestors(value)
