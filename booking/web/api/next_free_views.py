"""The next free appointment of a service in every office that offers it: public, the
same for everybody, microcached for a second like the slot listing."""

from __future__ import annotations

from flask import abort, jsonify, request
from flask_babel import gettext

from booking.db import db, utcnow
from booking.offices.models import Service
from booking.scheduling import next_free
from booking.web import caching, validation
from booking.web.api import bp
from booking.web.api.views import ApiError

MAX_LIMIT = 10


def _listed(name: str) -> list[str]:
    """A comma-separated query parameter (given once or repeated) as its values; empty:
    none. An empty value between commas is refused with the others (as unknown)."""
    return [value for raw in request.args.getlist(name) if raw for value in raw.split(",")]


def _limit() -> int:
    raw = request.args.get("limit")
    if raw is None:
        return 1
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_LIMIT):
        raise ApiError(400, gettext("The limit must be a whole number from 1 to %(max)s.",
                                    max=MAX_LIMIT))
    return int(raw)


@bp.get("/services/<service_id>/next-free")
def next_free_starts(service_id: str):
    service = db.session.get(Service, service_id) if len(service_id) <= 40 else None
    if service is None:
        abort(404, gettext("Unknown service."))
    try:
        wanted = validation.time_filter(_listed("weekdays"), _listed("times"))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    limit = _limit()
    found = next_free.next_free_everywhere(service, utcnow(), wanted, limit)
    return caching.public(jsonify({
        "service": service.id,
        "weekdays": sorted(wanted.weekdays),
        "times": sorted(wanted.times),
        "offices": [{
            "office": entry.office.id, "name": entry.office.name,
            "district": entry.office.district, "address": entry.office.address,
            "starts": [{"start": s.start_at.astimezone(entry.office.tz).isoformat(),
                        "end": s.end_at.astimezone(entry.office.tz).isoformat(),
                        "available": s.available} for s in entry.starts],
        } for entry in found],
    }))
