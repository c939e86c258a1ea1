"""Loading what the pure slot functions need from the database."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays as holidays_lib
from sqlalchemy import bindparam, exists, func, literal_column, select, text, true
from sqlalchemy.dialects.postgresql import aggregate_order_by

from booking.db import db
from booking.offices.models import (
    AvailabilityRule,
    Closure,
    Office,
    Service,
    office_services,
    rule_services,
)
from booking.scheduling import slots
from booking.scheduling.models import AppointmentSeat


def is_offered(office_id: str, service_id: str) -> bool:
    """Whether the office offers the service (one indexed lookup, no ORM collection)."""
    return db.session.execute(
        select(office_services.c.service_id).where(
            office_services.c.office_id == office_id, office_services.c.service_id == service_id)
    ).first() is not None


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


def _rule_columns():
    return (
        AvailabilityRule.id,
        AvailabilityRule.weekdays,
        AvailabilityRule.start_time,
        AvailabilityRule.end_time,
        AvailabilityRule.valid_from,
        AvailabilityRule.valid_until,
        AvailabilityRule.capacity,
        rule_services.c.service_id,
    )


def _rules_from_rows(rows: Iterable) -> tuple[slots.Rule, ...]:
    """Rules from (rule columns…, service id) rows of the rules/rule_services outer join,
    ordered by rule id."""
    fields: dict[int, tuple] = {}
    services: dict[int, set[str]] = {}
    for rule_id, weekdays, start, end, valid_from, valid_until, capacity, service_id in rows:
        fields[rule_id] = (weekdays, start, end, valid_from, valid_until, capacity)
        if service_id is not None:
            services.setdefault(rule_id, set()).add(service_id)
    return tuple(
        slots.Rule(
            id=rule_id,
            weekdays=frozenset(int(ch) for ch in weekdays),
            start=start,
            end=end,
            valid_from=valid_from,
            valid_until=valid_until,
            capacity=capacity,
            service_ids=frozenset(services.get(rule_id, ())),
        )
        for rule_id, (weekdays, start, end, valid_from, valid_until, capacity) in fields.items()
    )


def get_rules(office: Office) -> tuple[slots.Rule, ...]:
    """The office's availability rules with their services, in one query, by id."""
    rows = db.session.execute(
        select(*_rule_columns())
        .outerjoin(rule_services, rule_services.c.rule_id == AvailabilityRule.id)
        .where(AvailabilityRule.office_id == office.id)
        .order_by(AvailabilityRule.id)
    )
    return _rules_from_rows(rows)


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
    return _local_day_bounds(office.tz, first_day, last_day)


def _local_day_bounds(tz, first_day: date, last_day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(first_day, time.min, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return start, end


def get_closure_intervals(office: Office, first_day: date, last_day: date
                          ) -> tuple[list[tuple[datetime, datetime]], list[tuple[datetime, datetime]]]:
    """(office-wide closures, closures of single counters) overlapping the date range, each
    sorted. A closed counter takes one seat off every rule's capacity (slots.open_steps)."""
    start, end = _day_bounds(office, first_day, last_day)
    rows = db.session.execute(
        select(Closure.starts_at, Closure.ends_at, Closure.counter_id).where(
            Closure.office_id == office.id, Closure.starts_at < end, Closure.ends_at > start
        )
    )
    return _split_closures(rows)


def _split_closures(rows: Iterable) -> tuple[list[tuple[datetime, datetime]],
                                             list[tuple[datetime, datetime]]]:
    closed, cuts = [], []
    for starts_at, ends_at, counter_id in rows:
        (closed if counter_id is None else cuts).append((starts_at, ends_at))
    return sorted(closed), sorted(cuts)


def get_closures(office: Office, first_day: date, last_day: date, *, counters: bool = False
                 ) -> list[tuple[datetime, datetime]]:
    """Office-wide closures in the date range; with ``counters=True`` those of single
    counters instead."""
    closed, cuts = get_closure_intervals(office, first_day, last_day)
    return cuts if counters else closed


@lru_cache(maxsize=256)
def _open_steps(
    rules: tuple[slots.Rule, ...],
    closures: tuple[tuple[datetime, datetime], ...],
    holidays: frozenset[date],
    service_id: str | None,
    policy: slots.Policy,
    first_day: date,
    last_day: date,
    capacity_cuts: tuple[tuple[datetime, datetime], ...] = (),
) -> slots.OpenSteps:
    # Memoised by every input of the pure function, all read from the database on this
    # request: a hit is exactly what open_steps would compute now, never stale.
    return slots.open_steps(rules, closures, holidays, service_id, policy, first_day, last_day,
                            capacity_cuts)


def get_open_steps(
    office: Office, service_id: str | None, first_day: date, last_day: date,
    inputs: BookingInputs | None = None,
) -> slots.OpenSteps:
    """Open steps (read-only: the result may be shared with other requests). ``inputs``:
    rules and closures read already (see :func:`booking_inputs`), else they are read now."""
    bounds = _day_bounds(office, first_day, last_day) if inputs is not None else None
    if bounds is not None and inputs.covers(*bounds):
        rules = inputs.rules
        closed, cuts = inputs.closure_intervals(*bounds)
    else:
        rules = get_rules(office)
        closed, cuts = get_closure_intervals(office, first_day, last_day)
    return _open_steps(
        rules,
        tuple(closed),
        frozenset(get_holidays(office.state, first_day, last_day)),
        service_id,
        get_policy(office),
        first_day,
        last_day,
        tuple(cuts),
    )


# ---------------------------------------------------------------- a booking's reads in one

# Closures are read for this long on either side of a start: more than the longest local
# day (25 hours) plus any UTC offset, so the window always holds the start's whole day.
_CLOSURE_MARGIN = timedelta(days=2)


@dataclass(frozen=True)
class BookingInputs:
    """What booking a start reads besides the office and the service, all in the one
    query (PostgreSQL) that :func:`booking_inputs` or :func:`load_and_keep` run:
    whether the office offers the service, the office's rules (as :func:`get_rules`), its
    closures overlapping ``window`` (a few days around the start) and the configuration's
    version, which the booking statement checks."""

    offered: bool
    rules: tuple[slots.Rule, ...]
    closures: tuple[tuple[datetime, datetime, int | None], ...]
    window: tuple[datetime, datetime]
    version: int  # of the configuration (booking_config_version), read with them

    def covers(self, start: datetime, end: datetime) -> bool:
        return self.window[0] <= start and end <= self.window[1]

    def closure_intervals(self, start: datetime, end: datetime):
        """As :func:`get_closure_intervals` for the instants [start, end) in the window."""
        return _split_closures(c for c in self.closures if c[0] < end and c[1] > start)


@lru_cache(maxsize=1)
def _inputs_columns() -> tuple:
    """(offered, rules as JSON, closures as JSON) as scalar columns (PostgreSQL), for the
    bound parameters office_id, service_id, window_start and window_end; built once."""
    office_id, service_id = bindparam("office_id"), bindparam("service_id")
    offered = exists().where(office_services.c.office_id == office_id,
                             office_services.c.service_id == service_id)
    rules = (
        select(func.json_agg(aggregate_order_by(func.json_build_array(*_rule_columns()),
                                                AvailabilityRule.id)))
        .select_from(AvailabilityRule)
        .outerjoin(rule_services, rule_services.c.rule_id == AvailabilityRule.id)
        .where(AvailabilityRule.office_id == office_id)
        .scalar_subquery()
    )
    closures = (
        select(func.json_agg(func.json_build_array(
            func.timezone("UTC", Closure.starts_at), func.timezone("UTC", Closure.ends_at),
            Closure.counter_id)))
        .where(Closure.office_id == office_id,
               Closure.starts_at < bindparam("window_end", type_=Closure.starts_at.type),
               Closure.ends_at > bindparam("window_start", type_=Closure.ends_at.type))
        .scalar_subquery()
    )
    return offered.label("offered"), rules.label("rules"), closures.label("closures")


@lru_cache(maxsize=1)
def _inputs_query():
    return select(*_inputs_columns(), _version_column())


def _version_column():
    return literal_column(CONFIG_VERSION_SQL).label("config_version")


@lru_cache(maxsize=1)
def _load_query():
    return (select(Office, Service, *_inputs_columns())
            .join(Service, true())  # two primary-key lookups
            .where(Office.id == bindparam("office_id"), Service.id == bindparam("service_id")))


def _inputs_params(office_id: str, service_id: str, start_at: datetime) -> dict:
    return {"office_id": office_id, "service_id": service_id,
            "window_start": start_at - _CLOSURE_MARGIN, "window_end": start_at + _CLOSURE_MARGIN}


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _inputs(params: dict, offered, rules_json, closures_json, version) -> BookingInputs:
    rules = _rules_from_rows(
        (rule_id, weekdays, time.fromisoformat(start), time.fromisoformat(end),
         date.fromisoformat(valid_from), valid_until and date.fromisoformat(valid_until),
         capacity, service_id)
        for rule_id, weekdays, start, end, valid_from, valid_until, capacity, service_id
        in rules_json or ()
    )
    closures = tuple((_utc(starts_at), _utc(ends_at), counter_id)
                     for starts_at, ends_at, counter_id in closures_json or ())
    return BookingInputs(bool(offered), rules, closures,
                         (params["window_start"], params["window_end"]), version)


def _in_one_query() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def booking_inputs(office: Office, service: Service, start_at: datetime) -> BookingInputs | None:
    """The offer, the rules and the closures around ``start_at`` in one query on
    PostgreSQL; None elsewhere (the booking then reads them one by one)."""
    if not _in_one_query():
        return None
    params = _inputs_params(office.id, service.id, start_at)
    return _inputs(params, *db.session.execute(_inputs_query(), params).one())


# ---------------------------------------------------------------- configuration kept in memory

# PostgreSQL raises this number on every change to offices, services, the offer, rules
# and closures (trigger of migration 0007); the booking statement compares it.
CONFIG_VERSION_SQL = "(SELECT version FROM booking_config_version)"
# What a worker keeps: closures from a few days back to a year ahead, the rules as they
# are, and the office and service rows.
_KEEP_BEFORE, _KEEP_AHEAD = timedelta(days=3), timedelta(days=400)


@dataclass(frozen=True)
class Kept:
    """An office's booking configuration for one service as a worker last read it, with
    the configuration's version (:func:`kept_for_booking`)."""

    office_id: str
    service_id: str
    state: str  # federal state, for public holidays
    policy: slots.Policy
    duration_minutes: int
    inputs: BookingInputs
    _days: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def version(self) -> int:
        return self.inputs.version

    def open_steps(self, day: date) -> slots.OpenSteps:
        """As :func:`get_open_steps` for the local ``day`` from the kept rules and
        closures (read-only, shared: memoised per day)."""
        steps = self._days.get(day)
        if steps is None:
            steps = self.open_steps_between(day, day)
            if len(self._days) > _KEEP_DAYS:
                self._days.clear()
            self._days[day] = steps
        return steps

    def covers_days(self, first_day: date, last_day: date) -> bool:
        return self.inputs.covers(*_local_day_bounds(self.policy.tz, first_day, last_day))

    def open_steps_between(self, first_day: date, last_day: date) -> slots.OpenSteps:
        """As :func:`get_open_steps` for local dates the kept closures cover
        (:meth:`covers_days`), from the kept rules and closures (read-only, shared)."""
        closed, cuts = self.inputs.closure_intervals(
            *_local_day_bounds(self.policy.tz, first_day, last_day))
        return _open_steps(self.inputs.rules, tuple(closed),
                           frozenset(get_holidays(self.state, first_day, last_day)),
                           self.service_id, self.policy, first_day, last_day, tuple(cuts))


# by database (a process may serve more than one; each has its own versions), office, service
_kept: dict[tuple[object, str, str], Kept] = {}
_KEEP_DAYS = 500  # memoised days per kept configuration (the horizon is shorter)


@lru_cache(maxsize=1)
def _keep_query():
    return _load_query().add_columns(_version_column())


def load_and_keep(office_id: str, service_id: str, now: datetime):
    """Office, service and the booking's inputs (with the configuration's version) for any
    start within a year, in one query; None if either does not exist or this is not
    PostgreSQL. What was read is kept for :func:`kept_for_booking`."""
    if not _in_one_query():
        return None
    params = {"office_id": office_id, "service_id": service_id,
              "window_start": now - _KEEP_BEFORE, "window_end": now + _KEEP_AHEAD}
    row = db.session.execute(_keep_query(), params).first()
    if row is None:
        forget_kept(office_id, service_id)
        return None
    office, service, inputs = row[0], row[1], _inputs(params, *row[2:])
    _kept[_kept_key(office_id, service_id)] = Kept(
        office.id, service.id, office.state, get_policy(office), service.duration_minutes,
        inputs)
    return office, service, inputs


def kept(office_id: str, service_id: str) -> Kept | None:
    """The configuration as this process last read it (:func:`load_and_keep`), if it did;
    may be out of date (compare its version)."""
    return _kept.get(_kept_key(office_id, service_id))


def kept_for_booking(office_id: str, service_id: str, start_at: datetime) -> Kept | None:
    """The configuration as this process last read it, if it did and it covers
    ``start_at``; else None. May be out of date: the booking statement checks the
    version, and a refusal based on it must be checked again with what the database
    holds."""
    kept = _kept.get(_kept_key(office_id, service_id))
    if kept is None or not kept.inputs.covers(start_at - _CLOSURE_MARGIN,
                                              start_at + _CLOSURE_MARGIN):
        return None
    return kept


def forget_kept(office_id: str, service_id: str) -> None:
    _kept.pop(_kept_key(office_id, service_id), None)


def _kept_key(office_id: str, service_id: str) -> tuple[object, str, str]:
    return db.session.get_bind().url, office_id, service_id


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


_TAKEN_AND_VERSION = text(
    "SELECT " + CONFIG_VERSION_SQL + ", array_agg(rule_id), array_agg(slot_at), array_agg(n)"
    " FROM (SELECT rule_id, slot_at, count(*) AS n FROM appointment_seats"
    "       WHERE office_id = :office_id AND slot_at >= :start AND slot_at < :end"
    "       GROUP BY rule_id, slot_at) AS taken")


def get_taken_and_version(office_id: str, tz, first_day: date, last_day: date
                          ) -> tuple[int, dict[tuple[int, datetime], int]]:
    """PostgreSQL: the configuration's version and, as :func:`get_taken`, the seats held
    per (rule id, step) on local dates first_day..last_day, read together in one
    statement (one snapshot), the counts as three arrays rather than thousands of rows."""
    start, end = _local_day_bounds(tz, first_day, last_day)
    version, rule_ids, instants, counts = db.session.execute(
        _TAKEN_AND_VERSION, {"office_id": office_id, "start": start, "end": end}).one()
    # (in UTC like the steps' instants: a lookup across two time zone objects is slow)
    steps = zip(rule_ids or (), (i.astimezone(UTC) for i in instants or ()), strict=True)
    return version, dict(zip(steps, counts or (), strict=True))


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


# ---------------------------------------------------------------- snapshot-keyed results

_SNAPSHOT_SQL = "SELECT pg_current_snapshot()::text"


def database_snapshot(in_session: bool = False) -> str | None:
    """PostgreSQL's snapshot for a new statement: which transactions are committed.

    Two equal snapshots see exactly the same committed data in every table, so a result
    computed entirely between two reads of the same snapshot may be reused for as long as
    the snapshot stays the same. Any committed write in the database cluster changes it.

    By default the snapshot is read on a pooled connection in autocommit mode, outside
    the session's transaction (one round trip); ``in_session`` reads it in the session's
    transaction instead (still a fresh snapshot per statement under READ COMMITTED).
    None on other databases (SQLite) or if it cannot be read: then nothing is reused.
    """
    engine = db.session.get_bind()
    if engine.dialect.name != "postgresql":
        return None
    if in_session:
        return db.session.connection().exec_driver_sql(_SNAPSHOT_SQL).scalar_one()
    try:
        conn = engine.raw_connection()
    except Exception:  # noqa: BLE001  (the request's own queries will report it)
        return None
    try:
        driver = conn.driver_connection
        driver.autocommit = True  # no BEGIN/ROLLBACK round trips for one read
        try:
            cursor = conn.cursor()
            cursor.execute(_SNAPSHOT_SQL)
            (snapshot,) = cursor.fetchone()
            cursor.close()
        finally:
            driver.autocommit = False
        return snapshot
    except Exception:  # noqa: BLE001
        conn.invalidate()
        return None
    finally:
        conn.close()


class SnapshotCache:
    """A small thread-safe LRU for results that are keyed by a database snapshot
    (see :func:`database_snapshot`), so every use is validated against the database.
    Entries for older snapshots are simply never hit again and age out."""

    def __init__(self, maxsize: int = 64, wait_seconds: float = 10.0):
        self.maxsize = maxsize
        self.wait_seconds = wait_seconds
        self.hits = self.misses = 0
        self._data: OrderedDict[Hashable, object] = OrderedDict()
        self._flights: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable):
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: object) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    @contextmanager
    def single_flight(self, key: Hashable) -> Iterator[bool]:
        """Yields True to the first thread to ask for ``key`` (it computes and ``put``s);
        a thread asking while that runs waits for it (at most ``wait_seconds``) and gets
        False: it should look in the cache again and compute only if nothing is there."""
        with self._lock:
            event = self._flights.get(key)
            if event is None:
                event = self._flights[key] = threading.Event()
                first = True
            else:
                first = False
        if not first:
            event.wait(self.wait_seconds)
            yield False
            return
        try:
            yield True
        finally:
            with self._lock:
                self._flights.pop(key, None)
            event.set()
