"""What managers and citizens read about back-office changes: the rule preview as a
compact diff, the audit log in words and local time, closures as periods ("ganztägig"),
and the closure email with a labelled reason and a working link to book again."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from booking import i18n
from booking.audit.models import AuditEntry
from booking.offices.models import Office
from booking.scheduling.models import Appointment
from tests.factories import (
    HX,
    add_user,
    book,
    cancellation_message,
    cheap_hashing,
    next_workday,
    plain_text,
    seen_from,
    session_csrf,
)

ROOT = Path(__file__).resolve().parent.parent
BERLIN = ZoneInfo("Europe/Berlin")
MONTHS_DE = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
             "September", "Oktober", "November", "Dezember")


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    cheap_hashing(monkeypatch)


def german(client) -> None:
    assert client.get("/admin/?lang=de").status_code == 200


def tz_at(day: date, hour: int, minute: int = 0, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


# ---------------------------------------------------------------- closure periods (pure)

def at_midnight(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=BERLIN).astimezone(UTC)


PERIODS = [
    # (start, end, German, English)
    (at_midnight(2026, 12, 24), at_midnight(2026, 12, 25),
     "24. Dezember 2026, ganztägig", "24 December 2026, all day"),
    (at_midnight(2026, 12, 24), at_midnight(2026, 12, 27),
     "24.–26. Dezember 2026, ganztägig", "24 – 26 December 2026, all day"),
    (at_midnight(2026, 11, 30), at_midnight(2026, 12, 3),
     "30. November – 2. Dezember 2026, ganztägig", "30 November – 2 December 2026, all day"),
    (at_midnight(2026, 12, 31), at_midnight(2027, 1, 3),
     "31. Dezember 2026 – 2. Januar 2027, ganztägig",
     "31 December 2026 – 2 January 2027, all day"),
    (tz_at(date(2026, 12, 23), 8), tz_at(date(2026, 12, 23), 12, 30),
     "23. Dezember 2026, 08:00–12:30", "23 December 2026, 08:00–12:30"),
    (tz_at(date(2026, 12, 23), 14), at_midnight(2026, 12, 24),
     "23. Dezember 2026, 14:00–24:00", "23 December 2026, 14:00–24:00"),
    (tz_at(date(2026, 12, 23), 14), tz_at(date(2026, 12, 24), 10),
     "23. Dezember 2026, 14:00 – 24. Dezember 2026, 10:00",
     "23 December 2026, 14:00 – 24 December 2026, 10:00"),
    # whole days across the change to winter time (25 October 2026) stay whole days
    (at_midnight(2026, 10, 24), at_midnight(2026, 10, 26),
     "24.–25. Oktober 2026, ganztägig", "24 – 25 October 2026, all day"),
]


@pytest.mark.parametrize(("start", "end", "de", "en"), PERIODS)
def test_closure_period_in_german_and_english(app, start, end, de, en):
    with app.app_context():
        assert i18n.period(start, end, BERLIN, "de").replace("\u2009", " ") == de
        assert i18n.period(start, end, BERLIN, "en").replace("\u2009", " ") == en


# ---------------------------------------------------------------- rule preview

def test_preview_of_a_typical_change_is_one_short_line_per_changed_day(ctx, manager, back_office):
    """Mon–Sat 08–12 with 2 places → 08–13 with 3 places: per day one line, no wall of
    times; the day of the planned closure (08–10) differs; Sundays are left out."""
    german(manager)
    fragment = manager.post(f"/admin/offices/amt/rules/{back_office['rule']}/preview",
                            headers=HX, data={
        "weekdays": ["1", "2", "3", "4", "5", "6"], "start_time": "08:00", "end_time": "13:00",
        "valid_from": "2020-01-01", "capacity": "3", "csrf_token": session_csrf(manager)},
    ).get_data(as_text=True)
    days = re.findall(r"<dt>([^<]+)</dt>", fragment)
    lines = [plain_text(dd).replace(" ;", ";") for dd in re.findall(r"<dd>(.*?)</dd>", fragment, re.S)]
    assert len(days) == len(lines) >= 40  # the whole 60-day horizon, not two weeks
    assert not any(d.startswith("Sonntag") for d in days)
    typical = "08:00–12:00: 2 → 3 Plätze; hinzu: 12:00–13:00 (4 Zeitfenster)"
    closed = "10:00–12:00: 2 → 3 Plätze; hinzu: 12:00–13:00 (4 Zeitfenster)"
    assert lines.count(closed) == 1 and lines.count(typical) >= len(lines) - 3
    # at most the four times of one line per day (the old preview listed every free start)
    assert len(re.findall(r"\d\d:\d\d", fragment)) <= 4 * len(days)
    # four added times a day; today fewer when its 12:00–13:00 has begun
    added = [int(n) for n in re.findall(r"\((\d+) Zeitfenster\)", " ".join(lines))]
    assert len(added) == len(days) and added[1:] == [4] * (len(days) - 1)
    summary = plain_text(re.search(r'<p class="change-summary">(.*?)</p>', fragment, re.S)[1])
    assert summary.startswith(f"An {len(days)} Tagen: {sum(added)} Zeitfenster hinzu, "
                              "0 Zeitfenster weg, ")
    assert "No confirmed appointment" not in fragment  # German throughout
    assert "Kein bestätigter Termin ist betroffen." in fragment


def test_preview_names_services_only_when_they_differ_and_lists_stranded(ctx, manager, back_office):
    day = next_workday()
    early = book(ctx, "pass", day, 8, 30, name="Frühe Kundin")
    fragment = manager.post(f"/admin/offices/amt/rules/{back_office['rule']}/preview",
                            headers=HX, data={
        "weekdays": ["1", "2", "3", "4", "5", "6"], "start_time": "10:00", "end_time": "12:00",
        "valid_from": "2020-01-01", "capacity": "2", "services": ["melde"],
        "csrf_token": session_csrf(manager)}).get_data(as_text=True)
    text = plain_text(fragment)
    # 'pass' loses the whole morning, 'melde' only 08:00–10:00
    assert "Apply for a passport: removed: 08:00–12:00 (16 slots)" in text
    assert "Register your address: removed: 08:00–10:00 (8 slots)" in text
    # the stranded appointment is still listed, with its decision
    assert f'data-code="{early.code}"' in fragment and "Frühe Kundin" in fragment
    assert seen_from(fragment) == str(early.id)


def test_preview_without_any_change_says_so(ctx, manager, back_office):
    fragment = manager.post(f"/admin/offices/amt/rules/{back_office['rule']}/preview",
                            headers=HX, data={
        "weekdays": ["1", "2", "3", "4", "5", "6"], "start_time": "08:00", "end_time": "12:00",
        "valid_from": "2020-01-01", "capacity": "2", "csrf_token": session_csrf(manager)},
    ).get_data(as_text=True)
    assert "The change adds no bookable time and removes none." in fragment
    assert "<dt>" not in fragment


# ---------------------------------------------------------------- closures and the audit log

def whole_days(client, first: date, last: date, reason: str, seen: str | None = None):
    data = {"counter": "", "first_day": first.isoformat(), "last_day": last.isoformat(),
            "start_time": "", "end_time": "", "reason": reason,
            "csrf_token": session_csrf(client), "action": "close" if seen else "preview"}
    return client.post("/admin/offices/amt/closures/", data={**data, "seen": seen or ""})


def test_whole_day_closures_read_as_days_in_the_list(ctx, manager, back_office):
    german(manager)
    year = datetime.now(UTC).year + 1
    one, first, last = date(year, 12, 24), date(year, 12, 28), date(year, 12, 30)
    for start, end in ((one, one), (first, last)):
        assert whole_days(manager, start, end, "Inventur", seen="-").status_code == 303
    page = plain_text(manager.get("/admin/offices/amt/closures/").get_data(as_text=True))
    assert f"24. Dezember {year}, ganztägig" in page
    assert f"28.–30. Dezember {year}, ganztägig" in page.replace("\u2009", " ")
    assert "00:00" not in page


def test_audit_log_shows_labels_and_local_times(ctx, manager, back_office):
    german(manager)
    day = next_workday()
    appt = book(ctx, "melde", day, 9, mail="b@example.org")
    page = whole_days(manager, day, day, "Wasserschaden").get_data(as_text=True)
    assert whole_days(manager, day, day, "Wasserschaden",
                      seen=seen_from(page)).status_code == 303
    # an entry late in the evening UTC is the next morning in Berlin
    ctx.add(AuditEntry(at=datetime(2030, 1, 1, 23, 30, tzinfo=UTC), user_email="x@example.org",
                       office_id="amt", action="rule.deleted", entity="rule", entity_id="9",
                       before={"start_time": "08:00:00", "valid_from": "2020-01-01",
                               "weekdays": "135", "capacity": 2}))
    ctx.commit()
    html = manager.get("/admin/offices/amt/audit").get_data(as_text=True)
    text = plain_text(html)
    for raw in ("closure.created", "appointment.cancelled", "rule.deleted", "cancel_reason",
                "starts_at", "ends_at", "<code>"):
        assert raw not in html
    for label in ("Schließung angelegt", "Termin abgesagt", "Öffnungszeiten-Regel gelöscht",
                  "Grund der Absage", "Abgesagte Termine", "Status: Bestätigt → Abgesagt"):
        assert label in text
    assert f"Zeitpunkt: {day.day}. {MONTHS_DE[day.month - 1]} {day.year}, ganztägig" in text
    assert "Mittwoch, 2. Januar 2030, 00:30" in text  # 23:30 UTC
    assert "Startzeit: 08:00" in text and "Gültig ab: 01.01.2020" in text
    assert "Wochentage: Montag, Mittwoch, Freitag" in text
    assert appt.code in text


def test_audit_log_of_all_offices_uses_each_offices_time_zone(ctx, admin, back_office):
    german(admin)
    ctx.get(Office, "nord").timezone = "America/New_York"
    noon = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    for office_id, action in (("nord", "counter.paused"), (None, "feed_token.created"),
                              ("amt", "counter.resumed")):
        ctx.add(AuditEntry(at=noon, user_email="x@example.org", office_id=office_id,
                           action=action, entity="counter", entity_id="1"))
    ctx.commit()
    rows = re.findall(r"<tr>\s*<td>([^<]+)</td>\s*<td>[^<]*</td>\s*<td>([^<]+)</td>",
                      admin.get("/admin/audit").get_data(as_text=True))
    shown = {action: when for when, action in rows}
    assert shown["Schalter pausiert"] == "Samstag, 1. Juni 2030, 08:00"  # New York
    assert shown["Schalter wieder geöffnet"] == "Samstag, 1. Juni 2030, 14:00"  # Berlin
    assert shown["Kalender-Abo eingerichtet"] == "Samstag, 1. Juni 2030, 14:00"  # the town's


# ---------------------------------------------------------------- the closure email

def test_closure_email_labels_the_reason_and_links_to_the_calendar(ctx, manager, back_office):
    day = next_workday()
    appt = book(ctx, "melde", day, 9, mail="b@example.org")
    page = whole_days(manager, day, day, "Wasserschaden im Wartebereich.")
    assert whole_days(manager, day, day, "Wasserschaden im Wartebereich.",
                      seen=seen_from(page.get_data(as_text=True))).status_code == 303
    msg, text, _ = cancellation_message(ctx, appt.id)
    flat = " ".join(text.split())
    period = f"{day.day}. {MONTHS_DE[day.month - 1]} {day.year}, ganztägig"
    assert f"Das Bürgerbüro muss schließen ({period})" in flat
    assert "Grund: Wasserschaden im Wartebereich." in flat
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "Grund: Wasserschaden im Wartebereich." in html
    link = re.search(r"http://booking\.test(/offices/amt/services/melde/\S*)", text)
    assert link, text
    path = link[1]
    free_day = date.fromisoformat(re.search(r"day=(\d{4}-\d\d-\d\d)", path)[1])
    assert free_day != day  # the closed day has no free time
    assert "lang=de" in path and path in html.replace("&amp;", "&")
    calendar = manager.get(path)
    assert calendar.status_code == 200
    body = calendar.get_data(as_text=True)
    assert "Wohnsitz anmelden" in body and 'href="/offices/amt/services/melde/book?start=' in body


def test_staff_cancellation_reason_is_labelled_in_the_citizens_language(ctx, back_office):
    from booking.accounts.models import User
    from booking.db import utcnow
    from booking.scheduling import staff_operations

    clerk = ctx.scalar(select(User).where(User.email == add_user(ctx, "clerk", "amt")))
    appt = book(ctx, "melde", next_workday(), 9, mail="b@example.org")
    staff_operations.cancel_by_staff(ctx.get(Appointment, appt.id), clerk, utcnow(),
                                     reason=" Krank  ")
    ctx.commit()
    assert ctx.get(Appointment, appt.id).cancel_reason == "Grund: Krank"
    ctx.rollback()
    _, text, _ = cancellation_message(ctx, appt.id)
    assert "Grund: Krank" in text
    silent = book(ctx, "melde", next_workday(), 10, mail="c@example.org")
    staff_operations.cancel_by_staff(ctx.get(Appointment, silent.id), clerk, utcnow(),
                                     reason="")
    ctx.commit()
    assert ctx.get(Appointment, silent.id).cancel_reason is None
    ctx.rollback()


def test_long_reason_is_cut_to_the_column(app):
    from booking.notifications.appointment_mails import REASON_LENGTH, cancellation_text

    with app.app_context():
        text = cancellation_text("en", "x" * 400, "Sorry.")
    assert len(text) == REASON_LENGTH and text.startswith("Sorry. Reason: xxx")
    assert text.endswith("…")


# ---------------------------------------------------------------- labels complete

def _recorded_actions() -> set[str]:
    """The action strings passed to every ``record(...)``/``_record(...)`` in the source."""
    found = set()
    for path in (ROOT / "booking").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(
                    node.func, "attr", getattr(node.func, "id", None)) in ("record", "_record"):
                found.update(const.value for arg in node.args for const in ast.walk(arg)
                             if isinstance(const, ast.Constant) and isinstance(const.value, str)
                             and re.fullmatch(r"[a-z_]+\.[a-z_]+", const.value))
    return found


def test_every_recorded_action_entity_and_field_has_a_label():
    from booking.audit import labels
    from booking.offices.models import AvailabilityRule, Closure, Counter, Service

    actions = _recorded_actions()
    assert {"closure.created", "appointment.cancelled", "counter.paused"} <= actions
    assert actions <= labels.ACTIONS.keys()
    assert {a.split(".")[0] for a in actions} - {"feed_token"} <= labels.ENTITIES.keys()
    columns = {c.key for model in (Office, Service, Counter, AvailabilityRule, Closure)
               for c in model.__table__.columns}
    audited_appointment = {"status", "cancel_reason", "channel", "service_id", "start_at",
                           "end_at"}
    assert columns | audited_appointment <= labels.FIELDS.keys()
    assert labels.action_label("ticket.something_new") == "Ticket something new"
    assert labels.field_label("") == "–"
