"""iCalendar documents for appointments (iMIP, RFC 5545/5546/6047) and slot feeds. Pure.

Times are written in UTC (``...Z``): every calendar client places them correctly and
no VTIMEZONE is needed (an RDATE-style VTIMEZONE is misread by some clients).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from icalendar import Alarm, Calendar, Event, vCalAddress, vText

PRODID = "-//Buergerbuero Terminbuchung//booking//DE"

REQUEST = "REQUEST"
CANCEL = "CANCEL"
PUBLISH = "PUBLISH"


@dataclass(frozen=True)
class Invitation:
    uid: str
    sequence: int
    start_at: datetime
    end_at: datetime
    summary: str
    location: str
    description: str
    organizer_email: str
    organizer_name: str
    attendee_email: str
    attendee_name: str
    language: str = "de"
    url: str | None = None
    alarm_text: str = ""


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("aware datetime required")
    return value.astimezone(UTC)


def appointment_ical(invite: Invitation, method: str, stamp_at: datetime) -> bytes:
    """The iMIP object for ``method`` REQUEST (booked or moved) or CANCEL, or the same
    event as a PUBLISH file to import (the "add to calendar" download).

    A REQUEST carries STATUS:CONFIRMED and a reminder alarm; a CANCEL carries
    STATUS:CANCELLED and no alarm. A PUBLISH is a confirmed event with its alarm and no
    ATTENDEE (RFC 5546); its UID and SEQUENCE are the emails', so importing it after an
    invitation updates the same entry. The caller raises ``sequence`` on every change.
    """
    if method not in (REQUEST, CANCEL, PUBLISH):
        raise ValueError(f"unsupported method {method!r}")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)

    event = Event()
    event.add("uid", invite.uid)
    event.add("sequence", invite.sequence)
    event.add("dtstamp", _utc(stamp_at))
    event.add("dtstart", _utc(invite.start_at))
    event.add("dtend", _utc(invite.end_at))
    event.add("summary", invite.summary)
    event.add("location", invite.location)
    event.add("description", invite.description)
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if invite.url:
        event.add("url", invite.url)

    organizer = vCalAddress(f"mailto:{invite.organizer_email}")
    organizer.params["cn"] = vText(invite.organizer_name)
    event.add("organizer", organizer)
    if method != PUBLISH:
        attendee = vCalAddress(f"mailto:{invite.attendee_email}")
        attendee.params["cn"] = vText(invite.attendee_name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("ACCEPTED")
        attendee.params["rsvp"] = vText("FALSE")
        event.add("attendee", attendee)

    if method != CANCEL:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", invite.alarm_text or invite.summary)
        alarm.add("trigger", timedelta(hours=-1))
        event.add_component(alarm)

    cal.add_component(event)
    return cal.to_ical()


@dataclass(frozen=True)
class FeedSlot:
    uid: str
    start_at: datetime
    end_at: datetime
    summary: str


def slots_feed(name: str, location: str, slots: list[FeedSlot], stamp_at: datetime) -> bytes:
    """A subscribable PUBLISH calendar of free slots: no attendees, no personal data."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    for slot in slots:
        event = Event()
        event.add("uid", slot.uid)
        event.add("dtstamp", _utc(stamp_at))
        event.add("dtstart", _utc(slot.start_at))
        event.add("dtend", _utc(slot.end_at))
        event.add("summary", slot.summary)
        event.add("location", location)
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return cal.to_ical()
