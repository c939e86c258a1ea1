"""The counter screen in a real browser: a clerk logs in, opens a counter, calls the next
ticket and finishes it by keyboard (htmx, Content-Security-Policy enforced, the focus
where the next step is); the same without JavaScript; axe-core on the chooser and on the
screen with a current ticket and people waiting, also after htmx swaps."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from booking.db import utcnow
from booking.offices.models import Counter, Office
from booking.queueing import arrivals, counter_operations
from booking.queueing.models import DONE, Ticket
from tests.browser.support import (
    assert_accessible,
    assert_focus_visible,
    html_lang,
    log_in,
    tab_until,
    wait_for_focus,
)
from tests.factories import add_user, cheap_hashing, counter

pytestmark = pytest.mark.browser

ENGLISH = {"locale": "en-GB"}


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    cheap_hashing(monkeypatch)


@pytest.fixture
def desk(ctx, floor):  # noqa: F811
    """Two tickets waiting (P001 pass, M002 melde); returns counter 1's id."""
    for service in ("pass", "melde"):
        arrivals.draw_ticket(ctx.get(Office, "amt"), service, utcnow())
    ctx.commit()
    counter_id = counter(ctx, "1").id
    ctx.rollback()
    return counter_id


def status_of(ctx, number: str) -> str:
    ctx.rollback()
    from sqlalchemy import select

    status = ctx.scalar(select(Ticket.status).where(Ticket.number == number))
    ctx.rollback()
    return status


def csp_errors(page) -> list[str]:
    return [text for text in page.console_errors if "Content Security Policy" in text]


@pytest.mark.parametrize("page", [ENGLISH], indirect=True)
def test_call_next_and_finish_by_keyboard(page, ctx, desk):
    log_in(page, add_user(ctx, "clerk", "amt"))
    page.locator("main a[href='/counter/']").click()
    page.wait_for_url(re.compile(r"/counter/$"))
    page.locator(f"main a[href='/counter/{desk}']").click()
    page.wait_for_url(re.compile(rf"/counter/{desk}$"))
    expect(page.locator("#waiting-count")).to_have_text("2 waiting")
    expect(page.locator("#waiting-list tbody tr")).to_have_count(2)
    page.evaluate("() => { window.samePage = true; }")  # gone if the page were reloaded

    info = tab_until(page, "el.id === 'call-next'")
    assert_focus_visible(info)
    page.keyboard.press("Enter")
    expect(page.locator("#current-ticket .ticket-big")).to_have_text("P001")
    expect(page.locator("#counter-message")).to_have_text("Ticket P001 is called.")
    expect(page.locator("#waiting-count")).to_have_text("1 waiting")
    wait_for_focus(page, "current-heading")  # the new ticket is read next
    expect(page.locator("#call-next")).to_have_attribute("aria-disabled", "true")
    assert status_of(ctx, "P001") == "called"

    info = tab_until(page, "el.id === 'finish'", max_presses=10)
    assert_focus_visible(info)
    page.keyboard.press("Enter")
    expect(page.locator("#counter-message")).to_have_text("Ticket P001 is finished.")
    expect(page.locator("#current-ticket")).to_contain_text("No ticket at this counter.")
    wait_for_focus(page, "call-next")  # ready for the next one
    assert page.evaluate("() => window.samePage === true")  # htmx swaps, no page loads
    assert status_of(ctx, "P001") == DONE
    assert csp_errors(page) == []


@pytest.mark.parametrize("page", [{**ENGLISH, "java_script_enabled": False}], indirect=True)
def test_without_javascript_the_forms_work(page, ctx, desk):
    log_in(page, add_user(ctx, "clerk", "amt"))
    page.goto(f"/counter/{desk}")
    page.locator("#call-next").click()
    page.wait_for_url(re.compile(rf"/counter/{desk}$"))
    expect(page.locator(".notice-success")).to_have_text("Ticket P001 is called.")
    expect(page.locator(".ticket-big")).to_have_text("P001")
    page.locator("#recall").focus()  # inside the cooldown: refused, with the reason
    page.keyboard.press("Enter")
    expect(page.locator("#counter-message .notice-error")).to_contain_text(
        "before calling again")
    page.select_option("#transfer-service", "melde")
    page.locator("#transfer").click()
    expect(page.locator(".notice-success")).to_have_text(
        "Ticket P001 waits again, now for Register your address.")
    assert status_of(ctx, "P001") == "waiting"


@pytest.fixture(params=["de", "en"])
def lang(request):
    return request.param


def test_counter_pages_are_accessible(new_page, lang, ctx, desk):
    page = new_page(locale="de-DE" if lang == "de" else "en-GB", bypass_csp=True)
    arrivals.draw_ticket(ctx.get(Office, "amt"), "pass", utcnow())  # P003
    ctx.commit()
    log_in(page, add_user(ctx, "clerk", "amt"))
    page.goto("/counter/")
    assert html_lang(page) == lang
    assert_accessible(page, "counter chooser")

    counter_operations.call_next(ctx.get(Counter, desk), utcnow())
    ctx.commit()
    ctx.rollback()
    page.goto(f"/counter/{desk}")
    expect(page.locator("#current-ticket .ticket-big")).to_have_text("P001")
    expect(page.locator("#waiting-list tbody tr")).to_have_count(2)
    assert_accessible(page, "counter screen: a current ticket, people waiting")

    page.locator("#recall").focus()  # refused (cooldown): the screen with the message
    page.keyboard.press("Enter")
    expect(page.locator("#counter-message .notice-error")).to_have_count(1)
    wait_for_focus(page, "recall")
    assert_accessible(page, "after an htmx swap: a refusal")
    page.locator("#start").click()
    expect(page.locator("#current-ticket [data-status=serving]")).to_have_count(1)
    wait_for_focus(page, "finish")
    assert_accessible(page, "after an htmx swap: being served")
    page.locator("#park").click()
    expect(page.locator(".parked-list li")).to_have_count(1)
    assert_accessible(page, "after an htmx swap: a parked ticket")


@pytest.mark.parametrize("page", [ENGLISH], indirect=True)
def test_live_updates_replace_the_list_and_keep_the_focus(page, ctx, desk):
    """The stream's events re-render the waiting list, its count and the current ticket."""
    log_in(page, add_user(ctx, "clerk", "amt"))
    page.goto(f"/counter/{desk}")
    expect(page.locator("#waiting-count")).to_have_text("2 waiting")
    page.locator("#call-next").focus()
    page.evaluate("() => { window.samePage = true; }")

    # elsewhere, through the server (SQLite: no second writer beside the live server):
    # the kiosk draws M003, another tab of this counter calls P001
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    drawn = page.request.post("/api/v1/offices/amt/tickets", data={"service": "melde"},
                              headers={"X-CSRFToken": token})
    assert drawn.status == 201 and drawn.json()["number"] == "M003"
    assert page.request.post(f"/counter/{desk}/call-next", form={"csrf_token": token},
                             max_redirects=0).status == 303
    expect(page.locator("#waiting-count")).to_have_text("2 waiting")
    expect(page.locator("#waiting-list tbody tr[data-ticket='M003']")).to_have_count(1)
    expect(page.locator("#waiting-list tbody tr[data-ticket='P001']")).to_have_count(0)
    expect(page.locator("#current-ticket .ticket-big")).to_have_text("P001")
    assert page.evaluate("() => document.activeElement.id") == "call-next"
    assert page.evaluate("() => window.samePage === true")
    assert page.locator("#waiting-count").get_attribute("role") == "status"
    # the buttons still show the old state while the keyboard is among them …
    expect(page.locator("#finish")).to_have_count(0)
    # … and follow the live update once it is not
    page.locator("main a[href='/counter/']").focus()
    expect(page.locator("#finish")).to_have_count(1)
    expect(page.locator("#call-next")).to_have_attribute("aria-disabled", "true")
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == "/counter/"
    assert csp_errors(page) == []
