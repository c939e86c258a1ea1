"""A cap per person (normalised email) and service, and no resale: name and email are
fixed once booked."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from booking.db import utcnow
from booking.offices.models import Office, Service
from booking.scheduling import holds, operations, visits
from booking.scheduling.models import Appointment
from tests.factories import (
    at,
    csrf_from,
    local_iso,
    log_in,
    make_town,
    make_user,
    next_workday,
    race,
    second_app,
)
from tests.server import gunicorn, post_json

MEASURES_ON = {"ANTI_ABUSE": True, "ALTCHA_ENABLED": False, "RATELIMIT_ENABLED": False}


@pytest.fixture(scope="module")
def fair_app(app, app_config):
    with second_app({**app_config, **MEASURES_ON}) as fair:
        yield fair


@pytest.fixture
def fair_client(fair_app):
    return fair_app.test_client()


@pytest.fixture
def town(ctx):
    """'amt' with a cap of one, no opt-in and no release delay (the caps alone)."""
    office = make_town(ctx)
    office.max_active_per_email = 1
    office.opt_in_hold_minutes = None
    office.release_delay_minutes = None
    ctx.commit()
    return office


def api_book(client, start, email, service="pass", name="Anna Muster"):
    return client.post("/api/v1/appointments", json={
        "office": "amt", "service": service, "start": start, "name": name, "email": email})


def test_the_next_booking_over_the_cap_is_refused_with_what_to_do(fair_client, ctx, town):
    day = next_workday()
    first = api_book(fair_client, local_iso(day, 9), "Anna.Muster+amt@gmail.com")
    assert first.status_code == 201
    ctx.rollback()
    assert ctx.scalar(select(Appointment.email_key)) == "annamuster@gmail.com"
    ctx.rollback()
    refused = api_book(fair_client, local_iso(day, 10), "annamuster@googlemail.com")
    body = refused.get_json()
    assert refused.status_code == 422 and "zuerst ab" in body["errors"]["email"]
    english = fair_client.post("/api/v1/appointments", headers={"Accept-Language": "en"},
                               json={"office": "amt", "service": "pass",
                                     "start": local_iso(day, 10), "name": "Anna",
                                     "email": "ANNAMUSTER@gmail.com"})
    assert "confirmation email" in english.get_json()["errors"]["email"]
    # another service does not count
    assert api_book(fair_client, local_iso(day, 10), "annamuster@gmail.com",
                    service="melde").status_code == 201
    # a cancelled one does not count
    token = first.get_json()["manage_token"]
    assert fair_client.delete(f"/api/v1/appointments/{first.get_json()['code']}",
                              headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert api_book(fair_client, local_iso(day, 11), "a.n.n.a.muster@gmail.com").status_code == 201


def test_the_citizen_form_marks_the_email_field(fair_client, ctx, town):
    day = next_workday()

    def form(hour):
        start = local_iso(day, hour)
        page = fair_client.get("/offices/amt/services/pass/book", query_string={"start": start})
        return fair_client.post("/offices/amt/services/pass/book", data={
            "csrf_token": csrf_from(page.get_data(as_text=True)), "start": start,
            "name": "Max", "email": "max+1@example.org", "phone": "", "privacy": "y"})

    assert form(9).status_code == 303
    refused = form(10)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    email_input = re.search(r'<input[^>]*name="email"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in email_input and 'email-error' in email_input
    assert 'id="email-error"' in html
    ctx.rollback()
    assert len(ctx.scalars(select(Appointment)).all()) == 1
    ctx.rollback()


def test_held_appointments_count_until_they_lapse(ctx, town):
    from datetime import timedelta

    passport = ctx.get(Service, "pass")
    now, day = utcnow(), next_workday()
    citizen = operations.Citizen("Anna", "anna@example.org")
    operations.book_appointment(town, visits.single(passport), at(day, 9), citizen, now, cap=1,
                                hold_until=now + timedelta(minutes=5))
    ctx.commit()
    with pytest.raises(holds.CapReached):
        operations.book_appointment(town, visits.single(passport), at(day, 10), citizen,
                                    now + timedelta(minutes=4), cap=1)
    ctx.rollback()
    operations.book_appointment(town, visits.single(passport), at(day, 10), citizen,
                                now + timedelta(minutes=5), cap=1)
    ctx.commit()


def test_staff_phone_bookings_are_not_capped(fair_client, ctx, town):
    day = next_workday()
    assert api_book(fair_client, local_iso(day, 9), "anna@example.org").status_code == 201
    log_in(fair_client, make_user(ctx, "clerk", "amt")[1])
    page = fair_client.get("/staff/offices/amt/book",
                           query_string={"service": "pass", "day": str(day)})
    response = fair_client.post("/staff/offices/amt/book", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "service": "pass",
        "day": str(day), "slot": local_iso(day, 10), "name": "Anna", "email": "anna@example.org",
        "phone": "", "language": "de"})
    assert response.status_code == 303
    ctx.rollback()
    rows = ctx.scalars(select(Appointment.status)).all()
    assert rows == ["confirmed", "confirmed"]  # and not held: no opt-in on the phone
    ctx.rollback()


def test_switched_off_there_is_no_cap(client, ctx, town):
    day = next_workday()
    assert api_book(client, local_iso(day, 9), "anna@example.org").status_code == 201
    assert api_book(client, local_iso(day, 10), "anna@example.org").status_code == 201


# ---------------------------------------------------------------- no resale


def test_name_and_email_cannot_be_changed_after_booking(fair_client, ctx, town):
    day = next_workday()
    booked = api_book(fair_client, local_iso(day, 9), "anna@example.org").get_json()
    code, auth = booked["code"], {"Authorization": f"Bearer {booked['manage_token']}"}
    path = f"/api/v1/appointments/{code}"
    for method in ("put", "patch"):  # no endpoint changes an appointment's person
        response = getattr(fair_client, method)(path, json={"name": "Bob", "email": "b@x.org"},
                                                headers=auth)
        assert response.status_code == 405
    moved = fair_client.post(f"{path}/reschedule", headers=auth, json={
        "start": local_iso(day, 10), "name": "Bob Käufer", "email": "buyer@example.org"})
    assert moved.status_code == 200
    assert (moved.get_json()["name"], moved.get_json()["email"]) == ("Anna Muster",
                                                                    "anna@example.org")
    # the citizen's move page takes a start and nothing else
    manage = booked["manage_url"].replace("http://booking.test", "")
    confirm = fair_client.get(f"{manage}/move/confirm", query_string={"start": local_iso(day, 11)})
    html = confirm.get_data(as_text=True)
    assert 'name="name"' not in html and 'name="email"' not in html
    fair_client.post(f"{manage}/move/confirm", data={
        "csrf_token": csrf_from(html), "start": local_iso(day, 11), "name": "Bob",
        "email": "buyer@example.org"})
    ctx.rollback()
    appointment = ctx.scalar(select(Appointment))
    assert appointment.start_at == at(day, 11)
    assert (appointment.name, appointment.email, appointment.email_key) == (
        "Anna Muster", "anna@example.org", "anna@example.org")
    ctx.rollback()


# ---------------------------------------------------------------- under concurrency


@pytest.mark.server
@pytest.mark.postgresql
def test_concurrent_bookings_with_variants_of_one_address_stop_at_the_cap(
        ctx, database_url, instance_dir, db_kind):
    assert db_kind == "postgresql"
    office = make_town(ctx, capacity=8)
    office.max_active_per_email = 2
    ctx.commit()
    day = next_workday()
    variants = ["erika.muster@gmail.com", "ErikaMuster@gmail.com", "erikamuster+1@gmail.com",
                "e.rika.muster@googlemail.com", "erikamuster+x@GOOGLEMAIL.com",
                "erika.muster+2@gmail.com", "erikamuster@gmail.com", "E.R.I.K.A.muster@gmail.com"]
    with gunicorn(database_url, instance_dir, workers=4, ANTI_ABUSE="1", ALTCHA_ENABLED="0",
                  RATELIMIT_ENABLED="0", DOUBLE_OPT_IN_ENABLED="0",
                  RELEASE_DELAY_ENABLED="0") as base:
        results = race([
            (lambda i=i, email=email: post_json(f"{base}/api/v1/appointments", {
                "office": "amt", "service": "pass", "start": local_iso(day, 8 + i // 4, i % 4 * 15),
                "name": "Erika Muster", "email": email}))
            for i, email in enumerate(variants)])
    statuses = sorted(status for status, _ in results)
    assert statuses == [201, 201] + [422] * 6, results
    ctx.rollback()
    assert len(ctx.scalars(select(Appointment.id)).all()) == 2
    ctx.rollback()


def test_the_office_form_sets_validates_and_audits_the_measures(client, ctx, town):
    from booking.audit.models import AuditEntry
    from tests.factories import OFFICE_DATA

    log_in(client, make_user(ctx, "manager", "amt")[1])
    page = client.get("/admin/offices/amt/").get_data(as_text=True)
    assert 'name="max_active_per_email"' in page and 'name="release_time"' in page
    data = {**OFFICE_DATA, "csrf_token": csrf_from(page), "max_active_per_email": "0",
            "opt_in_hold_minutes": "30", "release_delay_minutes": "15", "release_time": "07:00"}
    refused = client.post("/admin/offices/amt/", data=data)
    assert refused.status_code == 422 and 'id="max_active_per_email-error"' in refused.get_data(
        as_text=True)
    saved = client.post("/admin/offices/amt/", data={**data, "max_active_per_email": "2"})
    assert saved.status_code == 303
    ctx.rollback()
    office = ctx.get(Office, "amt")
    assert (office.max_active_per_email, office.opt_in_hold_minutes,
            office.release_delay_minutes, str(office.release_time)) == (2, 30, 15, "07:00:00")
    entry = ctx.scalars(select(AuditEntry).where(AuditEntry.action == "office.updated")).one()
    assert entry.after["release_time"] == "07:00:00" and entry.after["max_active_per_email"] == 2
    ctx.rollback()
