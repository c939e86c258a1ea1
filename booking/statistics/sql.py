"""SQL expressions that differ between PostgreSQL and SQLite.

PostgreSQL converts instants to the office's local time (``timezone``) and has
``percentile_cont``. SQLite has neither: :func:`prepare` registers small Python
functions on the connection (local day, hour, weekday; a percentile aggregate) so that
every query has the same shape, groups in the database on both, and returns the same
numbers (``percentile_cont`` interpolates linearly, so does :func:`percentile`).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    Integer,
    cast,
    func,
    literal,
    literal_column,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.sql import ColumnElement

from booking.db import db

DAY, WEEK, MONTH = "day", "week", "month"
GRANULARITIES = (DAY, WEEK, MONTH)


def percentile(sorted_values: list[float], p: float) -> float | None:
    """``percentile_cont(p)`` of ascending values: linear between the closest ranks."""
    if not sorted_values:
        return None
    rank = p * (len(sorted_values) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


class _Percentile:
    def __init__(self):
        self.values: list[float] = []
        self.p = 0.5

    def step(self, value, p):
        if value is not None:
            self.values.append(float(value))
            self.p = float(p)

    def finalize(self):
        return percentile(sorted(self.values), self.p)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local(value: str | None, tz: str) -> datetime | None:
    if value is None:
        return None
    instant = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return instant.astimezone(_zone(tz))


def _bucket(day: str | None, granularity: str) -> str | None:
    return None if day is None else bucket_start(date.fromisoformat(day[:10]),
                                                   granularity).isoformat()


#: For the statistics' queries on PostgreSQL, for this transaction only: memory to group
#: and sort a year of tickets in memory (the default 4 MB spills to disk and sorts where
#: a hash would do), no JIT compilation (it costs more than it saves here), and a plan
#: for the values at hand: psycopg prepares a statement run five times, and PostgreSQL's
#: generic plan for it then computed every parameter per row (two to five times the CPU).
PG_SETTINGS = ("SET LOCAL work_mem = '64MB'", "SET LOCAL jit = off",
               "SET LOCAL plan_cache_mode = force_custom_plan")


def prepare() -> None:
    """Register the SQLite functions on the session's connection; on PostgreSQL, the
    transaction's :data:`PG_SETTINGS`."""
    if not is_sqlite():
        for setting in PG_SETTINGS:
            db.session.execute(text(setting))
        return
    raw = db.session.connection().connection.driver_connection
    raw.create_function("stats_local_day", 2,
                        lambda v, tz: None if v is None else _local(v, tz).date().isoformat(),
                        deterministic=True)
    raw.create_function("stats_local_hour", 2,
                        lambda v, tz: None if v is None else _local(v, tz).hour,
                        deterministic=True)
    raw.create_function("stats_bucket", 2, _bucket, deterministic=True)
    raw.create_function("stats_epoch_hour", 1,
                        lambda v: None if v is None else int(
                            _local(v, "UTC").timestamp() // 3600),
                        deterministic=True)
    raw.create_aggregate("stats_percentile", 2, _Percentile)


def is_sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def bucket_start(day: date, granularity: str) -> date:
    """The first day of the day's week (Monday) or month, or the day itself."""
    if granularity == WEEK:
        return date.fromordinal(day.toordinal() - day.weekday())
    if granularity == MONTH:
        return day.replace(day=1)
    return day


def as_date(value) -> date | None:
    """A date as the database returns it (SQLite: text)."""
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def local_day(column, tz: str, first: date | None = None, last: date | None = None
              ) -> ColumnElement:
    """The office's local date of an instant. With the local days ``first..last`` the
    instants lie in, PostgreSQL finds the day among their midnights (``width_bucket``, a
    binary search), about a third cheaper over a year than a time zone conversion per row."""
    if is_sqlite():
        return func.stats_local_day(column, tz)
    if first is None or last is None:
        return cast(func.timezone(tz, column), Date)
    zone = _zone(tz)
    days = [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]
    midnights = [datetime.combine(d, time.min, tzinfo=zone).astimezone(UTC) for d in days]
    return _constant(days, "date")[func.width_bucket(column,
                                                     _constant(midnights, "timestamptz"))]


def _constant(values: list, pg_type: str) -> ColumnElement:
    """A PostgreSQL array written into the statement (dates and instants the code made,
    not input): as bind parameters, psycopg's prepared statements get a generic plan
    after a few runs that builds the array anew for every row."""
    items = ",".join(f'"{v.isoformat()}"' for v in values)
    element = Date() if pg_type == "date" else DateTime(timezone=True)
    return literal_column(f"('{{{items}}}'::{pg_type}[])", type_=ARRAY(element))


def epoch_hour(column) -> ColumnElement:
    """Whole hours since 1970 (UTC) of an instant: cheap to group by; :func:`hour_of`
    gives the local hour."""
    if is_sqlite():
        return func.stats_epoch_hour(column)
    return cast(func.floor(func.date_part("epoch", column) / 3600), Integer)


def hour_of(epoch_hours: int, tz: str) -> int:
    """The local hour of the day of :func:`epoch_hour`'s value."""
    return datetime.fromtimestamp(epoch_hours * 3600, _zone(tz)).hour


def local_hour(column, tz: str) -> ColumnElement:
    if is_sqlite():
        return func.stats_local_hour(column, tz)
    return cast(func.date_part("hour", func.timezone(tz, column)), Integer)


def bucket(day_expr, granularity: str, starts: list[date] | None = None) -> ColumnElement:
    """The first day of the bucket (day, week from Monday, month) of a date expression;
    ``starts``: the buckets' first days, in order (the period's buckets), which
    PostgreSQL looks the month up in (``width_bucket``, cheaper than ``date_part``)."""
    if granularity == DAY:
        return day_expr
    if is_sqlite():
        return func.stats_bucket(day_expr, granularity)
    if granularity == WEEK:  # date minus days since a Monday: integer arithmetic only
        return day_expr - (day_expr - literal(_MONDAY, Date)) % 7
    if starts is None:  # date minus days is a date; date_trunc goes through timestamptz
        return day_expr - cast(func.date_part("day", day_expr), Integer) + 1
    return _constant(starts, "date")[func.width_bucket(day_expr, _constant(starts, "date"))]


_MONDAY = date(1900, 1, 1)  # a Monday before every day the statistics see


def seconds(later, earlier) -> ColumnElement:
    """Seconds from ``earlier`` to ``later`` (float; ``date_part`` of the interval, not
    ``extract``, which computes in numeric, nor two epochs, a third slower over a year
    of tickets)."""
    if is_sqlite():
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.date_part("epoch", later - earlier)


def percentiles(expr, ps: tuple[float, ...]) -> list[ColumnElement]:
    """Columns giving the ``ps`` percentiles (0..1) of ``expr`` within the group,
    interpolated; :func:`percentile_values` reads them. PostgreSQL sorts once for all."""
    if is_sqlite():
        return [func.stats_percentile(expr, literal(p)) for p in ps]
    return [func.percentile_cont(array([float(p) for p in ps], type_=Float)).within_group(expr)]


def percentile_values(values: tuple, count: int) -> list[float | None]:
    """The percentiles from the row values of :func:`percentiles` (with ``count`` asked)."""
    if len(values) == 1 and count > 1:
        return list(values[0]) if values[0] is not None else [None] * count
    return list(values)


def fenced(query):
    """``query`` as a subquery whose columns are computed once per row: ``OFFSET 0`` keeps
    PostgreSQL from pulling it up into the outer query, where every reference to a
    column would compute its expression again (a wait is referenced a dozen times by
    the aggregates; over a year of tickets that was most of the time)."""
    return query.offset(0).subquery()


def grouped(query, *keys):
    """GROUP BY ``keys`` and, for the totals, by the first key alone: grouping sets on
    PostgreSQL (one pass), and on SQLite a second query; the totals have None for the
    other keys. Returns the rows of both."""
    if is_sqlite():
        first = query.group_by(*keys)
        totals = query.with_only_columns(
            keys[0], *[literal(None) for _ in keys[1:]],
            *list(query.selected_columns)[len(keys):]).group_by(keys[0])
        return [*db.session.execute(first), *db.session.execute(totals)]
    return list(db.session.execute(query.group_by(
        func.grouping_sets(tuple_(*keys), tuple_(keys[0])))))
