"""No double booking: concurrent requests against a real multi-worker gunicorn server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from booking.notifications.models import OutboxMessage
from booking.offices.models import AvailabilityRule, Service
from booking.scheduling.models import Appointment, AppointmentSeat, AppointmentService
from tests.factories import csrf_from, key_from, local_iso, make_town, next_workday, race
from tests.server import gunicorn, post_json

pytestmark = pytest.mark.server




@pytest.fixture
def server(ctx, database_url, instance_dir):
    make_town(ctx, capacity=2)
    with gunicorn(database_url, instance_dir, workers=4) as base:
        yield base


def overbooked_steps(ctx) -> list:
    """(rule, step) pairs holding more seats than the rule's capacity."""
    ctx.rollback()
    rows = ctx.execute(
        select(AppointmentSeat.rule_id, AppointmentSeat.slot_at, func.count(),
               AvailabilityRule.capacity)
        .join(AvailabilityRule, AvailabilityRule.id == AppointmentSeat.rule_id)
        .group_by(AppointmentSeat.rule_id, AppointmentSeat.slot_at, AvailabilityRule.capacity)
    ).all()
    return [r for r in rows if r[2] > r[3]]


def test_race_for_the_last_seats(server, ctx):
    start = local_iso(next_workday(), 9)
    calls = [
        lambda i=i: post_json(server + "/api/v1/appointments", {
            "office": "amt", "service": "melde", "start": start,
            "name": f"Racer {i}", "email": f"racer{i}@example.org"})
        for i in range(40)
    ]
    statuses = Counter(status for status, _ in race(calls))
    assert statuses == {201: 2, 409: 38}
    ctx.rollback()
    assert ctx.scalar(select(func.count()).select_from(Appointment)) == 2
    assert overbooked_steps(ctx) == []


def test_race_of_overlapping_longer_services(server, ctx):
    day = next_workday()
    starts = [local_iso(day, 9), local_iso(day, 9, 15), local_iso(day, 9, 30)]
    calls = [
        lambda i=i: post_json(server + "/api/v1/appointments", {
            "office": "amt", "service": "pass", "start": starts[i % 3],
            "name": f"Racer {i}", "email": f"racer{i}@example.org"})
        for i in range(45)
    ]
    results = race(calls)
    assert {status for status, _ in results} <= {201, 409}
    booked = sum(1 for status, _ in results if status == 201)
    # 09:00–10:00 holds 4 steps × 2 seats; each 30-minute booking takes 2 seats
    assert 2 <= booked <= 4
    assert overbooked_steps(ctx) == []


def test_racing_moves_into_the_last_seat(server, ctx):
    day = next_workday()
    base = server + "/api/v1/appointments"
    post_json(base, {"office": "amt", "service": "melde", "start": local_iso(day, 11),
                     "name": "Holder", "email": "holder@example.org"})
    movers = [post_json(base, {"office": "amt", "service": "melde",
                               "start": local_iso(day, 8, 15 * (i % 4)),
                               "name": f"Mover {i}", "email": f"m{i}@example.org"})[1]
              for i in range(8)]
    calls = [
        lambda m=m: post_json(f"{base}/{m['code']}/reschedule", {"start": local_iso(day, 11)},
                              {"Authorization": f"Bearer {m['manage_token']}"})
        for m in movers
    ]
    statuses = Counter(status for status, _ in race(calls))
    assert statuses == {200: 1, 409: 7}
    ctx.rollback()
    # the seven refused moves kept their old appointments (seats not lost)
    assert ctx.scalar(select(func.count()).select_from(AppointmentSeat)) == 9
    assert overbooked_steps(ctx) == []


def test_racing_family_visits_for_the_last_seats_never_overbook(server, ctx):
    """Visits of several services and persons (booking.scheduling.visits) race like single
    bookings: one seat left in the steps they all cover, one of them wins."""
    ctx.get(Service, "pass").further_person_minutes = 15  # read by the workers per request
    ctx.commit()
    day = next_workday()
    url = server + "/api/v1/appointments"
    # one seat of 09:00–10:00 is taken: one seat is left in each of those four steps
    status, _ = post_json(url, {"office": "amt", "service": "pass", "start": local_iso(day, 9),
                                "name": "First", "email": "first@example.org"})
    assert status == 201
    status, _ = post_json(url, {"office": "amt", "service": "pass",
                                "start": local_iso(day, 9, 30), "name": "Second",
                                "email": "second@example.org"})
    assert status == 201
    # pass × 2 (30 + 15) and melde (15): an hour, four steps, overlapping starts
    visit = [{"service": "pass", "persons": 2}, {"service": "melde", "persons": 1}]
    starts = [local_iso(day, 8, 30), local_iso(day, 8, 45), local_iso(day, 9),
              local_iso(day, 9, 15)]
    calls = [
        lambda i=i: post_json(url, {
            "office": "amt", "services": visit, "start": starts[i % 4],
            "name": f"Familie {i}", "email": f"familie{i}@example.org"})
        for i in range(32)
    ]
    results = race(calls)
    # every start covers 09:15, where one seat is left: exactly one visit wins
    assert Counter(status for status, _ in results) == {201: 1, 409: 31}
    assert overbooked_steps(ctx) == []
    won = [body for status, body in results if status == 201]
    for body in won:
        assert body["persons"] == 3 and [s["service"] for s in body["services"]] == [
            "pass", "melde"]
        seats = ctx.scalar(select(func.count()).select_from(AppointmentSeat).join(
            Appointment).where(Appointment.code == body["code"]))
        assert seats == 4
    assert ctx.scalar(select(func.count()).select_from(AppointmentService)) == 2 + 2 * len(won)


def test_emails_leave_from_gunicorn_without_any_other_process(ctx, database_url, instance_dir):
    """The standard deployment (deploy/gunicorn.conf.py) delivers the outbox by itself:
    each worker's sender thread is started in post_worker_init and woken by commits."""
    import time

    from tests.smtp import SmtpSink

    make_town(ctx, capacity=2)
    with SmtpSink() as sink, gunicorn(database_url, instance_dir, workers=2,
                                     OUTBOX_BACKGROUND="1", MAIL_SERVER="127.0.0.1",
                                     MAIL_PORT=sink.port) as base:
        started = time.monotonic()
        status, body = post_json(base + "/api/v1/appointments", {
            "office": "amt", "service": "melde", "start": local_iso(next_workday(), 9),
            "name": "Erika Mustermann", "email": "erika@example.org"})
        assert status == 201
        (message,) = sink.wait_for(1, timeout=10)
        assert time.monotonic() - started < 10
        assert message["To"].addresses[0].addr_spec == "erika@example.org"
        assert body["code"][:4] in message.get_body(("plain",)).get_content()


def test_twins_with_the_same_idempotency_key_book_once(server, ctx):
    """A client retrying at once (or a proxy resending) with the same key: one booking,
    one set of seats, one email; every twin gets the first booking's answer."""
    body = {"office": "amt", "service": "pass", "start": local_iso(next_workday(), 9),
            "name": "Erika Mustermann", "email": "erika@example.org"}
    calls = [
        lambda: post_json(server + "/api/v1/appointments", body,
                          {"Idempotency-Key": "2b1e5a0c-twin"})
        for _ in range(8)
    ]
    results = race(calls)
    assert [status for status, _ in results] == [201] * 8
    assert len({json.dumps(answer, sort_keys=True) for _, answer in results}) == 1
    ctx.rollback()
    assert ctx.scalar(select(func.count()).select_from(Appointment)) == 1
    assert ctx.scalar(select(func.count()).select_from(AppointmentSeat)) == 2  # 30 min
    assert ctx.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    ctx.rollback()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 303 itself is the answer


def test_a_booking_form_sent_several_times_at_once_books_once(server, ctx):
    """A double (or triple) click on the citizens' booking form, each click a request."""
    start = local_iso(next_workday(), 9)
    url = server + "/offices/amt/services/melde/book"
    with urllib.request.urlopen(f"{url}?{urlencode({'start': start})}", timeout=60) as page:
        html = page.read().decode()
        cookie = page.headers["Set-Cookie"].split(";")[0]
    form = urlencode({"csrf_token": csrf_from(html), "key": key_from(html), "start": start,
                      "name": "Max Müller", "email": "max@example.org", "phone": "",
                      "privacy": "y"}).encode()
    opener = urllib.request.build_opener(_NoRedirect)

    def click() -> tuple[int, str]:
        request = urllib.request.Request(url, data=form, headers={"Cookie": cookie})
        try:
            with opener.open(request, timeout=60) as response:
                return response.status, ""
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["Location"]

    results = race([click] * 6)
    assert {status for status, _ in results} == {303}
    assert len({location for _, location in results}) == 1
    ctx.rollback()
    assert ctx.scalar(select(func.count()).select_from(Appointment)) == 1
    assert ctx.scalar(select(func.count()).select_from(AppointmentSeat)) == 1
    assert ctx.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    ctx.rollback()
