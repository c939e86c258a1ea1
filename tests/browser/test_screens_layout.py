"""The walk-in screens at the sizes they are used at, in a real browser: the waiting-room
display on a 1920×1080 TV and on one turned on its side (1080×1920), the kiosk in portrait,
the counter screen and the day schedule on a 1280 px desktop; with long service names.
Layout is checked by assertions (no scrolling, everything of a region inside the
viewport, no broken codes); screenshots of each go to ``$SCREENSHOT_DIR`` (default: the
test session's temporary directory) for a person to look at."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from booking.db import utcnow
from booking.offices.models import Counter, Office, Service
from booking.queueing import arrivals, counter_operations
from tests.browser.support import log_in
from tests.factories import BERLIN, add_user, cheap_hashing, counter, passport_appointment

pytestmark = pytest.mark.browser

LONG_SERVICES = [  # (id, prefix, German name, English name)
    ("fuehrung", "F", "Beantragung eines Führungszeugnisses zur Vorlage bei einer Behörde",
     "Certificate of good conduct for submission to an authority"),
    ("melbe", "B", "Meldebescheinigung", "Certificate of registration"),
    ("kinder", "K", "Kinderreisepassverlängerung und Aktualisierung des Lichtbildes",
     "Extension of a child's passport and update of the photograph"),
    ("anwohner", "A", "Bewohnerparkausweisverlängerung", "Residents' parking permit renewal"),
    ("fund", "U", "Fundsachenabholung mit Eigentumsnachweis und Personalausweisvorlage",
     "Collecting lost property with proof of ownership and identity card"),
    ("steuer", "S", "Lohnsteuerermäßigungsantrag", "Application for an income tax reduction"),
]

INSIDE = """(selector) => {
    const w = innerWidth, h = innerHeight;
    return [...document.querySelectorAll(selector)].filter(el => {
        const r = el.getBoundingClientRect();
        return !(r.left >= -0.5 && r.top >= -0.5 && r.right <= w + 0.5 && r.bottom <= h + 0.5
                 && r.width > 0 && r.height > 0);
    }).map(el => el.outerHTML.slice(0, 120));
}"""

NO_SCROLL = """() => ({
    scrollWidth: document.documentElement.scrollWidth, scrollHeight: document.documentElement.scrollHeight,
    width: innerWidth, height: innerHeight})"""

BROKEN_WORDS = """(selector) => {
    // words laid out over more than one line (this Chromium has no hyphenation dictionary,
    // so any such break is a break without a hyphen)
    const broken = [];
    for (const el of document.querySelectorAll(selector)) {
        const text = el.firstChild;
        if (!text || text.nodeType !== Node.TEXT_NODE) continue;
        const re = /\\S+/g;
        let m;
        while ((m = re.exec(text.data))) {
            const range = document.createRange();
            range.setStart(text, m.index);
            range.setEnd(text, m.index + m[0].length);
            const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
            if (tops.size > 1) broken.push(m[0]);
        }
    }
    return broken;
}"""


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    cheap_hashing(monkeypatch)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {folder}")
    return folder


def shot(page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"))


@pytest.fixture
def busy_floor(ctx, floor):
    """'amt' with six more services with long names, six counters (labels 1–6) all with a
    called ticket, six finished calls and tickets waiting for every service."""
    office = ctx.get(Office, "amt")
    for position, (sid, prefix, de, en) in enumerate(LONG_SERVICES, start=3):
        office.services.append(Service(id=sid, position=position, name_de=de, name_en=en,
                                       queue_prefix=prefix, duration_minutes=15))
    ctx.flush()
    services = list(office.services)
    for c in office.counters:
        c.services = services
    for label in ("3", "4", "5", "6"):
        office.counters.append(Counter(name=label, services=services))
    ctx.commit()
    now = utcnow()
    for round_ in range(3):
        for service in services:
            arrivals.draw_ticket(office, service.id, now + timedelta(seconds=round_))
    ctx.commit()
    labels = ("1", "2", "3", "4", "5", "6")
    for label in labels:  # six calls, finished: the last calls
        desk = counter(ctx, label)
        counter_operations.finish(counter_operations.call_next(desk, now), now)
    for label in labels:  # six current calls
        counter_operations.call_next(counter(ctx, label), now)
    ctx.commit()
    ctx.rollback()
    return office


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)], ids=["landscape", "portrait"])
@pytest.mark.parametrize("lang", ["de", "en"])
def test_display_fits_the_tv_and_shows_the_offices_time(new_page, busy_floor, screenshots,
                                                         size, lang):
    width, height = size
    page = new_page(viewport={"width": width, "height": height},
                    timezone_id="America/New_York", locale="de-DE" if lang == "de" else "en-GB")
    page.clock.install(time=datetime.now(UTC))  # the run's clock (tests/clock.py), ticking
    page.goto(f"/offices/amt/display?lang={lang}")
    expect(page.locator("#calls .call")).to_have_count(6)
    expect(page.locator("#calls .recent li")).to_have_count(6)
    # the button shows until sound is allowed; make sure its place is on the screen
    page.evaluate("() => { document.getElementById('sound-on').hidden = false; }")
    shot(page, screenshots, f"display-{lang}-{width}x{height}")

    extent = page.evaluate(NO_SCROLL)
    assert extent["scrollWidth"] <= width and extent["scrollHeight"] <= height, extent
    for selector in ("#waiting h2", "#waiting th", "#waiting td", "#sound-on", "#clock",
                     "#calls .call", "#calls .recent li", ".board-header h1"):
        assert page.evaluate(INSIDE, selector) == [], f"{selector} off screen at {size}"
    assert page.locator("#waiting tbody tr").count() == 8
    names = page.locator("#waiting .service-name")
    assert names.first.evaluate("el => getComputedStyle(el).hyphens") == "auto"
    assert page.evaluate("() => document.documentElement.lang") == lang
    assert page.evaluate(BROKEN_WORDS, "#waiting .service-name, #waiting thead th") == []
    # long names take at most two lines (then an ellipsis), so every row stays readable
    line_height = names.first.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)")
    for box in names.evaluate_all("els => els.map(el => el.getBoundingClientRect().height)"):
        assert box <= 2 * line_height + 1
    # at a distance: the newest call's number is large
    newest = page.locator("#calls .call-newest .number")
    assert newest.evaluate("el => parseFloat(getComputedStyle(el).fontSize)") >= 70

    # the office's wall clock (Europe/Berlin), not the screen computer's (New York)
    # (the page ticks once a second: at a minute's turn it may still show the last one)
    before = (datetime.now(ZoneInfo(BERLIN)) - timedelta(seconds=2)).strftime("%H:%M")
    shown = page.locator("#clock").inner_text()
    after = datetime.now(ZoneInfo(BERLIN)).strftime("%H:%M")
    assert shown in (before, after), (shown, before, after)
    assert page.evaluate("() => new Date().getTimezoneOffset()") != \
        -datetime.now(ZoneInfo(BERLIN)).utcoffset().total_seconds() / 60  # the test's premise


def test_kiosk_in_portrait_uses_the_screen_and_breaks_no_word(new_page, ctx, floor,
                                                              screenshots):
    office = ctx.get(Office, "amt")
    for position, (sid, prefix, de, en) in enumerate(LONG_SERVICES[:4], start=3):
        office.services.append(Service(id=sid, position=position, name_de=de, name_en=en,
                                       queue_prefix=prefix, duration_minutes=15))
    ctx.commit()
    ctx.rollback()
    page = new_page(viewport={"width": 1080, "height": 1920})
    page.goto("/kiosk/amt")
    shot(page, screenshots, "kiosk-start-de-1080x1920")
    assert page.evaluate("() => document.documentElement.lang") == "de"
    extent = page.evaluate(NO_SCROLL)
    assert extent["scrollWidth"] <= 1080 and extent["scrollHeight"] <= 1920, extent
    names = page.locator(".kiosk-service-name")
    assert names.count() == 6
    assert names.first.evaluate("el => getComputedStyle(el).hyphens") == "auto"
    assert page.evaluate(BROKEN_WORDS, ".kiosk-service-name") == []
    # large text, and the buttons fill the height (the last of the secondary buttons, the
    # check-in and the assistant, ends near the bottom)
    assert names.first.evaluate("el => parseFloat(getComputedStyle(el).fontSize)") >= 40
    bottom = page.locator(".kiosk-checkin .kiosk-button").last.evaluate(
        "el => el.getBoundingClientRect().bottom")
    assert bottom >= 0.85 * 1920, bottom
    assert page.evaluate(INSIDE, ".kiosk-service") == []

    page.locator("button.kiosk-service[value='melbe']").click()
    expect(page.locator("#ticket-number")).to_have_text("B001")
    shot(page, screenshots, "kiosk-ticket-de-1080x1920")
    extent = page.evaluate(NO_SCROLL)
    assert extent["scrollWidth"] <= 1080, extent


def test_counter_screen_at_1280_shows_the_whole_waiting_table(new_page, ctx, busy_floor,
                                                              screenshots):
    now = utcnow()
    appointment = passport_appointment(ctx, busy_floor, now + timedelta(minutes=5))
    appointment.name = "Maximiliane Mustermann-Schnabelhuber"
    ctx.commit()
    arrivals.check_in(busy_floor, appointment, now)
    ctx.commit()
    one = counter(ctx, "1")
    counter_operations.finish(counter_operations.get_active(one), now)
    ticket = counter_operations.call_next(one, now)  # the due appointment goes first
    assert ticket.appointment_id == appointment.id
    ctx.commit()
    clerk = add_user(ctx, "clerk", "amt")
    counter_id = one.id
    ctx.rollback()

    page = new_page(viewport={"width": 1280, "height": 900})
    log_in(page, clerk)
    page.goto(f"/counter/{counter_id}")
    expect(page.locator("#current-name")).to_have_text("Maximiliane Mustermann-Schnabelhuber")
    expect(page.locator("#current-code")).to_have_text(
        f"{appointment.code[:4]}-{appointment.code[4:]}")
    shot(page, screenshots, "counter-1280")
    extent = page.evaluate(NO_SCROLL)
    assert extent["scrollWidth"] <= 1280, extent
    region = page.locator("#waiting-list .table-scroll")
    sizes = region.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert sizes[0] <= sizes[1], f"the waiting table is clipped: {sizes}"
    # "pause" is refused while a ticket is active: marked so, with the reason
    pause = page.locator("#pause")
    expect(pause).to_have_attribute("aria-disabled", "true")
    expect(pause).to_have_accessible_description(
        "Schließen Sie zuerst die aktuelle Wartenummer ab oder stellen Sie sie zurück.")


def test_day_schedule_is_compact_and_keeps_codes_whole(new_page, ctx, floor, screenshots):
    from tests.factories import next_workday

    day = next_workday()
    tz = ZoneInfo(BERLIN)
    for i in range(7):
        start = datetime.combine(day, datetime.min.time(), tz).replace(hour=8) + \
            timedelta(minutes=30 * i)
        passport_appointment(ctx, floor, start.astimezone(ZoneInfo("UTC")))
    ctx.commit()
    clerk = add_user(ctx, "clerk", "amt")
    ctx.rollback()
    page = new_page(viewport={"width": 1280, "height": 900})
    log_in(page, clerk)
    page.goto(f"/staff/offices/amt/schedule?date={day}")
    rows = page.locator("table.schedule tbody tr")
    expect(rows).to_have_count(7)
    shot(page, screenshots, "schedule-1280")
    extent = page.evaluate(NO_SCROLL)
    assert extent["scrollWidth"] <= 1280, extent
    table_height = page.locator("table.schedule").evaluate("el => el.getBoundingClientRect().height")
    assert table_height <= 7 * 70 + 60, table_height  # one line of buttons per row
    codes = page.locator("table.schedule td.code")
    assert codes.first.evaluate("el => getComputedStyle(el).whiteSpace") == "nowrap"
    assert page.evaluate(BROKEN_WORDS, "table.schedule td.code a") == []
