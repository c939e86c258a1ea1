"""The first free online starts: of each service at one office (what the open status
feed shows), and of one visit (a service, or a family's several services and persons) at
every office that offers it (the citizens' "next free appointment", optionally on some
weekdays and times of day only).

:func:`booking.scheduling.operations.list_free_slots` works out every free start of the
whole horizon. Only the first is wanted here, so the horizon is read a week at a time,
and the scan stops at the first week with a free start for every service asked about:
the same first start as the full listing, at a fraction of the cost while the next
weeks still have room (one query for the seats taken per week, shared by the services).
Across offices, each week is read for all the offices still searching at once: the
closures, the lottery days and the seats taken of all of them in one query each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from booking.fairness.lottery import lottery_days_of, withhold_lottery_days
from booking.offices.models import Office, Service
from booking.scheduling import queries, slots, visits
from booking.scheduling.errors import VisitNotAllowed

CHUNK_DAYS = 7


def first_free_starts(office: Office, services: Iterable[Service], now: datetime
                      ) -> dict[str, slots.FreeSlot | None]:
    """For each of ``services`` (offered by the office) its first bookable start for a
    citizen online, or None if there is none within the booking horizon."""
    pending = {service.id: service for service in services}
    found: dict[str, slots.FreeSlot | None] = dict.fromkeys(pending)
    policy = queries.get_policy(office)
    day, last = now.astimezone(office.tz).date(), slots.bookable_window(policy, now)[1]
    if not pending:
        return found
    rules = queries.get_rules(office)
    while pending and day <= last:
        end = min(day + timedelta(days=CHUNK_DAYS - 1), last)
        closed, cuts = queries.get_closure_intervals(office, day, end)
        holidays = queries.get_holidays(office.state, day, end)
        taken = None
        for service_id, service in list(pending.items()):
            steps = slots.open_steps(rules, closed, holidays, service_id, policy, day, end, cuts)
            steps = withhold_lottery_days(office, service_id, steps)
            if not steps:
                continue
            if taken is None:  # read once per week, and only if a service has open steps
                taken = queries.get_taken(office, rules, day, end, now)
            free = slots.free_slots(steps, taken, service.duration_minutes, policy, now)
            if free:
                found[service_id] = free[0]
                del pending[service_id]
        day = end + timedelta(days=1)
    return found


@dataclass
class OfficeStarts:
    """An office offering the visit and its first free starts (none: nothing free
    within its booking horizon that the filter lets through)."""

    office: Office
    starts: list[slots.FreeSlot] = field(default_factory=list)


NEVER = datetime.max.replace(tzinfo=UTC)


def next_free_everywhere(lines: Sequence[visits.Line], now: datetime,
                         wanted: slots.TimeFilter | None = None, limit: int = 1
                         ) -> list[OfficeStarts]:
    """The first ``limit`` free online starts of the visit (``visits.single(service)``
    for one person and one service) at every office that offers all its services and
    allows it in one appointment, those ``wanted`` lets through only: offices by their
    first start (earliest first), those with none last. The same starts as the first
    ``limit`` of each office's :func:`booking.scheduling.operations.list_free_slots` that
    the filter lets through, read a week at a time for all offices still searching
    together."""
    offices = _offices_allowing(lines)
    found = {office.id: OfficeStarts(office) for office in offices}
    rules_of = {office_id: visits.offering_rules(rules, lines)
                for office_id, rules in queries.get_rules_of(found).items()}
    minutes = visits.visit_minutes(lines)
    windows = {}  # office id → (policy, its today, its last bookable day)
    for office in offices:
        policy = queries.get_policy(office)
        windows[office.id] = (policy, now.astimezone(office.tz).date(),
                              slots.bookable_window(policy, now)[1])
    pending = [office for office in offices if rules_of.get(office.id)]
    week = 0
    while pending:
        chunk = []  # (office, first day, last day) of this week, per office
        for office in pending:
            _, today, last = windows[office.id]
            day = today + timedelta(days=week * CHUNK_DAYS)
            if day <= last:
                chunk.append((office, day, min(day + timedelta(days=CHUNK_DAYS - 1), last)))
        if not chunk:
            break
        steps_of = _open_steps_of(lines, chunk, rules_of, windows, wanted)
        if steps_of:
            start = min(next(iter(s)) for s in steps_of.values())  # each is in time order
            end = max(next(reversed(s)) for s in steps_of.values()) + timedelta(minutes=1)
            taken = queries.get_taken_between(
                [rule.id for office_id in steps_of for rule in rules_of[office_id]],
                start, end, now)
            for office_id, steps in steps_of.items():
                starts = found[office_id].starts
                for free in slots.iter_free_slots(steps, taken, minutes,
                                                  windows[office_id][0], now, wanted):
                    starts.append(free)
                    if len(starts) >= limit:
                        break
        pending = [office for office in pending if len(found[office.id].starts) < limit]
        week += 1
    return sorted(found.values(),
                  key=lambda entry: entry.starts[0].start_at if entry.starts else NEVER)


def _offices_allowing(lines: Sequence[visits.Line]) -> list[Office]:
    """The offices, by name, that offer every service of the visit and allow it in one
    appointment (:func:`visits.check_visit` with the office's limits)."""
    wanted, found = visits.service_ids(lines), []
    for office, offered in queries.get_offices_offering(wanted):
        if any(service_id not in offered for service_id in wanted):
            continue
        try:
            visits.check_visit(lines, office.max_persons, office.max_services, offered)
        except VisitNotAllowed:
            continue
        found.append(office)
    return found


def _open_steps_of(lines: Sequence[visits.Line], chunk: list[tuple[Office, date, date]],
                   rules_of: dict, windows: dict, wanted: slots.TimeFilter | None
                   ) -> dict[str, slots.OpenSteps]:
    """The open steps of the week of every office in ``chunk`` (in time order), with
    the closures and the lottery days of all of them read in one query each; days the
    filter leaves out are dropped here already (no start on them is wanted, and no
    wanted start covers a step of another day)."""
    bounds = [queries.day_bounds(office, day, last) for office, day, last in chunk]
    ids = [office.id for office, _, _ in chunk]
    closures = queries.get_closure_intervals_of(ids, min(b[0] for b in bounds),
                                                max(b[1] for b in bounds))
    held = lottery_days_of(ids, visits.service_ids(lines), min(day for _, day, _ in chunk),
                           max(last for _, _, last in chunk))
    steps_of = {}
    for office, day, last in chunk:
        closed, cuts = closures.get(office.id, ([], []))
        steps = slots.open_steps(rules_of[office.id], closed,
                                 queries.get_holidays(office.state, day, last),
                                 lines[0].service.id,
                                 windows[office.id][0], day, last, cuts)
        lottery = held.get(office.id, ())
        steps = {at: step for at, step in sorted(steps.items())
                 if not any(first <= step.day <= until for first, until in lottery)
                 and (wanted is None or wanted.lets_day_through(step.day))}
        if steps:
            steps_of[office.id] = steps
    return steps_of
