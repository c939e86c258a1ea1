"""/metrics: what it counts (after commit only), what it reads from the database, who
may read it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update

from booking import create_app
from booking.accounts.models import User
from booking.accounts.operations import create_user, issue_api_token
from booking.db import db, utcnow
from booking.notifications.models import OutboxMessage
from booking.offices.models import Office, Service
from booking.scheduling import operations, staff_operations, visits
from booking.scheduling.models import Appointment
from tests.factories import PASSWORD, at, counter, local_iso, next_workday, second_app

BOOKED = "booking_appointments_booked_total"
CANCELLED = "booking_appointments_cancelled_total"
TICKETS = "booking_queue_tickets_total"
CALLS = "booking_queue_calls_total"


def scrape(client, **kwargs) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    return samples(response.get_data(as_text=True))


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(scraped: dict, name: str, **labels) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def grew(before: dict, after: dict) -> dict:
    """The booking_* counters that changed, by how much."""
    return {key: after[key] - before.get(key, 0.0) for key in after
            if key[0].endswith("_total") and not key[0].startswith("booking_http")
            and after[key] != before.get(key, 0.0)}


def book(client, start, **overrides):
    body = {"office": "amt", "service": "pass", "start": start, "name": "Erika Mustermann",
            "email": "erika@example.org", **overrides}
    return client.post("/api/v1/appointments", json=body)


@pytest.fixture
def staff_token(ctx):
    token = issue_api_token(create_user("admin@example.org", PASSWORD, "admin", [], utcnow()),
                            utcnow())
    ctx.commit()
    return {"Authorization": f"Bearer {token}"}


def test_a_booking_a_cancellation_a_ticket_and_a_call_count_once_each(client, ctx, floor,
                                                                      staff_token):
    start = local_iso(next_workday(), 9)
    before = scrape(client)
    first = book(client, start)
    assert first.status_code == 201
    assert book(client, start, email="zweite@example.org").status_code == 201
    assert book(client, start, email="dritte@example.org").status_code == 409  # full: no count
    assert book(client, "2001-01-01T09:00:00+01:00").status_code in (400, 409, 422)
    after = scrape(client)
    assert grew(before, after) == {(BOOKED, frozenset({"office": "amt", "channel": "online"}.items())): 2}

    body = first.get_json()
    auth = {"Authorization": f"Bearer {body['manage_token']}"}
    assert client.delete(f"/api/v1/appointments/{body['code']}", headers=auth).status_code == 200
    assert client.delete(f"/api/v1/appointments/{body['code']}", headers=auth).status_code == 200
    cancelled = scrape(client)
    assert grew(after, cancelled) == {(CANCELLED, frozenset({"office": "amt", "by": "citizen"}.items())): 1}

    assert value(cancelled, "booking_queue_waiting_tickets", office="amt") == 0
    ticket = client.post("/api/v1/offices/amt/tickets", json={"service": "pass"})
    assert ticket.status_code == 201
    drawn = scrape(client)
    assert grew(cancelled, drawn) == {(TICKETS, frozenset({"office": "amt", "kind": "walk_in"}.items())): 1}
    assert value(drawn, "booking_queue_waiting_tickets", office="amt") == 1
    assert value(drawn, "booking_queue_waiting_tickets", office="nord") == 0
    assert 0 <= value(drawn, "booking_queue_oldest_waiting_seconds", office="amt") < 60
    assert value(drawn, "booking_queue_last_call_timestamp_seconds", office="amt") == 0

    counter_id = counter(ctx, "1").id
    ctx.rollback()
    called = client.post(f"/api/v1/counters/{counter_id}/call-next", headers=staff_token)
    assert called.status_code == 200, called.get_json()
    nobody = client.post(f"/api/v1/counters/{counter_id}/call-next", headers=staff_token)
    assert nobody.status_code == 409  # the counter is busy: no second call
    calls = scrape(client)
    assert grew(drawn, calls) == {(CALLS, frozenset({"office": "amt"}.items())): 1}
    assert value(calls, "booking_queue_waiting_tickets", office="amt") == 0
    last_call = value(calls, "booking_queue_last_call_timestamp_seconds", office="amt")
    assert abs(last_call - utcnow().timestamp()) < 60


def test_office_cancellations_count_as_such(client, ctx, floor):
    now = utcnow()
    office, service = ctx.get(Office, "amt"), ctx.get(Service, "pass")
    appointment, _ = operations.book_appointment(office, visits.single(service), _start(office),
                                                 _citizen(), now)
    ctx.commit()
    clerk_id = create_user("clerk@example.org", PASSWORD, "admin", [], now).id
    ctx.commit()
    before = scrape(client)
    appointment = ctx.get(Appointment, appointment.id)
    clerk = ctx.get(User, clerk_id)
    staff_operations.cancel_by_staff(appointment, clerk, now, reason="Krank")
    ctx.commit()
    assert grew(before, scrape(client)) == {
        (CANCELLED, frozenset({"office": "amt", "by": "office"}.items())): 1}


def _start(office):
    return at(next_workday(), 10)


def _citizen():
    return operations.Citizen("Erika Mustermann", "erika@example.org", None)


def test_what_is_rolled_back_is_not_counted(client, ctx, floor):
    office, service = ctx.get(Office, "amt"), ctx.get(Service, "pass")
    before = scrape(client)
    operations.book_appointment(office, visits.single(service), _start(office), _citizen(), utcnow())
    ctx.rollback()  # the request failed after the booking: nothing happened
    with ctx.begin_nested() as savepoint:
        operations.book_appointment(office, visits.single(service), _start(office), _citizen(), utcnow())
        savepoint.rollback()  # a savepoint that rolls back (a retried booking) neither
    ctx.commit()
    assert grew(before, scrape(client)) == {}
    operations.book_appointment(office, visits.single(service), _start(office), _citizen(), utcnow())
    ctx.commit()
    assert grew(before, scrape(client)) == {
        (BOOKED, frozenset({"office": "amt", "channel": "online"}.items())): 1}


def test_outbox_backlog_and_its_oldest_email(client, ctx, floor):
    assert value(scrape(client), "booking_outbox_pending") == 0
    assert value(scrape(client), "booking_outbox_oldest_pending_age_seconds") == 0
    assert book(client, local_iso(next_workday(), 9)).status_code == 201
    assert book(client, local_iso(next_workday(), 10)).status_code == 201
    ctx.execute(update(OutboxMessage).where(OutboxMessage.id == ctx.scalar(
        select(OutboxMessage.id).order_by(OutboxMessage.id).limit(1)))
        .values(created_at=utcnow() - timedelta(minutes=10)))
    ctx.commit()
    scraped = scrape(client)
    assert value(scraped, "booking_outbox_pending") == 2
    assert 600 <= value(scraped, "booking_outbox_oldest_pending_age_seconds") < 660


def test_requests_are_counted_by_endpoint_never_by_path(client, ctx, floor):
    before = scrape(client)
    assert client.get("/manage/ACDE3467/secret-token-value").status_code == 404
    assert client.get("/no/such/page").status_code == 404
    text = client.get("/metrics").get_data(as_text=True)
    after = samples(text)
    labels = {"endpoint": "citizen.manage", "method": "GET", "status": "4xx"}
    assert value(after, "booking_http_requests_total", **labels) \
        == value(before, "booking_http_requests_total", **labels) + 1
    assert value(after, "booking_http_requests_total", endpoint="none", method="GET",
                 status="4xx") >= 1
    assert value(after, "booking_http_request_duration_seconds_count",
                 endpoint="citizen.manage") >= 1
    assert "ACDE3467" not in text and "secret-token-value" not in text and "/no/such" not in text


def test_open_event_streams_are_a_gauge(client, ctx, floor):
    before = value(scrape(client), "booking_event_streams_open",
                   endpoint="display.board_events")
    stream = client.get("/offices/amt/display/events", buffered=False)
    assert stream.status_code == 200
    chunks = iter(stream.response)
    assert next(chunks)  # the stream runs: retry and the first state
    assert value(scrape(client), "booking_event_streams_open",
                 endpoint="display.board_events") == before + 1
    stream.close()
    assert value(scrape(client), "booking_event_streams_open",
                 endpoint="display.board_events") == before


# ---------------------------------------------------------------- who may read it


@pytest.fixture(scope="module")
def guarded(app, app_config):
    made = create_app({**app_config, "METRICS_TOKEN": "s3cret-scraper-token",
                       "METRICS_ALLOW_NETWORKS": "10.20.0.0/16, 2001:db8::/32"})
    yield made
    made.extensions["realtime"].stop()
    with made.app_context():
        for engine in db.engines.values():
            engine.dispose()


def status_from(made, address: str, **headers) -> int:
    client = made.test_client()
    return client.get("/metrics", environ_base={"REMOTE_ADDR": address},
                      headers=headers).status_code


def test_the_token_or_an_allowed_address_opens_metrics(guarded):
    token = {"Authorization": "Bearer s3cret-scraper-token"}
    assert status_from(guarded, "203.0.113.7", **token) == 200
    assert status_from(guarded, "10.20.3.4") == 200
    assert status_from(guarded, "2001:db8::5") == 200
    assert status_from(guarded, "203.0.113.7") == 404  # as if it did not exist
    assert status_from(guarded, "203.0.113.7", Authorization="Bearer wrong") == 403
    assert status_from(guarded, "203.0.113.7", Authorization="Basic czNjcmV0") == 403
    assert status_from(guarded, "127.0.0.1") == 404  # the allow-list replaces loopback


def test_by_default_only_this_host_and_no_token(client, app):
    assert app.config["METRICS_TOKEN"] is None
    assert status_from(app, "127.0.0.1") == 200
    assert status_from(app, "::1") == 200
    assert status_from(app, "::ffff:127.0.0.1") == 200
    assert status_from(app, "192.168.1.10") == 404
    assert status_from(app, "192.168.1.10", Authorization="Bearer ") == 403


def test_behind_the_proxy_the_client_address_counts(app_config):
    with second_app({**app_config, "TRUSTED_PROXY_COUNT": 1}) as made:
        client = made.test_client()
        refused = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                             headers={"X-Forwarded-For": "198.51.100.4"})
        assert refused.status_code == 404  # nginx is local, the citizen is not


def test_metrics_are_never_cached_and_set_no_cookie(client):
    response = client.get("/metrics")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert "Set-Cookie" not in response.headers


def test_rate_limit_refusals_are_counted_and_metrics_are_exempt(app_config, client, ctx, floor):
    with second_app({**app_config, "ANTI_ABUSE": True, "ALTCHA_ENABLED": False,
                     "RATELIMIT_SLOTS_PER_ADDRESS": "2/day",
                     "RATELIMIT_SWALLOW_ERRORS": False}) as made:
        limited = made.test_client(use_cookies=False)
        before = scrape(limited)
        url = "/api/v1/offices/amt/services/pass/slots"
        assert [limited.get(url).status_code for _ in range(3)] == [200, 200, 429]
        assert {limited.get("/metrics").status_code for _ in range(5)} == {200}
        after = scrape(limited)
        assert value(after, "booking_rate_limited_requests_total", endpoint="api.slots") \
            == value(before, "booking_rate_limited_requests_total", endpoint="api.slots") + 1


def test_appointments_counted_are_the_confirmed_ones(client, ctx, floor):
    """A held booking (double opt-in, a waitlist offer) counts when it is confirmed."""
    from booking.scheduling import holds

    office, service = ctx.get(Office, "amt"), ctx.get(Service, "pass")
    now = utcnow()
    before = scrape(client)
    held, _ = operations.book_appointment(office, visits.single(service), _start(office), _citizen(), now,
                                          hold_until=now + timedelta(minutes=30))
    ctx.commit()
    assert grew(before, scrape(client)) == {}
    holds.confirm_hold(ctx.get(Appointment, held.id), utcnow())
    ctx.commit()
    assert grew(before, scrape(client)) == {
        (BOOKED, frozenset({"office": "amt", "channel": "online"}.items())): 1}
