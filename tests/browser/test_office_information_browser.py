"""axe-core finds nothing on the information pages, in German and English: an office's
page (with directions, accessibility facts, an OpenStreetMap link and a closure), the
imprint, the page in Leichte Sprache and the sign language page (with a video and its
captions, and without a video); the office editor in the back office with its new fields."""

from __future__ import annotations

import os
from datetime import UTC

import pytest

from booking.offices.models import Closure, Office
from tests.browser.support import html_lang, log_in, visit
from tests.factories import add_user, at, cheap_hashing, make_town, next_workday

pytestmark = pytest.mark.browser


@pytest.fixture(params=["de", "en"])
def lang(request):
    return request.param


@pytest.fixture
def a11y_page(new_page, lang):
    return new_page(locale="de-DE" if lang == "de" else "en-GB", bypass_csp=True)


@pytest.fixture
def town(ctx):
    office = make_town(ctx)
    office.transport_de = "Bus 30 bis Rathaus.\nVon dort zwei Minuten zu Fuß."
    office.transport_en = "Bus 30 to Rathaus.\nFrom there a two-minute walk."
    office.accessibility_de = "Aufzug am Seiteneingang."
    office.step_free = True
    office.latitude, office.longitude = 50.110924, 8.682127
    day = next_workday(5)
    ctx.add(Closure(office=office, starts_at=at(day, 8).astimezone(UTC),
                    ends_at=at(day, 10).astimezone(UTC), reason="Betriebsversammlung"))
    ctx.commit()
    ctx.rollback()


def test_office_page_and_imprint(a11y_page, lang, town):
    visit(a11y_page, "/offices/amt/", label="office page")
    assert html_lang(a11y_page) == lang
    assert a11y_page.locator("a.osm-link").count() == 1
    assert a11y_page.locator("iframe").count() == 0
    visit(a11y_page, "/impressum", label="imprint")


def test_easy_read_and_sign_language_pages(a11y_page, lang, app, monkeypatch):
    visit(a11y_page, "/leichte-sprache", label="Leichte Sprache")
    assert a11y_page.locator(".easy-read[lang=de]").count() == 1
    visit(a11y_page, "/gebaerdensprache", label="sign language, no video")
    assert a11y_page.locator("#no-video").count() == 1
    folder = os.path.join(app.instance_path, "dgs")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "video.webm"), "wb") as fh:
        fh.write(b"\x1aE\xdf\xa3" + bytes(64))  # not playable: the player shows its controls
    with open(os.path.join(folder, "video.vtt"), "w", encoding="utf-8") as fh:
        fh.write("WEBVTT\n\n00:00.000 --> 00:02.000\nWillkommen.\n")
    monkeypatch.setitem(app.config, "DGS_VIDEO", "dgs/video.webm")
    monkeypatch.setitem(app.config, "DGS_VIDEO_CAPTIONS", "dgs/video.vtt")
    visit(a11y_page, "/gebaerdensprache", label="sign language with video")
    assert a11y_page.locator("video[controls] track[kind=captions]").count() == 1
    assert a11y_page.locator("video[autoplay]").count() == 0


def test_office_editor_with_the_page_fields(a11y_page, lang, ctx, town, monkeypatch):
    cheap_hashing(monkeypatch)
    log_in(a11y_page, add_user(ctx, "manager", "amt"))
    visit(a11y_page, "/admin/offices/amt/", label="office settings")
    assert a11y_page.locator("#transport_de").input_value().startswith("Bus 30")
    assert ctx.get(Office, "amt").step_free is True
    ctx.rollback()
