"""Parse an iCalendar object from stdin with vobject and print JSON (same keys as
tests/js/parse_ical.mjs). One process per object: vobject's TZID registry is global.

    python tests/vobject_parse.py < file.ics
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime

import vobject


def _instant(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise SystemExit(f"floating time {value.isoformat()} (no TZID/UTC)")
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise SystemExit(f"unexpected time value {value!r}")


def _value(component, name):
    prop = getattr(component, name, None) if name in component.contents else None
    return None if prop is None else prop.value


def _param(prop, name):
    values = prop.params.get(name.upper())
    return values[0] if values else None


def _address(prop) -> dict | None:
    if prop is None:
        return None
    value = str(prop.value)
    return {
        "value": value,
        "email": value[7:] if value.lower().startswith("mailto:") else value,
        "cn": _param(prop, "cn"),
        "rsvp": _param(prop, "rsvp"),
        "partstat": _param(prop, "partstat"),
        "role": _param(prop, "role"),
    }


def _event(vevent) -> dict:
    sequence = _value(vevent, "sequence")
    return {
        "uid": _value(vevent, "uid"),
        "sequence": None if sequence is None else int(sequence),
        "status": _value(vevent, "status"),
        "dtstamp": _instant(_value(vevent, "dtstamp")),
        "dtstart": _instant(_value(vevent, "dtstart")),
        "dtend": _instant(_value(vevent, "dtend")),
        "summary": _value(vevent, "summary"),
        "location": _value(vevent, "location"),
        "description": _value(vevent, "description"),
        "url": _value(vevent, "url"),
        "organizer": _address(vevent.contents.get("organizer", [None])[0]),
        "attendees": [_address(p) for p in vevent.contents.get("attendee", [])],
        "has_alarm": bool(vevent.contents.get("valarm")),
    }


def parse(text: str) -> dict:
    cal = vobject.readOne(text)
    if cal.name != "VCALENDAR":
        raise SystemExit(f"not a VCALENDAR: {cal.name}")
    events = [_event(e) for e in cal.contents.get("vevent", [])]
    return {
        "method": _value(cal, "method"),
        "version": _value(cal, "version"),
        **(events[0] if events else {}),
        "timezones": [str(_value(tz, "tzid")) for tz in cal.contents.get("vtimezone", [])],
        "events": events,
    }


if __name__ == "__main__":
    print(json.dumps(parse(sys.stdin.buffer.read().decode("utf-8"))))
