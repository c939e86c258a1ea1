"""The staff calendar feed: an office's appointments as a subscribable calendar. Pure.

A PUBLISH calendar (RFC 5545), one VEVENT per appointment, UID = the appointment's
iCalendar UID so that clients update events in place when they move. Times are UTC.
The caller decides what the summary says; this module adds no personal data (no
attendees, organizer, email or phone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event, vDuration

from booking.calendars.ical import PRODID

REFRESH = timedelta(minutes=15)


@dataclass(frozen=True)
class StaffEvent:
    uid: str
    sequence: int
    start_at: datetime
    end_at: datetime
    summary: str
    location: str = ""
    description: str = ""


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("aware datetime required")
    return value.astimezone(UTC)


def staff_feed(name: str, events: list[StaffEvent], stamp_at: datetime) -> bytes:
    """The feed ``name`` with ``events``; ``stamp_at`` (aware) is every event's DTSTAMP."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    stamp = _utc(stamp_at)
    for item in events:
        event = Event()
        event.add("uid", item.uid)
        event.add("sequence", item.sequence)
        event.add("dtstamp", stamp)
        event.add("dtstart", _utc(item.start_at))
        event.add("dtend", _utc(item.end_at))
        event.add("summary", item.summary)
        if item.location:
            event.add("location", item.location)
        if item.description:
            event.add("description", item.description)
        event.add("status", "CONFIRMED")
        event.add("transp", "OPAQUE")
        event.add("class", "PRIVATE")
        cal.add_component(event)
    return cal.to_ical()
