"""axe-core (WCAG 2.0/2.1 A + AA) finds nothing on any citizen page, in German and English.

BITV 2.0 refers to EN 301 549, i.e. WCAG 2.1 AA. axe cannot judge everything (it cannot
tell whether focus order makes sense, for one); test_keyboard.py covers operation.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser.support import (
    CALENDAR,
    MANAGE_URL,
    assert_accessible,
    html_lang,
    switch_language,
    wait_for_focus,
)
from tests.factories import FAMILY_TOKEN, at, family_appointment, local_iso, make_town, next_workday

pytestmark = pytest.mark.browser


@pytest.fixture
def town(ctx):
    office = make_town(ctx)
    ctx.rollback()
    return office


@pytest.fixture(params=["de", "en"])
def lang(request):
    return request.param


@pytest.fixture
def a11y_page(new_page, town, lang):
    """A German browser (Accept-Language de-DE); for 'en' the header's switch is used.
    axe-core is injected inline, so this context bypasses the CSP (test_keyboard.py runs
    with it enforced)."""
    page = new_page(bypass_csp=True)
    page.goto("/")
    assert html_lang(page) == "de"
    if lang == "en":
        switch_language(page, "en")
    assert html_lang(page) == lang
    return page


def book_start(day, hour=9, minute=0) -> str:
    return f"/offices/amt/services/pass/book?start={quote(local_iso(day, hour, minute))}"


def test_information_pages(a11y_page, lang):
    page = a11y_page
    for path in ["/", "/services/pass", "/services/melde", "/accessibility", "/privacy"]:
        response = page.goto(path)
        assert response.status == 200, path
        assert html_lang(page) == lang
        assert_accessible(page)


def test_not_found_page(a11y_page, lang):
    page = a11y_page
    for path in ["/no-such-page", "/services/nope", "/manage/AAAAAAAA/not-a-token"]:
        response = page.goto(path)
        assert response.status == 404
        assert html_lang(page) == lang
        assert page.locator("h1").count() == 1
        assert_accessible(page, "404")


def open_day(page, day) -> str:
    """Click ``day`` in the calendar (after 'next month' if needed); returns its hx-get URL."""
    link = page.locator(f"#booking-calendar a[hx-get$='day={day.isoformat()}']")
    if not link.count():
        page.locator("#booking-calendar a.month-next").click()
        wait_for_focus(page, "month-heading")
    href = link.get_attribute("hx-get")
    link.click()
    wait_for_focus(page, "times-heading")
    return href


def test_calendar_page_and_after_htmx_swaps(a11y_page, lang):
    page = a11y_page
    page.goto(CALENDAR)
    assert_accessible(page, "calendar")

    # the month of a day with free times, no day chosen yet
    day = next_workday()
    page.goto(f"{CALENDAR}?month={day:%Y-%m}")
    assert page.locator("#booking-calendar td.selected").count() == 0
    assert_accessible(page, "calendar without a chosen day")

    # a day with free times (htmx swaps the calendar in place, focus goes to the times)
    day_link = page.locator(f"#booking-calendar a[hx-get$='day={day.isoformat()}']")
    href = day_link.get_attribute("hx-get")
    day_link.click()
    wait_for_focus(page, "times-heading")
    assert page.url.endswith(href)  # pushed to the history
    assert page.locator("#booking-calendar td.free.selected a[aria-current=date]").count() == 1
    assert page.locator(".time-list a").count() > 0
    assert page.locator("header.site-header").count() == 1  # a fragment, not a whole page
    # the language switch was swapped out of band and keeps the chosen day
    assert "day=" in page.locator("#language-switch a").get_attribute("href")
    assert_accessible(page, "after choosing a day")

    # next month
    heading = page.locator("#month-heading").inner_text()
    page.locator("#booking-calendar a.month-next").click()
    wait_for_focus(page, "month-heading")
    assert page.locator("#month-heading").inner_text() != heading
    assert "month=" in page.url
    assert_accessible(page, "next month")

    # back: htmx keeps no history cache, so the browser loads the previous URL as a page
    with page.expect_event("load"):
        page.go_back()
    assert page.url.endswith(href)
    assert page.locator("#month-heading").inner_text() == heading
    assert page.locator("#booking-calendar").count() == 1
    assert page.locator("h1").count() == 1
    assert_accessible(page, "after going back")


def test_booking_form_empty_with_errors_and_confirmation(a11y_page, lang):
    page = a11y_page
    day = next_workday()
    assert page.goto(book_start(day)).status == 200
    assert_accessible(page, "empty form")

    title = page.title()
    page.locator("form button[type=submit]").click()
    page.wait_for_selector("#error-summary")
    assert page.title() != title and page.title().endswith(title)  # "Error: …"
    assert page.locator("[aria-invalid=true]").count() == 3  # name, email, privacy
    assert page.locator("#error-summary a").count() == 3
    assert page.evaluate("() => document.activeElement.id") == "error-summary"
    assert_accessible(page, "form with errors")

    page.fill("#email", "not-an-address")
    page.fill("#phone", "call me")
    page.locator("form button[type=submit]").click()
    page.wait_for_selector("#phone-error")
    assert page.locator("[aria-invalid=true]").count() == 4
    assert_accessible(page, "form with other errors")

    page.fill("#name", "Erika Mustermann")
    page.fill("#email", "erika@example.org")
    page.fill("#phone", "")
    page.check("#privacy")
    page.locator("form button[type=submit]").click()
    page.wait_for_url(MANAGE_URL)
    assert page.url.endswith("?new=1")
    assert page.locator("[data-status=confirmed]").count() == 1
    assert_accessible(page, "booking confirmation")


def test_manage_move_and_cancel_pages(a11y_page, lang, client):
    page = a11y_page
    day = next_workday()
    booked = client.post("/api/v1/appointments", json={
        "office": "amt", "service": "pass", "start": local_iso(day, 9),
        "name": "Erika Mustermann", "email": "erika@example.org"}).get_json()
    manage = f"/manage/{booked['code']}/{booked['manage_token']}"

    page.goto(manage)
    assert_accessible(page, "manage")

    page.locator(f"a[href='{manage}/move']").click()
    page.wait_for_url(re.compile(r"/move$"))
    assert_accessible(page, "move calendar")
    open_day(page, day)
    assert_accessible(page, "move calendar after choosing a day")

    page.locator(".time-list a").nth(5).click()
    page.wait_for_url(re.compile(r"/move/confirm\?start="))
    assert_accessible(page, "move confirmation")

    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(re.escape(manage) + "$"))
    assert page.locator(".notice-success").count() == 1
    assert_accessible(page, "manage after moving")

    page.locator("details.confirm-cancel summary").click()
    assert page.locator("details.confirm-cancel[open]").count() == 1
    assert_accessible(page, "cancel confirmation opened")
    page.locator("details.confirm-cancel button[type=submit]").click()
    page.wait_for_selector("[data-status=cancelled]")
    assert page.locator("details.confirm-cancel").count() == 0
    assert_accessible(page, "cancelled")


def test_manage_and_move_pages_of_an_appointment_for_several_services(a11y_page, lang, ctx):
    from datetime import UTC

    from booking.offices.models import Office

    page = a11y_page
    family_appointment(ctx, ctx.get(Office, "amt"), at(next_workday(3), 9).astimezone(UTC))
    ctx.rollback()
    manage = f"/manage/FAMY3467/{FAMILY_TOKEN}"
    page.goto(manage)
    assert page.locator("dd.persons").inner_text() == "4"
    assert_accessible(page, "manage, several services")
    page.goto(f"{manage}/move/confirm?start={quote(local_iso(next_workday(4), 9))}")
    assert page.locator("dd.persons").inner_text() == "4"
    assert_accessible(page, "move confirmation, several services")


def test_html_lang_is_german_by_default_and_english_after_switch(new_page, town):
    page = new_page()  # Accept-Language: de-DE
    page.goto("/")
    assert html_lang(page) == "de"
    switch = page.locator("#language-switch a")
    assert switch.get_attribute("lang") == "en" and switch.get_attribute("hreflang") == "en"
    switch_language(page, "en")
    assert html_lang(page) == "en"
    page.goto(CALENDAR)  # remembered for the session
    assert html_lang(page) == "en"
    switch_language(page, "de")
    assert html_lang(page) == "de"
    assert "/offices/amt/services/pass/" in page.url  # stays on the same page


def test_language_switch_on_a_form_shown_after_errors(new_page, town):
    """The form with errors is the answer to a POST; the switch must lead to the same form."""
    page = new_page()
    day = next_workday()
    page.goto(book_start(day))
    page.locator("form button[type=submit]").click()
    page.wait_for_selector("#error-summary")
    summary = page.locator("dl.summary").inner_text()
    with page.expect_response(lambda r: r.request.is_navigation_request()) as response:
        switch_language(page, "en")
    assert response.value.status == 200
    assert page.locator("form button[type=submit]").count() == 1
    assert page.locator("dl.summary").inner_text() != summary  # same time, now in English
    assert page.input_value("input[name=start]") == local_iso(day, 9)


@pytest.mark.parametrize("page", [{"locale": "en-GB"}], indirect=True)
def test_english_browser_gets_english(page, town):
    page.goto("/")
    assert html_lang(page) == "en"


@pytest.mark.parametrize("path", ["/", "/services/pass", CALENDAR, "book", "manage",
                                  "/accessibility", "/privacy"])
def test_no_horizontal_scrolling_at_320_css_pixels(new_page, town, client, path):
    """WCAG 1.4.10 Reflow: 320 CSS px wide (1280 px at 400 % zoom), no horizontal scrolling."""
    day = next_workday()
    if path == "book":
        path = book_start(day)
    elif path == "manage":
        booked = client.post("/api/v1/appointments", json={
            "office": "amt", "service": "pass", "start": local_iso(day, 9),
            "name": "Erika Mustermann", "email": "erika.mustermann@example.org"}).get_json()
        path = f"/manage/{booked['code']}/{booked['manage_token']}"
    page = new_page(viewport={"width": 320, "height": 640})
    page.goto(path)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{path} is {overflow}px wider than the viewport"


# ---------------------------------------------------------------- loading indicator


def test_a_slow_day_shows_and_announces_that_it_is_loading(page, town):
    held = []  # the htmx requests, answered only when the test says so (a slow network)

    def hold_htmx(route):
        if route.request.headers.get("hx-request"):
            held.append(route)
        else:
            route.continue_()

    page.route("**/offices/amt/services/pass/**", hold_htmx)
    day = next_workday()
    page.goto(f"{CALENDAR}?month={day:%Y-%m}")
    status = page.locator("#calendar-loading")
    expect(status).to_have_attribute("role", "status")
    expect(status.locator(".loading-text")).to_be_hidden()
    expect(status).to_have_text("", use_inner_text=True)  # nothing to announce yet

    page.locator(f"#booking-calendar a[hx-get$='day={day.isoformat()}']").click()
    expect(status.locator(".loading-text")).to_be_visible()
    expect(status).to_match_aria_snapshot("- status: Freie Termine werden geladen …")
    expect(page.locator("#booking-calendar")).to_have_attribute("aria-busy", "true")
    assert len(held) == 1

    held[0].continue_()
    expect(page.locator("#times-heading")).to_be_focused()
    expect(status.locator(".loading-text")).to_be_hidden()
    expect(page.locator("#booking-calendar")).not_to_have_attribute("aria-busy", "true")
    assert page.console_errors == []


def test_without_javascript_the_indicator_stays_out_of_the_way(new_page, town):
    page = new_page(java_script_enabled=False)
    day = next_workday()
    page.goto(f"{CALENDAR}?month={day:%Y-%m}")
    expect(page.locator("#calendar-loading .loading-text")).to_be_hidden()
    page.locator(f"#booking-calendar a[href*='day={day.isoformat()}']").click()
    page.wait_for_url(f"**day={day.isoformat()}#times-heading")
    expect(page.locator("#calendar-loading .loading-text")).to_be_hidden()
    expect(page.locator(".time-list a").first).to_be_visible()
