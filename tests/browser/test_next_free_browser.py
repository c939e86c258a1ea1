"""The next free appointment in any office on a service's page: axe-core finds nothing, in
German and English, without a filter, with one chosen by keyboard and sent without script
help (a plain GET form), for a family (persons and a further service typed in the
opened details), and with a bad filter or a bad number of persons (422, the fields
marked)."""

from __future__ import annotations

from datetime import date, time

import pytest

from booking.offices.models import AvailabilityRule, Office, Service
from tests.browser.support import html_lang, visit
from tests.factories import make_town

pytestmark = pytest.mark.browser


@pytest.fixture
def town(ctx):
    make_town(ctx)
    nord = Office(id="nord", name="Bürgerbüro Nord", address="Nordweg 2, 12345 Teststadt",
                  district="Nordstadt", email="nord@teststadt.example",
                  timezone="Europe/Berlin", state="HE", services=[ctx.get(Service, "pass")])
    ctx.add_all([nord, AvailabilityRule(office=nord, weekdays="24", start_time=time(14),
                                        end_time=time(19), valid_from=date(2020, 1, 1),
                                        capacity=1)])
    ctx.commit()


@pytest.fixture(params=["de", "en"])
def lang(request):
    return request.param


@pytest.fixture
def a11y_page(new_page, lang):
    return new_page(locale="de-DE" if lang == "de" else "en-GB", bypass_csp=True)


def test_next_free_appointment(a11y_page, lang, town):
    page = a11y_page
    visit(page, "/services/pass", label="service page with the next free appointments")
    assert html_lang(page) == lang
    assert page.locator("table.next-free-table tbody tr").count() == 2
    # the filter by keyboard: Thursday, evenings; sent with Enter on the button
    page.locator("#next-free-weekday-4").check()
    page.locator("#next-free-time-evening").check()
    with page.expect_navigation() as navigation:
        page.locator(".next-free-filter button[type=submit]").press("Enter")
    assert navigation.value.status == 200
    assert "weekday=4" in page.url and "time=evening" in page.url
    visit(page, page.url.split("#")[0], label="next free appointments, filtered")
    first = page.locator("table.next-free-table tbody tr").first
    assert "Nordstadt" in first.inner_text()
    visit(page, "/services/pass?weekday=0", status=422, label="a bad filter")
    assert page.locator("#next-free-weekdays[aria-describedby=next-free-error]").count() == 1
    # a family: three passports and a registration; nord offers no registration
    visit(page, "/services/pass", label="service page")
    page.locator("#visit summary").press("Enter")  # opens the details by keyboard
    page.locator("#visit-persons").fill("3")
    page.locator("#visit-also-melde").fill("1")
    with page.expect_navigation() as navigation:
        page.locator(".next-free-filter button[type=submit]").press("Enter")
    assert navigation.value.status == 200
    assert "persons=3" in page.url and "also-melde=1" in page.url
    visit(page, page.url.split("#")[0], label="next free appointments for a family")
    assert page.locator("table.next-free-table tbody tr").count() == 1
    assert "persons=3" in page.locator(".next-free-earliest a").get_attribute("href")
    visit(page, "/services/pass?persons=0", status=422, label="a bad number of persons")
    assert page.locator("#visit-persons[aria-invalid=true]").count() == 1


def test_on_a_phone_the_caption_stays_in_view(new_page, town):
    """The table scrolls sideways in its region on a narrow screen; its caption (which
    names the visit) wraps within the screen instead of scrolling out of it."""
    page = new_page(locale="en-GB")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/services/pass?persons=3&also-melde=1")
    region = page.locator(".table-scroll")
    assert region.evaluate("el => el.scrollWidth > el.clientWidth")  # it does scroll
    box = page.locator("#next-free-caption").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    region.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    moved = page.locator("#next-free-caption").bounding_box()
    assert abs(moved["x"] - box["x"]) < 1  # scrolling the table leaves the caption in place
