"""A booking sent twice (a double click, a reload, an API retry after a broken connection)
books once: the repeat gets the first booking (booking.scheduling.idempotency)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from booking.audit.models import AuditEntry
from booking.db import utcnow
from booking.notifications.models import OutboxMessage
from booking.retention import run_purge
from booking.scheduling import idempotency
from booking.scheduling.models import Appointment, AppointmentSeat, IdempotencyKey
from tests.factories import (
    count_rows,
    csrf_from,
    key_from,
    local_iso,
    log_in,
    make_town,
    make_user,
    next_workday,
)


@pytest.fixture
def town(ctx):
    return make_town(ctx, capacity=1)


def _counts(ctx) -> tuple[int, int, int]:
    return (count_rows(ctx, Appointment), count_rows(ctx, AppointmentSeat),
            count_rows(ctx, OutboxMessage))


# ---------------------------------------------------------------- the citizen form

def _form(client, start: str) -> dict:
    page = client.get("/offices/amt/services/melde/book", query_string={"start": start})
    html = page.get_data(as_text=True)
    key = key_from(html)
    return {"csrf_token": csrf_from(html), "key": key, "start": start, "name": "Max Müller",
            "email": "max@example.org", "phone": "", "privacy": "y"}


def test_a_form_sent_twice_books_once_and_answers_with_the_first_booking(client, ctx, town):
    data = _form(client, local_iso(next_workday(), 9))
    first = client.post("/offices/amt/services/melde/book", data=data)
    again = client.post("/offices/amt/services/melde/book", data=data)  # the only seat is gone
    assert first.status_code == again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert client.get(again.headers["Location"]).status_code == 200
    assert _counts(ctx) == (1, 1, 1)


def test_each_form_page_has_its_own_key(client, town):
    start = local_iso(next_workday(), 9)
    assert _form(client, start)["key"] != _form(client, start)["key"]


def test_a_changed_form_sent_with_a_used_key_books_only_when_sent_again(client, ctx, town):
    day = next_workday()
    data = _form(client, local_iso(day, 9))
    assert client.post("/offices/amt/services/melde/book", data=data).status_code == 303
    changed = {**data, "name": "Erika Müller", "start": local_iso(day, 10)}
    refused = client.post("/offices/amt/services/melde/book", data=changed)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "bereits für eine Buchung mit anderen Angaben verwendet" in html
    new_key = key_from(html)
    assert new_key != data["key"]
    assert _counts(ctx) == (1, 1, 1)
    booked = client.post("/offices/amt/services/melde/book", data={**changed, "key": new_key})
    assert booked.status_code == 303
    assert _counts(ctx) == (2, 2, 2)


# (NUL gets 400 before any view: test_hostile_input)
@pytest.mark.parametrize("key", ["", "x" * 256, "a\tb", "schlüssel"])
def test_a_missing_or_malformed_form_key_is_replaced(client, ctx, town, key):
    data = {**_form(client, local_iso(next_workday(), 9)), "key": key}
    assert client.post("/offices/amt/services/melde/book", data=data).status_code == 303
    assert _counts(ctx) == (1, 1, 1)


def test_a_phone_booking_sent_twice_books_once(client, ctx, town):
    log_in(client, make_user(ctx, "clerk", "amt")[1])
    day = next_workday()
    html = client.get("/staff/offices/amt/book",
                      query_string={"service": "melde", "day": str(day)}).get_data(as_text=True)
    key = key_from(html)
    data = {"csrf_token": csrf_from(html), "key": key, "service": "melde", "day": str(day),
            "slot": local_iso(day, 9), "name": "Anna Anruferin", "email": "anna@example.org",
            "phone": "", "language": "de"}
    first = client.post("/staff/offices/amt/book", data=data)
    again = client.post("/staff/offices/amt/book", data=data)
    assert first.status_code == again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert _counts(ctx) == (1, 1, 1)
    assert count_rows(ctx, AuditEntry) == 1
    changed = client.post("/staff/offices/amt/book", data={**data, "slot": local_iso(day, 10)})
    assert changed.status_code == 422
    assert "bereits für eine Buchung mit anderen Angaben verwendet" in changed.get_data(
        as_text=True)
    assert _counts(ctx) == (1, 1, 1)


# ---------------------------------------------------------------- the JSON API

def _body(start: str, **overrides) -> dict:
    return {"office": "amt", "service": "melde", "start": start, "name": "Erika Mustermann",
            "email": "erika@example.org", **overrides}


def test_an_api_retry_with_the_same_key_gets_the_first_response(client, ctx, town):
    body = _body(local_iso(next_workday(), 9))
    headers = {"Idempotency-Key": "5f0c2f4e-7a5b-4c38-9d2e-4f1f8a0b6c11"}
    first = client.post("/api/v1/appointments", json=body, headers=headers)
    again = client.post("/api/v1/appointments", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    token = first.get_json()["manage_token"]
    code = first.get_json()["code"]
    assert client.get(f"/api/v1/appointments/{code}",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert _counts(ctx) == (1, 1, 1)
    # neither the key nor the token is stored as it is
    (row,) = ctx.execute(select(IdempotencyKey.key_hash, IdempotencyKey.sealed_token)).all()
    ctx.rollback()
    assert headers["Idempotency-Key"] not in row and token not in row
    assert token.encode().hex() != row.sealed_token


def test_the_same_key_with_another_body_is_422(client, ctx, town):
    headers = {"Idempotency-Key": "key-1"}
    day = next_workday()
    assert client.post("/api/v1/appointments", json=_body(local_iso(day, 9)),
                       headers=headers).status_code == 201
    other = client.post("/api/v1/appointments", json=_body(local_iso(day, 10)), headers=headers)
    assert other.status_code == 422
    assert "Idempotency-Key" in other.get_json()["errors"]
    assert _counts(ctx) == (1, 1, 1)


def test_without_a_key_or_with_different_keys_each_request_books(client, ctx, town):
    day = next_workday()
    for minute, headers in ((0, {}), (15, {}), (30, {"Idempotency-Key": "a"}),
                            (45, {"Idempotency-Key": '"a b"'})):
        assert client.post("/api/v1/appointments", json=_body(local_iso(day, 9, minute)),
                           headers=headers).status_code == 201
    assert _counts(ctx) == (4, 4, 4)


@pytest.mark.parametrize("key", ["", " lead", "trail ", "x" * 256, "schlüssel", "a\tb"])
def test_a_malformed_key_is_400(client, ctx, town, key):
    response = client.post("/api/v1/appointments", json=_body(local_iso(next_workday(), 9)),
                           headers={"Idempotency-Key": key.encode("utf-8").decode("latin-1")})
    assert response.status_code == 400
    assert response.get_json()["error"]
    assert _counts(ctx) == (0, 0, 0)


def test_the_header_is_documented(client):
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/appointments"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in operation["parameters"]]


# ---------------------------------------------------------------- retention

def test_the_purge_deletes_keys_older_than_a_day(client, ctx, town):
    day = next_workday()
    for key in ("old", "new"):
        client.post("/api/v1/appointments", json=_body(local_iso(day, 9 if key == "old" else 10)),
                    headers={"Idempotency-Key": key})
    ctx.execute(IdempotencyKey.__table__.update()
                .where(IdempotencyKey.key_hash == idempotency.key_hash("old"))
                .values(created_at=utcnow() - timedelta(days=1, minutes=1)))
    ctx.commit()
    run_purge(utcnow(), timedelta(days=1))
    ctx.commit()
    assert ctx.scalars(select(IdempotencyKey.key_hash)).all() == [idempotency.key_hash("new")]
    ctx.rollback()


def test_seal_opens_only_with_the_key():
    sealed = idempotency.seal("token-123", "key")
    assert idempotency.unseal(sealed, "key") == "token-123"
    assert sealed != b"token-123".hex()
    assert idempotency.seal("token-123", "kex") != sealed
