"""Operation without a mouse (WCAG 2.1.1, 2.4.3, 2.4.7) and without JavaScript.

The keyboard test uses only Tab, Shift+Tab, Enter, Space and typing: no clicks. The page's
Content-Security-Policy is enforced (no ``bypass_csp``), so a blocked inline script or style
shows up as a console error.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from playwright.sync_api import expect

from tests.browser.support import (
    CALENDAR,
    MANAGE_URL,
    appointments,
    assert_focus_visible,
    focused,
    real_console_errors,
    tab_until,
    wait_for_focus,
)
from tests.factories import local_iso, make_town, next_workday

pytestmark = pytest.mark.browser

CONTROL = "el.matches('a[href], button, input, summary')"


@pytest.fixture
def town(ctx):
    office = make_town(ctx)
    ctx.rollback()
    return office


def at(day, hour, minute=0) -> datetime:
    return datetime.fromisoformat(local_iso(day, hour, minute))


def press_on(page, predicate: str, key: str = "Enter") -> dict:
    """Tab to the control matching ``predicate``, check its focus indicator, press ``key``."""
    info = tab_until(page, predicate)
    assert_focus_visible(info)
    page.keyboard.press(key)
    return info


def choose_day_and_time(page, day, time_text: str) -> None:
    """On a calendar page (fresh page load): go to ``day``'s month with the month links,
    open the day (htmx swap, focus moves to the times), then the time."""
    for _ in range(3):
        if page.locator(f"#booking-calendar a[hx-get*='day={day.isoformat()}']").count():
            break
        press_on(page, "el.matches('a.month-next')")
        wait_for_focus(page, "month-heading")  # htmx swapped the month, focus on its heading
    else:
        raise AssertionError(f"no link to {day} in the calendar")
    press_on(page, f"el.matches('a[hx-get*=\"day={day.isoformat()}\"]')")
    wait_for_focus(page, "times-heading")
    assert day.isoformat() in page.url  # the chosen day is in the address (htmx pushed it)
    # the first Tab after the heading lands on the first time
    first_time = tab_until(page, CONTROL, max_presses=1)
    assert first_time["text"].startswith(page.locator(".time-list a").first.inner_text()[:5])
    page.keyboard.press("Shift+Tab")
    press_on(page, f"el.closest('.time-list') && el.innerText.trim().startsWith('{time_text}')")


def test_book_move_and_cancel_with_the_keyboard_only(page, town, ctx):
    day = next_workday()
    page.goto("/")

    # the skip link comes first and is visible when focused
    skip = tab_until(page, CONTROL, max_presses=1)
    assert skip["href"] == "#main"
    assert_focus_visible(skip)
    assert page.locator(".skip-link").bounding_box()["x"] >= 0
    page.keyboard.press("Enter")
    wait_for_focus(page, "main")  # the skip link jumps over the header

    # catalogue → service → office calendar
    press_on(page, "el.matches('a[href=\"/services/pass\"]')")
    page.wait_for_url("**/services/pass")
    press_on(page, f"el.matches('a[href=\"{CALENDAR}\"]')")
    page.wait_for_url(f"**{CALENDAR}")

    # a day, a time
    choose_day_and_time(page, day, "09:00")
    page.wait_for_url(re.compile(r"/book\?start="))

    # the form: send it empty first, recover from the errors with the keyboard
    press_on(page, "el.matches('form button[type=submit]')")
    page.wait_for_url(re.compile(r"/book$"))
    wait_for_focus(page, "error-summary")  # focus moved to the error summary
    press_on(page, "el.matches('#error-summary a[href=\"#name\"]')")
    wait_for_focus(page, "name")
    assert appointments(ctx) == []
    page.keyboard.type("Erika Mustermann")
    assert_focus_visible(tab_until(page, "el.id === 'email'"))
    page.keyboard.type("erika@example.org")
    assert_focus_visible(tab_until(page, "el.id === 'privacy'"))
    page.keyboard.press("Space")
    assert focused(page)["checked"] is True
    press_on(page, "el.matches('form button[type=submit]')")
    page.wait_for_url(MANAGE_URL)

    code = MANAGE_URL.search(page.url)["code"]
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", page.locator(".code").inner_text().strip())
    assert page.locator(".code").inner_text().replace("-", "").strip() == code
    assert appointments(ctx) == [(code, "confirmed", at(day, 9))]
    manage = page.url.split("?")[0]

    # move: manage page → move calendar → another time → confirm
    press_on(page, "el.matches('a[href$=\"/move\"]')")
    page.wait_for_url(re.compile(r"/move$"))
    choose_day_and_time(page, day, "10:30")
    page.wait_for_url(re.compile(r"/move/confirm\?start="))
    assert appointments(ctx) == [(code, "confirmed", at(day, 9))]  # nothing moved yet
    press_on(page, "el.matches('form button[type=submit]')")
    page.wait_for_url(manage)
    assert appointments(ctx) == [(code, "confirmed", at(day, 10, 30))]

    # cancel: open the confirmation with Enter, confirm with Space
    press_on(page, "el.matches('details.confirm-cancel summary')")
    assert page.locator("details.confirm-cancel[open]").count() == 1
    assert appointments(ctx) == [(code, "confirmed", at(day, 10, 30))]
    press_on(page, "el.matches('details.confirm-cancel button[type=submit]')", "Space")
    page.wait_for_selector("[data-status=cancelled]")
    assert appointments(ctx) == [(code, "cancelled", at(day, 10, 30))]

    # Shift+Tab goes back through the page, too
    back = tab_until(page, "el.matches('a.skip-link')", backwards=True)
    assert_focus_visible(back)

    assert real_console_errors(page) == []  # e.g. no CSP violation


def test_focus_order_on_the_booking_form(page, town):
    """Tab order follows the visual order: back link, the office's page, fields, privacy
    link, checkbox, button."""
    day = next_workday()
    page.goto(f"/offices/amt/services/pass/book?start={local_iso(day, 9).replace('+', '%2B')}")
    info = tab_until(page, "el.closest('main')")
    order = []
    while True:
        assert_focus_visible(info)
        order.append(info["id"] or info["href"].split("?")[0])
        if info["tag"] == "button" or len(order) > 10:
            break
        page.keyboard.press("Tab")
        info = focused(page)
    assert order == [CALENDAR, "/offices/amt/", "name", "email", "phone", "/privacy", "privacy",
                     ""]
    assert info["tag"] == "button"
    assert real_console_errors(page) == []


def choose_without_javascript(page, day, time_text: str) -> None:
    if not page.locator(f"a[href*='day={day.isoformat()}']").count():
        page.locator("a.month-next").click()
        page.wait_for_url(re.compile(r"#month-heading$"))
    page.locator(f"a[href*='day={day.isoformat()}']").click()
    page.wait_for_url(re.compile(rf"day={day.isoformat()}#times-heading$"))
    page.locator(".time-list a", has_text=time_text).click()


def test_book_move_and_cancel_without_javascript(new_page, town, ctx):
    page = new_page(java_script_enabled=False)
    day = next_workday()
    page.goto("/")
    page.locator("a[href='/services/pass']").click()
    page.locator(f"a.button[href='{CALENDAR}']").click()  # (the next free times link there too)
    page.wait_for_url(f"**{CALENDAR}")
    assert page.evaluate("() => typeof window.htmx") == "undefined"  # no script ran

    # month navigation and days are plain links that load whole pages
    heading = page.locator("#month-heading").inner_text()
    page.locator("a.month-next").click()
    page.wait_for_url(re.compile(r"month=\d{4}-\d{2}#month-heading$"))
    expect(page.locator("#month-heading")).not_to_have_text(heading)
    page.locator("a.month-prev").click()
    expect(page.locator("#month-heading")).to_have_text(heading)
    choose_without_javascript(page, day, "09:00")
    page.wait_for_url(re.compile(r"/book\?start="))

    page.fill("#name", "Max Müller")
    page.fill("#email", "max@example.org")
    page.locator("form button[type=submit]").click()  # privacy not confirmed
    page.wait_for_selector("#error-summary")
    assert page.locator("#privacy[aria-invalid=true]").count() == 1
    assert page.input_value("#name") == "Max Müller"  # kept
    assert appointments(ctx) == []
    page.check("#privacy")
    page.locator("form button[type=submit]").click()
    page.wait_for_url(MANAGE_URL)
    code = MANAGE_URL.search(page.url)["code"]
    assert page.locator(".code").inner_text().replace("-", "").strip() == code
    assert appointments(ctx) == [(code, "confirmed", at(day, 9))]

    manage = page.url.split("?")[0]
    page.locator("a[href$='/move']").click()
    page.wait_for_url(re.compile(r"/move$"))
    choose_without_javascript(page, day, "11:00")
    page.wait_for_url(re.compile(r"/move/confirm\?start="))
    page.locator("form button[type=submit]").click()
    page.wait_for_url(manage)
    assert appointments(ctx) == [(code, "confirmed", at(day, 11))]

    page.locator("details.confirm-cancel summary").click()  # <details> needs no script
    page.locator("details.confirm-cancel button[type=submit]").click()
    page.wait_for_selector("[data-status=cancelled]")
    assert appointments(ctx) == [(code, "cancelled", at(day, 11))]


def test_calendar_falls_back_to_page_loads_when_htmx_requests_fail(page, town):
    """If a partial request fails (network, server error), the link loads as a whole page."""
    def fail_htmx(route):
        if route.request.headers.get("hx-request"):
            route.abort()
        else:
            route.continue_()

    page.route("**/offices/amt/services/pass/**", fail_htmx)
    day = next_workday().isoformat()
    page.goto(f"{CALENDAR}?month={day[:7]}")
    link = page.locator(f"#booking-calendar a[hx-get$='day={day}']")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"day={day}#times-heading$"))
    expect(page.locator("td.selected a[aria-current=date]")).to_have_attribute(
        "hx-get", re.compile(rf"day={day}$"))
    assert page.locator("header.site-header").count() == 1
