"""A family books one appointment for several services and persons in the browser: the
form on the service's calendar (a plain GET form in a <details>), the calendar of that
visit, the booking form and the manage page, each checked by axe-core in German and
English; the booked appointment holds its lines and their whole length."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from booking.scheduling.models import Appointment
from tests.browser.support import CALENDAR, MANAGE_URL, check, html_lang
from tests.factories import make_town, next_workday

pytestmark = pytest.mark.browser

SUMMARY = {"de": "Reisepass beantragen × 3, Wohnsitz anmelden",
           "en": "Apply for a passport × 3, Register your address"}


@pytest.fixture
def town(ctx):
    office = make_town(ctx)
    ctx.commit()
    return office


@pytest.fixture(params=["de", "en"])
def lang(request):
    return request.param


def test_a_family_books_several_services_in_one_appointment(new_page, lang, town, ctx):
    page = new_page(locale="de-DE" if lang == "de" else "en-GB", bypass_csp=True)
    day = next_workday()
    page.goto(f"{CALENDAR}?month={day.isoformat()[:7]}")
    assert html_lang(page) == lang
    check(page, "calendar with the visit form closed")

    page.locator("details.visit-form summary").click()
    page.fill("#visit-persons", "3")
    page.fill("#visit-also-melde", "1")
    with page.expect_navigation() as navigation:
        page.locator("details.visit-form button[type=submit]").press("Enter")
    assert navigation.value.status == 200
    assert "persons=3" in page.url and "also-melde=1" in page.url
    assert page.locator("details.visit-form[open]").count() == 1
    check(page, "calendar of the visit")

    page.locator(f"#booking-calendar a[href*='day={day.isoformat()}']").first.click()
    page.locator(".time-list a", has_text="09:00").first.click()
    page.wait_for_url(re.compile(r"/book\?"))
    assert SUMMARY[lang] in page.locator("main").inner_text()
    check(page, "booking form of the visit")

    page.fill("#name", "Familie Muster")
    page.fill("#email", "familie@example.org")
    page.check("#privacy")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(MANAGE_URL)
    assert SUMMARY[lang] in page.locator("main").inner_text()
    check(page, "manage page of the visit")

    ctx.rollback()
    appointment = ctx.query(Appointment).one()
    assert [(line.service_id, line.persons) for line in appointment.lines] == [
        ("pass", 3), ("melde", 1)]
    assert appointment.end_at - appointment.start_at == timedelta(minutes=105)
    ctx.rollback()
