"""The citizen's emails, end to end: API call → outbox → real SMTP server (aiosmtpd).

Every message is read back the way a mail client gets it: bytes from the SMTP sink,
parsed with ``email.policy.default``; the calendar part is parsed with icalendar.
(tests/test_ical.py reads the same objects with ical.js and vobject.)
"""

from __future__ import annotations

import email
import email.policy
import html
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from booking.scheduling.codes import format_code
from tests import smtp
from tests.factories import book_in_domain, local_iso, make_town, next_workday
from tests.smtp import auth, book, calendar_part, deliver, ics_bytes, move_then_cancel

# the SMTP sink fixtures
smtp_server = smtp.smtp_server
mail_to_sink = smtp.mail_to_sink

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE_EMAIL = "amt@teststadt.example"
OFFICE_NAME = "Bürgerbüro Teststadt"
ADDRESS = "Markt 1, 12345 Teststadt"


@pytest.fixture
def town(ctx):
    return make_town(ctx)


@pytest.fixture
def sink(mail_to_sink):
    return mail_to_sink


def utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(ZoneInfo("UTC"))


def only_message(app, sink):
    """Deliver the outbox and return the one message that arrived."""
    before = len(sink.received)
    sent, failed = deliver(app)
    assert (sent, failed) == (1, 0)
    received = sink.received[before:]
    assert len(received) == 1
    return received[0]


def vevent_of(msg):
    cal = Calendar.from_ical(ics_bytes(msg))
    events = cal.events
    assert len(events) == 1
    return cal, events[0]


def attendees(event) -> list:
    value = event.get("attendee")
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def bodies(msg) -> tuple[str, str]:
    text = msg.get_body(preferencelist=("plain",)).get_content()
    markup = msg.get_body(preferencelist=("html",)).get_content()
    return text, markup


def expected_subject(app, msgid: str, lang: str, service: str, start_at: datetime) -> str:
    """The subject as Flask-Babel renders it in ``lang`` (whatever translations exist)."""
    from flask_babel import force_locale, gettext

    from booking import i18n

    with app.app_context(), force_locale(lang):
        return gettext(msgid, service=service, when=i18n.local_datetime(start_at, BERLIN, lang))


# ----------------------------------------------------------------- confirmation


def test_confirmation_arrives_with_text_html_and_request(app, client, town, sink):
    day = next_workday()
    response = book(client, local_iso(day, 9))
    assert response.status_code == 201
    booked = response.get_json()
    assert sink.received == []  # nothing goes out inside the request

    received = only_message(app, sink)
    msg = received.message

    # envelope and headers
    assert received.rcpt_tos == ["erika@example.org"]
    assert received.mail_from == app.config["MAIL_DEFAULT_SENDER"]
    (to,) = msg["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Erika Mustermann", "erika@example.org")
    assert msg["From"].addresses[0].display_name == OFFICE_NAME
    assert msg["Reply-To"].addresses[0].addr_spec == OFFICE_EMAIL
    assert msg["Message-ID"] and msg["Date"]
    assert msg["Auto-Submitted"] == "auto-generated"

    # structure: multipart/mixed holding the multipart/alternative with plain, html (+ the
    # check-in QR code as a related image), calendar (in that order), then the same calendar
    # object once more as an .ics file
    assert msg.get_content_type() == "multipart/mixed"
    alternative, attachment = msg.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == f"appointment-{format_code(booked['code'])}.ics"
    assert attachment.get_content() == ics_bytes(msg)
    parts = list(alternative.iter_parts())
    assert [p.get_content_type() for p in parts] == [
        "text/plain", "multipart/related", "text/calendar"]
    related = [p.get_content_type() for p in parts[1].iter_parts()]
    assert related == ["text/html", "image/png"]
    image = list(parts[1].iter_parts())[1]
    from booking.qr import qr_png

    assert image.get_content() == qr_png(booked["code"])  # the bare booking code
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in parts[1].get_body(preferencelist=("html",)).get_content()
    cal_part = calendar_part(msg)
    assert cal_part.get_content_charset() == "utf-8"
    cal, event = vevent_of(msg)
    assert cal_part.get_param("method") == str(cal["METHOD"]) == "REQUEST"

    # text and HTML: booking code (ABCD-EFGH) and the manage link
    code = format_code(booked["code"])
    assert len(code) == 9 and code[4] == "-"
    text, markup = bodies(msg)
    assert code in text and booked["manage_url"] in text
    assert code in markup
    assert f'href="{booked["manage_url"]}"' in html.unescape(markup)
    assert "Reisepass beantragen" in text and "Biometrisches Foto" in text

    # the iMIP object
    assert str(cal["VERSION"]) == "2.0" and cal.get("PRODID")
    assert str(event["UID"]) == booked["uid"]
    assert uuid.UUID(booked["uid"]).version == 4  # random, no host or personal data
    assert int(event["SEQUENCE"]) == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event["DTSTART"].dt == utc(booked["start"])
    assert event["DTEND"].dt == utc(booked["end"])
    assert event.get("DTSTAMP") is not None
    assert event["DTSTAMP"].dt.utcoffset().total_seconds() == 0
    organizer = event["ORGANIZER"]
    assert str(organizer).lower() == f"mailto:{OFFICE_EMAIL}"
    assert organizer.params["CN"] == OFFICE_NAME
    (attendee,) = attendees(event)
    assert str(attendee).lower() == f"mailto:{to.addr_spec}"
    assert attendee.params["RSVP"] == "FALSE"
    assert len(event.walk("VALARM")) == 1
    description = str(event["DESCRIPTION"])
    assert code in description
    assert "Biometrisches Foto" in description
    assert booked["manage_url"] in description
    assert str(event["LOCATION"]) == ADDRESS
    summary = str(event["SUMMARY"])
    assert "Reisepass beantragen" in summary and OFFICE_NAME in summary


def test_reschedule_sends_request_with_same_uid_and_cancel_sends_cancel(app, client, town,
                                                                         sink):
    day = next_workday()
    booked = book(client, local_iso(day, 9)).get_json()
    _, first = vevent_of(only_message(app, sink).message)
    token = booked["manage_token"]

    moved = client.post(f"/api/v1/appointments/{booked['code']}/reschedule",
                        json={"start": local_iso(day, 10, 30)}, headers=auth(token))
    assert moved.status_code == 200
    moved_msg = only_message(app, sink).message
    cal, event = vevent_of(moved_msg)
    assert calendar_part(moved_msg).get_param("method") == str(cal["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == str(first["UID"]) == booked["uid"]
    assert int(event["SEQUENCE"]) == 1
    assert event["DTSTART"].dt == utc(local_iso(day, 10, 30)) != first["DTSTART"].dt
    assert event["DTEND"].dt == utc(local_iso(day, 11))
    assert str(event["STATUS"]) == "CONFIRMED"
    assert len(event.walk("VALARM")) == 1
    assert moved_msg["Subject"] == expected_subject(
        app, "Appointment moved: %(service)s now on %(when)s", "de", "Reisepass beantragen",
        utc(local_iso(day, 10, 30)))
    text, _ = bodies(moved_msg)
    assert format_code(booked["code"]) in text and booked["manage_url"] in text

    cancelled = client.delete(f"/api/v1/appointments/{booked['code']}", headers=auth(token))
    assert cancelled.status_code == 200
    cancel_msg = only_message(app, sink).message
    assert [p.get_content_type() for p in cancel_msg.walk()].count("image/png") == 0  # no QR
    cal, event = vevent_of(cancel_msg)
    part = calendar_part(cancel_msg)
    assert part.get_param("method") == str(cal["METHOD"]) == "CANCEL"
    assert part.get_content_charset() == "utf-8"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == booked["uid"]
    assert int(event["SEQUENCE"]) == 2
    assert event["DTSTART"].dt == utc(local_iso(day, 10, 30))
    assert event.walk("VALARM") == []
    assert cancel_msg["Subject"] == expected_subject(
        app, "Appointment cancelled: %(service)s on %(when)s", "de", "Reisepass beantragen",
        utc(local_iso(day, 10, 30)))
    assert str(event["ORGANIZER"]).lower() == f"mailto:{OFFICE_EMAIL}"
    (attendee,) = attendees(event)
    assert str(attendee).lower() == "mailto:erika@example.org"
    assert event.get("DTSTAMP") is not None
    alternative, attachment = cancel_msg.iter_parts()
    assert [p.get_content_type() for p in alternative.iter_parts()] == [
        "text/plain", "text/html", "text/calendar"]
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_content() == ics_bytes(cancel_msg)  # METHOD:CANCEL there too
    text, markup = bodies(cancel_msg)
    assert format_code(booked["code"]) in text and format_code(booked["code"]) in markup
    assert booked["manage_token"] not in text  # the link is dead now; no token in the mail

    # cancelling again is idempotent and sends nothing more
    again = client.delete(f"/api/v1/appointments/{booked['code']}", headers=auth(token))
    assert again.status_code == 200
    assert deliver(app) == (0, 0)
    assert len(sink.received) == 3


def test_each_email_says_what_was_true_when_it_was_queued(app, client, town, sink):
    """The sender renders from the snapshot queued with each change, not from the row:
    booked, moved and cancelled before anything went out still gives the confirmation
    for the old time (SEQUENCE 0), the update for the new one (1), then the CANCEL (2)."""
    day = next_workday()
    booked = book(client, local_iso(day, 9)).get_json()
    token = booked["manage_token"]
    moved = client.post(f"/api/v1/appointments/{booked['code']}/reschedule",
                        json={"start": local_iso(day, 10, 30)}, headers=auth(token))
    assert moved.status_code == 200
    assert client.delete(f"/api/v1/appointments/{booked['code']}",
                         headers=auth(token)).status_code == 200
    assert sink.received == []

    assert deliver(app) == (3, 0)
    first, second, third = (r.message for r in sink.received)
    expected = [("REQUEST", 0, local_iso(day, 9), local_iso(day, 9, 30), "CONFIRMED"),
                ("REQUEST", 1, local_iso(day, 10, 30), local_iso(day, 11), "CONFIRMED"),
                ("CANCEL", 2, local_iso(day, 10, 30), local_iso(day, 11), "CANCELLED")]
    for msg, (method, sequence, start, end, status) in zip((first, second, third), expected,
                                                          strict=True):
        cal, event = vevent_of(msg)
        assert calendar_part(msg).get_param("method") == str(cal["METHOD"]) == method
        assert str(event["UID"]) == booked["uid"]
        assert int(event["SEQUENCE"]) == sequence
        assert (event["DTSTART"].dt, event["DTEND"].dt) == (utc(start), utc(end))
        assert str(event["STATUS"]) == status
    assert first["Subject"] == expected_subject(
        app, "Appointment confirmed: %(service)s on %(when)s", "de", "Reisepass beantragen",
        utc(local_iso(day, 9)))
    assert second["Subject"] == expected_subject(
        app, "Appointment moved: %(service)s now on %(when)s", "de", "Reisepass beantragen",
        utc(local_iso(day, 10, 30)))
    # the manage link went out with the confirmation and the update, not with the CANCEL
    assert booked["manage_url"] in bodies(first)[0] and booked["manage_url"] in bodies(second)[0]
    assert token not in bodies(third)[0]


def test_language_of_the_booking_decides_the_email_language(app, client, town, sink):
    day = next_workday()
    de = book(client, local_iso(day, 9)).get_json()
    de_msg = only_message(app, sink).message
    en = book(client, local_iso(day, 10), language="en", email="erik@example.org").get_json()
    en_msg = only_message(app, sink).message
    assert de["language"] == "de" and en["language"] == "en"

    assert en_msg["Subject"].startswith("Appointment confirmed")
    assert de_msg["Subject"] != en_msg["Subject"]
    msgid = "Appointment confirmed: %(service)s on %(when)s"
    assert de_msg["Subject"] == expected_subject(
        app, msgid, "de", "Reisepass beantragen", utc(de["start"]))
    assert en_msg["Subject"] == expected_subject(
        app, msgid, "en", "Apply for a passport", utc(en["start"]))
    assert "Reisepass" in de_msg["Subject"] and "Apply for a passport" in en_msg["Subject"]

    en_text, en_html = bodies(en_msg)
    assert "Apply for a passport" in en_text and "Biometric photo" in en_text
    assert '<html lang="en">' in en_html
    assert '<html lang="de">' in bodies(de_msg)[1]
    _, en_event = vevent_of(en_msg)
    assert "Biometric photo" in str(en_event["DESCRIPTION"])
    assert "Apply for a passport" in str(en_event["SUMMARY"])
    _, de_event = vevent_of(de_msg)
    assert "Biometrisches Foto" in str(de_event["DESCRIPTION"])


def _line_after_greeting(text: str) -> str:
    greeting, following = [line for line in text.splitlines() if line.strip()][:2]
    assert greeting.endswith(",")
    return following


def test_the_line_after_the_greeting_starts_a_sentence(app, client, town, sink):
    """ "Hello Erika," then "Your appointment …": English capitalises the second line;
    German keeps its own rule ("Ihr" is capitalised anyway). All three kinds of email."""
    day = next_workday()
    en = book(client, local_iso(day, 9), language="en", email="erik@example.org").get_json()
    de = book(client, local_iso(day, 10)).get_json()
    for booked in (en, de):
        move_then_cancel(client, booked, local_iso(day, 11))
    assert deliver(app) == (6, 0)
    by_recipient: dict[str, list] = {}
    for received in sink.received:
        by_recipient.setdefault(received.rcpt_tos[0], []).append(received.message)
    expected = {
        "erik@example.org": ["Your appointment at the citizen office is booked.",
                             "Your appointment was moved to a new time.",
                             "Your appointment has been cancelled."],
        "erika@example.org": ["Ihr Termin im Bürgerbüro ist gebucht.",
                              "Ihr Termin wurde auf eine neue Uhrzeit verschoben.",
                              "Ihr Termin wurde abgesagt."],
    }
    for recipient, sentences in expected.items():
        messages = by_recipient[recipient]
        assert [_line_after_greeting(bodies(m)[0]) for m in messages] == sentences
        for msg, sentence in zip(messages, sentences, strict=True):
            assert f"<p>{sentence}</p>" in bodies(msg)[1]


def test_english_email_writes_dates_the_british_way(app, client, town, sink):
    """English for a German town: "Tuesday, 1 December 2026", not "December 1, 2026"."""
    day = next_workday()
    assert book(client, local_iso(day, 9), language="en").status_code == 201
    msg = only_message(app, sink).message
    british = f"{day:%A}, {day.day} {day:%B} {day.year}, 09:00"
    assert british in msg["Subject"]
    assert f"{british}–09:30" in bodies(msg)[0]
    assert f"{day:%B} {day.day}, {day.year}" not in bodies(msg)[0]


def test_html_body_escapes_what_the_citizen_typed(app, client, town, sink):
    day = next_workday()
    name = 'Erika <b onclick="x">Mustermann</b> & Co'
    assert book(client, local_iso(day, 9), name=name).status_code == 201
    msg = only_message(app, sink).message
    text, markup = bodies(msg)
    assert "<b onclick" not in markup
    assert "&lt;b onclick=" in markup
    assert name in text
    assert msg["To"].addresses[0].display_name == name
    _, event = vevent_of(msg)
    (attendee,) = attendees(event)
    assert attendee.params["CN"] == name


def test_long_name_fits_and_arrives(app, client, town, sink):
    """A 200-character name (the maximum) with a 64-character local part still queues
    and is delivered (the outbox's recipient column holds 254 characters)."""
    day = next_workday()
    name = ("Maximiliane Alexandra Josephine von und zu " * 5)[:200].strip()
    address = "x" * 64 + "@example.org"
    response = book(client, local_iso(day, 9), name=name, email=address)
    assert response.status_code == 201
    received = only_message(app, sink)
    assert received.rcpt_tos == [address]
    assert received.message["To"].addresses[0].addr_spec == address


def test_internationalised_domain_is_sent_in_ascii(app, client, town, sink):
    """An umlaut domain is written as IDNA (xn--) in To, the envelope and ATTENDEE alike;
    an encoded-word inside an address is not a valid address."""
    day = next_workday()
    assert book(client, local_iso(day, 9), email="erika@müller.de").status_code == 201
    received = only_message(app, sink)
    assert received.rcpt_tos == ["erika@xn--mller-kva.de"]
    raw_to = next(line for line in received.data.split(b"\r\n") if line.startswith(b"To:"))
    assert b"=?" not in raw_to.split(b"<")[-1]
    (to,) = received.message["To"].addresses
    assert to.addr_spec == "erika@xn--mller-kva.de"
    _, event = vevent_of(received.message)
    (attendee,) = attendees(event)
    assert str(attendee).lower() == "mailto:erika@xn--mller-kva.de"


def test_api_refuses_non_ascii_local_part(client, town):
    response = book(client, local_iso(next_workday(), 9), email="jörg@example.org")
    assert response.status_code == 422 and "email" in response.get_json()["errors"]


def test_non_ascii_local_part_goes_out_with_smtputf8(app, client, town, sink):
    day = next_workday()
    book_in_domain(app, local_iso(day, 9), "jörg@example.org")
    received = only_message(app, sink)
    assert received.rcpt_tos == ["jörg@example.org"]
    (to,) = received.message["To"].addresses
    assert to.addr_spec == "jörg@example.org"
    _, event = vevent_of(received.message)
    (attendee,) = attendees(event)
    assert str(attendee) == "mailto:jörg@example.org"


# ----------------------------------------------------------------- headers


SERVICES = ["Reisepass beantragen", "Führungszeugnis beantragen", "Wohnsitz anmelden oder ummelden",
            "Fundsachen abgeben oder abholen", "Ausweis oder Pass abholen", "Straße  & Müll",
            "=?utf-8?q?not_an_encoded_word?=", "Übergabe " + "x" * 90]


def _rfc2047_decode(raw_value: str) -> str:
    """How an RFC 2047 reader shows a header (whitespace between encoded words dropped)."""
    from email.header import decode_header, make_header

    return str(make_header(decode_header(raw_value.replace("\r\n", ""))))


@pytest.mark.parametrize("lang", ["de", "en"])
def test_subjects_survive_folding_exactly(app, lang):
    """Every subject reads back exactly: no leading space from folding the whole value to
    a continuation line, no space lost or doubled between encoded words (both happen
    with the standard library's folder on Python 3.11 for everyday German subjects)."""
    from flask_babel import force_locale, gettext

    from booking import i18n
    from booking.notifications.mime import build_email

    start = datetime(2026, 11, 23, 9, tzinfo=BERLIN)
    msgids = ["Appointment confirmed: %(service)s on %(when)s",
              "Appointment moved: %(service)s now on %(when)s",
              "Appointment cancelled: %(service)s on %(when)s"]
    checked = 0
    with app.app_context(), force_locale(lang):
        for msgid in msgids:
            for service in SERVICES:
                for days in range(0, 200, 7):
                    when = i18n.local_datetime(start + timedelta(days=days), BERLIN, lang)
                    subject = gettext(msgid, service=service, when=when)
                    msg = build_email(sender="Amt <amt@example.org>",
                                      recipient="Erika <erika@example.org>", subject=subject,
                                      text="t", html="<p>h</p>")
                    raw = msg.as_bytes()
                    head = raw.split(b"\r\n\r\n")[0].decode("ascii")
                    raw_subject = head.split("Subject: ", 1)[1].split("\r\nFrom: ")[0]
                    assert _rfc2047_decode(raw_subject) == subject
                    parsed = email.message_from_bytes(raw, policy=email.policy.default)
                    assert parsed["Subject"] == subject
                    assert msg["Subject"] == subject
                    longest_word = max(len(w) for w in subject.split(" "))
                    assert all(len(line) <= max(78, longest_word + 10)
                               for line in head.split("\r\n"))
                    checked += 1
    assert checked > 500


def test_subject_cannot_inject_headers(app):
    from booking.notifications.mime import build_email

    msg = build_email(sender="Amt <amt@example.org>", recipient="Erika <erika@example.org>",
                      subject="Termin\r\nBcc: victim@example.org\nX-Evil: 1", text="t",
                      html="h")
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert "victim@example.org" in parsed["Subject"]
