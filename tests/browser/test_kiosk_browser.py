"""The kiosk and the ticket status page in a real browser: axe-core (WCAG 2.1 AA) on every
page and state, drawing a ticket by touch and by keyboard with the CSP enforced, the
print layout, the idle return to the start page, and a live update of the status page
through htmx's SSE extension."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from booking.db import utcnow
from booking.offices.models import Counter
from booking.queueing import counter_operations
from booking.queueing.models import Ticket
from tests.browser.support import (
    assert_accessible,
    assert_focus_visible,
    html_lang,
    real_console_errors,
    switch_language,
    tab_until,
)
from tests.factories import make_appointment

pytestmark = pytest.mark.browser

TICKET_PAGE = re.compile(r"/kiosk/amt/tickets/[\w-]+$")
START_PAGE = re.compile(r"/kiosk/amt\?lang=de$")


@pytest.fixture
def office(floor, ctx):
    ctx.rollback()
    return floor


def call_next(ctx, counter_name="1"):
    ctx.rollback()
    ticket = counter_operations.call_next(
        ctx.scalar(select(Counter).where(Counter.name == counter_name)), utcnow())
    ctx.commit()
    return ticket


@pytest.mark.parametrize("lang", ["de", "en"])
def test_kiosk_pages_are_accessible(new_page, office, lang):
    page = new_page(bypass_csp=True)  # axe-core is injected inline
    page.goto("/kiosk/amt")
    if lang == "en":
        switch_language(page, "en")
    assert html_lang(page) == lang
    assert_accessible(page, "start")

    page.locator("button[name=service][value=pass]").click()
    expect(page).to_have_url(TICKET_PAGE)
    expect(page.locator("#ticket-number")).to_have_text("P001")
    assert_accessible(page, "ticket")

    page.goto("/kiosk/amt/checkin")
    page.locator("#code").fill("CDEF-4679")
    page.locator("form.kiosk-form button[type=submit]").click()
    expect(page.locator("#code")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, "check-in error")

    # a refusal on the start page (the day's contingent is used up is the same markup)
    page.goto("/kiosk/amt")
    page.evaluate("() => document.querySelector('button[value=pass]').value = 'nope'")
    page.locator("button[name=service][value=nope]").click()
    expect(page.locator("#kiosk-error")).to_be_visible()
    assert_accessible(page, "refusal")


def test_status_page_is_accessible_waiting_and_called(new_page, office, ctx):
    kiosk = new_page()
    kiosk.goto("/kiosk/amt")
    kiosk.locator("button[name=service][value=pass]").click()
    expect(kiosk).to_have_url(TICKET_PAGE)
    ticket_id = kiosk.url.rsplit("/", 1)[1]

    page = new_page(bypass_csp=True)
    page.goto(f"/tickets/{ticket_id}?lang=en")  # drawn in German
    expect(page.locator("#ticket-state")).to_have_text("Waiting")
    assert_accessible(page, "waiting")
    call_next(ctx)
    page.goto(f"/tickets/{ticket_id}?lang=en")
    expect(page.locator("#ticket-counter")).to_have_text("Please go to Counter 1.")
    assert_accessible(page, "called")


def test_status_page_updates_live(new_page, office, ctx):
    """The CSP is enforced: htmx and its SSE extension run as in production. The call
    reaches the open page without a reload (here through the stream's initial render on
    reconnection; the real broker pushes it at once)."""
    kiosk = new_page()
    kiosk.goto("/kiosk/amt")
    kiosk.locator("button[name=service][value=pass]").click()
    expect(kiosk).to_have_url(TICKET_PAGE)
    ticket_id = kiosk.url.rsplit("/", 1)[1]

    page = new_page()
    with page.expect_response(lambda r: "/events" in r.url):
        page.goto(f"/tickets/{ticket_id}?lang=en")
    expect(page.locator("#ticket-state")).to_have_text("Waiting")
    assert page.locator("#ticket-counter").count() == 0
    call_next(ctx)
    expect(page.locator("#ticket-counter")).to_have_text("Please go to Counter 1.",
                                                         timeout=30_000)
    expect(page.locator("#ticket-call")).to_have_attribute("aria-live", "assertive")
    # htmx-ext-sse logs the EventSource's "error" event whenever a stream ends (the
    # stand-in's after one render, the real one's at its lifetime cap); nothing else
    assert [e for e in real_console_errors(page) if e != "[object Event]"] == []


def test_draw_a_ticket_by_touch(new_page, office):
    page = new_page(has_touch=True, is_mobile=True, viewport={"width": 1080, "height": 1920})
    page.goto("/kiosk/amt")
    button = page.locator("button[name=service][value=melde]")
    box = button.bounding_box()
    assert box["height"] >= 48 and box["width"] >= 48
    button.tap()
    expect(page).to_have_url(TICKET_PAGE)
    expect(page.locator("#ticket-number")).to_have_text("M001")
    expect(page.locator("#print-ticket")).to_be_visible()  # kiosk.js shows it
    page.locator("#kiosk-done").tap()
    expect(page).to_have_url(START_PAGE)
    assert real_console_errors(page) == []


def test_draw_and_check_in_with_the_keyboard(new_page, office, ctx):
    from datetime import timedelta

    make_appointment(ctx, office, utcnow() + timedelta(minutes=5))
    page = new_page(locale="en-GB")
    page.goto("/kiosk/amt")
    info = tab_until(page, "el.name === 'service' && el.value === 'pass'")
    assert_focus_visible(info)
    page.keyboard.press("Enter")
    expect(page).to_have_url(TICKET_PAGE)
    expect(page.locator("#ticket-number")).to_have_text("P001")

    page.goto("/kiosk/amt")
    tab_until(page, "el.getAttribute('href') === '/kiosk/amt/checkin'")
    page.keyboard.press("Enter")
    expect(page.locator("#code")).to_be_focused()  # a hand scanner types into it
    page.keyboard.type("acde 3467")
    page.keyboard.press("Enter")
    expect(page).to_have_url(TICKET_PAGE)
    expect(page.locator("#ticket-number")).to_have_text("P002")
    assert real_console_errors(page) == []


def test_idle_returns_to_the_start_page(new_page, office):
    page = new_page(locale="en-GB")
    page.goto("/kiosk/amt")
    page.locator("button[name=service][value=pass]").click()
    expect(page).to_have_url(TICKET_PAGE)
    page.goto(page.url + "?idle=3")  # 30 s in production
    expect(page.locator("#idle-warning")).to_contain_text("Touch the screen to stay")
    expect(page).to_have_url(START_PAGE, timeout=15_000)
    assert html_lang(page) == "de"  # the next person starts in German


def test_ticket_prints_alone_on_80_mm(new_page, office):
    page = new_page()
    page.goto("/kiosk/amt")
    page.locator("button[name=service][value=pass]").click()
    expect(page).to_have_url(TICKET_PAGE)
    page.emulate_media(media="print")
    expect(page.locator(".kiosk-header")).to_be_hidden()
    expect(page.locator(".kiosk-actions")).to_be_hidden()
    expect(page.locator(".ticket-slip")).to_be_visible()
    width = page.evaluate("() => document.querySelector('.ticket-slip').getBoundingClientRect().width")
    assert abs(width - 80 * 96 / 25.4) < 2  # 80 mm at 96 CSS px per inch
    colour = page.evaluate("() => getComputedStyle(document.querySelector('.ticket-number')).color")
    assert colour == "rgb(0, 0, 0)"


def test_double_tap_sends_the_form_once(new_page, office, ctx):
    """kiosk.js lets a form's first submit through and stops any further one (a synthetic
    submit event does not navigate, so the page stays to be asked twice)."""
    page = new_page(has_touch=True)
    page.goto("/kiosk/amt")
    prevented = page.evaluate("""() => {
        const form = document.querySelector("form[action$='/tickets']");
        return [1, 2].map(() => {
            const event = new SubmitEvent("submit", {bubbles: true, cancelable: true});
            form.dispatchEvent(event);
            return event.defaultPrevented;
        });
    }""")
    assert prevented == [False, True]
    page.reload()  # a new page: the form can be sent again
    page.locator("button[name=service][value=pass]").tap()
    expect(page).to_have_url(TICKET_PAGE)
    expect(page.locator("#ticket-number")).to_have_text("P001")
    ctx.rollback()
    assert ctx.scalar(select(func.count()).select_from(Ticket)) == 1
    ctx.rollback()


def test_without_javascript(new_page, office):
    """Drawing works with plain forms, and the ticket page returns to the start by itself
    (a meta refresh inside <noscript>)."""
    page = new_page(java_script_enabled=False)
    page.goto("/kiosk/amt")
    page.locator("button[name=service][value=pass]").click()
    expect(page).to_have_url(TICKET_PAGE)
    expect(page.locator("#ticket-number")).to_have_text("P001")
    expect(page.locator("#print-ticket")).to_be_hidden()  # printing needs JavaScript
    page.goto(page.url + "?idle=1")
    expect(page).to_have_url(START_PAGE, timeout=15_000)


def test_reminder_form_by_keyboard_is_accessible(new_page, office, ctx):
    kiosk = new_page()
    for _ in range(5):  # four ahead of the last one
        kiosk.goto("/kiosk/amt")
        kiosk.locator("button[name=service][value=pass]").click()
        expect(kiosk).to_have_url(TICKET_PAGE)
    ticket_id = kiosk.url.rsplit("/", 1)[1]

    page = new_page(bypass_csp=True)
    page.goto(f"/tickets/{ticket_id}?lang=en")
    page.locator("#email").focus()
    page.keyboard.type("erika@")
    page.keyboard.press("Enter")
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_title(re.compile(r"^Error: Ticket P005"))
    assert_accessible(page, "reminder error")
    page.locator("#email").fill("")
    page.locator("#email").focus()
    page.keyboard.type("erika@example.org")
    page.keyboard.press("Enter")
    expect(page.get_by_text("We will send you an email when three people are ahead of you."))\
        .to_be_visible()
    assert_accessible(page, "reminder asked")
    ctx.rollback()
    assert ctx.get(Ticket, ticket_id).notify_email == "erika@example.org"
