"""Lottery release end to end: an administrator announces it in the back office, its days
are held back, citizens enter and confirm through the link of the real email (GET shows a
button, only the POST confirms), ``flask lottery-draw`` with a fake clock books the
winners through the booking path and emails everyone, exactly once; then the remaining
seats are bookable, and the purge deletes the entries."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from booking.accounts.operations import create_user
from booking.audit.models import AuditEntry
from booking.db import unit_of_work, utcnow
from booking.fairness import lottery as lotteries
from booking.fairness.lottery_models import Lottery, LotteryEntry
from booking.fairness.lottery_run import draw_lottery
from booking.offices.models import AvailabilityRule, Office, Service
from booking.scheduling import operations, visits
from booking.scheduling.models import Appointment
from tests import smtp
from tests.factories import (
    BERLIN,
    add_user,
    at,
    cheap_hashing,
    count_rows,
    csrf_from,
    log_in_with_password,
    next_workday,
    plain_text,
    race,
)

smtp_server = smtp.smtp_server
mail_to_sink = smtp.mail_to_sink
TZ = ZoneInfo(BERLIN)
LINK = re.compile(r"http://booking\.test(/lottery-entries/[\w-]+\?lang=(\w+))")


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch):
    cheap_hashing(monkeypatch)


@pytest.fixture
def offices(ctx, back_office):
    """'amt' (Mon–Sat 08–12, two seats) and 'nord', both offering 'melde'; nord opens
    08:00–08:30 with one seat: two 15-minute appointments a day."""
    nord = ctx.get(Office, "nord")
    ctx.add(AvailabilityRule(office=nord, weekdays="123456", start_time=time(8),
                             end_time=time(8, 30), valid_from=datetime(2020, 1, 1).date(),
                             capacity=1))
    ctx.commit()
    return back_office


def _local_minute(value: datetime) -> str:
    return value.astimezone(TZ).strftime("%Y-%m-%dT%H:%M")


def _announce(client, day, opens_at, closes_at, offices=("amt", "nord")):
    page = client.get("/admin/lotteries/")
    assert page.status_code == 200
    return client.post("/admin/lotteries/", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "service": "melde",
        "offices": list(offices), "first_day": day.isoformat(), "last_day": day.isoformat(),
        "opens_at": _local_minute(opens_at), "closes_at": _local_minute(closes_at)})


def _enter(app, lottery_id, name, email, offices, weekdays, times, language="en"):
    client = app.test_client()
    page = client.get(f"/lotteries/{lottery_id}/?lang={language}")
    assert page.status_code == 200
    response = client.post(f"/lotteries/{lottery_id}/", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "name": name, "email": email,
        "language": language, "offices": offices, "weekdays": weekdays, "times": times,
        "privacy": "y"})
    return client, response


def _free_melde(ctx, office_id, day, now):
    ctx.rollback()
    free = operations.list_free_slots(ctx.get(Office, office_id), visits.single(ctx.get(Service, "melde")),
                                      now, day, day)
    ctx.rollback()
    return free


def _draw(app, monkeypatch, now):
    monkeypatch.setattr("booking.cli.utcnow", lambda: now)
    result = app.test_cli_runner().invoke(args=["lottery-draw"])
    assert result.exit_code == 0, result.output
    return result.output


def _by_recipient(sink) -> dict:
    return {msg["To"].addresses[0].addr_spec: msg for msg in sink.messages}


def test_lottery_from_announcement_to_draw(app, ctx, offices, admin, mail_to_sink,
                                           monkeypatch):
    sink = mail_to_sink
    now = utcnow()
    day = next_workday(10)
    closes_at = (now + timedelta(days=2)).replace(second=0, microsecond=0)
    assert _free_melde(ctx, "amt", day, now)  # bookable before the announcement

    # the administrator announces the lottery; it is audited for both offices
    response = _announce(admin, day, now - timedelta(hours=1), closes_at)
    assert response.status_code == 303, response.get_data(as_text=True)
    lottery_id = ctx.scalar(select(Lottery.id))
    ctx.rollback()
    assert count_rows(ctx, AuditEntry, AuditEntry.action == "lottery.created") == 2

    # its days are held back: neither listed nor bookable, the next day is
    assert _free_melde(ctx, "amt", day, now) == []
    assert _free_melde(ctx, "nord", day, now) == []
    assert _free_melde(ctx, "amt", day + timedelta(days=1), now)
    direct = app.test_client().post("/api/v1/appointments", json={
        "office": "amt", "service": "melde", "start": at(day, 9).isoformat(),
        "name": "Eager Bot", "email": "bot@example.org"})
    assert direct.status_code in (409, 422), direct.get_data(as_text=True)
    # the service page and the calendar announce it, with the window and the draw
    service_page = plain_text(app.test_client().get("/services/melde?lang=en")
                              .get_data(as_text=True))
    assert "Appointments by lottery" in service_page and "Enter the draw" in service_page
    calendar = app.test_client().get("/offices/amt/services/melde/?lang=en&partial=0")
    assert f"/lotteries/{lottery_id}/" in calendar.get_data(as_text=True)

    # citizens enter: Anna only at 'nord', Ben anywhere, Cara only in the afternoons
    # (the offices open mornings only), Dora never confirms; Ben cannot enter twice
    every_day = [str(d) for d in range(1, 8)]
    entries = {
        "anna@example.org": ("Anna", ["nord"], every_day, ["morning"]),
        "ben@example.org": ("Ben", ["amt", "nord"], every_day, ["morning", "afternoon"]),
        "cara@example.org": ("Cara", ["amt"], every_day, ["afternoon"]),
        "dora@example.org": ("Dora", ["amt"], every_day, ["morning"]),
    }
    for email, (name, offices, weekdays, times) in entries.items():
        language = "de" if name == "Cara" else "en"  # emails come in the entry's language
        _, response = _enter(app, lottery_id, name, email, offices, weekdays, times, language)
        assert response.status_code == 303, response.get_data(as_text=True)
    _, again = _enter(app, lottery_id, "Ben B.", "B.e.n+lottery@Example.org", ["amt"],
                      every_day, ["morning"])
    # (not a gmail address: dots count, so only the +tag and case are normalised away)
    _, twice = _enter(app, lottery_id, "Ben", "Ben+again@example.org", ["amt"], every_day,
                      ["morning"])
    assert again.status_code == 303
    assert twice.status_code == 422 and "entered this draw already" in twice.get_data(
        as_text=True)
    assert count_rows(ctx, LotteryEntry) == 5

    # the confirmation emails arrive; their link shows a button, only the POST confirms
    smtp.deliver(app)
    mails = _by_recipient(sink)
    for email in ("anna@example.org", "ben@example.org", "cara@example.org"):
        text = mails[email].get_body(preferencelist=("plain",)).get_content()
        link = LINK.search(text)
        path = link.group(1)
        citizen = app.test_client()
        page = citizen.get(path)
        assert page.status_code == 200
        assert ("Teilnahme bestätigen" if link.group(2) == "de" else "Confirm my entry") in \
            page.get_data(as_text=True)
        assert count_rows(ctx, LotteryEntry, LotteryEntry.email == email,
                          LotteryEntry.verified_at.is_not(None)) == 0  # a GET changes nothing
        confirmed = citizen.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
        assert confirmed.status_code == 303
        assert count_rows(ctx, LotteryEntry, LotteryEntry.email == email,
                          LotteryEntry.verified_at.is_not(None)) == 1
    assert "Please confirm your entry" in str(mails["anna@example.org"]["Subject"])
    assert "Bitte bestätigen Sie Ihre Teilnahme" in str(mails["cara@example.org"]["Subject"])
    sink.clear()

    # before the close nothing is drawn
    assert "winners" not in _draw(app, monkeypatch, closes_at - timedelta(minutes=1))
    # at the close: Anna gets nord's seat, Ben the earliest seat he accepts, Cara none
    draw_at = closes_at + timedelta(minutes=1)
    output = _draw(app, monkeypatch, draw_at)
    assert "3 verified entries, 34 seats, 2 winners" in output
    ctx.rollback()
    won = {entry.email: entry for entry in ctx.scalars(select(LotteryEntry))}
    anna = ctx.get(Appointment, won["anna@example.org"].appointment_id)
    ben = ctx.get(Appointment, won["ben@example.org"].appointment_id)
    assert (anna.office_id, anna.start_at, anna.name) == ("nord", at(day, 8), "Anna")
    assert ben.office_id in ("amt", "nord") and ben.start_at in (at(day, 8), at(day, 8, 15))
    assert won["cara@example.org"].outcome == "lost"
    assert won["dora@example.org"].outcome is None and won["dora@example.org"].verified_at is None
    lottery = ctx.get(Lottery, lottery_id)
    seed = lottery.seed
    assert lottery.status == "drawn" and seed and lottery.winners_count == 2
    drawn_audit = ctx.scalars(select(AuditEntry).where(AuditEntry.action == "lottery.drawn")).all()
    assert {entry.office_id for entry in drawn_audit} == {"amt", "nord"}
    assert drawn_audit[0].after == {"seed": seed, "entries": 5, "verified": 3, "seats": 34,
                                    "winners": 2}
    ctx.rollback()

    # winners get the usual confirmation with the iMIP request; Cara hears she was not drawn
    smtp.deliver(app)
    mails = _by_recipient(sink)
    assert set(mails) == {"anna@example.org", "ben@example.org", "cara@example.org"}
    for email in ("anna@example.org", "ben@example.org"):
        assert "METHOD:REQUEST" in smtp.ics_bytes(mails[email]).decode()
    cara = mails["cara@example.org"].get_body(preferencelist=("plain",)).get_content()
    assert "Leider wurden Sie diesmal nicht gezogen" in cara
    assert "Eine weitere Verlosung ist noch nicht angekündigt" in cara

    # the draw does not run twice; the remaining seats are bookable as usual
    assert "winners" not in _draw(app, monkeypatch, draw_at + timedelta(minutes=5))
    assert count_rows(ctx, Appointment) == 2
    free = _free_melde(ctx, "amt", day, draw_at)
    assert free and len(free) == 16  # amt's 16 starts, one of them now with one seat less
    assert _free_melde(ctx, "nord", day, draw_at)  # nord's 08:15 (or 08:00) seat

    # the purge deletes the entries after RETENTION_DAYS; the lottery keeps seed and counts
    monkeypatch.setattr("booking.cli.utcnow", lambda: draw_at + timedelta(hours=12))
    assert "deleted 0 entries of drawn lotteries" in app.test_cli_runner().invoke(args=["purge"]).output
    monkeypatch.setattr("booking.cli.utcnow", lambda: draw_at + timedelta(days=1, minutes=1))
    assert "deleted 5 entries of drawn lotteries" in app.test_cli_runner().invoke(args=["purge"]).output
    assert count_rows(ctx, LotteryEntry) == 0
    assert ctx.get(Lottery, lottery_id).seed == seed
    ctx.rollback()


def test_not_drawn_email_names_the_next_draw(app, ctx, offices, mail_to_sink, monkeypatch):
    now = utcnow()
    day = next_workday(10)
    closes_at = now + timedelta(days=1)
    with unit_of_work():
        lottery, _, actor = _lottery_with_entry(ctx, day, now, closes_at, times="afternoon")
        later = lotteries.create_lottery(
            ctx.get(Service, "melde"), [ctx.get(Office, "amt")], day + timedelta(days=7),
            day + timedelta(days=7), now, closes_at + timedelta(days=3), actor, now)
        later_close = later.closes_at
    _draw(app, monkeypatch, closes_at + timedelta(minutes=1))
    smtp.deliver(app)
    (msg,) = mail_to_sink.messages[-1:]
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "The next draw for this service takes place on" in text
    assert later_close.astimezone(TZ).strftime("%H:%M") in text
    assert "not drawn this time" in text and lottery is not None


def _lottery_with_entry(ctx, day, now, closes_at, times="morning"):
    """A lottery of 'melde' at 'amt' with one verified entry (domain operations)."""
    actor = create_user("mgr@teststadt.example", "correct horse battery", "manager", ["amt"],
                        now)
    lottery = lotteries.create_lottery(ctx.get(Service, "melde"), [ctx.get(Office, "amt")],
                                       day, day, now - timedelta(hours=1), closes_at, actor, now)
    entry, _ = lotteries.enter(lottery, "Erika", "erika@example.org", "en", ["amt"],
                               range(1, 8), [times], now)
    lotteries.verify_entry(entry, now)
    return lottery, entry, actor


def test_two_servers_drawing_at_once_draw_once(app, ctx, offices):
    now = utcnow()
    day = next_workday(10)
    closes_at = now + timedelta(days=1)
    with unit_of_work():
        lottery, _, _ = _lottery_with_entry(ctx, day, now, closes_at)
        lottery_id = lottery.id

    def one_server():
        with app.app_context(), unit_of_work():
            return draw_lottery(lottery_id, closes_at + timedelta(minutes=1))

    results = race([one_server, one_server])
    assert sorted(result is None for result in results) == [False, True]
    assert count_rows(ctx, Appointment) == 1
    assert count_rows(ctx, AuditEntry, AuditEntry.action == "lottery.drawn") == 1


def test_a_failing_draw_leaves_the_lottery_open_for_the_next_run(app, ctx, offices,
                                                                 monkeypatch):
    now = utcnow()
    day = next_workday(10)
    closes_at = now + timedelta(days=1)
    with unit_of_work():
        lottery, _, _ = _lottery_with_entry(ctx, day, now, closes_at)
        lottery_id = lottery.id

    def broken(*args, **kwargs):
        raise RuntimeError("seats could not be read")

    monkeypatch.setattr("booking.fairness.lottery_run.get_seats", broken)
    assert "winners" not in _draw(app, monkeypatch, closes_at + timedelta(minutes=1))
    assert count_rows(ctx, Lottery, Lottery.status == "open") == 1
    assert _free_melde(ctx, "amt", day, now) == []  # still held back
    monkeypatch.undo()
    assert "1 winners" in _draw(app, monkeypatch, closes_at + timedelta(minutes=2))
    assert count_rows(ctx, Lottery, Lottery.id == lottery_id, Lottery.status == "drawn") == 1


def test_entering_outside_the_window_and_bad_wishes_are_refused(app, ctx, offices,
                                                                monkeypatch):
    now = utcnow()
    day = next_workday(10)
    with unit_of_work():
        lottery, _, _ = _lottery_with_entry(ctx, day, now, now + timedelta(days=1))
        lottery_id = lottery.id
    # an office that does not take part, no weekday: field errors, nothing stored
    _, response = _enter(app, lottery_id, "Max", "max@example.org", ["nord"], [], ["morning"])
    assert response.status_code == 422
    assert count_rows(ctx, LotteryEntry) == 1
    with unit_of_work():
        lottery = ctx.get(Lottery, lottery_id)
        with pytest.raises(lotteries.WindowClosed):
            lotteries.enter(lottery, "Late", "late@example.org", "de", ["amt"], [1],
                            ["morning"], lottery.closes_at)
        with pytest.raises(lotteries.BadWishes):
            lotteries.enter(lottery, "Odd", "odd@example.org", "de", ["amt"], [9],
                            ["morning"], now)
    # after the close the page says so and shows no form
    ctx.rollback()
    closes_at = ctx.get(Lottery, lottery_id).closes_at
    ctx.rollback()
    monkeypatch.setattr("booking.web.citizen.lottery.utcnow", lambda: closes_at)
    page = app.test_client().get(f"/lotteries/{lottery_id}/?lang=en").get_data(as_text=True)
    assert "Entries have closed" in page and "<form" not in page.split("</header>")[-1]


def test_a_manager_announces_only_for_their_offices(app, ctx, client, offices):
    log_in_with_password(client, add_user(ctx, "manager", "amt"))
    page = client.get("/admin/lotteries/").get_data(as_text=True)
    assert 'value="amt"' in page and 'value="nord"' not in page
    now = utcnow()
    response = _announce(client, next_workday(10), now, now + timedelta(days=1),
                         offices=("amt", "nord"))
    assert response.status_code == 422
    assert count_rows(ctx, Lottery) == 0
    # the window must close before the first day
    day = next_workday(10)
    response = _announce(client, day, now, datetime.combine(day, time(9), tzinfo=TZ),
                         offices=("amt",))
    assert response.status_code == 422 and "before the first day" in response.get_data(
        as_text=True)
    assert count_rows(ctx, Lottery) == 0
    response = _announce(client, day, now, now + timedelta(days=1), offices=("amt",))
    assert response.status_code == 303
    assert count_rows(ctx, Lottery) == 1
    # a second lottery over the same day at the same office is refused
    response = _announce(client, day, now, now + timedelta(days=1), offices=("amt",))
    assert response.status_code == 422 and count_rows(ctx, Lottery) == 1


def test_lottery_seed_and_counts_are_shown_after_the_draw(app, ctx, admin, offices,
                                                         monkeypatch):
    now = utcnow()
    day = next_workday(10)
    closes_at = now + timedelta(days=1)
    with unit_of_work():
        _lottery_with_entry(ctx, day, now, closes_at)
    _draw(app, monkeypatch, closes_at + timedelta(minutes=1))
    ctx.rollback()
    seed = ctx.scalar(select(Lottery.seed))
    ctx.rollback()
    page = plain_text(admin.get("/admin/lotteries/").get_data(as_text=True))
    assert f"seed {seed}" in page and "1 of 1 confirmed entries" in page
    audit = plain_text(admin.get("/admin/offices/amt/audit").get_data(as_text=True))
    assert "Lottery drawn" in audit and seed in audit
    assert ctx.scalar(select(func.count()).select_from(Appointment)) == 1
    ctx.rollback()


def test_the_background_sender_draws_due_lotteries(app, ctx, offices, monkeypatch):
    """The background sender's periodic jobs run the due draws (the same path as
    ``flask lottery-draw``)."""
    from booking.jobs import run_jobs

    now = utcnow()
    closes_at = now + timedelta(days=1)
    with unit_of_work():
        _lottery_with_entry(ctx, next_workday(10), now, closes_at)
    with app.app_context():
        run_jobs(now)  # not due yet
    assert count_rows(ctx, Lottery, Lottery.status == "drawn") == 0
    with app.app_context():
        run_jobs(closes_at + timedelta(seconds=1))
    assert count_rows(ctx, Lottery, Lottery.status == "drawn") == 1
    assert count_rows(ctx, Appointment) == 1
