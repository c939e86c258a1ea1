"""The privacy notice (/privacy) names the controller, the data protection officer, the
authority and the retention periods as configured, in German and English, and every
citizen page links to it."""

from __future__ import annotations

import logging
import re
from urllib.parse import quote

import pytest

from tests.factories import local_iso, make_town, next_workday, plain_text

SETTINGS = {
    "PRIVACY_CONTROLLER": "Gemeinde Beispielhausen, Der Bürgermeister",
    "PRIVACY_CONTROLLER_ADDRESS": "Am Anger 3, 99999 Beispielhausen",
    "PRIVACY_DPO": "Kai Kontrolle, Am Anger 5, 99999 Beispielhausen",
    "PRIVACY_EMAIL": "dsb@beispielhausen.example",
    "PRIVACY_AUTHORITY": "Landesdatenschutzbehörde Beispielland, Postfach 1, 99998 Hauptstadt",
    "RETENTION_DAYS": 3,
    "PRIVACY_LOG_DAYS": 14,
}


@pytest.fixture
def configured(app, monkeypatch):
    for key, value in SETTINGS.items():
        monkeypatch.setitem(app.config, key, value)
    return app


def _page(client, lang: str) -> str:
    response = client.get(f"/privacy?lang={lang}")
    assert response.status_code == 200
    return plain_text(response.get_data(as_text=True))


def test_the_notice_names_who_is_responsible_as_configured(configured, client):
    for lang in ("de", "en"):
        text = _page(client, lang)
        for value in ("Gemeinde Beispielhausen, Der Bürgermeister",
                      "Am Anger 3, 99999 Beispielhausen", "Kai Kontrolle",
                      "dsb@beispielhausen.example", "Landesdatenschutzbehörde Beispielland"):
            assert value in text, (lang, value)


def test_the_notice_in_german_by_default(configured, client):
    text = _page(client, "de")
    assert "Datenschutzerklärung" in text or "Datenschutzhinweise" in text
    for expected in ("Verantwortlicher", "Datenschutzbeauftragte/r", "Aufsichtsbehörde",
                     "3 Tage nach dem Termin", "nach 14 Tagen",
                     "Warteliste und Verlosung", "Protokolle der Server",
                     "Art. 77 DSGVO"):
        assert expected in text, expected
    assert "Controller" not in text and "days after the appointment" not in text


def test_the_notice_in_english(configured, client):
    text = _page(client, "en")
    for expected in ("Privacy notice", "Controller", "Data protection officer",
                     "Supervisory authority", "3 days after the appointment",
                     "deleted 3 days later", "after 14 days", "Waiting list and lottery",
                     "Staff accounts and the audit log", "Server logs",
                     "Waiting numbers", "Your rights",
                     "right to complain"):
        assert expected in text, expected
    assert "Verantwortlicher" not in text and "Aufsichtsbehörde" not in text


def test_one_day_is_singular(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RETENTION_DAYS", 1)
    assert "1 day after the appointment" in _page(client, "en")
    assert "1 Tag nach dem Termin" in _page(client, "de")


def test_without_an_authority_the_notice_names_the_states_authorities(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "PRIVACY_AUTHORITY", "")
    text = _page(client, "en")
    assert "Supervisory authority" not in text
    assert "the one of the federal state where you live" in text


def test_the_sections_of_measures_follow_their_settings(app, client, monkeypatch):
    """Tests run with ANTI_ABUSE off: the notice does not describe measures not in use."""
    text = _page(client, "en")
    assert "ALTCHA" not in text and "IP address" not in text
    monkeypatch.setitem(app.config, "ANTI_ABUSE", True)
    for name in ("ALTCHA", "RATELIMIT", "DOUBLE_OPT_IN"):
        monkeypatch.setitem(app.config, f"{name}_ENABLED", True)
    text = _page(client, "en")
    assert "ALTCHA" in text and "no cookie" in text
    assert "IP address" in text and "not written to the database" in text
    assert "cookie named “visitor”" in text  # the rate limits' own cookie
    assert "Cookie namens „visitor“" in _page(client, "de")
    assert "until you confirm it" in text


def test_the_notice_has_a_heading_outline(configured, client):
    html = client.get("/privacy?lang=en").get_data(as_text=True)
    main = html[html.index("<main"):html.index("</main>")]
    levels = [int(level) for level in re.findall(r"<h([1-6])\b", main)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))
    assert levels.count(2) >= 9


def _footer_links(html: str) -> list[str]:
    footer = html[html.index("<footer"):html.index("</footer>")]
    return re.findall(r'href="([^"]+)"', footer)


def test_every_citizen_page_links_to_the_notice_in_its_footer(client, ctx):
    make_town(ctx)
    start = local_iso(next_workday(), 9)
    booked = client.post("/api/v1/appointments", json={
        "office": "amt", "service": "pass", "start": start, "name": "Anna Muster",
        "email": "anna@example.org"}).get_json()
    pages = ["/", "/services/pass", "/offices/amt/services/pass/",
             f"/offices/amt/services/pass/book?start={quote(local_iso(next_workday(), 10))}",
             f"/manage/{booked['code']}/{booked['manage_token']}", "/accessibility",
             "/privacy", "/no-such-page"]
    for path in pages:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert "/privacy" in _footer_links(response.get_data(as_text=True)), path


def test_the_booking_form_links_to_the_notice_before_the_consent(client, ctx):
    make_town(ctx)
    html = client.get("/offices/amt/services/pass/book",
                      query_string={"start": local_iso(next_workday(), 10)}).get_data(as_text=True)
    form = html[html.index("<form"):html.index("</form>")]
    link, consent, submit = (form.index('href="/privacy"'), form.index('name="privacy"'),
                             form.index('type="submit"'))
    assert link < consent < submit


@pytest.mark.parametrize("controller, warned", [(None, True), ("Stadt Irgendwo", False)])
def test_production_warns_when_the_controller_is_not_set(monkeypatch, caplog, tmp_path,
                                                         controller, warned):
    from booking import create_app

    monkeypatch.setenv("BOOKING_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/unused.db")
    monkeypatch.setenv("MAIL_SERVER", "mail.example")
    if controller:
        monkeypatch.setenv("PRIVACY_CONTROLLER", controller)
    else:
        monkeypatch.delenv("PRIVACY_CONTROLLER", raising=False)
    with caplog.at_level(logging.WARNING):
        app = create_app()
    assert ("PRIVACY_CONTROLLER is not set" in caplog.text) is warned
    assert app.config["PRIVACY_CONTROLLER"] == (controller or "Stadt Musterstadt")
