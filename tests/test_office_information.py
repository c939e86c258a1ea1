"""Issue 15, office information: the public office page (hours from the rules with the
closures and public holidays of the coming weeks, directions, accessibility, contact,
services), the links to it, the back office's fields for it; the imprint; the pages in
Leichte Sprache and German Sign Language; the footer links."""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import (
    OFFICE_DATA,
    book,
    csrf_from,
    local_iso,
    make_appointment,
    make_town,
    next_workday,
    plain_text,
)

BERLIN = ZoneInfo("Europe/Berlin")
# a Monday: the four weeks from here hold Christmas (Fri 25, Sat 26 Dec) and New Year's Day
FROZEN_NOW = datetime(2026, 12, 14, 9, 0, tzinfo=BERLIN).astimezone(UTC)


def _closure(ctx, day: date, start: int, end: int, reason: str, counter_id=None) -> None:
    from booking.offices.models import Closure

    ctx.add(Closure(office_id="amt", counter_id=counter_id, reason=reason,
                    starts_at=datetime.combine(day, time(start), tzinfo=BERLIN).astimezone(UTC),
                    ends_at=datetime.combine(day, time(end), tzinfo=BERLIN).astimezone(UTC)))
    ctx.commit()


def _set_office(ctx, **values) -> None:
    from booking.offices.models import Office

    office = ctx.get(Office, "amt")
    for key, value in values.items():
        setattr(office, key, value)
    ctx.commit()


@pytest.fixture
def frozen(monkeypatch):
    from booking.web.citizen import info

    monkeypatch.setattr(info, "utcnow", lambda: FROZEN_NOW)


# ---------------------------------------------------------------- pure: hours


def _rule(weekdays="12345", start=time(8), end=time(12), valid_from=date(2020, 1, 1),
          valid_until=None, rule_id=1):
    from booking.scheduling.slots import Rule

    return Rule(id=rule_id, weekdays=frozenset(int(d) for d in weekdays), start=start, end=end,
                valid_from=valid_from, valid_until=valid_until, capacity=1)


def test_weekly_hours_merge_the_rules_of_each_weekday():
    from booking.offices.hours import weekly_hours

    rules = [_rule("12345", time(8), time(12)), _rule("2", time(11), time(13), rule_id=2),
             _rule("4", time(14), time(18), rule_id=3)]
    week = weekly_hours(rules, BERLIN, date(2026, 12, 14))
    assert [w.number for w in week] == [1, 2, 3, 4, 5, 6, 7]
    assert week[0].periods == ((time(8), time(12)),)
    assert week[1].periods == ((time(8), time(13)),)  # overlapping rules merged
    assert week[3].periods == ((time(8), time(12)), (time(14), time(18)))
    assert week[5].periods == week[6].periods == ()


def test_deviations_name_holidays_closures_and_changed_rules():
    from booking.offices.hours import Closed, deviations

    today = date(2026, 12, 14)
    rules = [_rule("123456", valid_until=date(2026, 12, 31)),
             _rule("12345", time(9), time(15), valid_from=date(2027, 1, 1), rule_id=2)]
    closures = [
        Closed(datetime(2026, 12, 17, 9, tzinfo=BERLIN).astimezone(UTC),
               datetime(2026, 12, 17, 10, tzinfo=BERLIN).astimezone(UTC), "Betriebsversammlung"),
        # on a Sunday the office is closed anyway: no change
        Closed(datetime(2026, 12, 20, 9, tzinfo=BERLIN).astimezone(UTC),
               datetime(2026, 12, 20, 10, tzinfo=BERLIN).astimezone(UTC), "Sonntag"),
    ]
    holidays = {date(2026, 12, 25): "1. Weihnachtstag", date(2026, 12, 27): "Sunday"}
    found = {d.day: d for d in deviations(rules, closures, holidays, BERLIN, today, 28)}
    assert found[date(2026, 12, 17)].periods == ((time(8), time(9)), (time(10), time(12)))
    assert found[date(2026, 12, 17)].closures == ("Betriebsversammlung",)
    assert found[date(2026, 12, 25)].periods == ()
    assert found[date(2026, 12, 25)].holiday == "1. Weihnachtstag"
    assert date(2026, 12, 20) not in found and date(2026, 12, 27) not in found
    # from January the new rule: other hours on weekdays, Saturdays closed
    assert found[date(2027, 1, 4)].periods == ((time(9), time(15)),)
    assert found[date(2027, 1, 2)].periods == ()
    assert date(2026, 12, 21) not in found
    assert max(found) <= date(2027, 1, 10)


# ---------------------------------------------------------------- the office page


def test_office_page_shows_hours_closures_and_holidays(ctx, client, frozen):
    make_town(ctx)  # Mon–Sat 08–12, Hessen
    _closure(ctx, date(2026, 12, 17), 9, 10, "Betriebsversammlung")
    _closure(ctx, date(2026, 12, 18), 8, 12, "Schalter defekt",
             counter_id=None)
    response = client.get("/offices/amt/")
    assert response.status_code == 200
    text = plain_text(response.get_data(as_text=True))
    assert "Markt 1, 12345 Teststadt" in text and "+49 1234 5678" in text
    assert "amt@teststadt.example" in text
    assert "Montag 08:00 bis 12:00 Uhr" in text
    assert "Samstag 08:00 bis 12:00 Uhr" in text and "Sonntag geschlossen" in text
    assert ("Donnerstag, 17. Dezember 2026: geöffnet 08:00 bis 09:00 Uhr, 10:00 bis 12:00 Uhr "
            "(Betriebsversammlung)") in text
    assert "Freitag, 18. Dezember 2026: geschlossen (Schalter defekt)" in text
    assert "Freitag, 25. Dezember 2026: geschlossen (Feiertag: Erster Weihnachtstag)" in text
    assert "Samstag, 26. Dezember 2026: geschlossen (Feiertag: Zweiter Weihnachtstag)" in text
    assert "Freitag, 1. Januar 2027: geschlossen (Feiertag: Neujahr)" in text
    assert "Montag, 21. Dezember 2026" not in text  # an ordinary day
    english = plain_text(client.get("/offices/amt/?lang=en").get_data(as_text=True))
    assert "Friday, 25 December 2026: closed (public holiday: Christmas Day)" in english
    assert "Monday 08:00 to 12:00" in english


def test_a_counter_closure_leaves_the_office_open(ctx, client, frozen):
    from booking.offices.models import Counter

    make_town(ctx)
    counter = Counter(office_id="amt", name="1")
    ctx.add(counter)
    ctx.commit()
    _closure(ctx, date(2026, 12, 17), 8, 12, "Schulung", counter_id=counter.id)
    text = plain_text(client.get("/offices/amt/").get_data(as_text=True))
    assert "Schulung" not in text and "17. Dezember" not in text


def test_office_page_texts_in_german_and_english(ctx, client):
    make_town(ctx)
    _set_office(ctx, transport_de="Bus 30 bis Rathaus, zwei Minuten zu Fuß.",
                transport_en="Bus 30 to Rathaus, two minutes' walk.",
                accessibility_de="Aufzug am Seiteneingang.", accessibility_en="", step_free=True)
    german = plain_text(client.get("/offices/amt/").get_data(as_text=True))
    assert "Bus 30 bis Rathaus, zwei Minuten zu Fuß." in german
    assert "Aufzug am Seiteneingang." in german
    assert "Das Büro ist stufenlos erreichbar." in german
    english = plain_text(client.get("/offices/amt/?lang=en").get_data(as_text=True))
    assert "Bus 30 to Rathaus, two minutes' walk." in english and "Bus 30 bis" not in english
    assert "Aufzug am Seiteneingang." in english  # no English text: the German one
    assert "The office can be reached without steps." in english
    _set_office(ctx, step_free=False)
    assert "cannot be reached without steps" in client.get(
        "/offices/amt/?lang=en").get_data(as_text=True)


def test_office_page_lists_services_with_calendar_links(ctx, client):
    make_town(ctx)
    html = client.get("/offices/amt/").get_data(as_text=True)
    assert 'href="/offices/amt/services/pass/"' in html
    assert 'href="/offices/amt/services/melde/"' in html
    assert "Reisepass beantragen" in html
    assert client.get("/offices/nowhere/").status_code == 404


def test_osm_link_only_with_coordinates_and_nothing_loaded_from_elsewhere(ctx, client):
    make_town(ctx)
    html = client.get("/offices/amt/").get_data(as_text=True)
    assert "openstreetmap" not in html.lower()
    _set_office(ctx, latitude=50.110924, longitude=8.682127)
    html = client.get("/offices/amt/").get_data(as_text=True)
    assert ('href="https://www.openstreetmap.org/?mlat=50.110924&amp;mlon=8.682127'
            '#map=18/50.110924/8.682127"') in html
    # a plain link: no embedded map, nothing the browser fetches from another server
    assert "<iframe" not in html and "<embed" not in html and "<object" not in html
    sources = re.findall(r'\b(?:src|srcset|data)="([^"]*)"', html)
    sources += re.findall(r'<link[^>]*href="([^"]*)"', html)
    assert sources and all(s.startswith(("/", "data:")) for s in sources), sources


# ---------------------------------------------------------------- links to it


def test_calendar_booking_and_manage_pages_link_the_office(ctx, client):
    office = make_town(ctx)
    day = next_workday()
    link = 'href="/offices/amt/"'
    assert link in client.get("/services/pass").get_data(as_text=True)
    assert link in client.get("/offices/amt/services/pass/").get_data(as_text=True)
    assert link in client.get("/offices/amt/services/pass/book",
                              query_string={"start": local_iso(day, 10)}).get_data(as_text=True)
    make_appointment(ctx, office, datetime.combine(day, time(9), tzinfo=BERLIN))
    html = client.get("/manage/ACDE3467/manage-token-123").get_data(as_text=True)
    assert link in html


def test_appointment_email_links_the_office_page(ctx):
    from booking.calendars.ical import REQUEST
    from booking.db import utcnow
    from booking.notifications import appointment_mails
    from booking.scheduling.models import Appointment

    make_town(ctx)
    booked = book(ctx, "pass", next_workday(), 9)
    appointment = ctx.get(Appointment, booked.id)
    message = appointment_mails.render(
        appointment_mails.snapshot(appointment, "booked", REQUEST, utcnow(), token="tok"))
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Öffnungszeiten, Anfahrt und Barrierefreiheit: http://booking.test/offices/amt/?lang=de" \
        in text
    assert '<a href="http://booking.test/offices/amt/?lang=de">Bürgerbüro Teststadt</a>' in html
    ctx.rollback()


# ---------------------------------------------------------------- footer, imprint


@pytest.mark.parametrize("path", ["/", "/services/pass", "/offices/amt/",
                                  "/offices/amt/services/pass/", "/privacy", "/impressum",
                                  "/leichte-sprache", "/gebaerdensprache"])
def test_every_citizen_page_links_imprint_easy_read_and_sign_language(ctx, client, path):
    make_town(ctx)
    html = client.get(path).get_data(as_text=True)
    footer = html[html.index('<footer'):]
    assert 'href="/impressum"' in footer and ">Impressum<" in footer
    assert 'href="/leichte-sprache" lang="de"' in footer and ">Leichte Sprache<" in footer
    assert 'href="/gebaerdensprache"' in footer and ">Gebärdensprache<" in footer


def test_imprint_is_filled_from_the_settings(app, client, monkeypatch):
    for key, value in {"IMPRINT_PROVIDER": "Stadt Irgendwo", "IMPRINT_ADDRESS": "Rathausplatz 3",
                       "IMPRINT_REPRESENTATIVE": "Bürgermeister Hans Beispiel",
                       "IMPRINT_EMAIL": "post@irgendwo.example", "IMPRINT_PHONE": "+49 30 555",
                       "IMPRINT_VAT_ID": "DE123456789",
                       "IMPRINT_AUTHORITY": "Landratsamt Irgendwo"}.items():
        monkeypatch.setitem(app.config, key, value)
    text = plain_text(client.get("/impressum").get_data(as_text=True))
    for expected in ("Stadt Irgendwo Rathausplatz 3", "Vertreten durch Bürgermeister Hans Beispiel",
                     "post@irgendwo.example", "+49 30 555",
                     "Umsatzsteuer-Identifikationsnummer DE123456789",
                     "Aufsichtsbehörde Landratsamt Irgendwo"):
        assert expected in text
    monkeypatch.setitem(app.config, "IMPRINT_VAT_ID", "")
    monkeypatch.setitem(app.config, "IMPRINT_AUTHORITY", "")
    text = plain_text(client.get("/impressum?lang=en").get_data(as_text=True))
    assert "Imprint" in text and "Stadt Irgendwo" in text
    assert "VAT identification number" not in text and "Supervisory authority" not in text


def test_imprint_settings_default_to_the_controller(tmp_path):
    from booking.config import DEMO_CONTROLLER, load_config

    config = load_config(str(tmp_path), {})
    assert config["IMPRINT_PROVIDER"] == DEMO_CONTROLLER
    assert config["IMPRINT_VAT_ID"] == "" and config["DGS_VIDEO"] == ""
    config = load_config(str(tmp_path), {"PRIVACY_CONTROLLER": "Stadt A",
                                         "PRIVACY_CONTROLLER_ADDRESS": "Weg 1",
                                         "IMPRINT_AUTHORITY": ""})
    assert (config["IMPRINT_PROVIDER"], config["IMPRINT_ADDRESS"]) == ("Stadt A", "Weg 1")
    assert config["IMPRINT_AUTHORITY"] == ""


@pytest.mark.parametrize("provider, warned", [(None, True), ("Stadt Irgendwo", False)])
def test_production_warns_when_the_imprint_is_not_set(monkeypatch, caplog, tmp_path, provider,
                                                      warned):
    from booking import create_app

    monkeypatch.setenv("BOOKING_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/unused.db")
    monkeypatch.setenv("MAIL_SERVER", "mail.example")
    monkeypatch.delenv("PRIVACY_CONTROLLER", raising=False)
    if provider:
        monkeypatch.setenv("IMPRINT_PROVIDER", provider)
    else:
        monkeypatch.delenv("IMPRINT_PROVIDER", raising=False)
    with caplog.at_level(logging.WARNING):
        create_app()
    assert ("IMPRINT_PROVIDER is not set" in caplog.text) is warned
    assert "DGS_VIDEO is not set" in caplog.text


@pytest.mark.parametrize("name, value", [
    ("DGS_VIDEO", "../elsewhere/video.mp4"), ("DGS_VIDEO", "/etc/passwd"),
    ("DGS_VIDEO", "ftp://town.example/video.mp4"), ("DGS_VIDEO", "javascript:alert(1)"),
    ("DGS_VIDEO_CAPTIONS", "https://town.example/captions.vtt"),
])
def test_media_settings_outside_the_instance_folder_are_refused(tmp_path, name, value):
    from booking.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=name):
        load_config(str(tmp_path), {name: value})


# ---------------------------------------------------------------- Leichte Sprache, DGS


def test_easy_read_page_is_german_on_both_settings(client):
    german = client.get("/leichte-sprache").get_data(as_text=True)
    assert '<div class="easy-read" lang="de">' in german
    assert "So machen Sie einen Termin" in german and "In plain English" not in german
    english = client.get("/leichte-sprache?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert '<div class="easy-read" lang="de">' in english and "So machen Sie einen Termin" in english
    assert '<section aria-labelledby="plain-heading" class="plain-language" lang="en">' in english
    # one statement per sentence: the easy-read text has no long sentences
    text = plain_text(german[german.index('class="easy-read"'):german.index("</main>")])
    longest = max(len(s.split()) for s in re.split(r"[.?!:]", text) if s.strip())
    assert longest <= 14, longest


def test_sign_language_page_without_a_video_says_so(client):
    html = client.get("/gebaerdensprache").get_data(as_text=True)
    assert 'id="no-video"' in html and "<video" not in html
    assert "So machen Sie einen Termin" in html  # the text alternative
    assert client.get("/gebaerdensprache/video").status_code == 404
    assert client.get("/gebaerdensprache/untertitel.vtt").status_code == 404


@pytest.fixture
def dgs_files(app, monkeypatch):
    import os

    folder = os.path.join(app.instance_path, "dgs")
    os.makedirs(folder, exist_ok=True)
    video = bytes(range(256)) * 40
    with open(os.path.join(folder, "erklaerung.mp4"), "wb") as fh:
        fh.write(video)
    with open(os.path.join(folder, "erklaerung.vtt"), "w", encoding="utf-8") as fh:
        fh.write("WEBVTT\n\n00:00.000 --> 00:02.000\nWillkommen beim Bürger-Büro.\n")
    monkeypatch.setitem(app.config, "DGS_VIDEO", "dgs/erklaerung.mp4")
    monkeypatch.setitem(app.config, "DGS_VIDEO_CAPTIONS", "dgs/erklaerung.vtt")
    return video


def test_sign_language_video_from_the_instance_folder(client, dgs_files):
    for lang in ("de", "en"):
        html = client.get(f"/gebaerdensprache?lang={lang}").get_data(as_text=True)
        video = html[html.index("<video"):html.index("</video>")]
        assert "controls" in video and "autoplay" not in video
        assert '<source src="/gebaerdensprache/video" type="video/mp4">' in video
        assert ('<track kind="captions" src="/gebaerdensprache/untertitel.vtt" srclang="de" '
                'label="Deutsch" default>') in video
        assert 'id="no-video"' not in html and "So machen Sie einen Termin" in html
    # responses streaming a file are closed, as a server closes them
    with client.get("/gebaerdensprache/video") as response:
        assert response.status_code == 200 and response.mimetype == "video/mp4"
        assert response.data == dgs_files
    with client.get("/gebaerdensprache/video", headers={"Range": "bytes=100-199"}) as part:
        assert part.status_code == 206 and part.data == dgs_files[100:200]
    with client.get("/gebaerdensprache/untertitel.vtt") as captions:
        assert captions.mimetype == "text/vtt"
        assert "Willkommen beim Bürger-Büro." in captions.get_data(as_text=True)


def test_sign_language_video_from_the_towns_server(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "DGS_VIDEO", "https://media.musterstadt.example/dgs.webm")
    response = client.get("/gebaerdensprache")
    html = response.get_data(as_text=True)
    assert '<source src="https://media.musterstadt.example/dgs.webm" type="video/webm">' in html
    assert "<track" not in html  # no captions configured
    csp = response.headers["Content-Security-Policy"]
    assert "media-src 'self' https://media.musterstadt.example" in csp
    assert "default-src 'self'" in csp and "script-src 'self';" in csp
    assert client.get("/gebaerdensprache/video").status_code == 404  # not ours to serve


def test_a_missing_video_file_counts_as_none(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "DGS_VIDEO", "dgs/missing.mp4")
    assert 'id="no-video"' in client.get("/gebaerdensprache").get_data(as_text=True)
    monkeypatch.setitem(app.config, "DGS_VIDEO", "../booking.db")
    assert 'id="no-video"' in client.get("/gebaerdensprache").get_data(as_text=True)
    assert client.get("/gebaerdensprache/video").status_code == 404


# ---------------------------------------------------------------- back office


def _post_office(client, **values):
    page = client.get("/admin/offices/amt/?lang=de").get_data(as_text=True)
    return client.post("/admin/offices/amt/", data={
        **OFFICE_DATA, "csrf_token": csrf_from(page), **values})


def test_manager_edits_the_office_page_fields_audited(ctx, manager, client):
    from booking.audit.models import AuditEntry
    from booking.offices.models import Office

    page = client.get("/admin/offices/amt/?lang=de").get_data(as_text=True)
    for name in ("transport_de", "transport_en", "accessibility_de", "accessibility_en",
                 "step_free", "latitude", "longitude"):
        assert f'<label for="{name}">' in page
    response = _post_office(client, transport_de="Tram 11 bis Markt", transport_en="Tram 11",
                            accessibility_de="Aufzug", accessibility_en="Lift", step_free="yes",
                            latitude="50,110924", longitude="8.682127")
    assert response.status_code == 303
    ctx.rollback()
    office = ctx.get(Office, "amt")
    assert (office.transport_de, office.transport_en, office.accessibility_en) == (
        "Tram 11 bis Markt", "Tram 11", "Lift")
    assert office.step_free is True
    assert (office.latitude, office.longitude) == (50.110924, 8.682127)
    entry = ctx.scalars(select(AuditEntry).where(AuditEntry.action == "office.updated")
                        .order_by(AuditEntry.id.desc())).first()
    assert entry.after["transport_de"] == "Tram 11 bis Markt"
    assert entry.after["step_free"] is True and entry.before["step_free"] is None
    assert entry.after["latitude"] == 50.110924
    ctx.rollback()
    page = client.get("/admin/offices/amt/").get_data(as_text=True)
    assert '<option selected value="yes">' in page and 'value="50.110924"' in page
    audit = client.get("/admin/offices/amt/audit").get_data(as_text=True)
    assert "Stufenloser Zugang" in audit and "Anfahrt mit Bus und Bahn (Deutsch)" in audit
    # a post without the new fields keeps them (older forms)
    assert _post_office(client).status_code == 303
    ctx.rollback()
    assert ctx.get(Office, "amt").transport_de == "Tram 11 bis Markt"
    assert _post_office(client, step_free="", latitude="", longitude="").status_code == 303
    ctx.rollback()
    office = ctx.get(Office, "amt")
    assert office.step_free is None and office.latitude is None and office.longitude is None
    ctx.rollback()


@pytest.mark.parametrize("values, field, message", [
    ({"latitude": "north", "longitude": "8.6"}, "latitude", "Zahl von -90 bis 90"),
    ({"latitude": "95", "longitude": "8.6"}, "latitude", "Zahl von -90 bis 90"),
    ({"latitude": "50", "longitude": "nan"}, "longitude", "Zahl von -180 bis 180"),
    ({"latitude": "50", "longitude": "inf"}, "longitude", "Zahl von -180 bis 180"),
    ({"latitude": "50.1", "longitude": ""}, "longitude", "Breiten- und Längengrad"),
    ({"latitude": "", "longitude": "8.6"}, "latitude", "Breiten- und Längengrad"),
    ({"transport_de": "x" * 2001}, "transport_de", "höchstens 2000 Zeichen"),
    ({"accessibility_en": "x" * 2001}, "accessibility_en", "höchstens 2000 Zeichen"),
    ({"step_free": "maybe"}, "step_free", "Keine gültige Auswahl"),
])
def test_bad_office_page_input_is_refused(ctx, manager, client, values, field, message):
    from booking.audit.models import AuditEntry
    from booking.offices.models import Office

    response = _post_office(client, **values)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'<a href="#{field}">' in html and message in html
    assert f'id="{field}-error"' in html
    ctx.rollback()
    assert ctx.get(Office, "amt").latitude is None
    assert ctx.scalars(select(AuditEntry).where(AuditEntry.action == "office.updated")).first() \
        is None
    ctx.rollback()
