"""Staff back office: who may open what, the day schedule, arrival and no-show, clerk
moves and cancellations, phone bookings, the staff calendar feed, the staff JSON API,
and the audit entries every change leaves."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from booking.accounts.models import User
from booking.accounts.operations import create_user, issue_api_token
from booking.audit.models import AuditEntry
from booking.calendars.staff_feed import StaffEvent, staff_feed
from booking.db import utcnow
from booking.notifications.models import OutboxMessage
from booking.notifications.outbox import deliver_due
from booking.offices.models import AvailabilityRule, Counter, Office, Service
from booking.scheduling import codes, operations, visits
from booking.scheduling import staff_operations as staff_ops
from booking.scheduling.models import (
    ARRIVED,
    CANCELLED,
    CONFIRMED,
    NO_SHOW,
    ONLINE,
    PHONE,
    Appointment,
)
from tests.factories import (
    BERLIN,
    PASSWORD,
    Booked,
    booked,
    csrf_from,
    local_iso,
    log_in,
    make_town,
    make_user,
    next_workday,
    written_email,
)

# ---------------------------------------------------------------- set-up helpers


@pytest.fixture
def town(ctx):
    """Office 'amt' (make_town) and a second office 'nord' offering the passport."""
    office = make_town(ctx)
    nord = Office(id="nord", name="Bürgerbüro Nord", address="Nordring 2, 12345 Teststadt",
                  email="nord@teststadt.example", timezone=BERLIN, state="HE")
    nord.services = [ctx.get(Service, "pass")]
    ctx.add(nord)
    ctx.add(AvailabilityRule(office=nord, weekdays="12345", start_time=time(8),
                             end_time=time(12), valid_from=datetime(2020, 1, 1).date(),
                             capacity=2))
    ctx.commit()
    return office


def _done(ctx, appointment: Appointment) -> Booked:
    ctx.commit()
    result = booked(appointment)
    ctx.rollback()
    return result


def book(ctx, day, hour, minute=0, *, service="pass", office="amt", name="Erika Mustermann",
         email=None, phone=None) -> Booked:
    start = datetime.fromisoformat(local_iso(day, hour, minute))
    appointment, _ = operations.book_appointment(
        ctx.get(Office, office), visits.single(ctx.get(Service, service)), start,
        operations.Citizen(name, email, phone, "de"), utcnow())
    return _done(ctx, appointment)


def insert(ctx, start_at, *, status=CONFIRMED, service="melde", office="amt",
           name="Paula Vergangen", email=None, phone=None) -> Booked:
    """An appointment at any time, past ones too (no seats: only for reading and status)."""
    duration = ctx.get(Service, service).duration_minutes
    appointment = Appointment(
        office_id=office, service_id=service, start_at=start_at,
        end_at=start_at + timedelta(minutes=duration), name=name, email=email, phone=phone,
        language="de", code=codes.new_code(), token_hash=codes.hash_token(codes.new_token()),
        ical_uid=codes.new_uid(), sequence=0, status=status, created_at=utcnow(),
        updated_at=utcnow())
    ctx.add(appointment)
    return _done(ctx, appointment)


def csrf(client) -> str:
    return csrf_from(client.get("/staff/feed").get_data(as_text=True))


def audit_entries(ctx) -> list[AuditEntry]:
    entries = ctx.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    ctx.rollback()
    return entries


def outbox_kinds(ctx) -> list[tuple[str, int | None]]:
    rows = ctx.execute(select(OutboxMessage.kind, OutboxMessage.appointment_id)
                       .order_by(OutboxMessage.id)).all()
    ctx.rollback()
    return [tuple(r) for r in rows]


def status_of(ctx, appointment_id: int) -> str:
    ctx.rollback()
    value = ctx.get(Appointment, appointment_id).status
    ctx.rollback()
    return value


def fmt(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


# ---------------------------------------------------------------- access matrix


@pytest.mark.parametrize("who", ["anonymous", "clerk_elsewhere", "clerk", "manager", "admin"])
def test_every_staff_endpoint_checks_role_and_office(client, ctx, town, who):
    day = next_workday()
    arrive = book(ctx, day, 9).id
    cancel = book(ctx, day, 10).id
    move = book(ctx, day, 11).id
    past = insert(ctx, utcnow().replace(microsecond=0) - timedelta(minutes=30)).id
    users = {"clerk_elsewhere": ("clerk", "nord"), "clerk": ("clerk", "amt"),
             "manager": ("manager", "amt"), "admin": ("admin",)}
    if who in users:
        log_in(client, make_user(ctx, *users[who])[1])
    token = csrf_from(client.get("/login").get_data(as_text=True))
    base = "/staff/offices/amt"
    office_gets = [f"{base}/schedule", f"{base}/schedule?date={day}&print=1",
                   f"{base}/schedule?q=Erika", f"{base}/appointments/{arrive}",
                   f"{base}/appointments/{move}/move?date={day}",
                   f"{base}/book?service=pass&day={day}"]
    office_posts = [
        (f"{base}/appointments/{arrive}/arrived", {}),
        (f"{base}/appointments/{past}/no-show", {}),
        (f"{base}/appointments/{cancel}/cancel", {}),
        (f"{base}/appointments/{move}/move", {"day": str(day), "slot": local_iso(day, 11, 30)}),
        (f"{base}/book", {"service": "melde", "day": str(day), "slot": local_iso(day, 8),
                          "name": "Anrufer", "email": "", "phone": "", "language": "de"}),
    ]
    personal_gets = ["/staff/feed"]
    personal_posts = [("/staff/feed/renew", {}), ("/staff/feed/revoke", {})]

    def check(response, expected, url):
        if expected == "login":
            assert response.status_code == 302, url
            assert urlsplit(response.headers["Location"]).path == "/login", url
        elif expected == "ok":
            assert response.status_code in (200, 303), (url, response.status_code)
            assert response.headers["Cache-Control"] == "no-store", url
        else:
            assert response.status_code == 403, url

    office_expected = {"anonymous": "login", "clerk_elsewhere": "forbidden"}.get(who, "ok")
    personal_expected = "login" if who == "anonymous" else "ok"
    for url in office_gets:
        check(client.get(url), office_expected, url)
    for url, data in office_posts:
        check(client.post(url, data={"csrf_token": token, **data}), office_expected, url)
    for url in personal_gets:
        check(client.get(url), personal_expected, url)
    for url, data in personal_posts:
        check(client.post(url, data={"csrf_token": token, **data}), personal_expected, url)

    statuses = {status_of(ctx, i) for i in (arrive, cancel, past)}
    changes = [e.action for e in audit_entries(ctx) if e.entity == "appointment"]
    if office_expected == "ok":
        assert statuses == {ARRIVED, CANCELLED, NO_SHOW}
        assert sorted(changes) == ["appointment.arrived", "appointment.booked",
                                   "appointment.cancelled", "appointment.moved",
                                   "appointment.no_show"]
    else:  # refused requests change nothing
        assert statuses == {CONFIRMED} and changes == []


def test_unknown_office_or_appointment_of_another_office_is_404(client, ctx, town):
    elsewhere = book(ctx, next_workday(), 9, office="nord").id
    log_in(client, make_user(ctx, "admin")[1])
    assert client.get("/staff/offices/nowhere/schedule").status_code == 404
    assert client.get(f"/staff/offices/amt/appointments/{elsewhere}").status_code == 404
    response = client.post(f"/staff/offices/amt/appointments/{elsewhere}/arrived",
                           data={"csrf_token": csrf(client)})
    assert response.status_code == 404
    assert status_of(ctx, elsewhere) == CONFIRMED


def test_action_without_csrf_token_is_refused(client, ctx, town):
    appointment = book(ctx, next_workday(), 9).id
    log_in(client, make_user(ctx, "clerk", "amt")[1])
    response = client.post(f"/staff/offices/amt/appointments/{appointment}/arrived")
    assert response.status_code == 400
    assert status_of(ctx, appointment) == CONFIRMED


# ---------------------------------------------------------------- staff JSON API


def test_staff_api_needs_credentials_and_the_office(client, ctx, town):
    day = next_workday()
    first = book(ctx, day, 9, name="Erika Mustermann")
    second = book(ctx, day, 10, name="Max Müller")
    url = f"/api/v1/offices/amt/appointments?date={day}"
    assert client.get(url).status_code == 401

    user_id, session_id = make_user(ctx, "clerk", "amt")
    log_in(client, session_id)
    client.post(f"/staff/offices/amt/appointments/{first.id}/arrived",
                data={"csrf_token": csrf(client)})
    response = client.get(url)
    assert response.status_code == 200
    rows = response.get_json()
    assert [(r["name"], r["status"]) for r in rows] == [
        ("Erika Mustermann", ARRIVED), ("Max Müller", CONFIRMED)]
    assert rows[1]["code"] == second.code and rows[0]["channel"] == ONLINE
    assert client.get(f"/api/v1/offices/nord/appointments?date={day}").status_code == 403

    token = issue_api_token(ctx.get(User, user_id), utcnow())
    ctx.commit()
    bearer = {"Authorization": f"Bearer {token}"}
    fresh = client.application.test_client()
    assert fresh.get(url, headers=bearer).get_json() == rows
    assert fresh.get(f"/api/v1/offices/nord/appointments?date={day}",
                     headers=bearer).status_code == 403
    assert fresh.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401


# ---------------------------------------------------------------- day schedule


@pytest.fixture
def schedule_day(ctx, town):
    """Three appointments on a workday, one on the next; a counter for 'melde' only."""
    day = next_workday()
    erika = book(ctx, day, 9, name="Erika Mustermann", email="erika@example.org",
                 phone="+49 69 111")
    max_ = book(ctx, day, 10, service="melde", name="Max Müller")
    gone = book(ctx, day, 11, name="Gisela Storniert")
    operations.cancel_appointment(ctx.get(Appointment, gone.id), utcnow())
    today = utcnow().astimezone(ZoneInfo(BERLIN)).date()
    later = book(ctx, next_workday((day - today).days + 1), 11, 30, name="Hans Meier")
    ctx.add(Counter(office_id="amt", name="1", services=[ctx.get(Service, "melde")]))
    ctx.commit()
    result = {"day": day, "erika": erika, "max": max_, "gone": gone, "later": later,
              "counter": ctx.scalar(select(Counter.id))}
    result = {k: (v.code if isinstance(v, Booked) else v) for k, v in result.items()}
    ctx.rollback()
    return result


def test_day_schedule_shows_the_day(client, ctx, schedule_day):
    log_in(client, make_user(ctx, "clerk", "amt")[1])
    day = schedule_day["day"]
    page = client.get(f"/staff/offices/amt/schedule?date={day}&lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for key in ("erika", "max", "gone"):
        assert fmt(schedule_day[key]) in html
    assert fmt(schedule_day["later"]) not in html
    assert "Erika Mustermann" in html and "Max Müller" in html
    assert "09:00–09:30" in html and "10:00–10:15" in html  # local times
    assert "Apply for a passport" in html and "Online" in html and "Cancelled" in html
    assert "erika@example.org" not in html  # the list shows no contact data
    prev_day, next_day = day - timedelta(days=1), day + timedelta(days=1)
    assert f'href="/staff/offices/amt/schedule?date={prev_day}"' in html
    assert f'href="/staff/offices/amt/schedule?date={next_day}"' in html
    assert 'type="date"' in html and f'value="{day}"' in html
    # the cancelled appointment has no actions, the others have
    assert html.count("/arrived") == 2 and html.count("/move") == 2

    by_counter = client.get("/staff/offices/amt/schedule",
                            query_string={"date": str(day), "counter": schedule_day["counter"]})
    html = by_counter.get_data(as_text=True)
    assert by_counter.status_code == 200 and "Counter 1" in html
    assert fmt(schedule_day["max"]) in html and fmt(schedule_day["erika"]) not in html


def test_search_by_code_or_name_across_days(client, ctx, schedule_day):
    log_in(client, make_user(ctx, "clerk", "amt")[1])
    code = schedule_day["later"]
    typed = f"{code[:4].lower()} - {code[4:]}"
    html = client.get("/staff/offices/amt/schedule", query_string={"q": typed}).get_data(
        as_text=True)
    assert fmt(code) in html and "Hans Meier" in html
    assert fmt(schedule_day["erika"]) not in html

    html = client.get("/staff/offices/amt/schedule?q=mEIer").get_data(as_text=True)
    assert fmt(code) in html and fmt(schedule_day["max"]) not in html
    html = client.get("/staff/offices/amt/schedule", query_string={"q": "MÜLLER"}).get_data(
        as_text=True)
    assert fmt(schedule_day["max"]) in html and "Hans Meier" not in html
    html = client.get("/staff/offices/amt/schedule?q=mustermann").get_data(as_text=True)
    assert fmt(schedule_day["erika"]) in html and "Hans Meier" not in html
    html = client.get("/staff/offices/amt/schedule?q=nobody%25").get_data(as_text=True)
    assert "Hans Meier" not in html and "Erika" not in html  # % is no wildcard


def test_schedule_print_view_is_a_bare_table(client, ctx, schedule_day):
    log_in(client, make_user(ctx, "clerk", "amt")[1])
    page = client.get(f"/staff/offices/amt/schedule?date={schedule_day['day']}&print=1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<table" in html and fmt(schedule_day["erika"]) in html and "Max Müller" in html
    assert "staff-nav" not in html and "<form" not in html and "<nav" not in html
    assert page.headers["Cache-Control"] == "no-store"
    normal = client.get(f"/staff/offices/amt/schedule?date={schedule_day['day']}")
    assert "print=1" in normal.get_data(as_text=True)


@pytest.mark.parametrize("query,field", [
    ({"date": "2026-13-45"}, "date"),
    ({"date": "yesterday"}, "date"),
    ({"counter": "999"}, "counter"),
    ({"counter": "abc"}, "counter"),
    ({"q": "x" * 101}, "q"),
])
def test_bad_schedule_parameters_are_marked_with_422(client, ctx, schedule_day, query, field):
    log_in(client, make_user(ctx, "clerk", "amt")[1])
    response = client.get("/staff/offices/amt/schedule", query_string=query)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(rf'aria-invalid="true"[^>]*id="{field}"|id="{field}"[^>]*aria-invalid="true"',
                     html)
    assert f'id="{field}-error"' in html and f'href="#{field}"' in html


def test_odd_input_is_never_a_server_error(client, ctx, schedule_day):
    log_in(client, make_user(ctx, "clerk", "amt")[1])
    base = "/staff/offices/amt"
    assert client.get(f"{base}/schedule", query_string={"q": "Erika\x00"}).status_code == 400
    assert client.get(f"{base}/schedule?counter=99999999999999999999").status_code == 422
    assert client.get(f"{base}/schedule?date=2199-12-31").status_code == 200
    assert client.get(f"{base}/appointments/99999999999999999999").status_code == 404
    assert client.get(f"{base}/appointments/99999999999999999999/move").status_code == 404
    assert client.get(f"{base}/book?day=9999-01-01").status_code == 422
    html = client.get(f"{base}/book").get_data(as_text=True)
    for slot, status in [("garbage", 422), ("2026-12-01T09:00:00", 422),
                         (local_iso(schedule_day["day"], 9, 7), 409),
                         ("2199-12-01T09:00:00+01:00", 409)]:
        response = client.post(f"{base}/book", data={
            "csrf_token": csrf_from(html), "service": "pass", "day": str(schedule_day["day"]),
            "slot": slot, "name": "Anna", "email": "", "phone": "", "language": "de"})
        assert response.status_code == status, slot
    ctx.rollback()


def test_counter_of_another_office_is_refused(client, ctx, schedule_day):
    ctx.add(Counter(office_id="nord", name="Nord 1"))
    ctx.commit()
    other = ctx.scalar(select(Counter.id).where(Counter.office_id == "nord"))
    ctx.rollback()
    log_in(client, make_user(ctx, "admin")[1])
    response = client.get(f"/staff/offices/amt/schedule?counter={other}")
    assert response.status_code == 422


# ---------------------------------------------------------------- arrival and no-show


def test_arrival_and_no_show_with_refusals(client, ctx, town):
    day = next_workday()
    future = book(ctx, day, 9).id
    past = insert(ctx, utcnow().replace(microsecond=0) - timedelta(minutes=20)).id
    cancelled = insert(ctx, utcnow().replace(microsecond=0) - timedelta(minutes=40),
                       status=CANCELLED).id
    user_id, session_id = make_user(ctx, "clerk", "amt")
    log_in(client, session_id)
    token = csrf(client)
    url = "/staff/offices/amt/appointments/{}/{}?lang=en".format

    arrived = client.post(url(future, "arrived"), data={"csrf_token": token,
                                                        "date": str(day)})
    assert arrived.status_code == 303
    assert arrived.headers["Location"] == f"/staff/offices/amt/schedule?date={day}"
    assert status_of(ctx, future) == ARRIVED

    again = client.post(url(future, "arrived"), data={"csrf_token": token})
    assert again.status_code == 409
    assert "Only confirmed appointments can be changed" in again.get_data(as_text=True)
    assert client.post(url(future, "no-show"), data={"csrf_token": token}).status_code == 409

    early = book(ctx, day, 10).id
    too_soon = client.post(url(early, "no-show"), data={"csrf_token": token})
    assert too_soon.status_code == 409
    assert "once the start time has passed" in too_soon.get_data(as_text=True)
    assert status_of(ctx, early) == CONFIRMED

    assert client.post(url(past, "no-show"), data={"csrf_token": token}).status_code == 303
    assert status_of(ctx, past) == NO_SHOW
    assert client.post(url(past, "arrived"), data={"csrf_token": token}).status_code == 409
    assert client.post(url(cancelled, "arrived"), data={"csrf_token": token}).status_code == 409
    assert status_of(ctx, cancelled) == CANCELLED

    entries = audit_entries(ctx)
    assert [(e.action, e.entity_id, e.before, e.after, e.user_id, e.office_id)
            for e in entries] == [
        ("appointment.arrived", str(future), {"status": CONFIRMED}, {"status": ARRIVED},
         user_id, "amt"),
        ("appointment.no_show", str(past), {"status": CONFIRMED}, {"status": NO_SHOW},
         user_id, "amt"),
    ]
    assert entries[0].user_email == "clerk-amt@example.org"


def test_domain_transitions_take_the_clock_as_argument(ctx, town):
    appointment = ctx.get(Appointment, book(ctx, next_workday(), 9).id)
    actor = create_user("a@example.org", PASSWORD, "admin", [], utcnow())
    with pytest.raises(staff_ops.NotYetStarted):
        staff_ops.mark_no_show(appointment, actor, appointment.start_at - timedelta(seconds=1))
    staff_ops.mark_no_show(appointment, actor, appointment.start_at)
    assert appointment.status == NO_SHOW
    with pytest.raises(staff_ops.InvalidTransition):
        staff_ops.mark_arrived(appointment, actor, appointment.start_at)
    with pytest.raises(staff_ops.InvalidTransition):
        staff_ops.cancel_by_staff(appointment, actor, appointment.start_at)
    ctx.rollback()


# ---------------------------------------------------------------- phone channel


def phone_form(client, day, service="pass"):
    page = client.get("/staff/offices/amt/book", query_string={"service": service,
                                                               "day": str(day), "lang": "en"})
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_phone_booking_without_email_sends_nothing(client, ctx, town):
    user_id, session_id = make_user(ctx, "clerk", "amt")
    log_in(client, session_id)
    day = next_workday()
    html = phone_form(client, day)
    start = local_iso(day, 9)
    assert re.search(rf'<input type="radio" name="slot" id="slot-\d+" value="{re.escape(start)}">',
                     html)
    assert 'name="service"' in html and 'value="pass"' in html
    response = client.post("/staff/offices/amt/book", data={
        "csrf_token": csrf_from(html), "service": "pass", "day": str(day), "slot": start,
        "name": "  Anna   Anruferin ", "email": "", "phone": "", "language": "en"})
    assert response.status_code == 303
    appointment = ctx.scalar(select(Appointment))
    assert (appointment.channel, appointment.email, appointment.phone, appointment.name,
            appointment.language) == (PHONE, None, None, "Anna Anruferin", "en")
    assert appointment.start_at == datetime.fromisoformat(start)
    code, appointment_id, start_at = appointment.code, appointment.id, appointment.start_at
    ctx.rollback()
    assert response.headers["Location"] == f"/staff/offices/amt/appointments/{appointment_id}?new=1"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert fmt(code) in page and " ".join(fmt(code)) in page
    assert "no confirmation is sent" in page
    assert outbox_kinds(ctx) == []
    [entry] = audit_entries(ctx)
    assert (entry.action, entry.user_id, entry.office_id) == ("appointment.booked", user_id, "amt")
    assert entry.after["channel"] == PHONE and entry.after["start_at"] == start_at.isoformat()


def test_phone_booking_with_email_sends_the_confirmation(client, ctx, town):
    log_in(client, make_user(ctx, "manager", "amt")[1])
    day = next_workday()
    html = phone_form(client, day, "melde")
    response = client.post("/staff/offices/amt/book", data={
        "csrf_token": csrf_from(html), "service": "melde", "day": str(day),
        "slot": local_iso(day, 8, 15), "name": "Bert Berger", "email": "bert@example.org",
        "phone": "+49 69 5555", "language": "de"})
    assert response.status_code == 303
    appointment = ctx.scalar(select(Appointment))
    assert (appointment.channel, appointment.email, appointment.phone, appointment.service_id) == (
        PHONE, "bert@example.org", "+49 69 5555", "melde")
    appointment_id = appointment.id
    ctx.rollback()
    assert outbox_kinds(ctx) == [("booked", appointment_id)]


@pytest.mark.parametrize("changes,fields", [
    ({"name": "", "email": "nope", "phone": "abc"}, ["name", "email", "phone"]),
    ({"slot": ""}, ["slot"]),
    ({"service": "unknown"}, ["service"]),
    ({"language": "fr"}, ["language"]),
])
def test_phone_booking_errors_are_marked(client, ctx, town, changes, fields):
    log_in(client, make_user(ctx, "clerk", "amt")[1])
    day = next_workday()
    html = phone_form(client, day)
    data = {"csrf_token": csrf_from(html), "service": "pass", "day": str(day),
            "slot": local_iso(day, 9), "name": "Anna", "email": "", "phone": "",
            "language": "de", **changes}
    response = client.post("/staff/offices/amt/book", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in fields:
        assert f'id="{field}-error"' in html, field
        assert f'href="#{field}"' in html, field
    ctx.rollback()
    assert ctx.scalar(select(Appointment)) is None
    ctx.rollback()


def test_phone_booking_of_a_taken_time_is_a_conflict(client, ctx):
    make_town(ctx, capacity=1)
    day = next_workday()
    log_in(client, make_user(ctx, "clerk", "amt")[1])
    html = phone_form(client, day)
    book(ctx, day, 9)  # someone else is quicker
    response = client.post("/staff/offices/amt/book?lang=en", data={
        "csrf_token": csrf_from(html), "service": "pass", "day": str(day),
        "slot": local_iso(day, 9), "name": "Anna", "email": "", "phone": "", "language": "de"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "just booked by someone else" in page
    assert local_iso(day, 9) not in page and local_iso(day, 9, 30) in page  # times refreshed
    assert 'value="Anna"' in page  # the caller's details stay
    assert len(ctx.scalars(select(Appointment)).all()) == 1
    ctx.rollback()


def test_phone_booking_page_bad_query_is_422(client, ctx, town):
    log_in(client, make_user(ctx, "clerk", "amt")[1])
    assert client.get("/staff/offices/amt/book?service=nope").status_code == 422
    assert client.get("/staff/offices/amt/book?day=2026-02-30").status_code == 422
    page = client.get("/staff/offices/amt/book?day=2001-01-01")  # past: no times, no error
    assert page.status_code == 200 and 'name="start"' not in page.get_data(as_text=True)


# ---------------------------------------------------------------- clerk move and cancel


def test_clerk_moves_and_cancels_with_emails(client, ctx, town):
    day = next_workday()
    appointment = book(ctx, day, 9, email="erika@example.org")
    appointment_id, old_hash = appointment.id, appointment.token_hash
    user_id, session_id = make_user(ctx, "clerk", "amt")
    log_in(client, session_id)
    move_url = f"/staff/offices/amt/appointments/{appointment_id}/move"
    page = client.get(move_url, query_string={"date": str(day), "lang": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    new_start = local_iso(day, 10, 30)
    assert f'value="{new_start}"' in html
    assert f'value="{local_iso(day, 9)}"' not in html  # its own time is no choice
    assert f'id="date" name="date" required type="date" value="{day}"' in html

    assert client.post(move_url, data={"csrf_token": csrf_from(html), "day": str(day)}
                       ).status_code == 422  # no time chosen
    moved = client.post(move_url, data={"csrf_token": csrf_from(html), "day": str(day),
                                        "slot": new_start})
    assert moved.status_code == 303
    ctx.rollback()
    appointment = ctx.get(Appointment, appointment_id)
    assert appointment.start_at == datetime.fromisoformat(new_start)
    assert appointment.sequence == 1 and appointment.token_hash != old_hash  # new manage link
    ctx.rollback()

    cancel_url = f"/staff/offices/amt/appointments/{appointment_id}/cancel?from=appointment"
    too_long = client.post(cancel_url, data={"csrf_token": csrf_from(html), "reason": "x" * 301})
    assert too_long.status_code == 422
    assert "at most 300 characters" in too_long.get_data(as_text=True)
    assert status_of(ctx, appointment_id) == CONFIRMED
    reason = "Die Sachbearbeiterin ist erkrankt."
    cancelled = client.post(cancel_url, data={"csrf_token": csrf_from(html),
                                              "reason": f"  {reason} "})
    assert cancelled.status_code == 303
    assert cancelled.headers["Location"] == f"/staff/offices/amt/appointments/{appointment_id}"
    assert status_of(ctx, appointment_id) == CANCELLED
    assert client.post(cancel_url, data={"csrf_token": csrf_from(html)}).status_code == 409
    refused = client.get(move_url)
    assert refused.status_code == 409 and 'name="start"' not in refused.get_data(as_text=True)
    assert [k for k, _ in outbox_kinds(ctx)] == ["booked", "moved", "cancelled"]
    ctx.rollback()
    deliver_due()  # the sender renders the queued snapshots and writes them as files
    last = ctx.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)).all()[-1]
    ctx.rollback()
    mail = written_email(last, "cancelled")
    assert f"Grund: {reason}" in mail.get_body(("plain",)).get_content()  # labelled

    entries = audit_entries(ctx)
    assert [e.action for e in entries] == ["appointment.moved", "appointment.cancelled"]
    old = datetime.fromisoformat(local_iso(day, 9)).astimezone(UTC)
    assert entries[0].before["start_at"] == old.isoformat()
    assert entries[0].after["start_at"] == datetime.fromisoformat(new_start).astimezone(
        UTC).isoformat()
    assert entries[1].before == {"status": CONFIRMED, "cancel_reason": None}
    assert entries[1].after == {"status": CANCELLED, "cancel_reason": f"Grund: {reason}"}
    assert {e.user_id for e in entries} == {user_id}


def test_clerk_cancels_after_the_citizen_deadline(client, ctx, town):
    soon = insert(ctx, utcnow().replace(microsecond=0) + timedelta(minutes=20),
                  email="late@example.org").id
    log_in(client, make_user(ctx, "clerk", "amt")[1])
    token = csrf(client)
    # staff may still move it although the citizen's deadline is over
    new_start = local_iso(next_workday(), 9)
    moved = client.post(f"/staff/offices/amt/appointments/{soon}/move?lang=en", data={
        "csrf_token": token, "day": new_start[:10], "slot": new_start})
    assert moved.status_code == 303, moved.get_data(as_text=True)
    response = client.post(f"/staff/offices/amt/appointments/{soon}/cancel",
                           data={"csrf_token": token})
    assert response.status_code == 303
    assert status_of(ctx, soon) == CANCELLED
    assert outbox_kinds(ctx) == [("moved", soon), ("cancelled", soon)]


def test_phone_booking_ignores_the_citizens_lead_time(ctx):
    """Citizens can't book inside the lead time online; a clerk on the phone can."""
    from booking.db import db
    from booking.offices.models import Office, Service
    from booking.scheduling import operations

    make_town(ctx, lead_minutes=24 * 60, weekdays="1234567", start=time(0), end=time(23, 45))
    now = utcnow()
    office, service = db.session.get(Office, "amt"), db.session.get(Service, "melde")
    online = operations.list_free_slots(office, visits.single(service), now)
    staff = operations.list_free_slots(office, visits.single(service), now, by_staff=True)
    assert online and staff
    assert online[0].start_at >= now + timedelta(hours=24)
    assert now <= staff[0].start_at < now + timedelta(hours=24)
    ctx.rollback()


def test_move_to_a_taken_time_is_a_conflict(client, ctx):
    make_town(ctx, capacity=1)
    day = next_workday()
    mine = book(ctx, day, 9).id
    log_in(client, make_user(ctx, "clerk", "amt")[1])
    page = client.get(f"/staff/offices/amt/appointments/{mine}/move?date={day}")
    book(ctx, day, 11)
    response = client.post(f"/staff/offices/amt/appointments/{mine}/move?lang=en", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "day": str(day),
        "slot": local_iso(day, 11)})
    assert response.status_code == 409
    assert "just booked by someone else" in response.get_data(as_text=True)
    ctx.rollback()
    assert ctx.get(Appointment, mine).start_at == datetime.fromisoformat(local_iso(day, 9))
    ctx.rollback()
    assert audit_entries(ctx) == []


# ---------------------------------------------------------------- calendar feed


def feed_token(html: str) -> str:
    match = re.search(r"http://booking\.test/staff/feed/([\w-]+)\.ics", html)
    assert match, "no feed URL shown"
    return match.group(1)


def test_feed_url_is_shown_once_renewable_and_revocable(client, ctx, town):
    user_id, session_id = make_user(ctx, "clerk", "amt")
    log_in(client, session_id)
    page = client.get("/staff/feed?lang=en").get_data(as_text=True)
    assert "no feed URL yet" in page
    created = client.post("/staff/feed/renew", data={"csrf_token": csrf_from(page)})
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    first = feed_token(created.get_data(as_text=True))
    assert "can't be shown again" in created.get_data(as_text=True)
    later = client.get("/staff/feed").get_data(as_text=True)
    assert first not in later and ".ics" not in later and "can't be shown again" in later
    assert client.get(f"/staff/feed/{first}.ics").status_code == 200

    renewed = client.post("/staff/feed/renew", data={"csrf_token": csrf_from(page)})
    second = feed_token(renewed.get_data(as_text=True))
    assert second != first
    assert client.get(f"/staff/feed/{first}.ics").status_code == 404
    assert client.get(f"/staff/feed/{second}.ics").status_code == 200

    revoked = client.post("/staff/feed/revoke", data={"csrf_token": csrf_from(page)})
    assert revoked.status_code == 303
    assert client.get(f"/staff/feed/{second}.ics").status_code == 404
    assert client.get("/staff/feed/not-a-token.ics").status_code == 404
    assert [(e.action, e.entity, e.entity_id) for e in audit_entries(ctx)] == [
        ("feed_token.created", "user", str(user_id)),
        ("feed_token.renewed", "user", str(user_id)),
        ("feed_token.revoked", "user", str(user_id)),
    ]


def _events(body: bytes) -> dict[str, object]:
    calendar = Calendar.from_ical(body)
    assert str(calendar["METHOD"]) == "PUBLISH"
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_feed_content_hides_names_unless_the_office_opts_in(client, ctx, town):
    day = next_workday()
    now = utcnow().replace(microsecond=0)
    shown = book(ctx, day, 9, name="Erika Mustermann", email="erika@example.org",
                 phone="+49 69 111222")
    arrived = insert(ctx, now - timedelta(days=6), status=ARRIVED, name="Arno Angekommen",
                     email="arno@example.org", phone="+49 69 333444")
    old = insert(ctx, now - timedelta(days=8), name="Otto Alt")
    cancelled = insert(ctx, now + timedelta(days=3), status=CANCELLED, name="Carla Storniert")
    no_show = insert(ctx, now - timedelta(days=1), status=NO_SHOW, name="Nina Nichtda")
    elsewhere = book(ctx, day, 9, office="nord", name="Norbert Nord")
    expected = {shown.ical_uid: shown, arrived.ical_uid: arrived}
    details = {uid: (a.code, a.start_at, a.end_at) for uid, a in expected.items()}
    hidden_uids = {old.ical_uid, cancelled.ical_uid, no_show.ical_uid, elsewhere.ical_uid}
    log_in(client, make_user(ctx, "clerk", "amt")[1])
    page = client.get("/staff/feed").get_data(as_text=True)
    token = feed_token(client.post("/staff/feed/renew",
                                   data={"csrf_token": csrf_from(page)}).get_data(as_text=True))
    anonymous = client.application.test_client()  # calendar clients have no session

    response = anonymous.get(f"/staff/feed/{token}.ics", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Cache-Control"] == "private, no-store"
    body = response.get_data()
    events = _events(body)
    summaries = " ".join(str(e["SUMMARY"]) for e in events.values())
    assert set(events) == set(details) and not hidden_uids & set(events)
    for uid, (code, start_at, end_at) in details.items():
        event = events[uid]
        assert event.decoded("DTSTART") == start_at and event.decoded("DTEND") == end_at
        assert event["DTSTART"].to_ical().endswith(b"Z")
        assert fmt(code) in str(event["SUMMARY"])
    assert "Apply for a passport" in str(events[shown.ical_uid]["SUMMARY"])
    assert "Erika" not in summaries
    text = body.decode().replace("\r\n ", "")  # unfolded
    for private in ("Erika", "Arno", "example.org", "111222", "333444", "mailto:",
                    "ATTENDEE", "ORGANIZER"):
        assert private not in text, private

    ctx.get(Office, "amt").feed_shows_names = True
    ctx.commit()
    body = anonymous.get(f"/staff/feed/{token}.ics").get_data()
    summaries = " ".join(str(e["SUMMARY"]) for e in _events(body).values())
    assert "Erika Mustermann" in summaries and "Arno Angekommen" in summaries
    text = body.decode().replace("\r\n ", "")
    assert "erika@example.org" not in text and "111222" not in text
    assert "Norbert" not in text


def test_admin_feed_covers_all_offices(client, ctx, town):
    day = next_workday()
    uids = {book(ctx, day, 9).ical_uid, book(ctx, day, 9, office="nord").ical_uid}
    log_in(client, make_user(ctx, "admin")[1])
    page = client.get("/staff/feed").get_data(as_text=True)
    token = feed_token(client.post("/staff/feed/renew",
                                   data={"csrf_token": csrf_from(page)}).get_data(as_text=True))
    assert set(_events(client.get(f"/staff/feed/{token}.ics").get_data())) == uids


def test_staff_feed_is_a_pure_function():
    start = datetime(2030, 3, 31, 7, 0, tzinfo=UTC)
    body = staff_feed("Termine", [StaffEvent("uid-1", 2, start, start + timedelta(minutes=30),
                                             "ACDE-FGHJ · Reisepass", "Markt 1")],
                      datetime(2030, 3, 1, tzinfo=UTC))
    assert body == staff_feed("Termine", [StaffEvent("uid-1", 2, start,
                                                     start + timedelta(minutes=30),
                                                     "ACDE-FGHJ · Reisepass", "Markt 1")],
                              datetime(2030, 3, 1, tzinfo=UTC))
    [event] = Calendar.from_ical(body).walk("VEVENT")
    assert event["UID"] == "uid-1" and event["SEQUENCE"] == 2
    assert b"DTSTART:20300331T070000Z" in body and b"X-WR-CALNAME:Termine" in body
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT15M" in body and b"X-PUBLISHED-TTL:PT15M" in body
    assert b"METHOD:PUBLISH" in body
    with pytest.raises(ValueError):
        staff_feed("x", [StaffEvent("u", 0, datetime(2030, 1, 1), start, "s")], start)


# ---------------------------------------------------------------- dashboard


def test_dashboard_links_to_the_new_pages(client, ctx, town):
    log_in(client, make_user(ctx, "clerk", "amt")[1])
    html = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/offices/amt/schedule"' in html
    assert 'href="/staff/offices/amt/book"' in html
    assert 'href="/staff/feed"' in html
    assert "/staff/offices/nord/" not in html
