"""The connection pool pings only connections that lay unused (booking.db.ping_idle_connections)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from booking import create_app
from booking.db import db
from tests.factories import POSTGRES_ADMIN_URL


@pytest.fixture
def make_app(app, app_config):
    """An app on the test database with its own pool of one connection."""
    made = []

    def make(ping_after: float):
        engine_options = {"pool_pre_ping": False}
        if app_config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            engine_options.update(pool_size=1, max_overflow=0)
        other = create_app({**app_config, "DATABASE_PING_AFTER_SECONDS": ping_after,
                            "SQLALCHEMY_ENGINE_OPTIONS": engine_options})
        made.append(other)
        return other

    yield make
    for other in made:
        other.extensions["realtime"].stop()
        with other.app_context():
            db.engine.dispose()


def _count_pings(monkeypatch, app) -> list:
    pings = []
    with app.app_context():
        dialect = db.engine.dialect
    real = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda conn: pings.append(1) or real(conn))
    return pings


def _request(app) -> int:
    """One unit of work as a request has it: check out, query, return the connection.
    Returns the server process of the connection (PostgreSQL) or 1 (SQLite)."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        else:
            pid = db.session.execute(text("SELECT 1")).scalar_one()
        db.session.commit()
        db.session.remove()
    return pid


def test_a_connection_in_steady_use_is_not_pinged(make_app, monkeypatch):
    app = make_app(ping_after=3600)
    pings = _count_pings(monkeypatch, app)
    for _ in range(5):
        _request(app)
    assert pings == []


def test_a_connection_unused_for_the_set_time_is_pinged_first(make_app, monkeypatch):
    app = make_app(ping_after=0)  # every connection counts as idle
    pings = _count_pings(monkeypatch, app)
    for _ in range(3):
        _request(app)
    assert len(pings) == 2  # not the new connection's first checkout, then every one


def _terminate(pid: int) -> None:
    """End a server process as a database restart or a firewall would."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


# a server process to terminate exists on PostgreSQL only
@pytest.mark.postgresql
def test_a_dropped_idle_connection_is_replaced_before_use(make_app):
    app = make_app(ping_after=0)
    first = _request(app)
    _terminate(first)
    second = _request(app)  # the ping notices, the pool connects afresh
    assert second != first


@pytest.mark.postgresql
def test_a_dropped_busy_connection_fails_once_then_is_replaced(make_app):
    """The documented price of not pinging busy connections: one failed use."""
    app = make_app(ping_after=3600)
    first = _request(app)
    _terminate(first)
    with pytest.raises(OperationalError):
        _request(app)
    assert _request(app) != first
