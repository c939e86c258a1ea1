"""Statistics in the browser: axe-core finds nothing on the statistics page (with data
and with filter errors, on screen and as printed) and the live floor view, in German
and English; the export links are reached by keyboard; the floor view follows a ticket
drawn at the kiosk without a reload."""

from __future__ import annotations

import uuid
from datetime import UTC, date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.support import assert_accessible, html_lang, log_in, tab_until
from tests.factories import add_user, at, cheap_hashing, counter

pytestmark = pytest.mark.browser

D = date(2026, 11, 2)
QUERY = f"first={D.isoformat()}&last={(D + timedelta(days=13)).isoformat()}"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    cheap_hashing(monkeypatch)


@pytest.fixture(params=["de", "en"])
def lang(request):
    return request.param


def _tickets(ctx, counter_id: int) -> None:
    from booking.invitations.models import InvitationStat
    from booking.queueing.estimator_error import sum_all_offices
    from booking.queueing.models import Ticket

    for seq, (hour, wait) in enumerate([(8, 3), (8, 12), (9, 25), (10, 7), (11, 50)], 1):
        arrived = at(D, hour, 5).astimezone(UTC)
        called = arrived + timedelta(minutes=wait)
        ctx.add(Ticket(id=uuid.uuid4().hex, office_id="amt", service_id="pass", day=D,
                       seq=seq, number=f"P{seq:03d}", status="done", arrived_at=arrived,
                       called_at=called, started_at=called, counter_id=counter_id,
                       finished_at=called + timedelta(minutes=15)))
    ctx.add(InvitationStat(office_id="amt", service_id="pass", month=D.replace(day=1), sent=9,
                           booked=4, declined=1, opted_out=0))
    ctx.flush()
    assert sum_all_offices(at(D + timedelta(days=1), 6), D) == 1  # the day's estimates
    ctx.commit()


def test_statistics_page_is_accessible(new_page, lang, ctx, floor):
    _tickets(ctx, counter(ctx, "1").id)
    manager = add_user(ctx, "manager", "amt")
    ctx.rollback()
    page = new_page(locale="de-DE" if lang == "de" else "en-GB", bypass_csp=True)
    log_in(page, manager)
    response = page.goto(f"/admin/offices/amt/statistics/?{QUERY}&granularity=week")
    assert response.status == 200 and html_lang(page) == lang
    charts = page.locator("figure.chart img")
    assert charts.count() >= 4
    expect(page.locator("#table-estimates")).to_be_visible()
    assert page.locator("table:has(#table-estimates) tbody tr").count() >= 2
    assert page.locator("table:has(#table-invitations) tbody tr").count() == 1
    # every chart is a valid SVG document the browser draws (a broken one has no size)
    assert page.evaluate("() => [...document.querySelectorAll('figure.chart img')]"
                         ".every(img => img.complete && img.naturalWidth > 100)")
    assert_accessible(page, f"statistics {lang}")
    page.emulate_media(media="print")
    assert page.locator("form.stats-filter").is_hidden()
    assert_accessible(page, f"statistics printed {lang}")
    page.emulate_media(media="screen")
    # keyboard: from the filter's button onwards to the first export link
    page.locator("form.stats-filter button[type=submit]").focus()
    focused = tab_until(page, "el.matches('.exports a')", max_presses=20)
    assert "statistics/appointments.csv" in focused["href"]
    response = page.goto(f"/admin/offices/amt/statistics/?first={D.isoformat()}&last=2026-10-01")
    assert response.status == 422
    assert page.locator("#last[aria-invalid=true]").count() == 1
    assert_accessible(page, f"statistics with errors {lang}")


def test_live_floor_follows_the_kiosk(new_page, ctx, floor):
    counter(ctx, "1")
    manager = add_user(ctx, "manager", "amt")
    ctx.rollback()
    audit = new_page(bypass_csp=True)
    log_in(audit, manager)
    audit.goto("/admin/offices/amt/floor/")
    assert_accessible(audit, "floor view")

    page = new_page()
    log_in(page, manager)
    page.goto("/admin/offices/amt/floor/")
    expect(page.locator("#floor .floor-summary")).to_contain_text("0")
    page.evaluate("() => { window.samePage = true; }")
    kiosk = new_page()
    kiosk.goto("/kiosk/amt")
    kiosk.locator("button.kiosk-service[value='pass']").click()
    expect(kiosk.locator("#ticket-number")).to_have_text("P001")
    expect(page.locator("#floor tbody tr").first.locator("td").first).to_have_text("1")
    assert page.evaluate("() => window.samePage") is True  # swapped live, not reloaded
