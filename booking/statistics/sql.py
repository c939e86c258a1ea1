"""SQL expressions that differ between PostgreSQL and SQLite.

PostgreSQL converts instants to the office's local time (``timezone``) and has
``percentile_cont``. SQLite has neither: :func:`prepare` registers small Python
functions on the connection (local day, hour, weekday; a percentile aggregate) so that
every query has the same shape, groups in the database on both, and returns the same
numbers (``percentile_cont`` interpolates linearly, so does :func:`percentile`).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Float, Integer, cast, func, literal, text, tuple_
from sqlalchemy.dialects.postgresql import array
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
#: a hash would do), and no JIT compilation (it costs more than it saves here).
PG_SETTINGS = ("SET LOCAL work_mem = '64MB'", "SET LOCAL jit = off")


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
    raw.create_function("stats_isodow", 1,
                        lambda d: None if d is None else date.fromisoformat(d[:10]).isoweekday(),
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


def local_day(column, tz: str) -> ColumnElement:
    """The office's local date of an instant."""
    if is_sqlite():
        return func.stats_local_day(column, tz)
    return cast(func.timezone(tz, column), Date)


def local_hour(column, tz: str) -> ColumnElement:
    if is_sqlite():
        return func.stats_local_hour(column, tz)
    return cast(func.date_part("hour", func.timezone(tz, column)), Integer)


def isodow(day_expr) -> ColumnElement:
    """ISO weekday (Monday 1) of a date expression."""
    if is_sqlite():
        return func.stats_isodow(day_expr)
    return cast(func.date_part("isodow", day_expr), Integer)


def bucket(day_expr, granularity: str) -> ColumnElement:
    """The first day of the bucket (day, week from Monday, month) of a date expression."""
    if granularity == DAY:
        return day_expr
    if is_sqlite():
        return func.stats_bucket(day_expr, granularity)
    # date minus days is a date; date_trunc would go through timestamptz (time zones)
    back = func.date_part("isodow" if granularity == WEEK else "day", day_expr)
    return day_expr - cast(back, Integer) + 1


def seconds(later, earlier) -> ColumnElement:
    """Seconds from ``earlier`` to ``later`` (float; ``date_part``, not ``extract``,
    which computes in numeric and takes twice as long over a year of tickets)."""
    if is_sqlite():
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.date_part("epoch", later) - func.date_part("epoch", earlier)


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
