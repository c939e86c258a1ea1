"""The waiting-time estimator. Pure: plain values in, plain values out; the clock is an
argument.

One estimator serves every screen (kiosk, display, ticket status, the open status feed)
and its own replay on past days (:func:`replay`):

* a service's time per ticket (:func:`service_minutes`) is the trimmed mean of its recent
  measured service times (start to finish), each clipped to a plausible range around the
  planned duration and shrunk toward that planned duration as a prior worth
  :data:`PRIOR_WEIGHT` tickets. No history: exactly the planned duration. One quick
  ticket moves it a little, not to "about a minute"; one ticket forgotten at the counter
  for an hour does not move it at all once there are a few others;
* the wait (:func:`wait_minutes`) is the people ahead times that time, shared by the
  counters open for the service.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from booking.queueing import ordering

SAMPLE = 20  # recent finished tickets per service
SAMPLE_DAYS = 28  # … finished no longer ago than this
PRIOR_WEIGHT = 4  # the planned duration counts like this many measured tickets
TRIM = 0.1  # share cut at each end once there are MIN_TRIMMED samples (at least one)
MIN_TRIMMED = 5
CLIP_LOW, CLIP_HIGH = 0.2, 4.0  # a measurement counts as 1/5 to 4 times the planned time


def service_minutes(durations: Iterable[float], planned_minutes: float) -> float:
    """Minutes one ticket of a service takes, from measured service times in minutes
    (the most recent :data:`SAMPLE`, say) and the service's planned duration.

    Always between ``CLIP_LOW`` and ``CLIP_HIGH`` times the planned duration; exactly the
    planned duration without measurements (non-positive ones are ignored)."""
    low, high = planned_minutes * CLIP_LOW, planned_minutes * CLIP_HIGH
    values = sorted(min(max(d, low), high) for d in durations if d > 0)
    if len(values) >= MIN_TRIMMED:
        cut = max(1, int(len(values) * TRIM))
        values = values[cut:len(values) - cut]
    return (PRIOR_WEIGHT * planned_minutes + sum(values)) / (PRIOR_WEIGHT + len(values))


def wait_minutes(ahead: int, minutes_each: float, counters: int) -> int | None:
    """Minutes until a ticket with ``ahead`` people before it is called, when
    ``counters`` counters serve its service and one ticket takes ``minutes_each``
    (rounded up). None when no counter serves it: unknown."""
    return ordering.estimate_wait(ahead, minutes_each, counters)


# ---------------------------------------------------------------- replay on past days

@dataclass(frozen=True)
class PastTicket:
    """A ticket of a past day as the replay sees it: nothing personal."""

    id: str
    service_id: str
    day: date
    walk_in: bool
    arrived_at: datetime
    due_at: datetime | None
    called_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    counter_id: int | None


@dataclass(frozen=True)
class Replayed:
    """A walk-in ticket's estimate at the moment it was drawn and its actual wait
    (drawn to called), in minutes."""

    ticket_id: str
    day: date
    service_id: str
    estimate: int
    actual: float


@dataclass(frozen=True)
class ErrorRow:
    """How far the estimates of a service were from the actual waits: ``day`` None for
    the whole range. ``bias`` is the mean of estimate minus actual (positive: the
    estimates were too long), ``mean_abs_error`` the mean of its absolute value."""

    day: date | None
    service_id: str
    count: int
    mean_abs_error: float
    bias: float


class _History:
    """Measured service times per service, by finish time, for lookups "as of" an instant."""

    def __init__(self, tickets: Iterable[PastTicket]):
        rows: dict[str, list[tuple[datetime, float]]] = {}
        for t in tickets:
            if t.started_at is not None and t.finished_at is not None:
                minutes = (t.finished_at - t.started_at).total_seconds() / 60
                rows.setdefault(t.service_id, []).append((t.finished_at, minutes))
        self.rows = {k: sorted(v) for k, v in rows.items()}

    def as_of(self, service_id: str, at: datetime) -> list[float]:
        rows = self.rows.get(service_id, [])
        end = bisect_left(rows, at, key=lambda r: r[0])  # finished before ``at``
        start = bisect_left(rows, at - timedelta(days=SAMPLE_DAYS), key=lambda r: r[0])
        return [m for _, m in rows[max(start, end - SAMPLE):end]]


def active_counters(calls: Sequence[tuple[int, datetime]], at: datetime,
                    span: timedelta) -> set[int]:
    """The counters that called a ticket within ``span`` of ``at``: who was working then
    (pauses are not kept over time, calls are)."""
    return {counter for counter, called_at in calls if abs(called_at - at) <= span}


def replay(tickets: Sequence[PastTicket], planned: Mapping[str, float],
           counters_at: Callable[[date, datetime], Mapping[int, frozenset[str]]],
           window: timedelta, first_day: date, last_day: date) -> list[Replayed]:
    """Each walk-in ticket of local days ``first_day..last_day`` that was called: the
    estimate the estimator gave when it was drawn (the queue as it stood then, the
    service times measured before then, the counters ``counters_at`` says were serving
    then) next to its actual wait. ``tickets`` include the earlier days whose service
    times count (:data:`SAMPLE_DAYS` before ``first_day``)."""
    history = _History(tickets)
    days: dict[date, list[PastTicket]] = {}
    for t in tickets:
        if first_day <= t.day <= last_day:
            days.setdefault(t.day, []).append(t)
    result = []
    for day in sorted(days):
        of_day = sorted(days[day], key=lambda t: (t.arrived_at, t.id))
        for index, ticket in enumerate(of_day):
            if not ticket.walk_in or ticket.called_at is None:
                continue
            now = ticket.arrived_at
            waiting = [ordering.Waiting(t.id, t.service_id, t.arrived_at, t.due_at)
                       for t in of_day[:index + 1]
                       if t.id == ticket.id or t.called_at is None or t.called_at > now]
            counter_services = counters_at(day, now)
            ahead = ordering.positions(ordering.order(waiting, now, window),
                                       counter_services.values())[ticket.id]
            minutes = service_minutes(history.as_of(ticket.service_id, now),
                                      planned.get(ticket.service_id, 15))
            estimate = wait_minutes(ahead, minutes,
                                    ordering.counters_serving(counter_services,
                                                              ticket.service_id))
            if estimate is None:
                continue
            actual = (ticket.called_at - ticket.arrived_at).total_seconds() / 60
            result.append(Replayed(ticket.id, day, ticket.service_id, estimate, actual))
    return result


def summarise(replayed: Iterable[Replayed]) -> list[ErrorRow]:
    """Error rows per service and day, then per service over all days (``day`` None);
    sorted by service, days in order."""
    groups: dict[tuple[str, date | None], list[float]] = {}
    for r in replayed:
        for key in ((r.service_id, r.day), (r.service_id, None)):
            groups.setdefault(key, []).append(r.estimate - r.actual)
    rows = [ErrorRow(day, service_id, len(errors), sum(abs(e) for e in errors) / len(errors),
                     sum(errors) / len(errors))
            for (service_id, day), errors in groups.items()]
    return sorted(rows, key=lambda r: (r.service_id, r.day is None, r.day or date.min))

