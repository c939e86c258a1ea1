"""Database plumbing: declarative base, UTC datetimes, the commit points.

Only two places commit: :func:`commit_request` (the request boundary, wired in
``create_app``) and :func:`unit_of_work` (CLI commands and background jobs).
Operations and models only ``flush()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import g
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Engine, MetaData, event, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as UTC; always read back aware (tzinfo=UTC).

    SQLite has no time zones, so the value is stored naive in UTC there; a
    fixed representation also keeps unique constraints on instants exact.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_storable_text(value: str) -> bool:
    """False for text no database here can store: a NUL character (PostgreSQL) or a lone
    surrogate (not encodable as UTF-8; a JSON "\\ud800" escape, undecodable bytes in argv)."""
    return "\x00" not in value and not any("\ud800" <= ch <= "\udfff" for ch in value)


def configure_sqlite(engine: Engine, begin_immediate: bool = True) -> None:
    """WAL, a busy timeout and foreign keys for SQLite; transactions begin IMMEDIATE.

    With deferred transactions two workers that both read and then write get
    SQLITE_BUSY instead of waiting; BEGIN IMMEDIATE makes them queue up behind the
    busy timeout. Correctness (capacity) still rests on unique constraints.
    ``begin_immediate=False`` is for tests that keep a reading session open beside
    the app. No-op for other databases.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # the "begin" hook starts transactions
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if begin_immediate else "BEGIN")


def commit_request(response):
    """The request's one commit point: commit on success, roll back otherwise.

    A view that must keep its writes despite an error status (a failed login attempt
    is counted) sets ``g.commit_despite_error``.
    """
    if response.status_code < 400 or g.get("commit_despite_error"):
        db.session.commit()
    else:
        db.session.rollback()
    return response


@contextmanager
def unit_of_work() -> Iterator:
    """Commit point for CLI commands and background jobs."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def add_one(model, key: dict, field: str, fields: tuple[str, ...]) -> None:
    """Add one to ``field`` of the row ``key`` of ``model``, a table of counts (one
    integer column per name in ``fields``), inserting the row at its first count; a
    concurrent first insert is taken as the row to add to."""
    bump = (update(model).where(*(getattr(model, name) == value for name, value in key.items()))
            .values(**{field: getattr(model, field) + 1})
            .execution_options(synchronize_session=False))
    if db.session.execute(bump).rowcount:
        return
    try:
        with db.session.begin_nested():
            db.session.execute(insert(model).values(**key, **{f: int(f == field)
                                                              for f in fields}))
    except IntegrityError:  # a concurrent first count
        db.session.execute(bump)
