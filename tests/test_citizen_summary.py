"""What the citizen pages say about an appointment and the calendar, through the test
client: end time and fee in every summary, the booking horizon, times as read aloud,
British dates in English, the loading indicator's markup."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date

from tests.factories import csrf_from, local_iso, make_town, next_workday

BERLIN = ZoneInfo("Europe/Berlin")
CALENDAR = "/offices/amt/services/pass/"
GERMAN = {}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


@pytest.fixture
def town(ctx):
    return make_town(ctx)


def text_of(html: str) -> str:
    """The page's text as read: tags dropped, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def summary(html: str) -> str:
    match = re.search(r'<dl class="summary">(.*?)</dl>', html, re.S)
    assert match, "no summary on the page"
    return text_of(match.group(1))


def book_via_form(client, start: str, headers: dict) -> str:
    form = client.get(f"{CALENDAR}book", query_string={"start": start}, headers=headers)
    assert form.status_code == 200
    response = client.post(f"{CALENDAR}book", headers=headers, data={
        "csrf_token": csrf_from(form.get_data(as_text=True)), "start": start,
        "name": "Max Müller", "email": "max@example.org", "phone": "", "privacy": "y"})
    assert response.status_code == 303
    return response.headers["Location"]


@pytest.mark.parametrize(("headers", "when", "fee"), [
    (GERMAN, "{day}, 09:00 bis 09:30 Uhr", "Gebühr 70,00 €"),
    (ENGLISH, "{day}, 09:00 to 09:30", "Fee €70.00"),
])
def test_review_confirmation_and_move_show_end_time_and_fee(client, town, headers, when, fee):
    day = next_workday()
    locale = "en_GB" if headers else "de_DE"
    when = when.format(day=format_date(day, "full", locale=locale))
    start = local_iso(day, 9)

    review = client.get(f"{CALENDAR}book", query_string={"start": start}, headers=headers)
    assert when in summary(review.get_data(as_text=True))
    assert fee in summary(review.get_data(as_text=True))

    manage = book_via_form(client, start, headers)
    confirmation = client.get(manage, headers=headers).get_data(as_text=True)
    assert when in summary(confirmation) and fee in summary(confirmation)

    base = manage.split("?")[0]
    move = client.get(f"{base}/move/confirm", query_string={"start": local_iso(day, 10)},
                      headers=headers).get_data(as_text=True)
    moved_to = when.replace("09:00", "10:00").replace("09:30", "10:30")
    assert when in summary(move) and moved_to in summary(move) and fee in summary(move)


def test_a_service_without_fee_says_so(client, town):
    start = local_iso(next_workday(), 9)
    review = client.get("/offices/amt/services/melde/book", query_string={"start": start})
    assert "Gebühr Gebührenfrei" in summary(review.get_data(as_text=True))


@pytest.fixture
def near_town(ctx):
    return make_town(ctx, horizon_days=20)


def _horizon_month(client, headers: dict) -> tuple[str, str]:
    last = datetime.now(UTC).astimezone(BERLIN).date() + timedelta(days=20)
    beyond = (last.replace(day=1) + timedelta(days=62)).strftime("%Y-%m")
    page = client.get(CALENDAR, query_string={"month": beyond}, headers=headers)
    assert page.status_code == 200
    return text_of(page.get_data(as_text=True)), format_date(
        last, "long", locale="en_GB" if headers else "de_DE")


def test_beyond_the_horizon_the_calendar_says_how_far_ahead_booking_is_possible(client,
                                                                               near_town):
    german, last = _horizon_month(client, GERMAN)
    assert f"Termine können bis zum {last} gebucht werden." in german
    assert "nächsten Monat" not in german and "Nächster Monat" not in german
    english, last = _horizon_month(client, ENGLISH)
    assert f"Appointments can be booked up to {last}." in english
    assert "next month" not in english.lower()


def test_the_last_bookable_month_names_the_last_day_too(client, near_town):
    last = datetime.now(UTC).astimezone(BERLIN).date() + timedelta(days=20)
    page = client.get(CALENDAR, query_string={"month": f"{last:%Y-%m}"})
    html = page.get_data(as_text=True)
    assert 'class="month-next"' not in html
    assert f"Termine können bis zum {format_date(last, 'long', locale='de_DE')}" in html


@pytest.mark.parametrize(("headers", "spoken"), [
    (GERMAN, '<span class="visually-hidden">09:00 Uhr</span>'),
    (ENGLISH, '<span class="visually-hidden">09:00</span>'),
])
def test_times_are_read_aloud_as_the_language_says_them(client, town, headers, spoken):
    day = next_workday()
    html = client.get(CALENDAR, query_string={"month": f"{day:%Y-%m}", "day": str(day)},
                      headers=headers).get_data(as_text=True)
    assert f'<span aria-hidden="true">09:00</span>{spoken}' in html
    assert "o'clock" not in html


@pytest.mark.parametrize("accept", ["en-GB,en;q=0.9", "en-US,en;q=0.9", "en"])
def test_english_dates_are_british(client, town, accept):
    """A German town's English pages: "Tuesday, 1 December 2026", whichever English."""
    day = next_workday()
    page = client.get(CALENDAR, query_string={"month": f"{day:%Y-%m}", "day": str(day)},
                      headers={"Accept-Language": accept})
    html = page.get_data(as_text=True)
    assert '<html lang="en">' in html
    british = f"{day:%A}, {day.day} {day:%B} {day.year}"
    assert f"Free times on {british}" in html
    assert f"{day:%B} {day.day}, {day.year}" not in html
    session = client.application.test_client()  # the English chosen with the switch
    chosen = session.get(f"{CALENDAR}?lang=en&month={day:%Y-%m}&day={day}").get_data(
        as_text=True)
    assert f"Free times on {british}" in chosen


def test_the_loading_indicator_is_a_status_outside_the_swapped_calendar(client, town):
    day = next_workday()
    url = f"{CALENDAR}?month={day:%Y-%m}&day={day}"
    full = client.get(url).get_data(as_text=True)
    status = re.search(r'<div id="calendar-loading"[^>]*>(.*?)</div>', full, re.S)
    assert status and 'role="status"' in status.group(0)
    assert "Freie Termine werden geladen" in status.group(1)
    assert full.index('id="calendar-loading"') < full.index('id="booking-calendar"')
    assert re.search(r'<div id="booking-calendar"[^>]*hx-indicator="#calendar-loading"', full)
    fragment = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="calendar-loading"' not in fragment  # the live region stays in place
