"""JSON API of the waitlist: register a wish (the confirmation email carries the link to
withdraw it)."""

from __future__ import annotations

from datetime import date, time

from flask import jsonify
from flask_babel import gettext

from booking.db import db, utcnow
from booking.offices.models import Office, Service
from booking.scheduling import visits
from booking.waitlist import wishes
from booking.web import validation, visit_input
from booking.web.api import bp
from booking.web.api.bot_check import require_proof
from booking.web.api.views import ApiError, _json_object


def _time(value, default: time, field: str, errors: dict) -> time:
    if value is None:
        return default
    try:
        if not isinstance(value, str):
            raise ValueError
        parsed = time.fromisoformat(value)
        if parsed.tzinfo is not None:
            raise ValueError
        return parsed
    except ValueError:
        errors[field] = gettext("Please give a time of day like 08:30.")
        return default


def _offices(value, errors: dict) -> list[Office]:
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str) for v in value)):
        errors["offices"] = gettext("Please give a list of office ids.")
        return []
    found = [db.session.get(Office, v) for v in dict.fromkeys(value)]
    if None in found:
        errors["offices"] = gettext("Unknown office.")
        return []
    return found


def _weekdays(value, errors: dict) -> str:
    if value is None:
        return "12345"
    if (not isinstance(value, list) or not value or not all(
            isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 7 for v in value)):
        errors["weekdays"] = gettext("Please give the weekdays as numbers from 1 (Monday) "
                                     "to 7 (Sunday).")
        return ""
    return "".join(str(v) for v in sorted(set(value)))


def _persons(value, errors: dict) -> int:
    if value is None:
        return 1
    if (not isinstance(value, int) or isinstance(value, bool)
            or not 1 <= value <= visits.MAX_PERSONS_PER_LINE):
        errors["persons"] = visit_input.persons_message()
        return 1
    return value


@bp.post("/waitlist")
def register_wish():
    data = _json_object()
    errors: dict[str, str] = {}
    values = {}
    for field, clean in (("name", validation.clean_name), ("email", validation.clean_email),
                         ("language", validation.clean_language)):
        try:
            values[field] = clean(data.get(field))
        except ValueError as exc:
            errors[field] = str(exc)
    service_id = data.get("service")
    service = db.session.get(Service, service_id) if isinstance(service_id, str) else None
    if service is None:
        errors["service"] = gettext("Unknown service.")
    offices = _offices(data.get("offices"), errors)
    weekdays = _weekdays(data.get("weekdays"), errors)
    persons = _persons(data.get("persons"), errors)
    from_time = _time(data.get("from"), wishes.ALL_DAY[0], "from", errors)
    until_time = _time(data.get("to"), wishes.ALL_DAY[1], "to", errors)
    until_date: date | None = None
    try:
        until_date = validation.parse_day(data.get("until"), "until") if isinstance(
            data.get("until"), str) else None
    except ValueError as exc:
        errors["until"] = str(exc)
    if until_date is None and "until" not in errors:
        errors["until"] = gettext("%(name)s must be a date like 2026-12-01.", name="until")
    if errors:
        raise ApiError(422, gettext("Please correct the marked fields."), errors)
    # the proof of work, or a portal key of the first office the wish names
    require_proof(offices[0], data)
    try:
        row, _ = wishes.register_wish(wishes.Wish(
            service, offices, weekdays, from_time, until_time, until_date, values["name"],
            values["email"], values["language"], persons), utcnow())
    except wishes.WishRejected as exc:
        raise ApiError(422, gettext("Please correct the marked fields."), exc.errors) from None
    return jsonify(wish_json(row)), 201


def wish_json(wish) -> dict:
    return {
        "id": wish.id, "service": wish.service_id, "persons": wish.persons,
        "offices": [o.id for o in wish.offices],
        "weekdays": [int(d) for d in wish.weekdays],
        "from": wish.from_time.strftime("%H:%M"), "to": wish.until_time.strftime("%H:%M"),
        "until": wish.until_date.isoformat(), "status": wish.status,
    }
