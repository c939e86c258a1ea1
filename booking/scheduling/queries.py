"""Loading what the pure slot functions need from the database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays as holidays_lib
from sqlalchemy import BigInteger, Integer, bindparam, cast, extract, func, select, union_all

from booking.db import db
from booking.offices.models import AvailabilityRule, Closure, Office, office_services, rule_services
from booking.scheduling import codes, slots
from booking.scheduling.models import CANCELLED, Appointment, AppointmentSeat, StepCount


def _lock_statement(for_change: bool):
    query = select(Office.id).where(Office.id == bindparam("office"))
    return query.with_for_update(read=not for_change, key_share=not for_change, of=Office)


# operations.lock_office_schedule's statements, built once (like those below): for_change → statement
OFFICE_LOCKS = {change: _lock_statement(change) for change in (False, True)}

_OFFERED = select(office_services.c.service_id, office_services.c.combinable).where(
    office_services.c.office_id == bindparam("office"),
    office_services.c.service_id.in_(bindparam("services", expanding=True)))
# the same, locking the office's row as a booking does (operations.lock_office_schedule)
_OFFERED_LOCKING = _OFFERED.join(Office, Office.id == office_services.c.office_id) \
    .with_for_update(read=True, key_share=True, of=Office)


def get_offered(office_id: str, service_ids: Iterable[str], *, lock: bool = False
                ) -> dict[str, bool]:
    """Of ``service_ids``, those the office offers, each with whether it may share an
    appointment with others; one indexed query. ``lock``: lock the office's schedule for
    a booking in the same statement (only if it offers one of them)."""
    return dict(db.session.execute(_OFFERED_LOCKING if lock else _OFFERED,
                                   {"office": office_id, "services": list(service_ids)}).all())


def is_offered(office_id: str, service_id: str) -> bool:
    """Whether the office offers the service."""
    return service_id in get_offered(office_id, [service_id])


def get_policy(office: Office) -> slots.Policy:
    return slots.Policy(
        tz=office.tz,
        slot_minutes=office.slot_minutes,
        lead=timedelta(minutes=office.lead_time_minutes),
        horizon_days=office.horizon_days,
    )


_RULES = (
    select(AvailabilityRule.id, AvailabilityRule.weekdays, AvailabilityRule.start_time,
           AvailabilityRule.end_time, AvailabilityRule.valid_from, AvailabilityRule.valid_until,
           AvailabilityRule.capacity, rule_services.c.service_id)
    .outerjoin(rule_services, rule_services.c.rule_id == AvailabilityRule.id)
    .where(AvailabilityRule.office_id == bindparam("office"))
    .order_by(AvailabilityRule.id)
)


def get_rules(office: Office) -> tuple[slots.Rule, ...]:
    """The office's availability rules with their services, in one query, by id."""
    rules: dict[int, tuple] = {}
    services: dict[int, set[str]] = {}
    for *rule, service_id in db.session.execute(_RULES, {"office": office.id}):
        rules[rule[0]] = rule
        services.setdefault(rule[0], set()).update([service_id] if service_id else [])
    return tuple(
        slots.Rule(id=rule_id, weekdays=frozenset(int(ch) for ch in weekdays), start=start,
                   end=end, valid_from=valid_from, valid_until=valid_until, capacity=capacity,
                   service_ids=frozenset(services[rule_id]))
        for rule_id, weekdays, start, end, valid_from, valid_until, capacity in rules.values()
    )


@lru_cache(maxsize=64)
def _holidays(state: str, year: int) -> frozenset[date]:
    # the holidays library's calendar, not data of ours: computed once per state and year
    return frozenset(holidays_lib.country_holidays("DE", subdiv=state, years=year).keys())


def get_holidays(state: str, first_day: date, last_day: date) -> set[date]:
    """Public holidays of a German federal state (``HE`` = Hessen) in the date range."""
    days: set[date] = set()
    for year in range(first_day.year, last_day.year + 1):
        days |= {d for d in _holidays(state, year) if first_day <= d <= last_day}
    return days


def day_bounds(office: Office, first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """The UTC instants where local date ``first_day`` begins and ``last_day`` ends."""
    start = datetime.combine(first_day, time.min, tzinfo=office.tz).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=office.tz)
    return start, end.astimezone(UTC)


_CLOSURES = select(Closure.starts_at, Closure.ends_at, Closure.counter_id).where(
    Closure.office_id == bindparam("office"), Closure.starts_at < bindparam("end"),
    Closure.ends_at > bindparam("start"))


def get_closure_intervals(office: Office, first_day: date, last_day: date
                          ) -> tuple[list[tuple[datetime, datetime]], list[tuple[datetime, datetime]]]:
    """(office-wide closures, closures of single counters) overlapping the date range, each
    sorted. A closed counter takes one seat off every rule's capacity (slots.open_steps)."""
    start, end = day_bounds(office, first_day, last_day)
    rows = db.session.execute(_CLOSURES, {"office": office.id, "start": start, "end": end})
    closed, cuts = [], []
    for starts_at, ends_at, counter_id in rows:
        (closed if counter_id is None else cuts).append((starts_at, ends_at))
    return sorted(closed), sorted(cuts)


def get_closures(office: Office, first_day: date, last_day: date) -> list[tuple[datetime, datetime]]:
    """Office-wide closures in the date range (those of single counters left out)."""
    return get_closure_intervals(office, first_day, last_day)[0]


def get_open_steps(office: Office, rules: Iterable[slots.Rule], service_id: str | None,
                   first_day: date, last_day: date) -> slots.OpenSteps:
    """The open steps of the office for the service on local dates first_day..last_day,
    from ``rules`` (:func:`get_rules`) and the closures and public holidays as the
    database holds them now."""
    closed, cuts = get_closure_intervals(office, first_day, last_day)
    return slots.open_steps(rules, closed, get_holidays(office.state, first_day, last_day),
                            service_id, get_policy(office), first_day, last_day, cuts)


def _taken_statement():
    rule_ids, start, end = (bindparam("rule_ids", expanding=True), bindparam("start"),
                            bindparam("end"))

    def seconds(column):
        # the step as POSIX seconds (computed by the database, per dialect): a thousand rows
        # of them are read much faster than timestamps, and made instants again in one C
        # call each
        return cast(extract("epoch", column), BigInteger)

    held = (AppointmentSeat.rule_id.in_(rule_ids), AppointmentSeat.slot_at >= start,
            AppointmentSeat.slot_at < end, AppointmentSeat.held_until.is_not(None),
            AppointmentSeat.held_until > bindparam("now"))
    # a step's kept count and its held seats are two rows, added up by the reader: the
    # database then only reads the counts, no aggregate over all of them
    return union_all(
        select(StepCount.rule_id, seconds(StepCount.slot_at), StepCount.taken).where(
            StepCount.rule_id.in_(rule_ids), StepCount.slot_at >= start, StepCount.slot_at < end,
            StepCount.taken > 0),
        select(AppointmentSeat.rule_id, seconds(AppointmentSeat.slot_at),
               cast(func.count(), Integer)).where(*held)
        .group_by(AppointmentSeat.rule_id, AppointmentSeat.slot_at),
    )


_TAKEN = _taken_statement()  # built once: every listing runs it


def get_taken(office: Office, rules: Iterable[slots.Rule], first_day: date, last_day: date,
              now: datetime) -> dict[tuple[int, datetime], int]:
    """Seats taken at ``now`` per (rule id, step) of ``rules`` in the local date range
    (:func:`get_taken_between`)."""
    start, end = day_bounds(office, first_day, last_day)
    return get_taken_between([rule.id for rule in rules if rule.id is not None], start, end,
                             now)


def get_used_seats(office: Office, instants: list[datetime]) -> dict[datetime, dict[int, set[int]]]:
    """Seat numbers in use per step and rule, for the steps ``instants`` (lapsed holds
    too; the seat taker uses holds.seats_in_use, which deletes those first)."""
    used: dict[datetime, dict[int, set[int]]] = {}
    rows = db.session.execute(
        select(AppointmentSeat.slot_at, AppointmentSeat.rule_id, AppointmentSeat.seat_no).where(
            AppointmentSeat.office_id == office.id, AppointmentSeat.slot_at.in_(instants)
        )
    )
    for slot_at, rule_id, seat_no in rows:
        used.setdefault(slot_at, {}).setdefault(rule_id, set()).add(seat_no)
    return used


# ---------------------------------------------------------------- several offices at once
# (the next free appointment in any office, booking.scheduling.next_free)


def get_offices_offering(service_ids: Iterable[str]) -> list[tuple[Office, dict[str, bool]]]:
    """The offices that offer any of the services, by name, each with those of them it
    offers and whether each may share an appointment (:func:`get_offered`); one query."""
    rows = db.session.execute(
        select(Office, office_services.c.service_id, office_services.c.combinable)
        .join(office_services, office_services.c.office_id == Office.id)
        .where(office_services.c.service_id.in_(list(service_ids)))
        .order_by(Office.name, Office.id))
    found: dict[str, tuple[Office, dict[str, bool]]] = {}
    for office, service_id, combinable in rows:
        found.setdefault(office.id, (office, {}))[1][service_id] = combinable
    return list(found.values())


def get_rules_of(office_ids: Iterable[str]) -> dict[str, tuple[slots.Rule, ...]]:
    """The availability rules of several offices with their services, in one query:
    office id → its rules by id (offices without rules left out)."""
    rows = db.session.execute(
        select(AvailabilityRule, rule_services.c.service_id)
        .outerjoin(rule_services, rule_services.c.rule_id == AvailabilityRule.id)
        .where(AvailabilityRule.office_id.in_(list(office_ids)))
        .order_by(AvailabilityRule.id)
    )
    rules: dict[int, AvailabilityRule] = {}
    services: dict[int, set[str]] = {}
    for rule, service_id in rows:
        rules[rule.id] = rule
        services.setdefault(rule.id, set()).update([service_id] if service_id else [])
    by_office: dict[str, list[slots.Rule]] = {}
    for rule in rules.values():
        by_office.setdefault(rule.office_id, []).append(slots.Rule(
            id=rule.id, weekdays=frozenset(int(ch) for ch in rule.weekdays),
            start=rule.start_time, end=rule.end_time, valid_from=rule.valid_from,
            valid_until=rule.valid_until, capacity=rule.capacity,
            service_ids=frozenset(services[rule.id])))
    return {office_id: tuple(found) for office_id, found in by_office.items()}


def get_closure_intervals_of(office_ids: Iterable[str], start: datetime, end: datetime
                             ) -> dict[str, tuple[list[tuple[datetime, datetime]],
                                                  list[tuple[datetime, datetime]]]]:
    """:func:`get_closure_intervals` of several offices between the UTC instants, in one
    query: office id → (office-wide closures, closures of single counters)."""
    rows = db.session.execute(
        select(Closure.office_id, Closure.starts_at, Closure.ends_at, Closure.counter_id)
        .where(Closure.office_id.in_(list(office_ids)), Closure.starts_at < end,
               Closure.ends_at > start)
    )
    found: dict[str, tuple[list, list]] = {}
    for office_id, starts_at, ends_at, counter_id in rows:
        closed, cuts = found.setdefault(office_id, ([], []))
        (closed if counter_id is None else cuts).append((starts_at, ends_at))
    return {office_id: (sorted(closed), sorted(cuts))
            for office_id, (closed, cuts) in found.items()}


def get_taken_between(rule_ids: list[int], start: datetime, end: datetime, now: datetime
                      ) -> dict[tuple[int, datetime], int]:
    """Seats taken at ``now`` per (rule id, step) of ``rule_ids`` (of one office or
    several), for the steps from UTC ``start`` to before ``end``: the counts of seats not
    held that the booking keeps (:mod:`seat_counts`), plus the held seats not lapsed yet,
    counted from their small partial index. One round trip."""
    rows = db.session.connection().execute(_TAKEN, {
        "rule_ids": rule_ids, "start": start, "end": end, "now": now}).all()
    taken: dict[tuple[int, datetime], int] = {}
    instant, count_of = datetime.fromtimestamp, taken.get
    for rule_id, seconds, count in rows:  # a step with held seats comes twice
        step = (rule_id, instant(seconds, UTC))
        taken[step] = count_of(step, 0) + count
    return taken


# ---------------------------------------------------------------- appointments

def get_day_appointments(office: Office, day: date, *, include_cancelled: bool = True
                         ) -> list[Appointment]:
    """An office's appointments on a local date, by start time."""
    start = datetime.combine(day, time.min, tzinfo=office.tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=office.tz)
    query = (
        select(Appointment)
        .where(Appointment.office_id == office.id, Appointment.start_at >= start,
               Appointment.start_at < end)
        .order_by(Appointment.start_at, Appointment.id)
    )
    if not include_cancelled:
        query = query.where(Appointment.status != CANCELLED)
    return list(db.session.scalars(query))


def get_appointment_by_code(code: str) -> Appointment | None:
    return db.session.scalar(
        select(Appointment).where(Appointment.code == codes.normalise_code(code))
    )


def get_appointment_for_citizen(code: str, token: str | None) -> Appointment | None:
    """The appointment if ``token`` is its manage token (the confirmation's or the
    reminder's link); None for a wrong code or token alike."""
    appointment = get_appointment_by_code(code)
    if appointment is None or not (
            codes.token_matches(token, appointment.token_hash)
            or (appointment.reminder_token_hash is not None
                and codes.token_matches(token, appointment.reminder_token_hash))):
        return None
    return appointment
