"""The waitlist: wishes registered on the pages and through the API, the matcher (with a
fake clock through ``flask waitlist-offers``) offering a freed seat to the
longest-waiting matching wish, accepting with one POST, expiry handing the start on,
the taken-meanwhile page, withdrawal, the counts, and the retention purge."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, time, timedelta
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from booking.db import db, utcnow
from booking.notifications.models import OutboxMessage
from booking.offices.models import Closure, Office, Service
from booking.retention import run_purge
from booking.scheduling import operations, visits
from booking.scheduling.errors import SlotTaken
from booking.scheduling.models import Appointment
from booking.waitlist.models import WaitlistOffer, WaitlistStat, WaitlistWish, wish_offices
from booking.waitlist.stats import get_offer_counts
from booking.waitlist.wishes import ALL_DAY, MORNING, Wish, register_wish, withdraw_wish
from tests import smtp
from tests.factories import BERLIN, at, count_rows, csrf_from, make_town, next_workday, written_email
from tests.server import flask_cli, run_sql


@pytest.fixture
def town(ctx):
    """'amt' open Mon–Sat 08–12 with one seat per slot."""
    return make_town(ctx, capacity=1)


@pytest.fixture
def day(ctx, town):
    """The day the wishes are for, 5 or more days ahead. 'amt' is closed from now until
    then: else a wish for that weekday could be offered the same weekday a week earlier
    (from a Monday, the first workday 5 days ahead is the next Monday)."""
    day = next_workday(5)
    ctx.add(Closure(office=town, starts_at=utcnow(), ends_at=at(day, 0), reason="Umbau"))
    ctx.commit()
    return day


def fill_day(ctx, day) -> list[int]:
    """Book every 'melde' start of the day (08:00–11:45, one seat): nothing free."""
    office, service = ctx.get(Office, "amt"), ctx.get(Service, "melde")
    ids = []
    for quarter in range(16):
        appt, _ = operations.book_appointment(
            office, visits.single(service), at(day, 8) + timedelta(minutes=15 * quarter),
            operations.Citizen(f"Person {quarter}", f"p{quarter}@example.org"), utcnow())
        ids.append(appt.id)
    ctx.commit()
    return ids


def add_wish(ctx, name, day, *, window=ALL_DAY, created_at=None, language="de", persons=1):
    office, service = ctx.get(Office, "amt"), ctx.get(Service, "melde")
    wish, token = register_wish(Wish(service, [office], str(day.isoweekday()), *window, day,
                                     name, f"{name.lower()}@example.org", language, persons),
                                created_at or utcnow())
    ctx.commit()
    return wish.id, token


def run_matcher(app, now) -> str:
    result = app.test_cli_runner().invoke(args=["waitlist-offers", "--now", now.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def offers(ctx) -> list[tuple]:
    ctx.rollback()
    rows = ctx.execute(select(WaitlistOffer.wish_id, WaitlistOffer.start_at,
                              WaitlistOffer.status).order_by(WaitlistOffer.id)).all()
    ctx.rollback()
    return [tuple(r) for r in rows]


def offer_link(app, ctx) -> str:
    """The accept link of the latest offer email, delivered."""
    smtp.deliver(app)
    with app.app_context():
        rows = sorted(p.name for p in Path(app.config["MAIL_FILE_DIR"]).glob(
            "*-waitlist_offer.eml"))
        msg = written_email(int(rows[-1].split("-")[0]), "waitlist_offer")
    text = msg.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"http://booking\.test(/waitlist/offers/[^?\s]+)", text)[1]


@pytest.fixture(autouse=True)
def _clean_mail_dir(app):
    shutil.rmtree(app.config["MAIL_FILE_DIR"], ignore_errors=True)


def test_register_on_the_page_and_withdraw(app, client, ctx, town):
    page = client.get("/services/melde/waitlist?office=amt&lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<legend>Offices you can go to</legend>" in html
    assert "An offer from the waitlist is one appointment for all the persons you give" in unescape(html)
    day = next_workday(5)
    data = {"csrf_token": csrf_from(html), "offices": ["amt"], "weekdays": ["1", "2", "3"],
            "window": "custom", "from_time": "09:00", "to_time": "08:00",
            "until": day.isoformat(), "name": "Erika Muster", "email": "erika@example.org",
            "language": "en", "privacy": "y"}
    refused = client.post("/services/melde/waitlist", data=data)
    assert refused.status_code == 422
    assert "The end of the time window must be after its start." in refused.get_data(
        as_text=True)
    response = client.post("/services/melde/waitlist", data={**data, "to_time": "11:00"})
    assert response.status_code == 303, response.get_data(as_text=True)
    wish_url = response.headers["Location"]
    wish = ctx.scalar(select(WaitlistWish))
    assert (wish.weekdays, str(wish.from_time), str(wish.until_time)) == ("123", "09:00:00",
                                                                          "11:00:00")
    assert wish.until_date == day and wish.language == "en"
    ctx.rollback()
    # the confirmation email carries the link to the wish's page
    smtp.deliver(app)
    (row,) = sorted(Path(app.config["MAIL_FILE_DIR"]).glob("*-waitlist_wish.eml"))
    with app.app_context():
        msg = written_email(int(row.name.split("-")[0]), "waitlist_wish")
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "You are on the waitlist" in text and "http://booking.test" + wish_url in text
    shown = client.get(wish_url).get_data(as_text=True)
    assert "Withdraw the wish" in shown and 'method="post"' in shown
    withdrawn = client.post(wish_url + "/withdraw", data={"csrf_token": csrf_from(shown)})
    assert withdrawn.status_code == 303
    ctx.rollback()
    assert ctx.scalar(select(WaitlistWish.status)) == "withdrawn"
    ctx.rollback()


def test_the_calendar_without_free_times_links_to_the_waitlist(client, ctx, town):
    office = ctx.get(Office, "amt")
    office.horizon_days, office.lead_time_minutes = 1, 3 * 24 * 60  # nothing bookable
    ctx.commit()
    page = client.get("/offices/amt/services/melde/?lang=en").get_data(as_text=True)
    assert "No free appointments this month" in page
    assert "/services/melde/waitlist?office=amt" in page
    assert "/services/melde/waitlist" in client.get("/services/melde").get_data(as_text=True)


def test_register_through_the_api(client, ctx, day):
    response = client.post("/api/v1/waitlist", json={
        "service": "melde", "offices": ["amt"], "weekdays": [1, 5], "from": "08:00",
        "to": "10:00", "until": day.isoformat(), "name": "Max", "email": "max@example.org",
        "language": "en"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["weekdays"] == [1, 5] and body["offices"] == ["amt"]
    assert body["status"] == "active" and body["until"] == day.isoformat()
    late = client.post("/api/v1/waitlist", json={
        "service": "melde", "offices": ["amt"], "until": (day + timedelta(days=400)).isoformat(),
        "name": "Max", "email": "max@example.org"})
    assert late.status_code == 422 and "until" in late.get_json()["errors"]
    wrong = client.post("/api/v1/waitlist", json={"service": "melde", "offices": "amt"})
    assert wrong.status_code == 422 and {"offices", "until", "name", "email"} <= set(
        wrong.get_json()["errors"])


def test_freed_seat_goes_to_the_longest_waiting_wish_and_is_booked_by_post(app, client, ctx,
                                                                            day):
    booked = fill_day(ctx, day)
    now = utcnow()
    older, _ = add_wish(ctx, "Older", day, created_at=now - timedelta(hours=2))
    newer, _ = add_wish(ctx, "Newer", day, created_at=now - timedelta(hours=1))
    add_wish(ctx, "Afternoon", day, window=(MORNING[1], ALL_DAY[1]),
             created_at=now - timedelta(hours=3))  # waits longest, but does not match
    assert run_matcher(app, now).endswith("made 0 offers\n")
    operations.cancel_appointment(ctx.get(Appointment, booked[4]), now)  # 09:00 is free
    ctx.commit()
    assert run_matcher(app, now).endswith("made 1 offers\n")
    assert offers(ctx) == [(older, at(day, 9), "offered")]
    assert run_matcher(app, now + timedelta(minutes=1)).endswith("made 0 offers\n")
    link = offer_link(app, ctx)
    page = client.get(link + "?lang=en")
    assert page.status_code == 200 and "Book this appointment" in page.get_data(as_text=True)
    # the offer holds the seat: nobody else can book it meanwhile, and the GET confirms nothing
    with pytest.raises(SlotTaken):
        operations.book_appointment(ctx.get(Office, "amt"), visits.single(ctx.get(Service, "melde")),
                                    at(day, 9), operations.Citizen("Quick", "q@example.org"),
                                    now)
    ctx.rollback()
    assert count_rows(ctx, Appointment, Appointment.name == "Older",
                      Appointment.status == "held") == 1
    response = client.post(link, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 303 and "/manage/" in response.headers["Location"]
    appointment = ctx.scalar(select(Appointment).where(Appointment.name == "Older"))
    assert appointment.start_at == at(day, 9) and appointment.email == "older@example.org"
    assert appointment.status == "confirmed"
    assert ctx.get(WaitlistWish, older).status == "taken"
    ctx.rollback()
    assert offers(ctx) == [(older, at(day, 9), "taken")]
    again = client.post(link, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert again.status_code == 409  # a second click books nothing more
    assert count_rows(ctx, Appointment, Appointment.name == "Older") == 1
    (counts,) = get_counts(ctx, day)
    assert (counts.offered, counts.taken, counts.expired) == (1, 1, 0)
    ctx.rollback()
    assert ctx.get(WaitlistWish, newer).status == "active"
    ctx.rollback()


def test_a_family_is_offered_a_start_where_all_of_them_fit(app, client, ctx, day):
    """Three persons for 'melde' (15 minutes each, one seat): one free quarter is enough
    for one person, not for them; three free quarters in a row are offered to them, held
    for all three and booked as one appointment."""
    booked = fill_day(ctx, day)
    now = utcnow()
    family, _ = add_wish(ctx, "Family", day, created_at=now - timedelta(hours=2), persons=3)
    operations.cancel_appointment(ctx.get(Appointment, booked[0]), now)  # 08:00 is free
    ctx.commit()
    assert run_matcher(app, now).endswith("made 0 offers\n")
    for index in (5, 6, 7):  # 09:15 to 10:00 free; 08:00 still is
        operations.cancel_appointment(ctx.get(Appointment, booked[index]), now)
    ctx.commit()
    assert run_matcher(app, now).endswith("made 1 offers\n")
    assert offers(ctx) == [(family, at(day, 9, 15), "offered")]
    single, _ = add_wish(ctx, "Single", day, created_at=now - timedelta(hours=1))
    assert run_matcher(app, now).endswith("made 1 offers\n")  # 08:00, for one person
    assert offers(ctx)[-1] == (single, at(day, 8), "offered")
    held = ctx.scalar(select(Appointment).where(Appointment.name == "Family"))
    assert (held.status, held.end_at) == ("held", at(day, 10))
    assert [(line.service_id, line.persons) for line in held.lines] == [("melde", 3)]
    ctx.rollback()
    smtp.deliver(app)
    with app.app_context():
        mails = [written_email(int(p.name.split("-")[0]), "waitlist_offer") for p in sorted(
            Path(app.config["MAIL_FILE_DIR"]).glob("*-waitlist_offer.eml"))]
    family_mail = next(m for m in mails if "familie" in m["To"] or "family" in m["To"])
    assert "Wohnsitz anmelden × 3" in family_mail["Subject"]
    text = family_mail.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://booking\.test(/waitlist/offers/[^?\s]+)", text)[1]
    page = client.get(link + "?lang=en")
    html = unescape(page.get_data(as_text=True))
    assert "Register your address × 3" in html and "10:00" in html
    response = client.post(link, data={"csrf_token": csrf_from(html)})
    assert response.status_code == 303
    booked_family = ctx.scalar(select(Appointment).where(Appointment.name == "Family"))
    assert (booked_family.status, booked_family.persons) == ("confirmed", 3)
    ctx.rollback()


@pytest.mark.parametrize("older", ["family", "single"])
def test_the_longest_waiting_wish_goes_first_whatever_its_persons(app, ctx, day, older):
    """09:15 to 10:00 free (one seat): the family of three fits there only, one person
    from 09:15 on too; whoever waits longest is offered 09:15, and the other nothing
    (the family does not fit, or the single's times are all held for the family)."""
    booked = fill_day(ctx, day)
    now = utcnow()
    ages = {"family": 2, "single": 1} if older == "family" else {"family": 1, "single": 2}
    family, _ = add_wish(ctx, "Family", day, persons=3,
                         created_at=now - timedelta(hours=ages["family"]))
    single, _ = add_wish(ctx, "Single", day, created_at=now - timedelta(hours=ages["single"]))
    for index in (5, 6, 7):
        operations.cancel_appointment(ctx.get(Appointment, booked[index]), now)
    ctx.commit()
    assert run_matcher(app, now).endswith("made 1 offers\n")
    first = family if older == "family" else single
    assert offers(ctx) == [(first, at(day, 9, 15), "offered")]


def test_a_family_registers_on_the_page_and_through_the_api(client, ctx, day):
    page = client.get("/services/melde/waitlist?office=amt&persons=3&lang=en")
    html = page.get_data(as_text=True)
    assert re.search(r'id="persons"[^>]* value="3"', html)
    data = {"csrf_token": csrf_from(html), "offices": ["amt"], "weekdays": ["1", "2"],
            "window": "any", "until": day.isoformat(), "name": "Familie Muster",
            "email": "familie@example.org", "language": "en", "privacy": "y", "persons": "7"}
    too_many = client.post("/services/melde/waitlist?lang=en", data=data)
    assert too_many.status_code == 422
    assert ("At most 6 persons can come to one appointment at Bürgerbüro Teststadt."
            in unescape(too_many.get_data(as_text=True)))
    bad = client.post("/services/melde/waitlist?lang=en", data={**data, "persons": "0"})
    assert bad.status_code == 422
    assert "The number of persons must be a whole number from 1 to 20." in bad.get_data(
        as_text=True)
    response = client.post("/services/melde/waitlist", data={**data, "persons": "3"})
    assert response.status_code == 303, response.get_data(as_text=True)
    wish = client.get(response.headers["Location"] + "&lang=en"
                      if "?" in response.headers["Location"]
                      else response.headers["Location"] + "?lang=en")
    assert "Register your address × 3" in unescape(wish.get_data(as_text=True))
    assert ctx.scalar(select(WaitlistWish.persons).where(
        WaitlistWish.email == "familie@example.org")) == 3
    ctx.rollback()
    body = {"service": "melde", "offices": ["amt"], "until": day.isoformat(),
            "name": "Max", "email": "max@example.org"}
    one = client.post("/api/v1/waitlist", json=body)
    assert one.status_code == 201 and one.get_json()["persons"] == 1
    three = client.post("/api/v1/waitlist", json={**body, "persons": 3})
    assert three.status_code == 201 and three.get_json()["persons"] == 3
    for persons in (0, 21, "3", True, 7):
        refused = client.post("/api/v1/waitlist", json={**body, "persons": persons})
        assert refused.status_code == 422 and "persons" in refused.get_json()["errors"]


def test_revision_0025_gives_every_wish_one_person_and_downgrades(empty_database_url,
                                                                  tmp_path):
    def run(*statements, query=None):
        return run_sql(empty_database_url, *statements, query=query)

    assert flask_cli(empty_database_url, tmp_path, "db", "upgrade", "0024").returncode == 0
    run("INSERT INTO services (id, position, name_de, name_en, description_de, description_en,"
        " bring_de, bring_en, duration_minutes, queue_prefix) VALUES"
        " ('pass', 1, 'Reisepass', 'Passport', '', '', '', '', 30, 'A')",
        "INSERT INTO waitlist_wishes (service_id, weekdays, from_time, until_time, until_date,"
        " name, email, language, token_hash, status, created_at) VALUES ('pass', '12345',"
        " '08:00:00', '12:00:00', '2030-01-31', 'Alt', 'alt@example.org', 'de', 'x',"
        " 'active', '2029-12-01 08:00:00')")
    upgraded = flask_cli(empty_database_url, tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert run(query="SELECT name, persons FROM waitlist_wishes") == [("Alt", 1)]
    with pytest.raises(Exception, match="persons_range"):
        run("UPDATE waitlist_wishes SET persons = 21")
    downgraded = flask_cli(empty_database_url, tmp_path, "db", "downgrade", "0024")
    assert downgraded.returncode == 0, downgraded.stderr
    assert run(query="SELECT name FROM waitlist_wishes") == [("Alt",)]
    with pytest.raises(Exception, match="persons"):
        run(query="SELECT persons FROM waitlist_wishes")
    assert flask_cli(empty_database_url, tmp_path, "db", "upgrade").returncode == 0
    check = flask_cli(empty_database_url, tmp_path, "db", "check")
    assert check.returncode == 0, check.stdout + check.stderr


def get_counts(ctx, day):
    ctx.rollback()
    today = utcnow().astimezone(ctx.get(Office, "amt").tz).date()
    result = get_offer_counts("amt", today - timedelta(days=1), today + timedelta(days=1))
    ctx.rollback()
    return result


def test_an_expired_offer_passes_the_start_to_the_next_wish(app, ctx, day):
    booked = fill_day(ctx, day)
    now = utcnow()
    first, _ = add_wish(ctx, "First", day, created_at=now - timedelta(hours=2))
    second, _ = add_wish(ctx, "Second", day, created_at=now - timedelta(hours=1))
    operations.cancel_appointment(ctx.get(Appointment, booked[0]), now)
    ctx.commit()
    run_matcher(app, now)
    assert offers(ctx) == [(first, at(day, 8), "offered")]
    out = run_matcher(app, now + timedelta(minutes=121))  # the office's 120 minutes are over
    assert out == "expired 1 offers, ended 0 wishes, made 1 offers\n"
    assert offers(ctx) == [(first, at(day, 8), "expired"), (second, at(day, 8), "offered")]
    (counts,) = get_counts(ctx, day)
    assert (counts.offered, counts.taken, counts.expired) == (2, 0, 1)


def test_gone_meanwhile_keeps_the_wish(app, client, ctx, day):
    """The office closes the offered time before the citizen accepts: the hold cannot be
    confirmed, the offer is withdrawn and the wish stays active."""
    booked = fill_day(ctx, day)
    now = utcnow()
    wish_id, _ = add_wish(ctx, "Waiting", day)
    operations.cancel_appointment(ctx.get(Appointment, booked[2]), now)
    ctx.commit()
    run_matcher(app, now)
    link = offer_link(app, ctx)
    ctx.add(Closure(office=ctx.get(Office, "amt"), starts_at=at(day, 8),
                    ends_at=at(day, 9), reason="Stromausfall"))
    ctx.commit()
    page = client.get(link + "?lang=en").get_data(as_text=True)
    response = client.post(link, data={"csrf_token": csrf_from(page)})
    assert response.status_code == 409
    assert "this appointment was taken meanwhile. Your wish stays active" in response.get_data(
        as_text=True)
    ctx.rollback()
    assert ctx.get(WaitlistWish, wish_id).status == "active"
    ctx.rollback()
    assert offers(ctx) == [(wish_id, at(day, 8, 30), "withdrawn")]


def test_withdrawing_the_wish_frees_the_held_seat(app, client, ctx, day):
    booked = fill_day(ctx, day)
    now = utcnow()
    wish_id, token = add_wish(ctx, "Waiting", day)
    operations.cancel_appointment(ctx.get(Appointment, booked[2]), now)
    ctx.commit()
    run_matcher(app, now)
    amt, melde = ctx.get(Office, "amt"), ctx.get(Service, "melde")
    assert at(day, 8, 30) not in [s.start_at for s in operations.list_free_slots(
        amt, visits.single(melde), now, day, day)]
    assert withdraw_wish(ctx.get(WaitlistWish, wish_id), now)
    ctx.commit()
    assert at(day, 8, 30) in [s.start_at for s in operations.list_free_slots(
        amt, visits.single(melde), now, day, day)]
    ctx.rollback()


def test_a_wish_goes_when_its_last_day_is_over_at_its_office(app, ctx, day):
    """The last day ends at midnight in Berlin, the office's time zone (in UTC, still
    that day): the purge (retention 0 days) deletes the wish then, not a minute earlier."""
    add_wish(ctx, "Late", day)
    over = datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo(BERLIN)
                            ).astimezone(UTC)

    def purged(now) -> int:
        with app.app_context():
            done = run_purge(now, timedelta(0), app.config)
            db.session.commit()
        return {s.report.split(" (")[0]: n for s, n in done}["deleted {} waitlist wishes"]

    assert purged(over - timedelta(minutes=1)) == 0
    assert purged(over + timedelta(minutes=1)) == 1
    assert count_rows(ctx, WaitlistWish) == 0


def test_the_purge_deletes_wishes_and_offers_and_keeps_the_counts(app, ctx, day):
    booked = fill_day(ctx, day)
    now = utcnow()
    add_wish(ctx, "Old", day, created_at=now - timedelta(hours=1))
    operations.cancel_appointment(ctx.get(Appointment, booked[0]), now)
    ctx.commit()
    run_matcher(app, now)
    smtp.deliver(app)
    assert count_rows(ctx, WaitlistOffer) == 1 and count_rows(ctx, WaitlistWish) == 1
    result = app.test_cli_runner().invoke(args=["purge", "--days", "0"])
    assert "deleted 0 expired waitlist offers" in result.output  # still running
    assert "deleted 0 waitlist wishes" in result.output
    # as if the wish's date and the offer's expiry were long past
    wish = ctx.scalar(select(WaitlistWish))
    wish.until_date = day - timedelta(days=30)
    ctx.scalar(select(WaitlistOffer)).expires_at = now - timedelta(days=30)
    ctx.commit()
    result = app.test_cli_runner().invoke(args=["purge", "--days", "0"])
    assert "deleted 1 expired waitlist offers" in result.output, result.output
    assert "deleted 1 waitlist wishes" in result.output
    assert count_rows(ctx, WaitlistWish) == 0 and count_rows(ctx, WaitlistOffer) == 0
    assert count_rows(ctx, wish_offices) == 0
    assert count_rows(ctx, WaitlistStat) == 1  # the counts stay, without personal data
    assert count_rows(ctx, OutboxMessage, OutboxMessage.recipient == "old@example.org") == 0
