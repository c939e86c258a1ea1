"""No double booking for visits of several services and persons: concurrent requests
against a real multi-worker gunicorn (as tests/test_concurrency.py does for one service)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from booking.offices.models import AvailabilityRule, Service
from booking.scheduling.models import Appointment, AppointmentSeat, AppointmentService
from tests.factories import local_iso, make_town, next_workday, race
from tests.server import gunicorn, post_json

pytestmark = pytest.mark.server


@pytest.fixture
def server(ctx, database_url, instance_dir):
    """'amt' (capacity 2, 08–12) where 'pass' takes 15 minutes for each further person."""
    make_town(ctx, capacity=2)
    ctx.get(Service, "pass").further_person_minutes = 15
    ctx.commit()
    with gunicorn(database_url, instance_dir, workers=4) as base:
        yield base


def overbooked_steps(ctx) -> list:
    ctx.rollback()
    rows = ctx.execute(
        select(AppointmentSeat.rule_id, AppointmentSeat.slot_at, func.count(),
               AvailabilityRule.capacity)
        .join(AvailabilityRule, AvailabilityRule.id == AppointmentSeat.rule_id)
        .group_by(AppointmentSeat.rule_id, AppointmentSeat.slot_at, AvailabilityRule.capacity)
    ).all()
    return [r for r in rows if r[2] > r[3]]


def test_racing_family_visits_for_the_last_seats_never_overbook(server, ctx):
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
