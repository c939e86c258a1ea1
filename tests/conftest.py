"""Fixtures: a real database (SQLite file or PostgreSQL, ``--db``), the app, factories.

Every test starts from empty tables; the schema is created once per run with the
Alembic migrations, exactly as ``flask db upgrade`` does in production.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta

import psycopg
import pytest
from sqlalchemy import text

from booking.config import normalise_database_url

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def pytest_addoption(parser):
    parser.addoption("--db", choices=["sqlite", "postgresql"], default="sqlite",
                     help="database the suite runs against")


@pytest.fixture(scope="session")
def db_kind(request) -> str:
    return request.config.getoption("--db")


@pytest.fixture(scope="session")
def database_url(db_kind, tmp_path_factory):
    if db_kind == "sqlite":
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")
        return
    name = f"booking_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("instance")
    os.environ["BOOKING_INSTANCE_PATH"] = str(path)
    return path


@pytest.fixture(scope="session")
def app_config(database_url, instance_dir) -> dict:
    return {
        "TESTING": True,
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
    _dispose(app)


def _dispose(app) -> None:
    from booking.db import db

    app.extensions["realtime"].stop()  # its listener would outlive the test database
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


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
    from booking import create_app

    other = create_app({**app_config, "SQLITE_BEGIN_IMMEDIATE": False})
    yield other
    _dispose(other)


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


# ---------------------------------------------------------------- factories

BERLIN = "Europe/Berlin"


def make_town(session, *, capacity=2, slot_minutes=15, lead_minutes=120, horizon_days=60,
              cancel_deadline_minutes=60, weekdays="123456", start=time(8), end=time(12)):
    """One office 'amt' offering 'pass' (30 min) and 'melde' (15 min), one rule."""
    from booking.offices.models import AvailabilityRule, Office, Service

    office = Office(id="amt", name="Bürgerbüro Teststadt", address="Markt 1, 12345 Teststadt",
                    email="amt@teststadt.example", phone="+49 1234 5678", timezone=BERLIN,
                    state="HE", slot_minutes=slot_minutes, lead_time_minutes=lead_minutes,
                    horizon_days=horizon_days, cancel_deadline_minutes=cancel_deadline_minutes)
    passport = Service(id="pass", position=1, name_de="Reisepass beantragen",
                       name_en="Apply for a passport", description_de="Reisepass",
                       description_en="Passport", bring_de="Biometrisches Foto",
                       bring_en="Biometric photo", fee_cents=7000, duration_minutes=30)
    melde = Service(id="melde", position=2, name_de="Wohnsitz anmelden",
                    name_en="Register your address", bring_de="Ausweis", bring_en="ID card",
                    fee_cents=0, duration_minutes=15)
    office.services = [passport, melde]
    session.add(office)
    session.add(AvailabilityRule(office=office, weekdays=weekdays, start_time=start, end_time=end,
                                 valid_from=date(2020, 1, 1), capacity=capacity))
    session.commit()
    return office


def next_workday(min_days: int = 3, weekdays: str = "12345") -> date:
    """The first day at least ``min_days`` ahead (Berlin) on ``weekdays`` that is no Hessen
    holiday and no 24/31 December."""
    from zoneinfo import ZoneInfo

    import holidays as holidays_lib

    day = datetime.now(UTC).astimezone(ZoneInfo(BERLIN)).date() + timedelta(days=min_days)
    while (str(day.isoweekday()) not in weekdays
           or day in holidays_lib.country_holidays("DE", subdiv="HE", years=day.year)
           or (day.month, day.day) in ((12, 24), (12, 31))):
        day += timedelta(days=1)
    return day


def local_iso(day: date, hour: int, minute: int = 0) -> str:
    from zoneinfo import ZoneInfo

    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(BERLIN)).isoformat()


def csrf_from(html: str) -> str:
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def state_without_holiday(day: date) -> str:
    """A federal state in which ``day`` is no public holiday (offices are closed on those)."""
    import holidays as holidays_lib

    for state in ("HE", "BE", "BY", "NW", "HH", "SN", "BW"):
        if day not in holidays_lib.country_holidays("DE", subdiv=state, years=day.year):
            return state
    pytest.skip("a nationwide public holiday today: every office is closed")


@pytest.fixture
def floor(ctx):
    """Office 'amt' open every day all day (drawing a ticket uses the real clock), with two
    counters: 'Schalter 1' handles pass + melde, 'Schalter 2' melde only; and office 'nord'
    (pass, counter 'Nord 1'). Ticket prefixes: P (pass), M (melde)."""
    from zoneinfo import ZoneInfo

    from booking.db import utcnow
    from booking.offices.models import AvailabilityRule, Counter, Office, Service

    office = make_town(ctx, weekdays="1234567", start=time(0), end=time(23, 59))
    office.state = state_without_holiday(utcnow().astimezone(ZoneInfo(BERLIN)).date())
    office.services[0].queue_prefix = "P"
    office.services[1].queue_prefix = "M"
    passport, melde = ctx.get(Service, "pass"), ctx.get(Service, "melde")
    ctx.add_all([Counter(office=office, name="Schalter 1", services=[passport, melde]),
                 Counter(office=office, name="Schalter 2", services=[melde])])
    nord = Office(id="nord", name="Bürgerbüro Nord", address="Nordring 2", email="n@x.example",
                  timezone=BERLIN, state=office.state)
    nord.services = [passport]
    ctx.add(nord)
    ctx.add(AvailabilityRule(office=nord, weekdays="1234567", start_time=time(0),
                             end_time=time(23, 59), valid_from=date(2020, 1, 1), capacity=1))
    ctx.add(Counter(office=nord, name="Nord 1", services=[passport]))
    ctx.commit()
    return office
