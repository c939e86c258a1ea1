"""A connection the database dropped never fails a request: the pool pings every
connection before handing it out and replaces a dead one (``pool_pre_ping``)."""

from __future__ import annotations

import urllib.error
import urllib.request

import psycopg
import pytest
from sqlalchemy import text

from booking import create_app
from booking.config import load_config
from booking.db import db
from tests.factories import POSTGRES_ADMIN_URL, local_iso, make_town, next_workday
from tests.server import gunicorn, post_json


@pytest.fixture
def small_pool_app(app, app_config, tmp_path):
    """An app on the test database with the shipped engine options and a pool of one."""
    options = {**load_config(str(tmp_path), {})["SQLALCHEMY_ENGINE_OPTIONS"],
               "pool_size": 1, "max_overflow": 0}
    other = create_app({**app_config, "SQLALCHEMY_ENGINE_OPTIONS": options})
    yield other
    other.extensions["realtime"].stop()
    with other.app_context():
        db.engine.dispose()


def _request(app) -> int:
    """One unit of work as a request has it; returns the server process it ran on."""
    with app.app_context():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        db.session.commit()
        db.session.remove()
    return pid


def _terminate(*pids: int) -> None:
    """End server processes as a database restart, a failover or an admin would."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


@pytest.mark.postgresql  # a server process to terminate exists on PostgreSQL only
def test_a_connection_dropped_right_after_use_is_replaced_before_the_next(small_pool_app):
    first = _request(small_pool_app)
    _terminate(first)  # no idle time at all: the next checkout follows at once
    second = _request(small_pool_app)
    assert second != first


def _terminate_all_but(database_url: str, keep: int) -> int:
    """Terminate every server process of the test database except ``keep``."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> %s", (name, keep)).fetchone()[0]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.server
@pytest.mark.postgresql
def test_gunicorn_serves_on_after_its_connections_were_terminated(
        ctx, database_url, instance_dir):
    make_town(ctx, capacity=30)
    ctx.commit()
    keep = ctx.execute(text("SELECT pg_backend_pid()")).scalar_one()
    day = next_workday()
    reads = ["/healthz", "/api/v1/offices", "/api/v1/offices/amt/services/melde/slots"]

    def book(i: int) -> int:
        return post_json(base + "/api/v1/appointments", {
            "office": "amt", "service": "melde", "start": local_iso(day, 9),
            "name": f"Person {i}", "email": f"p{i}@example.org"})[0]

    with gunicorn(database_url, instance_dir, workers=2) as base:
        # every worker's pool holds connections that were in use a moment ago
        before = [_get(base + path) for _ in range(10) for path in reads]
        before += [book(i) for i in range(4)]
        assert set(before) <= {200, 201}
        assert _terminate_all_but(database_url, keep) >= 2
        after = [_get(base + path) for _ in range(10) for path in reads]
        after += [book(i) for i in range(4, 8)]
    assert after == [200] * 30 + [201] * 4
