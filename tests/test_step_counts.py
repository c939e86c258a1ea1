"""The seats per (rule, step) that the booking keeps for the slot listing
(booking.scheduling.seat_counts) always equal the seats not held, whatever takes or
frees seats; held seats count in the listing until they lapse, without any job."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from booking.accounts.models import User
from booking.db import utcnow
from booking.offices import rules
from booking.offices.models import AvailabilityRule, Service
from booking.scheduling import holds, operations, visits
from booking.scheduling.models import AppointmentSeat, StepCount
from tests.factories import at, make_town, make_user, next_workday


@pytest.fixture
def town(ctx):
    office = make_town(ctx, capacity=2)
    return office, ctx.get(Service, "pass")


def kept(ctx) -> dict:
    rows = ctx.execute(select(StepCount.rule_id, StepCount.slot_at, StepCount.taken)
                       .where(StepCount.taken != 0)).all()
    return {(rule_id, slot_at): taken for rule_id, slot_at, taken in rows}


def seats_not_held(ctx) -> dict:
    rows = ctx.execute(select(AppointmentSeat.rule_id, AppointmentSeat.slot_at, func.count())
                       .where(AppointmentSeat.held_until.is_(None))
                       .group_by(AppointmentSeat.rule_id, AppointmentSeat.slot_at)).all()
    return {(rule_id, slot_at): n for rule_id, slot_at, n in rows}


def assert_kept(ctx) -> None:
    ctx.flush()
    assert kept(ctx) == seats_not_held(ctx)


def available(office, service, now, start) -> int:
    day = start.astimezone(office.tz).date()
    free = operations.list_free_slots(office, visits.single(service), now, day, day)
    return next((s.available for s in free if s.start_at == start), 0)


def citizen(name: str) -> operations.Citizen:
    return operations.Citizen(name, f"{name.lower()}@example.org")


def test_booking_cancelling_and_moving_keep_the_counts(ctx, town):
    office, service = town
    now, day = utcnow(), next_workday()
    nine, ten = at(day, 9), at(day, 10)
    first, _ = operations.book_appointment(office, visits.single(service), nine, citizen("Anna"), now)
    second, _ = operations.book_appointment(office, visits.single(service), nine, citizen("Ben"), now)
    assert_kept(ctx)
    assert kept(ctx) and available(office, service, now, nine) == 0
    operations.reschedule_appointment(first, ten, now)  # freed at once
    assert_kept(ctx)
    assert available(office, service, now, nine) == 1
    release = now + timedelta(minutes=10)
    operations.reschedule_appointment(first, nine + timedelta(minutes=15), now,
                                      release_at=release)  # 10:00 held until the release
    assert_kept(ctx)
    assert available(office, service, now, ten) == 1
    assert available(office, service, release, ten) == 2  # the hold lapsed by itself
    operations.cancel_appointment(second, now, release_at=release)
    assert_kept(ctx)
    # 9:15 has Anna's kept count and Ben's held seat: the listing adds both up
    assert available(office, service, now, nine) == 0
    operations.cancel_appointment(first, now)
    assert_kept(ctx)
    assert kept(ctx) == {}
    assert available(office, service, now, nine) == 1  # Ben's seat, held until the release
    assert available(office, service, release, nine) == 2


def test_held_bookings_count_only_once_confirmed(ctx, town):
    office, service = town
    now, day = utcnow(), next_workday()
    nine = at(day, 9)
    held, token = operations.book_appointment(office, visits.single(service), nine, citizen("Anna"), now,
                                              hold_until=now + timedelta(minutes=30))
    assert_kept(ctx)
    assert kept(ctx) == {}  # held: in the listing from its own index, not in the counts
    assert available(office, service, now, nine) == 1
    holds.confirm_hold(held, now, token)
    assert_kept(ctx)
    assert sum(kept(ctx).values()) == 2  # 30 minutes: two steps
    assert available(office, service, now + timedelta(hours=1), nine) == 1


def test_deleting_a_rule_moves_the_counts_with_the_seats(ctx, town):
    office, service = town
    spare = AvailabilityRule(office=office, weekdays="123456", start_time=time(8),
                             end_time=time(12), valid_from=date(2020, 1, 1), capacity=2)
    ctx.add(spare)
    ctx.commit()
    now, day = utcnow(), next_workday()
    nine = at(day, 9)
    old = ctx.scalars(select(AvailabilityRule).order_by(AvailabilityRule.id)).first()
    assert old.id != spare.id
    booked = [operations.book_appointment(office, visits.single(service), nine, citizen(name), now)[0].id
              for name in ("Anna", "Ben", "Cem")]  # the first two take the old rule's seats
    assert {rule_id for rule_id, _ in kept(ctx)} == {old.id, spare.id}
    manager = ctx.get(User, make_user(ctx, "manager", "amt")[0])
    plan = rules.delete_rule(office, old, "cancel", frozenset(booked[1:2]), "", manager, now)
    assert [a.name for a in plan.stranded] == ["Ben"]  # the spare rule had one seat left
    assert_kept(ctx)
    assert {rule_id for rule_id, _ in kept(ctx)} == {spare.id}
    assert available(office, service, now, nine) == 0
