"""The calendar objects, read by parsers that did not write them.

* ical.js (Mozilla's; what Thunderbird uses) under Node: tests/js/parse_ical.mjs, run
  with ``TZ=UTC`` so a time read as floating shows up as a wrong instant.
* vobject, one process per object (its TZID registry is global): tests/vobject_parse.py.

Both print the same JSON; times are UTC instants. The instants must equal the
appointment's ``start_at`` in summer time, winter time and right after a change.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from booking.calendars.ical import (
    CANCEL,
    PUBLISH,
    REQUEST,
    FeedSlot,
    Invitation,
    appointment_ical,
    slots_feed,
)
from tests import smtp
from tests.factories import local_iso, make_town, next_workday
from tests.ical_parsers import PARSERS, icaljs
from tests.smtp import auth, book, deliver, ics_attachment, ics_bytes, move_then_cancel

# the SMTP sink fixtures
smtp_server = smtp.smtp_server
mail_to_sink = smtp.mail_to_sink

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE_EMAIL = "amt@teststadt.example"


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(UTC)


# ------------------------------------------------------------ pure objects

def berlin(y, m, d, hh, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BERLIN)


CASES = {
    # name: (local start, the UTC instant a calendar must show)
    "winter-CET": (berlin(2027, 1, 12, 9), datetime(2027, 1, 12, 8, tzinfo=UTC)),
    "summer-CEST": (berlin(2027, 7, 6, 9), datetime(2027, 7, 6, 7, tzinfo=UTC)),
    "day-before-spring-change": (berlin(2027, 3, 27, 9), datetime(2027, 3, 27, 8, tzinfo=UTC)),
    "day-after-spring-change": (berlin(2027, 3, 29, 9), datetime(2027, 3, 29, 7, tzinfo=UTC)),
    "spring-change-day-after-jump": (berlin(2027, 3, 28, 3, 30),
                                     datetime(2027, 3, 28, 1, 30, tzinfo=UTC)),
    "day-after-autumn-change": (berlin(2026, 10, 26, 9), datetime(2026, 10, 26, 8, tzinfo=UTC)),
    "last-CEST-evening": (berlin(2026, 10, 24, 23, 45), datetime(2026, 10, 24, 21, 45, tzinfo=UTC)),
}


def invitation(start: datetime, *, sequence=0, minutes=30) -> Invitation:
    return Invitation(
        uid="5b1f3c9e-0c4f-4c64-9d55-2f0d9f1d7a10",
        sequence=sequence,
        start_at=start,
        end_at=start + timedelta(minutes=minutes),
        summary="Reisepass beantragen – Bürgerbüro Teststadt",
        location="Markt 1, 12345 Teststadt",
        description="Buchungscode: K7MX-4QPA\n\nBitte mitbringen:\nBiometrisches Foto",
        organizer_email=OFFICE_EMAIL,
        organizer_name="Bürgerbüro Teststadt",
        attendee_email="erika@example.org",
        attendee_name="Erika Mustermann",
        url="http://booking.test/manage/K7MX4QPA/token",
        alarm_text="Termin im Bürgerbüro Teststadt",
    )


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("case", CASES)
def test_request_and_cancel_instants_and_fields(case, parser):
    start, expected = CASES[case]
    assert start.astimezone(UTC) == expected  # the case says what it claims
    stamp = datetime(2026, 11, 1, 12, 0, 5, tzinfo=UTC)
    parse = PARSERS[parser]

    request = parse(appointment_ical(invitation(start, sequence=1), REQUEST, stamp))
    cancel = parse(appointment_ical(invitation(start, sequence=2), CANCEL, stamp))

    for parsed, method, status, sequence in ((request, "REQUEST", "CONFIRMED", 1),
                                             (cancel, "CANCEL", "CANCELLED", 2)):
        assert parsed["method"] == method
        assert len(parsed["events"]) == 1
        assert parsed["uid"] == "5b1f3c9e-0c4f-4c64-9d55-2f0d9f1d7a10"
        assert parsed["sequence"] == sequence
        assert parsed["status"] == status
        assert instant(parsed["dtstart"]) == expected
        assert instant(parsed["dtend"]) == expected + timedelta(minutes=30)
        assert instant(parsed["dtstamp"]) == stamp
        assert parsed["summary"] == "Reisepass beantragen – Bürgerbüro Teststadt"
        assert parsed["location"] == "Markt 1, 12345 Teststadt"
        assert "K7MX-4QPA" in parsed["description"]
        assert parsed["organizer"]["email"].lower() == OFFICE_EMAIL
        assert parsed["organizer"]["cn"] == "Bürgerbüro Teststadt"
        (attendee,) = parsed["attendees"]
        assert attendee["email"].lower() == "erika@example.org"
        assert attendee["rsvp"] == "FALSE"
        assert parsed.get("is_floating") in (None, False)
    assert request["has_alarm"] is True
    assert cancel["has_alarm"] is False


def test_appointment_ical_rejects_naive_times_and_unknown_methods():
    with pytest.raises(ValueError):
        appointment_ical(invitation(datetime(2027, 1, 12, 9)), REQUEST, datetime.now(UTC))
    with pytest.raises(ValueError):
        appointment_ical(invitation(berlin(2027, 1, 12, 9)), "ADD", datetime.now(UTC))


@pytest.mark.parametrize("parser", PARSERS)
def test_publish_is_the_event_to_import_without_attendee(parser):
    """The "add to calendar" file: the invitation's UID and SEQUENCE, confirmed, with the
    reminder, and no ATTENDEE (RFC 5546: PUBLISH has none)."""
    start = berlin(2027, 7, 6, 9)
    stamp = datetime(2026, 11, 1, 12, tzinfo=UTC)
    parsed = PARSERS[parser](appointment_ical(invitation(start, sequence=3), PUBLISH, stamp))
    assert parsed["method"] == "PUBLISH"
    assert parsed["uid"] == "5b1f3c9e-0c4f-4c64-9d55-2f0d9f1d7a10"
    assert parsed["sequence"] == 3 and parsed["status"] == "CONFIRMED"
    assert instant(parsed["dtstart"]) == start.astimezone(UTC)
    assert instant(parsed["dtend"]) == start.astimezone(UTC) + timedelta(minutes=30)
    assert parsed["summary"] == "Reisepass beantragen – Bürgerbüro Teststadt"
    assert parsed["attendees"] == []
    assert parsed["organizer"]["email"].lower() == OFFICE_EMAIL
    assert parsed["has_alarm"] is True


def icalendar_parse(data: bytes) -> dict:
    """The fields the tests compare, read with icalendar (the library that wrote them)."""
    cal = Calendar.from_ical(data)
    (event,) = cal.events
    attendees = event.get("ATTENDEE", [])
    return {"method": str(cal["METHOD"]), "uid": str(event["UID"]),
            "sequence": int(event["SEQUENCE"]), "status": str(event["STATUS"]),
            "dtstart": event["DTSTART"].dt.isoformat(), "dtend": event["DTEND"].dt.isoformat(),
            "summary": str(event["SUMMARY"]),
            "attendees": [str(a) for a in (attendees if isinstance(attendees, list)
                                           else [attendees])]}


ALL_PARSERS = {"icalendar": icalendar_parse, **PARSERS}


def test_times_are_utc_so_no_vtimezone_is_needed():
    raw = appointment_ical(invitation(berlin(2027, 7, 6, 9)), REQUEST, datetime.now(UTC))
    text = raw.decode("utf-8")
    assert "DTSTART:20270706T070000Z" in text and "DTEND:20270706T073000Z" in text
    assert "TZID" not in text and "VTIMEZONE" not in text
    assert all(len(line.encode("utf-8")) <= 75 for line in text.split("\r\n"))
    assert text.endswith("\r\n")


def test_slots_feed_pure():
    start = berlin(2027, 3, 29, 9)
    raw = slots_feed("Reisepass – Amt", "Markt 1", [
        FeedSlot("amt-pass-a@slots", start, start + timedelta(minutes=30), "Frei: Reisepass"),
        FeedSlot("amt-pass-b@slots", berlin(2027, 3, 26, 9), berlin(2027, 3, 26, 9, 30),
                 "Frei: Reisepass"),
    ], datetime.now(UTC))
    for parse in PARSERS.values():
        parsed = parse(raw)
        assert parsed["method"] == "PUBLISH"
        assert [instant(e["dtstart"]) for e in parsed["events"]] == [
            datetime(2027, 3, 29, 7, tzinfo=UTC), datetime(2027, 3, 26, 8, tzinfo=UTC)]
        assert all(e["organizer"] is None and e["attendees"] == [] for e in parsed["events"])


# ------------------------------------------------------------ real emails

def _first_day(after: date, predicate) -> date:
    """The first working day on or after ``after`` (see next_workday) meeting ``predicate``."""
    today = datetime.now(UTC).astimezone(BERLIN).date()
    day = after
    while True:
        day = next_workday(min_days=max((day - today).days, 3))
        if predicate(day):
            return day
        day += timedelta(days=1)


def _offset_hours(day: date) -> float:
    return datetime.combine(day, time(9), tzinfo=BERLIN).utcoffset().total_seconds() / 3600


def _next_change(after: date) -> date:
    """The first day on or after ``after`` whose UTC offset differs from the day before."""
    day = after
    while _offset_hours(day) == _offset_hours(day - timedelta(days=1)):
        day += timedelta(days=1)
    return day


def dst_days() -> dict[str, date]:
    today = datetime.now(UTC).astimezone(BERLIN).date()
    soon = today + timedelta(days=3)
    change = _next_change(soon)
    after = _first_day(change + timedelta(days=1), lambda d: True)
    assert _offset_hours(after) != _offset_hours(change - timedelta(days=1))
    assert (after - change).days <= 4  # Monday, or the next working day after a holiday
    return {
        "winter": _first_day(soon, lambda d: _offset_hours(d) == 1),
        "summer": _first_day(soon, lambda d: _offset_hours(d) == 2),
        "after-change": after,
    }


@pytest.fixture
def far_town(ctx):
    return make_town(ctx, horizon_days=366)


def test_real_emails_show_the_booked_instant_in_both_parsers(app, client, far_town,
                                                             mail_to_sink):
    sink = mail_to_sink
    days = dst_days()
    assert _offset_hours(days["winter"]) == 1 and _offset_hours(days["summer"]) == 2
    booked = {}
    for i, (name, day) in enumerate(days.items()):
        response = book(client, local_iso(day, 9), email=f"c{i}@example.org")
        assert response.status_code == 201, (name, day, response.get_json())
        booked[name] = response.get_json()
    assert booked["winter"]["start"].endswith("+01:00")
    assert booked["summer"]["start"].endswith("+02:00")
    assert deliver(app) == (3, 0)

    by_recipient = {r.rcpt_tos[0]: r.message for r in sink.received}
    for name, data in booked.items():
        raw = ics_bytes(by_recipient[data["email"]])
        for parser, parse in PARSERS.items():
            parsed = parse(raw)
            where = (name, parser)
            assert parsed["method"] == "REQUEST", where
            assert parsed["uid"] == data["uid"], where
            assert parsed["sequence"] == 0, where
            assert parsed["status"] == "CONFIRMED", where
            assert instant(parsed["dtstart"]) == utc(data["start"]), where
            assert instant(parsed["dtend"]) == utc(data["end"]), where
            assert parsed["has_alarm"] is True, where
            (attendee,) = parsed["attendees"]
            assert attendee["email"] == data["email"] and attendee["rsvp"] == "FALSE", where
            assert parsed["organizer"]["email"] == OFFICE_EMAIL, where


def test_real_update_and_cancel_in_both_parsers(app, client, far_town, mail_to_sink):
    """Move a winter appointment into summer time (across the change), then cancel it."""
    sink = mail_to_sink
    days = dst_days()
    booked = book(client, local_iso(days["winter"], 9)).get_json()
    token = booked["manage_token"]
    moved = client.post(f"/api/v1/appointments/{booked['code']}/reschedule",
                        json={"start": local_iso(days["summer"], 10)}, headers=auth(token))
    assert moved.status_code == 200
    assert client.delete(f"/api/v1/appointments/{booked['code']}",
                         headers=auth(token)).status_code == 200
    assert deliver(app) == (3, 0)

    objects = [ics_bytes(m) for m in sink.messages]
    expected = [
        ("REQUEST", 0, "CONFIRMED", utc(local_iso(days["winter"], 9)), True),
        ("REQUEST", 1, "CONFIRMED", utc(local_iso(days["summer"], 10)), True),
        ("CANCEL", 2, "CANCELLED", utc(local_iso(days["summer"], 10)), False),
    ]
    for raw, (method, sequence, status, start, alarm) in zip(objects, expected, strict=True):
        for parser, parse in PARSERS.items():
            parsed = parse(raw)
            got = (parsed["method"], parsed["sequence"], parsed["status"],
                   instant(parsed["dtstart"]), parsed["has_alarm"])
            assert got == (method, sequence, status, start, alarm), parser
            assert parsed["uid"] == booked["uid"], parser
            assert [a["email"] for a in parsed["attendees"]] == ["erika@example.org"], parser


def test_every_email_attaches_its_calendar_object_for_all_parsers(app, client, far_town,
                                                                   mail_to_sink):
    """Booked, moved, cancelled: each email carries the inline iMIP part and the same
    object as an .ics file, and icalendar, vobject and ical.js read the file alike."""
    sink = mail_to_sink
    day = dst_days()["winter"]
    booked = book(client, local_iso(day, 9)).get_json()
    move_then_cancel(client, booked, local_iso(day, 10))
    assert deliver(app) == (3, 0)

    expected = [("REQUEST", 0, "CONFIRMED", local_iso(day, 9), local_iso(day, 9, 30)),
                ("REQUEST", 1, "CONFIRMED", local_iso(day, 10), local_iso(day, 10, 30)),
                ("CANCEL", 2, "CANCELLED", local_iso(day, 10), local_iso(day, 10, 30))]
    for msg, (method, sequence, status, start, end) in zip(sink.messages, expected,
                                                           strict=True):
        raw = ics_attachment(msg)
        assert raw == ics_bytes(msg)  # the same object as the inline part
        for parser, parse in ALL_PARSERS.items():
            parsed = parse(raw)
            where = (method, sequence, parser)
            assert (parsed["method"], parsed["sequence"], parsed["status"]) == (
                method, sequence, status), where
            assert parsed["uid"] == booked["uid"], where
            assert instant(parsed["dtstart"]) == utc(start), where
            assert instant(parsed["dtend"]) == utc(end), where
            assert parsed["summary"] == "Reisepass beantragen – Bürgerbüro Teststadt", where
            assert len(parsed["attendees"]) == 1, where


def test_manage_page_links_a_calendar_file_only_with_the_token(client, far_town):
    day = dst_days()["summer"]
    booked = book(client, local_iso(day, 9)).get_json()
    manage = urlsplit(booked["manage_url"]).path
    page = client.get(manage, headers={"Accept-Language": "en"}).get_data(as_text=True)
    link = re.search(r'<a[^>]*id="calendar-download"[^>]*href="([^"]+)"', page)
    assert link, "no download link on the manage page"
    assert link.group(1) == f"{manage}/appointment.ics"

    response = client.get(link.group(1), headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.mimetype_params["charset"] == "utf-8"
    code = f"{booked['code'][:4]}-{booked['code'][4:]}"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="appointment-{code}.ics"')
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "ETag" not in response.headers
    for parser, parse in ALL_PARSERS.items():
        parsed = parse(response.data)
        assert parsed["method"] == "PUBLISH", parser
        assert parsed["uid"] == booked["uid"] and parsed["sequence"] == 0, parser
        assert parsed["status"] == "CONFIRMED", parser
        assert instant(parsed["dtstart"]) == utc(booked["start"]), parser
        assert instant(parsed["dtend"]) == utc(booked["end"]), parser
        assert parsed["summary"] == "Apply for a passport – Bürgerbüro Teststadt", parser
        assert parsed["attendees"] == [], parser

    # the token is the key: a wrong one, or none, finds nothing
    assert client.get(f"/manage/{booked['code']}/{'x' * 32}/appointment.ics").status_code == 404
    assert client.get(f"/manage/{booked['code']}/appointment.ics").status_code == 404
    # a cancelled appointment is not offered for the calendar any more
    assert client.delete(f"/api/v1/appointments/{booked['code']}",
                         headers=auth(booked["manage_token"])).status_code == 200
    assert client.get(link.group(1)).status_code == 404
    assert "calendar-download" not in client.get(manage).get_data(as_text=True)


# ------------------------------------------------------------ the free-slot feed


@pytest.fixture
def town(ctx):
    return make_town(ctx)


def test_slot_feed_is_publish_without_personal_data_and_matches_the_api(app, client, town):
    day = next_workday()
    person = {"name": "Zacharias Quellenbrunn-Ypsilon", "email": "zq.private@example.org",
              "phone": "+49 171 9876543"}
    assert book(client, local_iso(day, 9), **person).status_code == 201
    # both seats of 10:00 taken: that start must vanish from feed and API alike
    assert book(client, local_iso(day, 10), email="a@example.org").status_code == 201
    assert book(client, local_iso(day, 10), email="b@example.org").status_code == 201

    response = client.get("/offices/amt/services/pass/slots.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    raw = response.data
    text = raw.decode("utf-8")
    for secret in (person["name"], "Quellenbrunn", person["email"], "zq.private",
                   "9876543", "a@example.org", "b@example.org", "mailto:"):
        assert secret not in text
    assert "ATTENDEE" not in text and "ORGANIZER" not in text
    assert "METHOD:PUBLISH" in text

    today = datetime.now(UTC).astimezone(BERLIN).date()
    first, last = today + timedelta(days=1), today + timedelta(days=59)
    api = client.get(f"/api/v1/offices/amt/services/pass/slots?from={first}&to={last}")
    assert api.status_code == 200
    api_slots = {(utc(s["start"]), utc(s["end"])) for s in api.get_json()}
    assert utc(local_iso(day, 9)) in {s for s, _ in api_slots}  # one seat left
    assert utc(local_iso(day, 10)) not in {s for s, _ in api_slots}
    assert len(api_slots) > 100

    def in_window(start: datetime) -> bool:
        return first <= start.astimezone(BERLIN).date() <= last

    for parser, parse in PARSERS.items():
        parsed = parse(raw)
        assert parsed["method"] == "PUBLISH", parser
        events = parsed["events"]
        assert events, parser
        assert all(e["organizer"] is None and e["attendees"] == [] for e in events), parser
        assert not any(e["has_alarm"] for e in events), parser
        assert len({e["uid"] for e in events}) == len(events), parser
        assert all(e["dtstamp"] for e in events), parser
        feed_slots = {(instant(e["dtstart"]), instant(e["dtend"])) for e in events}
        assert {s for s in feed_slots if in_window(s[0])} == api_slots, parser
        assert all(e["location"] == "Markt 1, 12345 Teststadt" for e in events), parser
        if parser == "ical.js":
            assert not any(e["is_floating"] for e in events)


def test_slot_feed_rejects_unknown_office_or_service(client, town):
    assert client.get("/offices/nix/services/pass/slots.ics").status_code == 404
    assert client.get("/offices/amt/services/nix/slots.ics").status_code == 404


def test_harness_sees_a_tzid_without_vtimezone_as_floating():
    """Self-check of the ical.js harness: a TZID time without its VTIMEZONE is floating
    for ical.js, and under TZ=UTC lands an hour off — so the instant checks above would
    catch that mistake."""
    raw = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\n"
        "BEGIN:VEVENT\r\nUID:x\r\nDTSTAMP:20270101T000000Z\r\nSEQUENCE:0\r\n"
        "DTSTART;TZID=Europe/Berlin:20270112T090000\r\n"
        "DTEND;TZID=Europe/Berlin:20270112T093000\r\nSUMMARY:x\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode("ascii")
    parsed = icaljs(raw)
    assert parsed["is_floating"] is True
    assert instant(parsed["dtstart"]) != datetime(2027, 1, 12, 8, tzinfo=UTC)
