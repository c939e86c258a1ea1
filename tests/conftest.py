"""Fixtures: a real database (SQLite file or PostgreSQL, ``--db``), the app, shared set-ups.

Every test starts from empty tables; the schema is created once per run with the
Alembic migrations, exactly as ``flask db upgrade`` does in production.
"""

from __future__ import annotations

import os
import sys
from datetime import date, time

import pytest
from sqlalchemy import text

from booking.config import normalise_database_url
from tests import clock
from tests.factories import (
    BERLIN,
    add_user,
    back_office_town,
    dispose_app,
    log_in_with_password,
    make_town,
    scratch_postgres_database,
    second_app,
    state_without_holiday,
)

pytest_plugins = ["tests.no_skips"]  # --no-skips: a skipped test fails the run

clock.start()  # moved past Berlin's midnight and nationwide holidays if near (tests/clock.py)


def pytest_addoption(parser):
    parser.addoption("--db", choices=["sqlite", "postgresql"], default="sqlite",
                     help="database the suite runs against")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgresql`` are deselected on SQLite: not run, and not skipped."""
    if config.getoption("--db") == "postgresql":
        return
    other = [item for item in items if item.get_closest_marker("postgresql") is not None]
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = [item for item in items if item.get_closest_marker("postgresql") is None]


@pytest.fixture(scope="session")
def db_kind(request) -> str:
    return request.config.getoption("--db")


@pytest.fixture(scope="session")
def database_url(db_kind, tmp_path_factory):
    if db_kind == "sqlite":
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")
        return
    with scratch_postgres_database("booking_test") as url:
        yield url


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("instance")
    os.environ["BOOKING_INSTANCE_PATH"] = str(path)
    return path


@pytest.fixture(scope="session")
def app_config(database_url, instance_dir) -> dict:
    return {
        "TESTING": True,
        # the fairness measures are off for tests of other features; their tests turn
        # them on (tests/test_fairness_*.py)
        "ANTI_ABUSE": False,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "OUTBOX_BACKGROUND": False,
        "MAIL_SERVER": None,
        "MAIL_FILE_DIR": str(instance_dir / "mail"),
        "BOOKING_BASE_URL": "http://booking.test",
        # the test client reads a whole response: event streams end after a second
        # (browser tests switch back to long-lived streams, see tests/browser/conftest.py)
        "REALTIME_STREAM_MAX_SECONDS": 1,
        "REALTIME_HEARTBEAT_SECONDS": 0.5,
    }


@pytest.fixture(scope="session")
def app(app_config):
    import flask_migrate

    from booking import create_app

    app = create_app(app_config)
    with app.app_context():
        flask_migrate.upgrade()
    yield app
    dispose_app(app)


@pytest.fixture(autouse=True)
def _empty_tables(request):
    """Empty every table after each test that used the database."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    from booking.db import db

    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture(scope="session")
def domain_app(app, app_config):
    """A second app on the same database, for calling domain code directly in tests.

    A request reuses an app context that is already pushed for *its own* app; pushing
    this other app's context keeps test-client requests in fresh contexts (own
    session, own locale), as in production.
    """
    with second_app({**app_config, "SQLITE_BEGIN_IMMEDIATE": False}) as other:
        yield other


@pytest.fixture
def ctx(domain_app):
    """The database session of an app context for domain code.

    Call ``ctx.rollback()`` after reading: it ends the read snapshot, so later reads see
    the app's commits, and on SQLite an old snapshot held across the app's writes can
    make a later writer fail with "database is locked".
    """
    from booking.db import db

    with domain_app.app_context():
        yield db.session
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


# ---------------------------------------------------------------- shared set-ups


@pytest.fixture
def floor(ctx):
    """Office 'amt' open every day all day, to the last microsecond (drawing a ticket uses
    the run's clock, see tests/clock.py), with two
    counters labelled '1' (pass + melde; shown as "Schalter 1") and '2' (melde only);
    and office 'nord' (pass, counter 'N1'). Ticket prefixes: P (pass), M (melde)."""
    from zoneinfo import ZoneInfo

    from booking.db import utcnow
    from booking.offices.models import AvailabilityRule, Counter, Office, Service

    office = make_town(ctx, weekdays="1234567", start=time(0), end=time.max)
    office.state = state_without_holiday(utcnow().astimezone(ZoneInfo(BERLIN)).date())
    office.services[0].queue_prefix = "P"
    office.services[1].queue_prefix = "M"
    passport, melde = ctx.get(Service, "pass"), ctx.get(Service, "melde")
    ctx.add_all([Counter(office=office, name="1", services=[passport, melde]),
                 Counter(office=office, name="2", services=[melde])])
    nord = Office(id="nord", name="Bürgerbüro Nord", address="Nordring 2", email="n@x.example",
                  timezone=BERLIN, state=office.state)
    nord.services = [passport]
    ctx.add(nord)
    ctx.add(AvailabilityRule(office=nord, weekdays="1234567", start_time=time(0),
                             end_time=time.max, valid_from=date(2020, 1, 1), capacity=1))
    ctx.add(Counter(office=nord, name="N1", services=[passport]))
    ctx.commit()
    return office


@pytest.fixture
def back_office(ctx):
    """'amt' with a counter and a planned closure, and 'nord' (factories.back_office_town);
    the ids of the rule, the counter and the closure."""
    return back_office_town(ctx)


@pytest.fixture
def manager(ctx, client, back_office):
    """The test client, logged in as a manager of 'amt'."""
    log_in_with_password(client, add_user(ctx, "manager", "amt"))
    return client


@pytest.fixture
def admin(ctx, client, back_office):
    """The test client, logged in as an administrator."""
    log_in_with_password(client, add_user(ctx, "admin"))
    return client


# ---------------------------------------------------------------- markers, enforced
#
# ``make test-fast`` leaves out the tests marked ``server`` (real gunicorn servers) and
# ``browser`` (Chromium). Forgetting a marker would slip a slow test into it, so:
# starting gunicorn in a test (or its fixtures) without ``server`` fails that test, and so
# does a test that uses the Chromium fixture without ``browser``.

_running: list = []  # the test whose set-up, call or teardown runs now


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _running.append(item)
    try:
        yield
    finally:
        _running.pop()


def pytest_runtest_setup(item):
    if "browser" in item.fixturenames and item.get_closest_marker("browser") is None:
        pytest.fail(f"{item.nodeid} starts Chromium: mark it @pytest.mark.browser",
                    pytrace=False)


def _starts_gunicorn(args) -> bool:
    words = (os.fsdecode(args).split() if isinstance(args, str | bytes | os.PathLike)
             else [os.fsdecode(word) for word in args])
    return any(os.path.basename(word) == "gunicorn" for word in words)


def _audit(event: str, args: tuple) -> None:
    """Python's audit hook: subprocess.Popen (executable, args, cwd, env) is how every
    subprocess starts, tests/server.py's ``gunicorn()`` as well as a plain subprocess.run."""
    if event != "subprocess.Popen" or not _running:
        return
    item = _running[-1]
    if item.get_closest_marker("server") is None and _starts_gunicorn(args[1]):
        raise pytest.fail.Exception(
            f"{item.nodeid} starts gunicorn: mark it @pytest.mark.server", pytrace=False)


sys.addaudithook(_audit)  # for the rest of the process: audit hooks cannot be removed


@pytest.fixture
def empty_database_url(db_kind, tmp_path):
    if db_kind == "sqlite":
        yield "sqlite:///" + str(tmp_path / "fresh.db")
        return
    with scratch_postgres_database("booking_fresh") as url:
        yield url
