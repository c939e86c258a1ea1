"""Queue arithmetic. Pure: plain values in, plain values out; the clock is an argument.

One queue per office. Checked-in appointments whose time is *due* (their start lies no
more than ``window`` ahead of now) go first, earliest start first; everybody else is
served first come, first served by arrival. A counter takes the first waiting ticket
whose service it handles.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Waiting:
    """A waiting ticket as the arithmetic sees it."""

    id: str
    service_id: str
    arrived_at: datetime
    due_at: datetime | None = None  # the appointment's start; None for walk-ins


def is_due(entry: Waiting, now: datetime, window: timedelta) -> bool:
    return entry.due_at is not None and entry.due_at - window <= now


def sort_key(entry: Waiting, now: datetime, window: timedelta) -> tuple:
    if is_due(entry, now, window):
        return (0, entry.due_at, entry.arrived_at, entry.id)
    return (1, entry.arrived_at, entry.arrived_at, entry.id)


def order(entries: Iterable[Waiting], now: datetime, window: timedelta) -> list[Waiting]:
    """The office's waiting tickets in the order they will be called."""
    return sorted(entries, key=lambda e: sort_key(e, now, window))


def next_for(entries: Iterable[Waiting], services: Iterable[str], now: datetime,
             window: timedelta) -> Waiting | None:
    """The ticket a counter handling ``services`` calls next, or None."""
    wanted = set(services)
    for entry in order(entries, now, window):
        if entry.service_id in wanted:
            return entry
    return None


def people_ahead(entries: Sequence[Waiting], ticket_id: str, now: datetime, window: timedelta,
                 counter_services: Iterable[frozenset[str]]) -> int | None:
    """How many waiting tickets will be called before ``ticket_id``: those ordered before
    it that compete for a counter that could serve it (a counter handling its service).
    None if the ticket is not waiting."""
    ordered = order(entries, now, window)
    mine = next((e for e in ordered if e.id == ticket_id), None)
    if mine is None:
        return None
    rivals = rivals_of(mine.service_id, counter_services)
    ahead = 0
    for entry in ordered:
        if entry.id == ticket_id:
            return ahead
        if entry.service_id in rivals:
            ahead += 1
    return ahead


def rivals_of(service_id: str, counter_services: Iterable[frozenset[str]]) -> set[str]:
    """Services whose tickets are called by the same counters as ``service_id``'s."""
    rivals = {service_id}
    for services in counter_services:
        if service_id in services:
            rivals |= services
    return rivals


def positions(ordered: Sequence[Waiting],
              counter_services: Iterable[frozenset[str]]) -> dict[str, int]:
    """``people_ahead`` of every ticket at once, for entries already in call order
    (``order``): one pass, however long the queue."""
    counter_services = list(counter_services)
    rivals: dict[str, set[str]] = {}
    before: dict[str, int] = {}  # waiting tickets so far, per service
    result: dict[str, int] = {}
    for entry in ordered:
        if entry.service_id not in rivals:
            rivals[entry.service_id] = rivals_of(entry.service_id, counter_services)
        result[entry.id] = sum(before.get(s, 0) for s in rivals[entry.service_id])
        before[entry.service_id] = before.get(entry.service_id, 0) + 1
    return result


def estimate_wait(ahead: int, average_minutes: float, counters: int) -> int | None:
    """Minutes until a ticket with ``ahead`` people before it is called, when ``counters``
    counters serve its service and one service takes ``average_minutes``. None when no
    counter serves it (unknown)."""
    if counters <= 0:
        return None
    if ahead <= 0:
        return 0
    return math.ceil(ahead * average_minutes / counters)


def format_number(prefix: str, seq: int) -> str:
    """The ticket number shown and called out: prefix letter and running number, A017."""
    return f"{prefix}{seq:03d}"


def local_day(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()


@dataclass(frozen=True)
class Hours:
    """An opening period on a local day: ``start``–``end``, for ``service_ids`` (empty: all)."""

    start: time
    end: time
    service_ids: frozenset[str] = frozenset()


def is_open(hours: Iterable[Hours], closures: Iterable[tuple[datetime, datetime]],
            is_holiday: bool, service_id: str | None, now: datetime, tz: ZoneInfo) -> bool:
    """Whether the office (for ``service_id``, or at all with None) takes walk-ins at
    ``now``: inside today's opening hours, not a public holiday, not closed."""
    if is_holiday:
        return False
    if any(start <= now < end for start, end in closures):
        return False
    wall = now.astimezone(tz).time()
    return any(
        h.start <= wall < h.end
        and (service_id is None or not h.service_ids or service_id in h.service_ids)
        for h in hours
    )


def counters_serving(counter_services: Mapping[int, frozenset[str]], service_id: str) -> int:
    return sum(1 for services in counter_services.values() if service_id in services)
