"""The demo town Musterstadt (Hessen): two offices, seven services, counters, opening
hours with a late evening and a Saturday morning, and closure days. Idempotent.
In development also three staff accounts with known passwords (never in production)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import select

from booking.assistant.models import FaqEntry
from booking.db import db
from booking.offices.models import AvailabilityRule, Closure, Counter, Office, Service

OFFICES = [
    dict(id="mitte", name="Bürgerbüro Rathaus Mitte",
         address="Marktplatz 1, 63065 Musterstadt", district="Innenstadt",
         email="buergerbuero@musterstadt.example",
         phone="+49 69 1234-0", slot_minutes=15, lead_time_minutes=120, horizon_days=60,
         cancel_deadline_minutes=60),
    dict(id="nord", name="Bürgerbüro Nord",
         address="Nordring 12, 63067 Musterstadt", district="Nordstadt",
         email="buergerbuero-nord@musterstadt.example",
         phone="+49 69 1234-500", slot_minutes=15, lead_time_minutes=120, horizon_days=45,
         cancel_deadline_minutes=120),
]

SERVICES = [
    dict(id="personalausweis", queue_prefix="A", duration_minutes=30, fee_cents=4600,
         name_de="Personalausweis beantragen", name_en="Apply for an identity card",
         description_de="Neuer Personalausweis für Bürgerinnen und Bürger ab 16 Jahren.",
         description_en="A new German identity card for citizens aged 16 and over.",
         bring_de="Bisheriger Ausweis, ein aktuelles biometrisches Foto, ggf. Geburtsurkunde",
         bring_en="Your current ID card, a recent biometric photo, a birth certificate "
                  "if needed"),
    dict(id="reisepass", queue_prefix="P", duration_minutes=30, fee_cents=7000,
         name_de="Reisepass beantragen", name_en="Apply for a passport",
         description_de="Elektronischer Reisepass, Bearbeitungszeit etwa vier Wochen.",
         description_en="Electronic passport; processing takes about four weeks.",
         bring_de="Personalausweis oder bisheriger Pass, ein biometrisches Foto",
         bring_en="Your ID card or current passport, a biometric photo"),
    dict(id="wohnsitz", queue_prefix="W", duration_minutes=15, fee_cents=0,
         name_de="Wohnsitz anmelden oder ummelden", name_en="Register a change of address",
         description_de="An-, Um- und Abmeldung eines Wohnsitzes innerhalb von zwei Wochen "
                        "nach dem Umzug.",
         description_en="Register, change or deregister your residence within two weeks "
                        "of moving.",
         bring_de="Personalausweis oder Pass, Wohnungsgeberbestätigung",
         bring_en="ID card or passport, the landlord's confirmation (Wohnungsgeberbestätigung)"),
    dict(id="fuehrungszeugnis", queue_prefix="F", duration_minutes=15, fee_cents=1300,
         name_de="Führungszeugnis beantragen", name_en="Apply for a certificate of conduct",
         description_de="Polizeiliches Führungszeugnis für private oder behördliche Zwecke.",
         description_en="Certificate of good conduct for private or official purposes.",
         bring_de="Personalausweis oder Pass",
         bring_en="ID card or passport"),
    dict(id="fundsachen", queue_prefix="S", duration_minutes=15, fee_cents=None,
         name_de="Fundsachen abgeben oder abholen", name_en="Lost and found",
         description_de="Gefundene Gegenstände abgeben oder Verlorenes abholen.",
         description_en="Hand in found items or collect something you lost.",
         bring_de="Personalausweis; bei Abholung eine Beschreibung des Gegenstands",
         bring_en="ID card; to collect, a description of the item"),
    dict(id="meldebescheinigung", queue_prefix="M", duration_minutes=15, fee_cents=500,
         name_de="Meldebescheinigung", name_en="Certificate of registration",
         description_de="Bescheinigung über Ihren gemeldeten Wohnsitz.",
         description_en="Certificate confirming your registered address.",
         bring_de="Personalausweis oder Pass", bring_en="ID card or passport"),
    dict(id="ausweis-abholen", queue_prefix="B", duration_minutes=15, fee_cents=0,
         name_de="Ausweis oder Pass abholen", name_en="Collect an ID card or passport",
         description_de="Abholung eines fertigen Ausweisdokuments.",
         description_en="Collect a finished identity document.",
         bring_de="Abholschein, bisheriges Dokument", bring_en="Collection slip, your old "
                                                               "document"),
]

OFFERS = {
    "mitte": ["personalausweis", "reisepass", "wohnsitz", "fuehrungszeugnis", "fundsachen",
              "meldebescheinigung", "ausweis-abholen"],
    "nord": ["personalausweis", "wohnsitz", "fuehrungszeugnis", "meldebescheinigung",
             "ausweis-abholen"],
}

# (office, ISO weekdays, start, end, capacity, only these services)
RULES = [
    ("mitte", "12345", time(8, 0), time(12, 0), 3, ()),
    ("mitte", "2", time(14, 0), time(16, 0), 2, ()),
    ("mitte", "4", time(14, 0), time(19, 30), 2, ()),  # late evening
    ("mitte", "6", time(9, 0), time(12, 0), 2, ()),  # Saturday morning
    ("mitte", "3", time(14, 0), time(16, 0), 1, ("ausweis-abholen",)),
    ("nord", "135", time(8, 0), time(12, 30), 2, ()),
    ("nord", "2", time(13, 0), time(18, 0), 1, ()),
]

# town-wide questions for the service assistant (the back office edits them)
FAQ = [
    dict(question_de="Kann ich mit Karte zahlen?", question_en="Can I pay by card?",
         answer_de="Ja, in allen Bürgerbüros mit Girocard und Kreditkarte, auch bar.",
         answer_en="Yes, in every office by debit or credit card, or in cash."),
    dict(question_de="Gibt es Parkplätze?", question_en="Is there parking?",
         answer_de="Am Rathaus Mitte gibt es ein Parkhaus am Marktplatz, am Bürgerbüro Nord "
                   "Parkplätze im Hof.",
         answer_en="There is a multi-storey car park at the Marktplatz by the town hall, and "
                   "parking in the yard of the Nord office."),
]

# counter labels: the screens show them as "Schalter 1" (German) or "Counter 1" (English)
COUNTERS = {"mitte": ["1", "2", "3", "4"],
            "nord": ["1", "2"]}


def _upsert(model, values: dict):
    row = db.session.get(model, values["id"])
    if row is None:
        row = model(**values)
        db.session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    return row


def _closure(office: Office, first: date, last: date, reason: str) -> None:
    starts_at = datetime.combine(first, time.min, tzinfo=office.tz).astimezone(UTC)
    ends_at = datetime.combine(last + timedelta(days=1), time.min,
                               tzinfo=office.tz).astimezone(UTC)
    exists = db.session.scalar(select(Closure.id).where(
        Closure.office_id == office.id, Closure.starts_at == starts_at))
    if exists is None:
        db.session.add(Closure(office=office, starts_at=starts_at, ends_at=ends_at,
                               reason=reason))


def seed(now: datetime) -> str:
    services = {}
    for position, values in enumerate(SERVICES):
        services[values["id"]] = _upsert(Service, {**values, "position": position})
    offices = {values["id"]: _upsert(Office, values) for values in OFFICES}
    db.session.flush()
    for office_id, service_ids in OFFERS.items():
        offices[office_id].services = [services[s] for s in service_ids]
    for office_id, weekdays, start, end, capacity, only in RULES:
        rule = db.session.scalar(select(AvailabilityRule).where(
            AvailabilityRule.office_id == office_id, AvailabilityRule.weekdays == weekdays,
            AvailabilityRule.start_time == start, AvailabilityRule.end_time == end))
        if rule is None:
            rule = AvailabilityRule(office_id=office_id, weekdays=weekdays, start_time=start,
                                    end_time=end, valid_from=date(2025, 1, 1), capacity=capacity)
            db.session.add(rule)
        rule.services = [services[s] for s in only]
    for office_id, names in COUNTERS.items():
        office = offices[office_id]
        existing = {c.name for c in office.counters}
        for name in names:
            if name not in existing:
                office.counters.append(Counter(name=name, services=list(office.services)))
    # Closure days: Christmas Eve and New Year's Eve (not public holidays in Hessen), and a
    # staff meeting day three weeks after the first seeding.
    today = now.astimezone(offices["mitte"].tz).date()
    for office in offices.values():
        for year in (today.year, today.year + 1):
            _closure(office, date(year, 12, 24), date(year, 12, 24), "Heiligabend")
            _closure(office, date(year, 12, 31), date(year, 12, 31), "Silvester")
    if not db.session.scalar(select(Closure.id).where(Closure.reason == "Personalversammlung")):
        meeting = today + timedelta(days=21)
        _closure(offices["nord"], meeting, meeting, "Personalversammlung")
    for values in FAQ:
        entry = db.session.scalar(select(FaqEntry).where(
            FaqEntry.question_de == values["question_de"], FaqEntry.office_id.is_(None)))
        if entry is None:
            db.session.add(FaqEntry(**values, updated_at=now))
    db.session.flush()
    return f"demo town loaded: {len(offices)} offices, {len(services)} services"


# Known logins for trying the staff screens on a development machine; seed_staff refuses
# to create them anywhere else.
STAFF = [
    dict(email="schalter@musterstadt.example", password="demo-schalter-mitte", role="clerk",
         offices=["mitte"]),
    dict(email="leitung@musterstadt.example", password="demo-leitung-mitte", role="manager",
         offices=["mitte"]),
    dict(email="admin@musterstadt.example", password="demo-admin-musterstadt", role="admin",
         offices=[]),
]


class DemoStaffRefused(RuntimeError):
    """Demo staff accounts (published passwords) outside development."""


def seed_staff(now: datetime) -> list[dict]:
    """Create (or reset) the demo staff accounts of STAFF; only when the app runs in
    development (BOOKING_ENV), otherwise DemoStaffRefused and nothing is written."""
    from booking.accounts.operations import (
        change_password,
        create_user,
        get_user_by_email,
        verify_password,
    )

    environment = current_app.config["BOOKING_ENV"]
    if environment != "development":
        raise DemoStaffRefused(
            f"demo staff accounts have published passwords: created in development only, "
            f"not with BOOKING_ENV={environment}")
    for account in STAFF:
        user = get_user_by_email(account["email"])
        if user is None:
            create_user(account["email"], account["password"], account["role"],
                        account["offices"], now)
            continue
        if not verify_password(user, account["password"]):
            change_password(user, account["password"])
        user.role, user.active = account["role"], True
        user.offices = [db.session.get(Office, office_id) for office_id in account["offices"]]
    db.session.flush()
    return STAFF


# (label, endpoint, arguments) of every screen, for the URLs seed-demo prints
SCREENS = [
    ("citizens: services and booking", "citizen.catalogue", {}),
    ("kiosk Rathaus Mitte", "kiosk.start", {"office_id": "mitte"}),
    ("kiosk Nord", "kiosk.start", {"office_id": "nord"}),
    ("waiting-room display Rathaus Mitte", "display.board", {"office_id": "mitte"}),
    ("waiting-room display Nord", "display.board", {"office_id": "nord"}),
    ("staff login", "staff.login", {}),
    ("counter screen (clerks)", "counter.index", {}),
    ("staff start page: day schedules", "staff.dashboard", {}),
    ("back office (managers, admins)", "admin.index", {}),
]
