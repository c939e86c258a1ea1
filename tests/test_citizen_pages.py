"""Citizen pages through the test client: the no-JavaScript flow, htmx fragments,
form errors, CSRF, headers and languages."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from booking.notifications.models import OutboxMessage
from booking.scheduling.models import Appointment
from tests.factories import csrf_from, local_iso, make_town, next_workday


@pytest.fixture
def town(ctx):
    return make_town(ctx)


def test_catalogue_service_and_calendar(client, town):
    page = client.get("/").get_data(as_text=True)
    assert 'href="/services/pass"' in page and "Reisepass beantragen" in page
    service = client.get("/services/pass").get_data(as_text=True)
    assert "Biometrisches Foto" in service and "Bürgerbüro Teststadt" in service
    assert "70,00" in service  # fee formatted in German
    assert 'href="/offices/amt/services/pass/"' in service
    day = next_workday()
    calendar = client.get(f"/offices/amt/services/pass/?month={day:%Y-%m}&day={day}")
    html = calendar.get_data(as_text=True)
    assert calendar.status_code == 200
    assert 'aria-current="date"' in html
    assert f"start={local_iso(day, 9)}".replace("+", "%2B") in html
    assert "HX-Request" in calendar.headers.get("Vary", "")


def test_htmx_request_gets_only_the_calendar_fragment(client, town):
    day = next_workday()
    url = f"/offices/amt/services/pass/?month={day:%Y-%m}&day={day}"
    fragment = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    full = client.get(url).get_data(as_text=True)
    assert fragment.lstrip().startswith("<div id=\"booking-calendar\"")
    assert "<html" not in fragment and "<html" in full
    assert 'hx-get="' in fragment


def test_unknown_or_not_offered_pages_404(client, town):
    assert client.get("/services/nope").status_code == 404
    assert client.get("/offices/amt/services/nope/").status_code == 404
    assert client.get("/offices/nope/services/pass/").status_code == 404


def book_via_form(client, day, hour=9, minute=0, **fields):
    start = local_iso(day, hour, minute)
    form_page = client.get("/offices/amt/services/pass/book", query_string={"start": start})
    assert form_page.status_code == 200
    data = {"csrf_token": csrf_from(form_page.get_data(as_text=True)), "start": start,
            "name": "Max Müller", "email": "max@example.org", "phone": "", "privacy": "y",
            **fields}
    return client.post("/offices/amt/services/pass/book", data=data)


def test_book_move_cancel_without_javascript(client, ctx, town):
    day = next_workday()
    booked = book_via_form(client, day)
    assert booked.status_code == 303
    manage_url = booked.headers["Location"]
    assert re.match(r"^/manage/[A-Z0-9]{8}/[\w-]{32}\?new=1$", manage_url)
    page = client.get(manage_url)
    html = page.get_data(as_text=True)
    appointment = ctx.scalar(select(Appointment))
    code = appointment.code
    assert f"{code[:4]}-{code[4:]}" in html
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"

    base = manage_url.split("?")[0]
    move_page = client.get(f"{base}/move", query_string={"month": f"{day:%Y-%m}", "day": str(day)})
    assert move_page.status_code == 200
    new_start = local_iso(day, 10, 30)
    assert unquote(new_start) in unquote(move_page.get_data(as_text=True)).replace("%2B", "+")
    confirm = client.get(f"{base}/move/confirm", query_string={"start": new_start})
    moved = client.post(f"{base}/move/confirm", data={
        "csrf_token": csrf_from(confirm.get_data(as_text=True)), "start": new_start})
    assert moved.status_code == 303
    ctx.rollback()
    appointment = ctx.scalar(select(Appointment))
    assert appointment.start_at == datetime.fromisoformat(new_start)
    assert appointment.sequence == 1
    ctx.rollback()

    manage = client.get(base)
    cancelled = client.post(f"{base}/cancel",
                            data={"csrf_token": csrf_from(manage.get_data(as_text=True))})
    assert cancelled.status_code == 303
    ctx.rollback()
    assert ctx.scalar(select(Appointment)).status == "cancelled"
    kinds = ctx.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    assert kinds == ["booked", "moved", "cancelled"]
    after = client.get(base).get_data(as_text=True)
    assert f"{base}/cancel" not in after  # no second cancel button


def test_form_errors_are_tied_to_fields(client, ctx, town):
    response = book_via_form(client, next_workday(), name="", email="nope", phone="abc",
                             privacy="")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for field in ("name", "email", "phone", "privacy"):
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{field}"',
                         html), field
        assert f'id="{field}-error"' in html
        assert re.search(rf'aria-describedby="[^"]*{field}-error', html), field
    assert 'href="#email"' in html  # error summary links to the field
    assert 'value="nope"' in html  # input kept
    ctx.rollback()
    assert ctx.scalar(select(Appointment)) is None


def test_post_without_csrf_token_is_refused(client, ctx, town):
    start = local_iso(next_workday(), 9)
    response = client.post("/offices/amt/services/pass/book", data={
        "start": start, "name": "A", "email": "a@example.org", "privacy": "y"})
    assert response.status_code == 400
    ctx.rollback()
    assert ctx.scalar(select(Appointment)) is None


def test_taken_time_sends_the_citizen_back_to_the_calendar(client, ctx, town):
    day = next_workday()
    assert book_via_form(client, day).status_code == 303
    assert book_via_form(client, day).status_code == 303
    start = local_iso(day, 9)
    page = client.get("/offices/amt/services/pass/book", query_string={"start": start})
    assert page.status_code == 302 and f"day={day}" in page.headers["Location"]


def test_bad_start_parameter_is_400_not_500(client, town):
    for start in ["", "garbage", "2026-12-01T09:00:00"]:
        response = client.get("/offices/amt/services/pass/book", query_string={"start": start})
        assert response.status_code == 400, start


def test_wrong_manage_token_is_404(client, town):
    booked = book_via_form(client, next_workday())
    base = booked.headers["Location"].split("?")[0]
    code = base.split("/")[2]
    assert client.get(f"/manage/{code}/{'x' * 32}").status_code == 404
    assert client.post(f"/manage/{code}/{'x' * 32}/cancel").status_code in (400, 404)


def test_security_headers(client, town):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_no_asset_from_another_origin(client, town):
    html = client.get("/").get_data(as_text=True)
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not url.startswith(("http:", "https:", "//")), url
    asset = client.get("/static/vendor/htmx.min.js")
    assert asset.status_code == 200
    asset.close()


def test_language_from_switch_and_accept_language(client, town):
    assert '<html lang="de">' in client.get("/").get_data(as_text=True)
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert "Apply for a passport" in english.get_data(as_text=True)
    other = client.application.test_client()
    assert '<html lang="en">' in other.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in other.get("/services/pass").get_data(as_text=True)  # remembered
    assert '<html lang="de">' in other.get("/?lang=de").get_data(as_text=True)


def test_booking_language_is_stored_for_emails(client, ctx, town):
    client.get("/?lang=en")
    assert book_via_form(client, next_workday()).status_code == 303
    assert ctx.scalar(select(Appointment)).language == "en"


def test_accessibility_and_privacy_pages(client):
    assert client.get("/accessibility").status_code == 200
    assert client.get("/privacy").status_code == 200


def test_slots_ics_feed_is_calendar(client, town):
    response = client.get("/offices/amt/services/pass/slots.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert b"BEGIN:VCALENDAR" in response.data and b"METHOD:PUBLISH" in response.data


@pytest.mark.parametrize("query", [
    "month=9999-12", "month=0001-01", "month=2026-13", "month=abc", "day=9999-12-31",
    "day=0001-01-01", "day=2026-02-30", "month=2026-12&day=2030-01-01",
])
def test_odd_calendar_parameters_never_500(client, town, query):
    response = client.get(f"/offices/amt/services/pass/?{query}")
    assert response.status_code == 200, query


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
def test_extreme_starts_are_client_errors(client, town, start):
    page = client.get("/offices/amt/services/pass/book", query_string={"start": start})
    assert page.status_code == 400
    api = client.post("/api/v1/appointments", json={
        "office": "amt", "service": "pass", "start": start, "name": "A",
        "email": "a@example.org"})
    assert api.status_code == 422
