"""Loading what the pure slot functions need from the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays as holidays_lib
from sqlalchemy import func, select

from booking.db import db
from booking.offices.models import AvailabilityRule, Closure, Office
from booking.scheduling import slots
from booking.scheduling.models import AppointmentSeat


def get_policy(office: Office) -> slots.Policy:
    return slots.Policy(
        tz=office.tz,
        slot_minutes=office.slot_minutes,
        lead=timedelta(minutes=office.lead_time_minutes),
        horizon_days=office.horizon_days,
    )


def to_rule(rule: AvailabilityRule) -> slots.Rule:
    return slots.Rule(
        id=rule.id,
        weekdays=frozenset(int(ch) for ch in rule.weekdays),
        start=rule.start_time,
        end=rule.end_time,
        valid_from=rule.valid_from,
        valid_until=rule.valid_until,
        capacity=rule.capacity,
        service_ids=frozenset(s.id for s in rule.services),
    )


@lru_cache(maxsize=64)
def _holidays(state: str, year: int) -> frozenset[date]:
    return frozenset(holidays_lib.country_holidays("DE", subdiv=state, years=year).keys())


def get_holidays(state: str, first_day: date, last_day: date) -> set[date]:
    """Public holidays of a German federal state (``HE`` = Hessen) in the date range."""
    days: set[date] = set()
    for year in range(first_day.year, last_day.year + 1):
        days |= {d for d in _holidays(state, year) if first_day <= d <= last_day}
    return days


def _day_bounds(office: Office, first_day: date, last_day: date) -> tuple[datetime, datetime]:
    tz = office.tz
    start = datetime.combine(first_day, time.min, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return start, end


def get_closures(office: Office, first_day: date, last_day: date) -> list[tuple[datetime, datetime]]:
    start, end = _day_bounds(office, first_day, last_day)
    rows = db.session.execute(
        select(Closure.starts_at, Closure.ends_at).where(
            Closure.office_id == office.id, Closure.starts_at < end, Closure.ends_at > start
        )
    )
    return [(a, b) for a, b in rows]


def get_open_steps(
    office: Office, service_id: str | None, first_day: date, last_day: date
) -> dict[datetime, slots.Step]:
    rules = db.session.scalars(
        select(AvailabilityRule).where(AvailabilityRule.office_id == office.id)
    ).all()
    return slots.open_steps(
        [to_rule(r) for r in rules],
        get_closures(office, first_day, last_day),
        get_holidays(office.state, first_day, last_day),
        service_id,
        get_policy(office),
        first_day,
        last_day,
    )


def get_taken(office: Office, first_day: date, last_day: date) -> dict[tuple[int, datetime], int]:
    """Seats held per (rule id, step) in the local date range."""
    start, end = _day_bounds(office, first_day, last_day)
    rows = db.session.execute(
        select(AppointmentSeat.rule_id, AppointmentSeat.slot_at, func.count())
        .where(
            AppointmentSeat.office_id == office.id,
            AppointmentSeat.slot_at >= start,
            AppointmentSeat.slot_at < end,
        )
        .group_by(AppointmentSeat.rule_id, AppointmentSeat.slot_at)
    )
    return {(rule_id, slot_at): count for rule_id, slot_at, count in rows}


def get_used_seats(office: Office, instants: list[datetime]) -> dict[datetime, dict[int, set[int]]]:
    """Seat numbers in use per step and rule, for the steps ``instants``."""
    used: dict[datetime, dict[int, set[int]]] = {}
    rows = db.session.execute(
        select(AppointmentSeat.slot_at, AppointmentSeat.rule_id, AppointmentSeat.seat_no).where(
            AppointmentSeat.office_id == office.id, AppointmentSeat.slot_at.in_(instants)
        )
    )
    for slot_at, rule_id, seat_no in rows:
        used.setdefault(slot_at, {}).setdefault(rule_id, set()).add(seat_no)
    return used
