"""The office floor in three browser windows: a ticket drawn at the kiosk is called at a
counter and the open waiting-room display follows live (Server-Sent Events, no reload);
axe-core on the display."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import assert_accessible, log_in
from tests.factories import add_user, cheap_hashing, counter

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    cheap_hashing(monkeypatch)


def test_kiosk_ticket_called_at_counter_appears_on_open_display(new_page, ctx, floor):
    counter_id = counter(ctx, "1").id
    clerk = add_user(ctx, "clerk", "amt")
    ctx.rollback()

    display = new_page()
    display.goto("/offices/amt/display")
    expect(display.locator("body")).to_have_attribute("data-live", "1")
    expect(display.locator("#calls .empty").first).to_be_visible()
    display.evaluate("() => { window.samePage = true; }")  # gone if the page reloaded
    audit = new_page(bypass_csp=True)  # axe-core is injected inline: its own window
    audit.goto("/offices/amt/display")
    assert_accessible(audit, "display, nobody called")

    kiosk = new_page()
    kiosk.goto("/kiosk/amt")
    kiosk.locator("button.kiosk-service[value='pass']").click()
    expect(kiosk.locator("#ticket-number")).to_have_text("P001")
    # the display's waiting count follows the draw
    expect(display.locator("#waiting .total")).to_have_text("1")

    desk = new_page()
    log_in(desk, clerk)
    desk.goto(f"/counter/{counter_id}")
    clicked_at = desk.evaluate("() => Date.now()")
    desk.locator("#call-next").click()

    newest = display.locator("#calls .call-newest")
    expect(newest.locator(".number")).to_have_text("P001")
    expect(newest.locator(".counter")).to_have_text("Schalter 1")
    seen_at = display.evaluate("() => Date.now()")
    assert display.evaluate("() => window.samePage") is True  # live, not reloaded
    # the page's call handling ran (gong, speech, announcement) for exactly this call
    key = newest.locator("xpath=..").get_attribute("data-newest")
    assert re.match(r"P001@Schalter 1@", key)
    expect(display.locator("body")).to_have_attribute("data-last-call", key)
    expect(display.locator("#announce")).to_contain_text("P001")
    expect(display.locator("#waiting .total")).to_have_text("0")
    print(f"call to display: {seen_at - clicked_at} ms (upper bound, includes polling)")
    assert [e for e in display.console_errors if "Content Security Policy" in e] == []
    audit.reload()
    expect(audit.locator("#calls .call-newest .number")).to_have_text("P001")
    assert_accessible(audit, "display with a call")

    # finishing moves the ticket to the last calls
    desk.locator("#finish").click()
    expect(display.locator("#calls .recent .number")).to_have_text("P001")
    expect(display.locator("#calls .empty").first).to_be_visible()
