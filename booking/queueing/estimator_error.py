"""How far the waiting-time estimates of past days were from the actual waits: each
walk-in ticket's estimate replayed as of the moment it was drawn (estimates.replay)
against the time from drawing to being called. Reads only; nothing personal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from booking.db import db
from booking.offices.models import Counter, Office, Service, counter_services
from booking.queueing import estimates
from booking.queueing.models import WALK_IN, EstimateDay, EstimateError, Ticket
from booking.queueing.waits import due_window

#: a counter counts as open at an instant if it called a ticket this close to it (pauses
#: are not kept over time; calls are)
ACTIVE_SPAN = timedelta(minutes=60)


def _counter_services(office: Office) -> dict[int, frozenset[str]]:
    rows = db.session.execute(
        select(counter_services.c.counter_id, counter_services.c.service_id)
        .join(Counter, Counter.id == counter_services.c.counter_id)
        .where(Counter.office_id == office.id))
    result: dict[int, set[str]] = {}
    for counter_id, service_id in rows:
        result.setdefault(counter_id, set()).add(service_id)
    return {k: frozenset(v) for k, v in result.items()}


def get_past_tickets(office: Office, first_day: date, last_day: date
                     ) -> list[estimates.PastTicket]:
    rows = db.session.execute(
        select(Ticket.id, Ticket.service_id, Ticket.day, Ticket.kind, Ticket.arrived_at,
               Ticket.due_at, Ticket.called_at, Ticket.started_at, Ticket.finished_at,
               Ticket.counter_id)
        .where(Ticket.office_id == office.id, Ticket.day >= first_day, Ticket.day <= last_day))
    return [estimates.PastTicket(id_, service, day, kind == WALK_IN, arrived, due, called,
                                 started, finished, counter)
            for id_, service, day, kind, arrived, due, called, started, finished, counter
            in rows]


def replay_days(office: Office, first_day: date, last_day: date) -> list[estimates.Replayed]:
    """The replayed estimates of the office's walk-in tickets on local days
    ``first_day..last_day``."""
    tickets = get_past_tickets(office, first_day - timedelta(days=estimates.SAMPLE_DAYS),
                               last_day)
    services = _counter_services(office)
    calls: dict[date, list[tuple[int, object]]] = {}
    for t in tickets:
        if t.counter_id is not None and t.called_at is not None:
            calls.setdefault(t.day, []).append((t.counter_id, t.called_at))

    def counters_at(day, at):
        of_day = calls.get(day, [])
        active = estimates.active_counters(of_day, at, ACTIVE_SPAN) or {c for c, _ in of_day}
        return {c: services[c] for c in active if c in services}

    planned = dict(db.session.execute(
        select(Service.id, Service.duration_minutes)
        .where(Service.id.in_({t.service_id for t in tickets}))).all())
    return estimates.replay(tickets, planned, counters_at, due_window(office),
                            first_day, last_day)


def estimator_error(office: Office, first_day: date, last_day: date) -> list[estimates.ErrorRow]:
    """Mean absolute error and bias of the estimates per service and day, and per service
    over the range (``day`` None), in minutes."""
    return estimates.summarise(replay_days(office, first_day, last_day))


# ------------------------------------------------- closed days, summed (nightly, periodic)

#: the periodic job looks this many closed days back for days not yet summed (a longer
#: history: ``flask estimate-errors --since``)
LOOKBACK_DAYS = 7
WITHIN_MINUTES = 5


def sum_day_rows(office_id: str, replayed: Iterable[estimates.Replayed]) -> list[dict]:
    """Rows of :class:`EstimateError` (per day and service) from replayed estimates."""
    sums: dict[tuple[date, str], dict] = {}
    for r in replayed:
        error = r.estimate - r.actual
        row = sums.setdefault((r.day, r.service_id), {
            "office_id": office_id, "day": r.day, "service_id": r.service_id, "tickets": 0,
            "abs_error_sum": 0.0, "error_sum": 0.0, "within_5": 0})
        row["tickets"] += 1
        row["abs_error_sum"] += abs(error)
        row["error_sum"] += error
        row["within_5"] += abs(error) <= WITHIN_MINUTES
    return list(sums.values())


def _days_to_sum(office: Office, first: date, last: date) -> list[date]:
    done = select(EstimateDay.day).where(EstimateDay.office_id == office.id,
                                         EstimateDay.day == Ticket.day)
    return sorted(db.session.scalars(
        select(Ticket.day).distinct()
        .where(Ticket.office_id == office.id, Ticket.day >= first, Ticket.day <= last,
               Ticket.kind == WALK_IN, ~done.exists())))


def sum_closed_days(office: Office, now: datetime, since: date | None = None) -> int:
    """Replay the office's closed local days (before today) from ``since`` (default:
    :data:`LOOKBACK_DAYS` back) that have walk-in tickets and are not summed yet, and
    write their sums; returns the days written. Each day once: its row in
    :class:`EstimateDay` is written first, so a concurrent run waits and then skips it."""
    yesterday = now.astimezone(office.tz).date() - timedelta(days=1)
    days = _days_to_sum(office, since or yesterday - timedelta(days=LOOKBACK_DAYS - 1),
                        yesterday)
    if not days:
        return 0
    replayed = [r for r in replay_days(office, days[0], days[-1]) if r.day in set(days)]
    written = []
    for day in days:
        try:
            with db.session.begin_nested():
                db.session.execute(insert(EstimateDay).values(office_id=office.id, day=day))
        except IntegrityError:  # another process summed it meanwhile
            continue
        written.append(day)
    rows = [r for r in sum_day_rows(office.id, replayed) if r["day"] in set(written)]
    if rows:
        db.session.execute(insert(EstimateError), rows)
    return len(written)


def sum_all_offices(now: datetime, since: date | None = None) -> int:
    return sum(sum_closed_days(office, now, since)
               for office in db.session.scalars(select(Office).order_by(Office.id)))
