"""Free-slot arithmetic. Pure: plain values in, plain values out; the clock is an argument.

Vocabulary:

* a *step* is one slot of an office's grid, identified by its UTC start instant. Steps
  are laid out in local wall-clock time from each rule's start time, so a 08:00 office
  opens at 08:00 on both sides of a daylight-saving change;
* a step is *open* for a service when at least one rule in force covers it, allows the
  service, and no closure overlaps it; public holidays close whole local days;
* a start is *free* when every step the service's duration covers is open and has a
  seat left. Its ``available`` count is the smallest number of free seats over those steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Rule:
    id: int
    weekdays: frozenset[int]  # ISO: 1 = Monday … 7 = Sunday
    start: time
    end: time
    valid_from: date
    valid_until: date | None
    capacity: int
    service_ids: frozenset[str] = frozenset()  # empty: every service

    def applies(self, day: date, service_id: str | None) -> bool:
        return (
            day.isoweekday() in self.weekdays
            and self.valid_from <= day
            and (self.valid_until is None or day <= self.valid_until)
            and self.applies_to(service_id)
        )

    def applies_to(self, service_id: str | None) -> bool:
        return service_id is None or not self.service_ids or service_id in self.service_ids


@dataclass(frozen=True)
class Policy:
    tz: ZoneInfo
    slot_minutes: int
    lead: timedelta
    horizon_days: int

    @property
    def slot(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)


class FreeSlot(NamedTuple):  # a tuple: thousands are made per listing
    start_at: datetime  # UTC
    end_at: datetime  # UTC
    available: int


@dataclass(slots=True)
class Step:
    """An open step: the rules that offer seats in it (most specific first)."""

    at: datetime
    day: date  # local
    rules: list[Rule]


OpenSteps = dict[datetime, Step]  # what open_steps returns: UTC instant → Step


def steps_needed(duration_minutes: int, slot_minutes: int) -> int:
    return max(1, math.ceil(duration_minutes / slot_minutes))


def bookable_window(policy: Policy, now: datetime) -> tuple[datetime, date]:
    """The earliest bookable instant and the last bookable local date."""
    today = now.astimezone(policy.tz).date()
    return now + policy.lead, today + timedelta(days=policy.horizon_days)


def local_to_utc(day: date, wall: time, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a local wall-clock time; None if it does not exist (spring gap)."""
    local = datetime.combine(day, wall, tzinfo=tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return instant


def _wall_steps(day: date, start: time, end: time, slot: timedelta, tz: ZoneInfo
                ) -> list[datetime]:
    """The UTC instants of the steps from wall-clock ``start`` to ``end`` on ``day``;
    none that falls into the spring gap."""
    first, last = local_to_utc(day, start, tz), local_to_utc(day, end, tz)
    wall, wall_end = datetime.combine(day, start), datetime.combine(day, end)
    if first is not None and last is not None and last - first == wall_end - wall:
        return [first + i * slot for i in range((wall_end - wall) // slot)]  # no clock change
    instants = []
    while wall + slot <= wall_end:
        instants.append(local_to_utc(day, wall.time(), tz))
        wall += slot
    return [at for at in instants if at is not None]


def _day_start(day: date, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of local midnight on ``day`` if the day has one UTC offset
    throughout (no clock change), else None."""
    offset = datetime.combine(day, time.min, tzinfo=tz).utcoffset()
    if datetime.combine(day + _DAY, time.min, tzinfo=tz).utcoffset() != offset:
        return None
    return datetime.combine(day, time.min, tzinfo=UTC) - offset


_DAY = timedelta(days=1)


def open_steps(
    rules: Iterable[Rule],
    closures: Iterable[tuple[datetime, datetime]],
    holidays: Iterable[date],
    service_id: str | None,
    policy: Policy,
    first_day: date,
    last_day: date,
    capacity_cuts: Iterable[tuple[datetime, datetime]] = (),
) -> OpenSteps:
    """All open steps on local dates ``first_day..last_day`` (inclusive), keyed by UTC start.

    ``closures`` close the office; each of ``capacity_cuts`` (a closed counter) takes one
    seat off every rule in force during its time, so seat numbers above the reduced
    capacity are not offered."""
    rules = sorted((rule for rule in rules if rule.applies_to(service_id)),
                   key=lambda r: (not r.service_ids, r.id))  # specific rules first
    closed = sorted(closures)
    cuts = sorted(capacity_cuts)
    holidays = set(holidays)
    slot, tz = policy.slot, policy.tz
    # each rule's steps as offsets from local midnight: on a day without a clock change
    # (all but two a year) a step is that day's midnight in UTC plus its offset
    wall_offsets = {rule.id: _wall_offsets(rule, slot) for rule in rules}
    steps: OpenSteps = {}
    day = first_day
    while day <= last_day:
        if day not in holidays:
            weekday, midnight, steady = day.isoweekday(), None, True
            for rule in rules:
                if (weekday not in rule.weekdays or day < rule.valid_from
                        or (rule.valid_until is not None and day > rule.valid_until)):
                    continue
                if midnight is None and steady:
                    midnight = _day_start(day, tz)
                    steady = midnight is not None
                if steady:
                    instants = [midnight + offset for offset in wall_offsets[rule.id]]
                else:
                    instants = _wall_steps(day, rule.start, rule.end, slot, tz)
                if not instants:
                    continue
                # only the closures and cuts of this rule's hours are checked step by step
                day_closed = _overlapping(closed, instants[0], instants[-1] + slot)
                day_cuts = _overlapping(cuts, instants[0], instants[-1] + slot)
                if not day_closed and not day_cuts:  # the usual day: every step open
                    if rule.capacity > 0:
                        get = steps.get
                        for at in instants:
                            step = get(at)
                            if step is None:
                                steps[at] = Step(at, day, [rule])
                            else:
                                step.rules.append(rule)
                    continue
                for at in instants:
                    if day_closed and _overlapping(day_closed, at, at + slot):
                        continue
                    cut = len(_overlapping(day_cuts, at, at + slot)) if day_cuts else 0
                    if cut < rule.capacity:
                        offered = replace(rule, capacity=rule.capacity - cut) if cut else rule
                        step = steps.get(at)
                        if step is None:
                            steps[at] = Step(at, day, [offered])
                        else:
                            step.rules.append(offered)
        day += _DAY
    return steps


def _wall_offsets(rule: Rule, slot: timedelta) -> list[timedelta]:
    """The wall-clock starts of the rule's steps, as times since local midnight."""
    start, end = (timedelta(hours=t.hour, minutes=t.minute, seconds=t.second,
                            microseconds=t.microsecond) for t in (rule.start, rule.end))
    return [start + i * slot for i in range((end - start) // slot)]


def _overlapping(intervals: list[tuple[datetime, datetime]], start: datetime, end: datetime
                 ) -> list[tuple[datetime, datetime]]:
    return [(a, b) for a, b in intervals if a < end and start < b]


def free_slots(
    steps: Mapping[datetime, Step],
    taken: Mapping[tuple[int, datetime], int],
    duration_minutes: int,
    policy: Policy,
    now: datetime,
) -> list[FreeSlot]:
    """Bookable starts among ``steps``, sorted; ``taken`` counts seats per (rule id, step)."""
    return list(iter_free_slots(steps, taken, duration_minutes, policy, now))


def iter_free_slots(
    steps: Mapping[datetime, Step],
    taken: Mapping[tuple[int, datetime], int],
    duration_minutes: int,
    policy: Policy,
    now: datetime,
    wanted: TimeFilter | None = None,
) -> Iterator[FreeSlot]:
    """:func:`free_slots` one at a time, in time order: a caller that wants the first few
    stops early. ``wanted``: only starts it lets through (their later steps still count)."""
    earliest, last_day = bookable_window(policy, now)
    duration = timedelta(minutes=duration_minutes)
    offsets = [i * policy.slot for i in range(1, steps_needed(duration_minutes,
                                                              policy.slot_minutes))]
    timeline = sorted(at for at in steps if at >= earliest)
    # free seats of every step from the earliest start on (a start's later steps too):
    # each step is counted once, not once per start that covers it
    count = taken.get
    seats: dict[datetime, int] = {}
    for at in timeline:
        free = 0
        for rule in steps[at].rules:
            left = rule.capacity - count((rule.id, at), 0)
            if left > 0:
                free += left
        seats[at] = free
    more_seats = seats.get
    # the steps of local dates after last_day begin at its next local midnight
    after_last = datetime.combine(last_day + _DAY, time.min, tzinfo=policy.tz).astimezone(UTC)
    for at in timeline:
        if at >= after_last:
            break
        available = seats[at]
        if not available:
            continue
        if wanted is not None and not wanted.lets_through(at, steps[at].day, policy.tz):
            continue
        for offset in offsets:
            more = more_seats(at + offset, 0)
            if more < available:
                available = more
                if not available:
                    break
        if available:
            yield FreeSlot(at, at + duration, available)


# ---------------------------------------------------------------- weekday and time of day

#: times of day by the local start: mornings before 12:00, afternoons until 16:00,
#: evenings from 16:00
TIMES_OF_DAY: dict[str, tuple[time, time]] = {
    "morning": (time(0), time(12)),
    "afternoon": (time(12), time(16)),
    "evening": (time(16), time.max),
}


@dataclass(frozen=True)
class TimeFilter:
    """Starts on some weekdays (ISO numbers, 6 = Saturday) at some times of day
    (:data:`TIMES_OF_DAY`); an empty set lets every weekday or every time through."""

    weekdays: frozenset[int] = frozenset()
    times: frozenset[str] = frozenset()

    def lets_day_through(self, day: date) -> bool:
        return not self.weekdays or day.isoweekday() in self.weekdays

    def lets_through(self, start_at: datetime, day: date, tz: ZoneInfo) -> bool:
        """Whether the start at UTC ``start_at`` on local date ``day`` is wanted."""
        if not self.lets_day_through(day):
            return False
        if not self.times:
            return True
        wall = start_at.astimezone(tz).time()
        return any(low <= wall < high for low, high in
                   (TIMES_OF_DAY[name] for name in self.times))


def offers_start(steps: Mapping[datetime, Step], start_at: datetime, duration_minutes: int,
                 policy: Policy, now: datetime) -> bool:
    """Whether ``start_at`` would be among :func:`free_slots` with nothing taken (a start
    the office offers), without working out the others: inside the bookable window, and
    every step it covers open with a seat."""
    earliest, last_day = bookable_window(policy, now)
    if start_at < earliest or start_at.astimezone(policy.tz).date() > last_day:
        return False
    for at in covered_steps(start_at, duration_minutes, policy.slot_minutes):
        step = steps.get(at)
        if step is None or not any(rule.capacity > 0 for rule in step.rules):
            return False
    return True


def local_isoformat(instants: Iterable[datetime], tz: ZoneInfo) -> list[str]:
    """``instant.astimezone(tz).isoformat()`` of each UTC instant; those on a whole minute
    by string arithmetic within a local day of one UTC offset (listings format thousands)."""
    result: list[str] = []
    append = result.append
    since = until = None
    for at in instants:
        if since is None or not since <= at < until or at.second or at.microsecond:
            local = at.astimezone(tz)
            text = local.isoformat()
            append(text)
            offset = local.utcoffset()
            since = at - timedelta(hours=local.hour, minutes=local.minute, seconds=local.second,
                                   microseconds=local.microsecond)
            until = since + timedelta(days=1)
            if ((until - timedelta(microseconds=1)).astimezone(tz).utcoffset() != offset
                    or since.astimezone(tz).utcoffset() != offset):
                since = until = at  # a day with a clock change: one by one
            prefix, suffix = text[:11], text[19:]
            shift = offset // timedelta(minutes=1)
            continue
        append(prefix + _CLOCK[(at.hour * 60 + at.minute + shift) % 1440] + suffix)
    return result


_CLOCK = [f"{minute // 60:02d}:{minute % 60:02d}:00" for minute in range(24 * 60)]


def covered_steps(start_at: datetime, duration_minutes: int, slot_minutes: int) -> list[datetime]:
    """The UTC step instants an appointment starting at ``start_at`` occupies."""
    slot = timedelta(minutes=slot_minutes)
    return [start_at + i * slot for i in range(steps_needed(duration_minutes, slot_minutes))]


def choose_seat(step: Step, used: Mapping[int, set[int]]) -> tuple[int, int] | None:
    """A free (rule id, seat number) in ``step``: specific rules first, lowest number first.

    ``used`` maps a rule id to the seat numbers already taken in this step.
    """
    for rule in step.rules:
        taken = used.get(rule.id, set())
        for seat_no in range(1, rule.capacity + 1):
            if seat_no not in taken:
                return rule.id, seat_no
    return None
