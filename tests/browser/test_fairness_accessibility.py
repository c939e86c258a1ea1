"""axe-core finds nothing on the pages of fair access, in German and English: the waitlist
form (empty and with errors) and a wish, the page that confirms a held booking (double
opt-in), a lottery's entry form (empty and with errors) and the page that confirms an
entry, and the back office's lotteries and portal keys (with a key just issued)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from booking.db import utcnow
from booking.fairness import lottery
from booking.offices.models import Office, Service
from booking.scheduling import operations, visits
from booking.waitlist.wishes import ALL_DAY, Wish, register_wish
from tests.browser.support import html_lang, log_in, main_button, post_and_check, visit
from tests.factories import at, cheap_hashing, make_town, next_workday, open_lottery

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
def a11y_page(new_page, lang):
    """A browser asking for ``lang`` (Accept-Language), axe injectable (CSP bypassed)."""
    return new_page(locale="de-DE" if lang == "de" else "en-GB", bypass_csp=True)


def test_waitlist_pages(a11y_page, lang, ctx, town):
    page = a11y_page
    visit(page, "/services/pass/waitlist", label="waitlist form")
    assert html_lang(page) == lang
    page.fill("#persons", "0")
    post_and_check(page, main_button(page, "/services/pass/waitlist"), 422,
                   "waitlist form with errors")
    assert page.locator("#persons[aria-invalid=true]").count() == 1
    wish, token = register_wish(Wish(ctx.get(Service, "pass"), [ctx.get(Office, "amt")],
                                     "12345", *ALL_DAY, next_workday(10), "Wanda Wartend",
                                     "wanda@example.org", lang, persons=3), utcnow())
    ctx.commit()
    visit(page, f"/waitlist/wishes/{wish.id}/{token}", label="a wish for three persons")
    assert "× 3" in page.locator("main dl.summary").inner_text()


def test_the_page_that_confirms_a_held_booking(a11y_page, lang, ctx, town):
    now = utcnow()
    appointment, token = operations.book_appointment(
        ctx.get(Office, "amt"), visits.single(ctx.get(Service, "pass")), at(next_workday(), 9),
        operations.Citizen("Anna Muster", "anna@example.org", language=lang), now,
        hold_until=now + timedelta(minutes=30))
    code = appointment.code
    ctx.commit()
    visit(a11y_page, f"/manage/{code}/{token}/confirm", label="confirm a held booking")


def test_lottery_pages(a11y_page, lang, ctx, town, monkeypatch):
    cheap_hashing(monkeypatch)
    page, now = a11y_page, utcnow()
    announced = open_lottery(ctx)
    path = f"/lotteries/{announced.id}/"
    visit(page, path, label="lottery entry form")
    post_and_check(page, main_button(page, path), 422, "lottery entry form with errors")
    _, token = lottery.enter(announced, "Lotte Losfee", "lotte@example.org", lang, ["amt"],
                             [1, 2, 3, 4, 5], ["morning"], now)
    ctx.commit()
    visit(page, f"/lottery-entries/{token}", label="confirm a lottery entry")

    log_in(page, "admin@teststadt.example")
    visit(page, "/admin/lotteries/", label="lotteries in the back office")
    visit(page, "/admin/offices/amt/portal-keys/", label="portal keys")
    page.fill("main form[action$='/portal-keys/'] input[type=text]", "Stadtportal")
    post_and_check(page, main_button(page, "/portal-keys/"), 200, "a portal key just issued")
