"""The citizen pages book one appointment for several persons and further services of
the same office, without JavaScript (booking.web.visit_form)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select, update

from booking.db import utcnow
from booking.offices.models import Service, office_services
from booking.scheduling import operations
from booking.scheduling.models import Appointment, AppointmentService
from booking.scheduling.operations import Citizen
from booking.scheduling.visits import Line
from tests.factories import at, cancellation_message, csrf_from, local_iso, make_town, next_workday


@pytest.fixture
def town(ctx):
    """'amt' (08–12, capacity 2) with 'pass' (30 minutes, 20 for each further person),
    'melde' (15 minutes) and 'ausweis' (30 minutes), all combinable."""
    office = make_town(ctx)
    ctx.get(Service, "pass").further_person_minutes = 20
    office.services.append(Service(id="ausweis", position=3, name_de="Personalausweis",
                                   name_en="Identity card", duration_minutes=30))
    ctx.commit()
    return office


def times_of(html: str) -> list[str]:
    """The start parameters of the page's time links (to the booking form)."""
    return [unescape(href) for href in re.findall(r'href="(/offices/amt/services/pass/book\?[^"]+)"',
                                                   html)]


def test_a_family_books_several_persons_and_services_without_javascript(client, ctx, town):
    day = next_workday()
    page = client.get("/offices/amt/services/pass/", query_string={
        "persons": "3", "also-melde": "1", "also-ausweis": "0", "day": str(day),
        "month": f"{day:%Y-%m}", "lang": "en"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="persons"' in html and 'name="also-melde"' in html
    links = times_of(html)
    # 70 + 15 minutes: six steps, the last start at 10:30 (12:00 closes)
    assert links and all("persons=3" in link and "also-melde=1" in link for link in links)
    assert "also-ausweis" not in links[0]
    last = links[-1]
    assert "10%3A30" in last or "10:30" in last
    form_page = client.get(last)
    assert form_page.status_code == 200
    form_html = form_page.get_data(as_text=True)
    assert "Apply for a passport × 3, Register your address" in form_html
    assert '<input type="hidden" name="persons" value="3">' in form_html
    start = local_iso(day, 10, 30)
    booked = client.post("/offices/amt/services/pass/book", data={
        "csrf_token": csrf_from(form_html), "start": start, "name": "Familie Muster",
        "email": "familie@example.org", "phone": "", "privacy": "y", "persons": "3",
        "also-melde": "1"})
    assert booked.status_code == 303, booked.get_data(as_text=True)
    ctx.rollback()
    appointment = ctx.scalar(select(Appointment))
    assert appointment.end_at - appointment.start_at == timedelta(minutes=85)
    assert [(line.service_id, line.persons) for line in ctx.scalars(
        select(AppointmentService).order_by(AppointmentService.position))] == [
        ("pass", 3), ("melde", 1)]


def test_the_cancellation_email_links_to_the_same_visit(client, ctx, town):
    """The link to book again keeps the services and persons, and opens at the first
    day where the whole visit fits."""
    day = next_workday()
    lines = [Line(ctx.get(Service, "pass"), 3), Line(ctx.get(Service, "melde"), 1)]
    # 85 minutes: the last start of the day (10:30) fits, 10:45 would not
    appointment, _ = operations.book_appointment(
        town, lines, at(day, 10, 30), Citizen("Familie Muster", "familie@example.org"),
        utcnow())
    operations.cancel_appointment(appointment, utcnow())
    ctx.commit()
    _, text, _ = cancellation_message(ctx, appointment.id)
    link = re.search(r"http://booking\.test(/offices/amt/services/pass/\S*)", text)
    assert link, text
    path = link[1]
    assert "persons=3" in path and "also-melde=1" in path and "ausweis" not in path
    free_day = re.search(r"day=(\d{4}-\d\d-\d\d)", path)[1]
    assert free_day == min(s.start_at.astimezone(town.tz).date() for s in
                           operations.list_free_slots(town, lines, utcnow())).isoformat()
    ctx.rollback()
    html = client.get(path).get_data(as_text=True)
    assert re.search(r'name="persons"[^>]*value="3"', html)
    assert re.search(r'name="also-melde"[^>]*value="1"', html)
    links = times_of(html)
    assert links and all("persons=3" in link and "also-melde=1" in link for link in links)


def test_the_plain_slot_page_is_unchanged_and_a_refused_visit_says_why(client, ctx, town):
    day = next_workday()
    query = {"day": str(day), "month": f"{day:%Y-%m}", "lang": "en"}
    plain = client.get("/offices/amt/services/pass/", query_string=query)
    assert plain.status_code == 200
    assert all("persons" not in link for link in times_of(plain.get_data(as_text=True)))
    too_many = client.get("/offices/amt/services/pass/",
                          query_string={**query, "persons": "5", "also-melde": "2"})
    assert too_many.status_code == 422
    assert "At most 6 persons" in too_many.get_data(as_text=True)
    ctx.execute(update(office_services).where(office_services.c.service_id == "pass")
                .values(combinable=False))
    ctx.commit()
    alone = client.get("/offices/amt/services/pass/", query_string=query).get_data(as_text=True)
    assert 'name="persons"' in alone and 'name="also-melde"' not in alone
    # a booking form leaves out a service that is booked only on its own, and refuses a
    # visit the office does not allow
    start = local_iso(day, 9)
    melde = client.get("/offices/amt/services/melde/book", query_string={
        "start": start, "also-pass": "1"})
    assert melde.status_code == 200 and 'name="also-pass"' not in melde.get_data(as_text=True)
    assert client.get("/offices/amt/services/pass/book", query_string={
        "start": start, "persons": "99"}).status_code == 400
