"""The proof of work in Chromium: the ALTCHA widget (served by us, under the page's CSP)
solves the challenge and the booking goes through; it is reachable by keyboard, axe finds
nothing; without JavaScript the form books after the wait."""

from __future__ import annotations

import re
import threading
import time
from urllib.parse import quote

import pytest
from werkzeug.serving import make_server

from booking.fairness import MEASURES
from tests.browser.support import (
    MANAGE_URL,
    appointments,
    assert_accessible,
    assert_focus_visible,
    real_console_errors,
    switch_language,
    tab_until,
)
from tests.factories import local_iso, make_town, next_workday

pytestmark = pytest.mark.browser
NOJS_WAIT = 2


@pytest.fixture(scope="module")
def altcha_server(app, app_config):
    """An app with the proof of work on (a light one) on its own live server."""
    from booking import create_app
    from booking.db import db

    guarded = create_app({**app_config, "ANTI_ABUSE": True,
                          **{f"{name}_ENABLED": False for name in MEASURES},
                          "ALTCHA_ENABLED": True, "ALTCHA_COST": 50, "ALTCHA_MAX_NUMBER": 100,
                          "ALTCHA_NOJS_WAIT_SECONDS": NOJS_WAIT})
    server = make_server("127.0.0.1", 0, guarded, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="altcha-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        guarded.extensions["realtime"].stop()
        with guarded.app_context():
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def open_page(browser, altcha_server):
    contexts = []

    def opener(**options):
        context = browser.new_context(base_url=altcha_server, locale="de-DE",
                                      viewport={"width": 1280, "height": 900}, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.console_errors, page.requests = [], []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
        page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
        page.on("request", lambda request: page.requests.append(request.url))
        return page

    yield opener
    for context in contexts:
        context.close()


@pytest.fixture
def town(ctx):
    office = make_town(ctx)
    ctx.rollback()
    return office


def book_url(hour: int) -> str:
    return f"/offices/amt/services/pass/book?start={quote(local_iso(next_workday(), hour))}"


def wait_verified(page) -> None:
    page.wait_for_function(
        "() => (document.querySelector('altcha-widget input[name=altcha]') || {}).value")


def test_widget_solves_by_keyboard_and_the_booking_goes_through(open_page, town, ctx,
                                                                altcha_server):
    page = open_page()  # the page's CSP enforced: the widget must work under it
    page.goto(book_url(9))
    assert page.locator("altcha-widget .altcha").count() == 1
    info = tab_until(page, "el.id === 'name'")
    assert_focus_visible(info)
    page.keyboard.type("Max Müller")  # focus in the form starts the check
    tab_until(page, "el.id === 'email'")
    page.keyboard.type("max@example.org")
    tab_until(page, "el.id === 'privacy'")
    page.keyboard.press("Space")
    # the widget's check box comes next, with its label, and shows its focus
    box = tab_until(page, "el.closest('altcha-widget') && el.type === 'checkbox'")
    assert_focus_visible(box)
    label = page.evaluate("() => document.activeElement.labels[0].innerText")
    assert "Ich bin kein Roboter" in label or "Erledigt" in label or "geprüft" in label
    wait_verified(page)
    assert "Erledigt" in page.locator("altcha-widget").inner_text()
    tab_until(page, "el.type === 'submit'")
    page.keyboard.press("Enter")
    page.wait_for_url(MANAGE_URL)
    assert len(appointments(ctx)) == 1
    assert real_console_errors(page) == []
    assert all(url.startswith(altcha_server) or url.startswith(("data:", "blob:"))
               for url in page.requests), page.requests  # nothing from anyone else


def test_a_form_sent_before_the_check_is_done_waits_for_it(open_page, town, ctx):
    page = open_page()
    page.goto(book_url(10))
    page.fill("#name", "Erika Muster")
    page.fill("#email", "erika@example.org")
    page.check("#privacy")
    page.click("button[type=submit]")  # at once: the check is still running
    page.wait_for_url(MANAGE_URL)
    assert len(appointments(ctx)) == 1
    assert real_console_errors(page) == []


@pytest.mark.parametrize("lang", ["de", "en"])
def test_axe_finds_nothing_on_the_form_with_the_widget(open_page, town, lang):
    page = open_page(bypass_csp=True)  # axe-core is injected inline
    page.goto(book_url(9))
    if lang == "en":
        switch_language(page, "en")
        assert "Check against automated bookings" in page.content()
    assert_accessible(page, f"widget unsolved, {lang}")
    page.focus("#name")
    wait_verified(page)
    assert_accessible(page, f"widget verified, {lang}")
    page.click("button[type=submit]")  # the rest of the form is empty: errors shown
    page.wait_for_selector("#error-summary")
    assert_accessible(page, f"form errors, {lang}")


def test_without_javascript_the_form_books_after_the_wait(open_page, town, ctx):
    page = open_page(java_script_enabled=False)
    page.goto(book_url(11))
    assert re.search(r"Ohne JavaScript: bitte warten Sie nach dem Laden dieser Seite "
                     rf"{NOJS_WAIT} Sekunden", page.content())
    page.fill("#name", "Max Müller")
    page.fill("#email", "max@example.org")
    page.check("#privacy")
    page.click("button[type=submit]")  # too early
    page.wait_for_load_state()
    assert "Ohne JavaScript senden Sie das Formular bitte in" in page.content()
    assert appointments(ctx) == []
    time.sleep(NOJS_WAIT + 0.5)
    page.check("#privacy")
    page.click("button[type=submit]")
    page.wait_for_url(MANAGE_URL)
    assert len(appointments(ctx)) == 1
