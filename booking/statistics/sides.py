"""The tickets' figures besides those per bucket and service, in one pass over the
period's tickets: per counter and day (utilisation), per weekday and hour (demand), and
per week (the trend). On PostgreSQL one query with grouping sets; on SQLite one query
per grouping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, case, func, literal, select, tuple_

from booking.db import db
from booking.offices.models import Counter
from booking.queueing.models import DONE, WALK_IN, Ticket
from booking.statistics import sql
from booking.statistics.figures import CounterFigures, TicketFigures, wait_seconds
from booking.statistics.period import Period
from booking.statistics.sql import WEEK


@dataclass
class Sides:
    counters: dict[int, CounterFigures] = field(default_factory=dict)
    heat: dict[tuple[int, int], int] = field(default_factory=dict)  # (ISO weekday, hour)
    weeks: dict[date, TicketFigures] = field(default_factory=dict)  # walk-ins, waits


def side_figures(period: Period) -> Sides:
    """Grouped by (counter, day) and by (day, hour of arrival in UTC): the weekday, the
    local hour and the week are found here from the few thousand groups, not computed
    in SQL for every ticket."""
    sql.prepare()
    counter_names = dict(db.session.execute(select(Counter.id, Counter.name).where(
        Counter.office_id == period.office_id)).all())
    t = Ticket
    called = t.called_at.is_not(None)
    at_counter = and_(t.counter_id.is_not(None), called)
    values = (select(
        case((at_counter, t.counter_id), else_=None).label("counter_id"), t.day,
        sql.epoch_hour(t.arrived_at).label("hour"),
        (t.status == DONE).label("done"), (t.kind == WALK_IN).label("walk_in"),
        case((and_(t.status == DONE, t.started_at.is_not(None), t.finished_at.is_not(None)),
              sql.seconds(t.finished_at, t.started_at)), else_=0.0).label("busy"),
        case((called, t.called_at), else_=None).label("called_at"),
        case((called, func.coalesce(t.finished_at, t.called_at)), else_=None).label("ended"),
        case((called, wait_seconds()), else_=None).label("waited"))
        .where(t.office_id == period.office_id, t.day >= period.first, t.day <= period.last))
    if period.service_id:
        values = values.where(t.service_id == period.service_id)
    v = sql.fenced(values)
    aggregates = (func.count(), func.count().filter(v.c.done),
                  func.coalesce(func.sum(v.c.busy), 0),
                  sql.seconds(func.max(v.c.ended), func.min(v.c.called_at)),
                  func.count().filter(v.c.walk_in),
                  func.count(v.c.waited), func.coalesce(func.sum(v.c.waited), 0))
    keys = (v.c.counter_id, v.c.day, v.c.hour)
    sets = ((v.c.counter_id, v.c.day), (v.c.day, v.c.hour))
    if sql.is_sqlite():
        rows = []
        for group in sets:
            columns = [k if any(k is g for g in group) else literal(None) for k in keys]
            rows += db.session.execute(select(*columns, *aggregates).group_by(*group)).all()
    else:
        rows = db.session.execute(select(*keys, *aggregates).group_by(
            func.grouping_sets(*[tuple_(*g) for g in sets]))).all()
    sides = Sides()
    local_hours: dict[int, int] = {}
    for counter_id, day, hour, count, done, busy, span, walk_ins, n, waited in rows:
        day = sql.as_date(day)
        if hour is None:
            if counter_id is None:
                continue
            c = sides.counters.setdefault(counter_id, CounterFigures(
                counter_id, counter_names.get(counter_id, "?")))
            c.days += 1
            c.served += int(done)
            c.busy_seconds += float(busy or 0)
            c.span_seconds += float(span or 0)
            continue
        if hour not in local_hours:
            local_hours[hour] = sql.hour_of(hour, period.timezone)
        cell = (day.isoweekday(), local_hours[hour])
        sides.heat[cell] = sides.heat.get(cell, 0) + int(count)
        week = sides.weeks.setdefault(sql.bucket_start(day, WEEK), TicketFigures())
        week.walk_ins += int(walk_ins)
        week.called += int(n)
        week.wait_seconds += float(waited)
    return sides


def counters(sides: Sides) -> list[CounterFigures]:
    return sorted(sides.counters.values(), key=lambda c: (c.name, c.counter_id))
