"""Factories and helpers shared by the test modules: plain functions and constants.

Fixtures live in tests/conftest.py (and tests/browser/conftest.py); test modules import
only from support modules like this one, never from one another.
"""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from html import unescape

import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def scratch_postgres_database(prefix: str):
    """A new, empty PostgreSQL database for the block; its URL. Dropped afterwards."""
    import uuid

    import psycopg

    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
BERLIN = "Europe/Berlin"
PASSWORD = "correct horse battery"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Berlin


def dispose_app(app) -> None:
    """Stop an app's realtime listener and close its pooled connections (they would
    outlive the test database)."""
    from booking.db import db

    app.extensions["realtime"].stop()
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@contextmanager
def second_app(config: dict):
    """Another app on the suite's database with other settings (e.g. the fair-access
    measures on, which the suite's app has off)."""
    from booking import create_app

    other = create_app(config)
    try:
        yield other
    finally:
        dispose_app(other)


# ---------------------------------------------------------------- offices, days, forms


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


def setup_town(ctx) -> dict:
    """'amt' from make_town (Mon–Sat 08–12, capacity 2, 'pass' and 'melde') with counter
    '1'; returns the ids the tests address."""
    from booking.offices.models import Counter, Service

    office = make_town(ctx)
    counter = Counter(office=office, name="1", services=[ctx.get(Service, "pass")])
    ctx.add(counter)
    ctx.flush()
    ids = {"rule": office.rules[0].id, "counter": counter.id}
    ctx.commit()
    return ids


def back_office_town(ctx) -> dict:
    """'amt' (make_town, rule Mon–Sat 08–12, capacity 2) with a counter and a planned
    closure, and a second office 'nord'; returns the ids of the rule, counter and closure."""
    from booking.offices.models import Closure, Counter, Office, Service

    office = make_town(ctx)
    melde, passport = ctx.get(Service, "melde"), ctx.get(Service, "pass")
    nord = Office(id="nord", name="Bürgerbüro Nord", address="Nordweg 2, 12345 Teststadt",
                  email="nord@teststadt.example", timezone="Europe/Berlin", state="HE",
                  services=[melde])
    counter = Counter(office=office, name="1", services=[passport])
    day = next_workday(30)
    closure = Closure(office=office, starts_at=at(day, 8).astimezone(UTC),
                      ends_at=at(day, 10).astimezone(UTC),
                      reason="Betriebsversammlung")
    ctx.add_all([nord, counter, closure])
    ctx.flush()
    ids = {"rule": office.rules[0].id, "counter": counter.id, "closure": closure.id}
    ctx.commit()
    return ids


# The stored values of make_town's office as the back office's form posts them.
OFFICE_DATA = {"name": "Bürgerbüro Teststadt", "address": "Markt 1, 12345 Teststadt",
               "email": "amt@teststadt.example", "phone": "+49 1234 5678", "state": "HE",
               "slot_minutes": "15", "lead_time_minutes": "60", "horizon_days": "60",
               "cancel_deadline_minutes": "60", "services": ["pass", "melde"],
               "queue_window_minutes": "15", "queue_recall_cooldown_seconds": "30",
               "queue_max_recalls": "2", "queue_daily_limit": "", "reminder_hours": "24",
               "waitlist_hold_minutes": "120", "max_persons": "6", "max_services": "5",
               "combinable": ["pass", "melde"]}


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


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """That time of ``day`` in Berlin, as an aware datetime."""
    return datetime.fromisoformat(local_iso(day, hour, minute))


def csrf_from(html: str) -> str:
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def state_without_holiday(day: date) -> str:
    """A federal state in which ``day`` is no public holiday (offices are closed on those).
    On a nationwide holiday the run's clock (tests/clock.py) has moved to the next day
    that has one, so only a test's own day can be without."""
    from tests import clock

    state = clock.state_without_holiday(day)
    if state is None:
        pytest.skip(f"{day} is a nationwide public holiday: every office is closed")
    return state


# ---------------------------------------------------------------- staff users


def cheap_hashing(monkeypatch) -> None:
    """Argon2id with the cheapest parameters: the tests log in a lot (the production
    parameters are tested in test_accounts.py), and the browser tests' live server runs in
    the test process, so its logins check these hashes too."""
    from argon2 import PasswordHasher

    from booking.accounts import operations as accounts

    monkeypatch.setattr(accounts, "hasher", PasswordHasher(time_cost=1, memory_cost=8,
                                                           parallelism=1))


def add_user(ctx, role: str, *offices: str, name: str | None = None) -> str:
    """A user with PASSWORD; returns the email address to log in with."""
    from booking.accounts.operations import create_user
    from booking.db import utcnow

    address = f"{name or role}@teststadt.example"
    create_user(address, PASSWORD, role, list(offices), utcnow())
    ctx.commit()
    return address


def open_lottery(ctx, service_id: str = "pass"):
    """A committed lottery of ``service_id`` at 'amt' (make_town) for one workday ten days
    ahead, taking entries from an hour ago until tomorrow, announced by an admin."""
    from booking.accounts.operations import get_user_by_email
    from booking.db import utcnow
    from booking.fairness import lottery
    from booking.offices.models import Office, Service

    now, day = utcnow(), next_workday(10)
    admin = get_user_by_email(add_user(ctx, "admin"))
    announced = lottery.create_lottery(ctx.get(Service, service_id), [ctx.get(Office, "amt")],
                                       day, day, now - timedelta(hours=1),
                                       now + timedelta(days=1), admin, now)
    ctx.commit()
    return announced


def log_in_with_password(client, address: str) -> None:
    """Log in through the login form; the session's language is English, so assertions
    on English texts keep holding when the German translations change."""
    page = client.get("/login?lang=en")
    response = client.post("/login", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                           "email": address, "password": PASSWORD})
    assert response.status_code == 303


def session_csrf(client) -> str:
    """A CSRF token of the client's session (every form of the session accepts it)."""
    return csrf_from(client.get("/login").get_data(as_text=True))


def count_rows(ctx, model, *where) -> int:
    """How many rows of ``model`` match, read in a fresh, short transaction."""
    from sqlalchemy import func, select

    ctx.rollback()
    value = ctx.scalar(select(func.count()).select_from(model).where(*where))
    ctx.rollback()
    return value


def make_user(ctx, role: str, *offices: str) -> tuple[int, str]:
    """A user (hashing is slow: few per test); returns (id, session id)."""
    from booking.accounts.operations import create_user, start_session
    from booking.db import utcnow

    email = f"{role}-{'-'.join(offices) or 'all'}@example.org"
    user = create_user(email, PASSWORD, role, list(offices), utcnow())
    ids = user.id, start_session(user, utcnow())
    ctx.commit()
    ctx.rollback()
    return ids


def log_in(client, session_id: str) -> None:
    """A logged-in session without the slow password check (test_accounts covers login)."""
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
        sess["_fresh"] = True


# ---------------------------------------------------------------- appointments


@dataclass(frozen=True)
class Booked:
    """What tests need of an appointment, read once: reading expired ORM objects later
    would hold a SQLite read snapshot across the app's writes."""

    id: int
    code: str
    ical_uid: str
    start_at: datetime
    end_at: datetime
    token_hash: str


def booked(appointment) -> Booked:
    return Booked(appointment.id, appointment.code, appointment.ical_uid, appointment.start_at,
                  appointment.end_at, appointment.token_hash)


def book(ctx, service_id: str, day: date, hour: int, minute: int = 0, *,
         mail: str | None = "anna@example.org", name: str = "Anna Muster") -> Booked:
    """Book at 'amt' through the citizens' operation (with ``mail=None``: a phone number
    only); plain values, so that no later attribute access opens a read transaction on the
    test's session."""
    from booking.db import utcnow
    from booking.offices.models import Office, Service
    from booking.scheduling import operations, visits

    citizen = operations.Citizen(name, mail, None if mail else "+49 69 1234567")
    appointment, _ = operations.book_appointment(
        ctx.get(Office, "amt"), visits.single(ctx.get(Service, service_id)), at(day, hour, minute), citizen,
        utcnow())
    result = booked(appointment)
    ctx.commit()
    return result


def book_in_domain(app, start: str, email: str) -> None:
    """Book through the domain operation (forms and API refuse non-ASCII local parts;
    staff tools or imports might not)."""
    from booking.db import db, unit_of_work
    from booking.offices.models import Office, Service
    from booking.scheduling import visits
    from booking.scheduling.operations import Citizen, book_appointment

    with app.app_context(), unit_of_work():
        book_appointment(db.session.get(Office, "amt"), visits.single(db.session.get(Service, "pass")),
                         datetime.fromisoformat(start), Citizen("Jörg Test", email),
                         datetime.now(UTC))


def make_appointment(ctx, office, start_at, *, code="ACDE3467", status="confirmed",
                     token="manage-token-123"):
    """A committed appointment for the office's first service, with a known code and token."""
    from booking.scheduling.codes import hash_token
    from booking.scheduling.models import Appointment

    appointment = Appointment(
        office=office, service=office.services[0], start_at=start_at,
        end_at=start_at + timedelta(minutes=30), name="Erika Mustermann",
        email="erika.mustermann@example.org", phone="+49 170 5550123", language="en",
        code=code, token_hash=hash_token(token), ical_uid=f"uid-{code}", status=status)
    ctx.add(appointment)
    ctx.commit()
    return appointment


def passport_appointment(ctx, office, start_at, status="confirmed"):
    """A 'pass' appointment at ``start_at`` (code and uid from the time), flushed only."""
    from booking.offices.models import Service
    from booking.scheduling.models import Appointment

    appt = Appointment(office=office, service=ctx.get(Service, "pass"), start_at=start_at,
                       end_at=start_at + timedelta(minutes=30), name="Erika", email="e@x.example",
                       language="en", code=f"C{int(start_at.timestamp()) % 10**7:07d}",
                       token_hash="x", ical_uid=f"uid-{start_at.timestamp()}", status=status)
    ctx.add(appt)
    ctx.flush()
    return appt


FAMILY_TOKEN = "family-token-123"


def family_appointment(ctx, office, start_at, lines=(("pass", 3), ("melde", 1)), *,
                       code="FAMY3467", status="confirmed", language="en",
                       token=FAMILY_TOKEN):
    """A committed appointment for several services and persons (make_town's services:
    by default Reisepass × 3 and Wohnsitz anmelden × 1, 30 + 2 × 30 + 15 = 105 minutes),
    its lines set explicitly and its end from the visit's minutes."""
    from booking.offices.models import Service
    from booking.scheduling.codes import hash_token
    from booking.scheduling.models import Appointment, AppointmentService
    from booking.scheduling.visits import Line, visit_minutes

    services = [(ctx.get(Service, service_id), persons) for service_id, persons in lines]
    minutes = visit_minutes([Line(service, persons) for service, persons in services])
    appointment = Appointment(
        office=office, service=services[0][0], start_at=start_at,
        end_at=start_at + timedelta(minutes=minutes), name="Familie Muster",
        email="familie.muster@example.org", phone="+49 170 5550124", language=language,
        code=code, token_hash=hash_token(token), ical_uid=f"uid-{code}", status=status,
        lines=[AppointmentService(position=i, service=service, persons=persons)
               for i, (service, persons) in enumerate(services)])
    ctx.add(appointment)
    ctx.commit()
    return appointment


# ---------------------------------------------------------------- walk-in queue


def counter(ctx, name):
    """The counter called ``name``."""
    from sqlalchemy import select

    from booking.offices.models import Counter

    return ctx.scalar(select(Counter).where(Counter.name == name))


TICKET_URL = re.compile(r"/kiosk/amt/tickets/(?P<id>[\w-]+)$")


def english(client, path="/kiosk/amt"):
    """Switch the client's session to English (the app's ?lang= mechanism)."""
    assert client.get(path + "?lang=en").status_code in (200, 404)


def draw(client, service="pass", office="amt"):
    """Draw a ticket at the kiosk's form; the response."""
    page = client.get(f"/kiosk/{office}")
    token = csrf_from(page.get_data(as_text=True)) if page.status_code == 200 else "x"
    return client.post(f"/kiosk/{office}/tickets",
                       data={"csrf_token": token, "service": service})


def drawn_ticket(client, service="pass") -> tuple[str, str]:
    """Draw a ticket; returns (ticket id, HTML of the ticket page after the redirect)."""
    response = draw(client, service)
    assert response.status_code == 303, response.get_data(as_text=True)
    match = TICKET_URL.search(response.headers["Location"])
    assert match, response.headers["Location"]
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    return match["id"], page.get_data(as_text=True)


# ---------------------------------------------------------------- concurrency


def race(calls) -> list[tuple[int, dict]]:
    """Run the callables at the same moment, one thread each."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


HX = {"HX-Request": "true"}


def plain_text(html: str) -> str:
    """The text of a page or fragment, tags dropped, white space collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def seen_from(html: str) -> str:
    match = re.search(r'<input type="hidden" name="seen" value="([^"]*)">', html)
    assert match, "no list of affected appointments in the page"
    return match.group(1)


def cancellation_message(ctx, appointment_id: int):
    """The one cancellation email of an appointment: (message, plain text, calendar part)."""
    from sqlalchemy import select

    from booking.notifications.models import OutboxMessage
    from booking.notifications.outbox import deliver_due

    ctx.rollback()
    deliver_due()  # the sender renders the queued snapshot and writes it as a file
    rows = ctx.scalars(select(OutboxMessage.id).where(
        OutboxMessage.appointment_id == appointment_id, OutboxMessage.kind == "cancelled")).all()
    assert len(rows) == 1
    msg = written_email(rows[0], "cancelled")
    ctx.rollback()
    text = msg.get_body(preferencelist=("plain",)).get_content()
    ics = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    return msg, text, ics.get_content()


def key_from(html: str) -> str:
    """The submission key of the booking form in ``html``."""
    return re.search(r'<input[^>]*name="key"[^>]*value="([^"]+)"', html).group(1)


# ---------------------------------------------------------------- data protection


def tables_containing(ctx, needle: str) -> list[str]:
    """``table.column`` of every value in the database that contains ``needle`` (case
    does not matter): every table and column, emails decoded part by part."""
    import email.policy

    from sqlalchemy import select

    from booking.db import db

    def texts(value) -> list[str]:
        if isinstance(value, bytes):
            parsed = email.message_from_bytes(value, policy=email.policy.default)
            parts = [str(part.get_payload(decode=True) or b"", "utf-8", "replace")
                     for part in parsed.walk() if not part.is_multipart()]
            return [value.decode("latin-1"), *parts]
        return [str(value)]

    ctx.rollback()
    found = []
    for table in db.metadata.sorted_tables:
        for row in ctx.execute(select(table)):
            for column, value in zip(table.columns, row, strict=True):
                if value is not None and any(needle.lower() in text.lower()
                                             for text in texts(value)):
                    found.append(f"{table.name}.{column.name}")
    ctx.rollback()
    return found


def written_email(row_id: int, kind: str):
    """The email the outbox wrote as a file (no MAIL_SERVER in tests), parsed: a sent row
    keeps no copy of its message. Needs an app context (``ctx``)."""
    import email.policy

    from flask import current_app

    path = os.path.join(current_app.config["MAIL_FILE_DIR"], f"{row_id:06d}-{kind}.eml")
    with open(path, "rb") as fh:
        return email.message_from_bytes(fh.read(), policy=email.policy.default)
