"""The JSON API contract (/api/v1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from booking.notifications.models import OutboxMessage
from booking.scheduling.models import Appointment, AppointmentSeat
from tests.factories import local_iso, make_town, next_workday


@pytest.fixture
def town(ctx):
    return make_town(ctx)


def book(client, start, **overrides):
    body = {"office": "amt", "service": "pass", "start": start, "name": "Erika Mustermann",
            "email": "erika@example.org", **overrides}
    return client.post("/api/v1/appointments", json=body)


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def count(ctx, model):
    ctx.rollback()
    return ctx.scalar(select(func.count()).select_from(model))


def test_services_and_offices_lists(client, town):
    services = client.get("/api/v1/services").get_json()
    assert {s["id"] for s in services} == {"pass", "melde"}
    passport = next(s for s in services if s["id"] == "pass")
    assert passport["duration_minutes"] == 30 and passport["offices"] == ["amt"]
    assert passport["name"] == "Reisepass beantragen"
    english = client.get("/api/v1/services", headers={"Accept-Language": "en"}).get_json()
    assert next(s for s in english if s["id"] == "pass")["name"] == "Apply for a passport"
    offices = client.get("/api/v1/offices").get_json()
    assert offices == [{**offices[0], "id": "amt", "name": "Bürgerbüro Teststadt",
                        "address": "Markt 1, 12345 Teststadt", "timezone": "Europe/Berlin"}]
    assert sorted(offices[0]["services"]) == ["melde", "pass"]


def test_slots_are_sorted_local_iso_with_capacity(client, town):
    day = next_workday()
    slots = client.get(f"/api/v1/offices/amt/services/pass/slots?from={day}&to={day}").get_json()
    # 08:00–12:00 in 15-minute steps, 30-minute service: last start 11:30
    assert [s["start"] for s in slots][:2] == [local_iso(day, 8), local_iso(day, 8, 15)]
    assert slots[-1]["start"] == local_iso(day, 11, 30)
    assert slots[-1]["end"] == local_iso(day, 12)
    assert len(slots) == 15 and all(s["available"] == 2 for s in slots)
    assert slots == sorted(slots, key=lambda s: s["start"])


def test_slots_default_range_is_today_to_horizon(client, town):
    slots = client.get("/api/v1/offices/amt/services/melde/slots").get_json()
    days = {s["start"][:10] for s in slots}
    today = datetime.now(UTC).date()
    assert min(days) >= str(today)
    assert max(days) <= str(today + timedelta(days=61))
    assert len(days) > 30


@pytest.mark.parametrize("query", ["from=2026-13-01", "to=yesterday", "from=", "to=",
                                   "from=1999-12-31"])
def test_slots_bad_dates_are_400(client, town, query):
    response = client.get(f"/api/v1/offices/amt/services/pass/slots?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_slots_of_an_empty_range_are_none(client, town):
    """'from' after 'to' is a well-formed request (the document cannot forbid it): no days."""
    response = client.get("/api/v1/offices/amt/services/pass/slots?from=2030-01-02&to=2030-01-01")
    assert response.status_code == 200 and response.get_json() == []


def test_slots_unknown_office_or_service_404(client, town):
    assert client.get("/api/v1/offices/nix/services/pass/slots").status_code == 404
    assert client.get("/api/v1/offices/amt/services/nix/slots").status_code == 404


def test_book_get_cancel_roundtrip(client, ctx, town):
    day = next_workday()
    response = book(client, local_iso(day, 9))
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "confirmed"
    assert body["start"] == local_iso(day, 9) and body["end"] == local_iso(day, 9, 30)
    assert body["office"] == "amt" and body["service"] == "pass"
    assert len(body["manage_token"]) >= 22  # ≥ 128 bits, url-safe base64
    assert body["manage_url"].startswith("http://booking.test/manage/")
    stored = ctx.scalar(select(Appointment))
    assert stored.token_hash != body["manage_token"]  # only the hash is stored

    got = client.get(f"/api/v1/appointments/{body['code']}", headers=auth(body["manage_token"]))
    assert got.status_code == 200 and got.get_json()["code"] == body["code"]

    slots = client.get(f"/api/v1/offices/amt/services/pass/slots?from={day}&to={day}").get_json()
    at_nine = next(s for s in slots if s["start"] == local_iso(day, 9))
    assert at_nine["available"] == 1

    first = client.delete(f"/api/v1/appointments/{body['code']}", headers=auth(body["manage_token"]))
    assert first.status_code == 200 and first.get_json()["status"] == "cancelled"
    again = client.delete(f"/api/v1/appointments/{body['code']}", headers=auth(body["manage_token"]))
    assert again.status_code == 200 and again.get_json()["status"] == "cancelled"
    ctx.rollback()  # new snapshot
    kinds = [m.kind for m in ctx.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    assert kinds == ["booked", "cancelled"]  # no second cancellation email
    assert count(ctx, AppointmentSeat) == 0


def test_wrong_token_and_unknown_code_are_404_alike(client, town):
    body = book(client, local_iso(next_workday(), 9)).get_json()
    wrong = client.get(f"/api/v1/appointments/{body['code']}", headers=auth("x" * 32))
    unknown = client.get("/api/v1/appointments/AAAAAAAA", headers=auth(body["manage_token"]))
    missing = client.get(f"/api/v1/appointments/{body['code']}")
    assert wrong.status_code == unknown.status_code == missing.status_code == 404
    assert wrong.get_json() == unknown.get_json()
    assert client.delete(f"/api/v1/appointments/{body['code']}",
                         headers=auth("x" * 32)).status_code == 404


def test_reschedule_keeps_code_and_uid_and_raises_sequence(client, ctx, town):
    day = next_workday()
    body = book(client, local_iso(day, 9)).get_json()
    moved = client.post(f"/api/v1/appointments/{body['code']}/reschedule",
                        json={"start": local_iso(day, 10, 15)}, headers=auth(body["manage_token"]))
    assert moved.status_code == 200
    data = moved.get_json()
    assert data["code"] == body["code"] and data["uid"] == body["uid"]
    assert data["start"] == local_iso(day, 10, 15) and data["sequence"] == 1
    ctx.rollback()
    seats = ctx.scalars(select(AppointmentSeat.slot_at).order_by(AppointmentSeat.slot_at)).all()
    assert [s.astimezone().isoformat() for s in seats] == [
        datetime.fromisoformat(local_iso(day, 10, 15)).astimezone().isoformat(),
        datetime.fromisoformat(local_iso(day, 10, 30)).astimezone().isoformat(),
    ]


def test_reschedule_to_a_full_slot_changes_nothing(client, ctx, town):
    day = next_workday()
    for _ in range(2):
        assert book(client, local_iso(day, 11)).status_code == 201
    mine = book(client, local_iso(day, 9)).get_json()
    refused = client.post(f"/api/v1/appointments/{mine['code']}/reschedule",
                          json={"start": local_iso(day, 11)}, headers=auth(mine["manage_token"]))
    assert refused.status_code == 409
    still = client.get(f"/api/v1/appointments/{mine['code']}", headers=auth(mine["manage_token"]))
    assert still.get_json()["start"] == local_iso(day, 9) and still.get_json()["sequence"] == 0
    assert count(ctx, AppointmentSeat) == 6  # 3 appointments × 2 steps, old seats kept


def test_reschedule_overlapping_own_time(client, town):
    day = next_workday()
    for _ in range(1):
        book(client, local_iso(day, 9, 15))
    mine = book(client, local_iso(day, 9)).get_json()
    # 09:15 has one seat left, which is mine: moving by one step must work
    moved = client.post(f"/api/v1/appointments/{mine['code']}/reschedule",
                        json={"start": local_iso(day, 9, 15)}, headers=auth(mine["manage_token"]))
    assert moved.status_code == 200, moved.get_json()


def test_capacity_is_enforced(client, ctx, town):
    day = next_workday()
    assert [book(client, local_iso(day, 10)).status_code for _ in range(3)] == [201, 201, 409]
    # a 30-minute service starting 09:45 needs 10:00, which is full
    assert book(client, local_iso(day, 9, 45)).status_code == 409
    assert book(client, local_iso(day, 9, 45), service="melde").status_code == 201
    assert count(ctx, Appointment) == 3


@pytest.mark.parametrize("start,why", [
    ("2020-01-06T09:00:00+01:00", "past"),
    ("{day}T09:07:00+01:00", "off grid"),
    ("{day}T12:00:00+01:00", "after closing"),
    ("{day}T11:45:00+01:00", "runs past closing"),
    ("{far}T09:00:00+01:00", "beyond horizon"),
])
def test_unbookable_starts_are_409(client, ctx, town, start, why):
    start = start.format(day=next_workday(), far=next_workday(70))
    response = book(client, start)
    assert response.status_code == 409, why
    assert response.get_json()["error"]
    assert count(ctx, Appointment) == 0


@pytest.mark.parametrize("payload", ["[1, 2]", "null", "not json", '"text"'])
def test_non_object_body_is_400(client, town, payload):
    response = client.post("/api/v1/appointments", data=payload,
                           content_type="application/json", headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "JSON object" in response.get_json()["error"]


def test_invalid_fields_are_422_per_field(client, ctx, town):
    response = client.post("/api/v1/appointments", json={
        "office": "nix", "service": 7, "start": "tomorrow", "name": " ",
        "email": "not-an-email", "phone": "call me", "language": "fr"})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"office", "service", "start", "name", "email", "phone", "language"}
    naive = book(client, "2030-01-01T09:00:00")
    assert naive.status_code == 422 and "start" in naive.get_json()["errors"]
    not_offered = client.post("/api/v1/appointments", json={
        "office": "amt", "service": "nope", "start": local_iso(next_workday(), 9),
        "name": "A", "email": "a@example.org"})
    assert not_offered.status_code == 422
    assert count(ctx, Appointment) == 0


def test_cancel_after_deadline_is_409(client, ctx, town):
    from booking.db import db

    body = book(client, local_iso(next_workday(), 9)).get_json()
    appointment = ctx.scalar(select(Appointment))
    # move the appointment to 30 minutes from now: inside the 60-minute deadline
    appointment.start_at = datetime.now(UTC) + timedelta(minutes=30)
    appointment.end_at = appointment.start_at + timedelta(minutes=30)
    db.session.commit()
    response = client.delete(f"/api/v1/appointments/{body['code']}", headers=auth(body["manage_token"]))
    assert response.status_code == 409
    assert client.get(f"/api/v1/appointments/{body['code']}",
                      headers=auth(body["manage_token"])).get_json()["status"] == "confirmed"


def test_openapi_document_lists_the_contract(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for path in ["/services", "/offices", "/offices/{office}/services/{service}/slots",
                 "/appointments", "/appointments/{code}", "/appointments/{code}/reschedule"]:
        assert path in doc["paths"], path
    assert set(doc["paths"]["/appointments/{code}"]) == {"get", "delete"}


def test_lone_surrogates_in_json_are_400(client, ctx, town):
    response = client.post("/api/v1/appointments", data='{"office": "\\ud800", "name": "x"}',
                           content_type="application/json")
    assert response.status_code == 400
    assert count(ctx, Appointment) == 0


def test_counter_closure_reduces_capacity_but_keeps_the_office_open(client, ctx, town):
    from booking.offices.models import Closure, Counter

    day = next_workday()
    counter = Counter(office_id="amt", name="1")
    ctx.add(counter)
    ctx.flush()
    ctx.add(Closure(office_id="amt", counter_id=counter.id, reason="Krank",
                    starts_at=datetime.fromisoformat(local_iso(day, 9)),
                    ends_at=datetime.fromisoformat(local_iso(day, 10))))
    ctx.commit()
    slots = client.get(f"/api/v1/offices/amt/services/melde/slots?from={day}&to={day}").get_json()
    available = {s["start"]: s["available"] for s in slots}
    assert available[local_iso(day, 8)] == 2
    assert available[local_iso(day, 9)] == 1
    assert available[local_iso(day, 10)] == 2
    assert book(client, local_iso(day, 9), service="melde").status_code == 201
    assert book(client, local_iso(day, 9), service="melde").status_code == 409


def test_service_the_office_does_not_offer_is_422(client, ctx, town):
    from booking.offices.models import Service

    ctx.add(Service(id="fish", name_de="Angelschein", name_en="Fishing licence",
                    duration_minutes=15))
    ctx.commit()
    start = local_iso(next_workday(), 9)
    alone = book(client, start, service="fish")
    assert alone.status_code == 422
    assert set(alone.get_json()["errors"]) == {"service"}
    with_others = book(client, start, service="fish", name=" ")
    assert with_others.status_code == 422
    assert set(with_others.get_json()["errors"]) == {"service", "name"}
    assert with_others.get_json()["errors"]["service"] == alone.get_json()["errors"]["service"]
    assert count(ctx, Appointment) == 0


def test_a_booking_code_in_use_is_retried_by_the_constraint(client, ctx, town, monkeypatch):
    """No query checks the random code first: the unique constraint rejects a repeat and
    the booking is tried again with a new code (and the seats free at that moment)."""
    from booking.scheduling import codes

    drawn = iter(["AAAA3333", "AAAA3333", "CCCC4444"])
    monkeypatch.setattr(codes, "new_code", lambda: next(drawn))
    day = next_workday()
    first = book(client, local_iso(day, 9))
    second = book(client, local_iso(day, 9))
    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.get_json()["code"], second.get_json()["code"]) == ("AAAA3333", "CCCC4444")
    assert count(ctx, Appointment) == 2
    assert count(ctx, AppointmentSeat) == 4  # 30 minutes: two steps each, nothing left over
    assert count(ctx, OutboxMessage) == 2


def test_a_seat_taken_between_looking_and_inserting_is_retried(client, ctx, town, monkeypatch):
    """What a concurrent booking looks like from inside: the seat numbers read are already
    out of date, the insert hits the unique seat key, and the next attempt looks again."""
    from booking.scheduling import holds

    day = next_workday()
    assert book(client, local_iso(day, 9), service="melde").status_code == 201
    real = holds.seats_in_use
    stale = {"calls": 0}

    def first_stale(office, instants, now):
        stale["calls"] += 1
        return {} if stale["calls"] == 1 else real(office, instants, now)

    monkeypatch.setattr(holds, "seats_in_use", first_stale)
    second = book(client, local_iso(day, 9), service="melde")
    assert second.status_code == 201 and stale["calls"] == 2
    ctx.rollback()
    assert sorted(ctx.scalars(select(AppointmentSeat.seat_no))) == [1, 2]

    stale["calls"] = 0  # full now (capacity 2): the stale attempt fails, the next sees it
    third = book(client, local_iso(day, 9), service="melde")
    assert third.status_code == 409 and stale["calls"] == 2
    assert count(ctx, Appointment) == 2 and count(ctx, AppointmentSeat) == 2


def test_other_constraint_violations_are_not_retried_as_conflicts(ctx, town):
    from sqlalchemy.exc import IntegrityError

    from booking.db import utcnow
    from booking.offices.models import Office, Service
    from booking.scheduling import operations, visits

    office, service = ctx.get(Office, "amt"), ctx.get(Service, "melde")
    start = datetime.fromisoformat(local_iso(next_workday(), 9))
    with pytest.raises(IntegrityError, match="language_known"):
        operations.book_appointment(office, visits.single(service), start,
                                    operations.Citizen("A", "a@example.org", language="fr"),
                                    utcnow())
    ctx.rollback()
    assert count(ctx, Appointment) == 0
