"""The next free appointment of a service (or of a visit: several persons, further
services) in every office that offers it: public, the same for everybody, microcached for
a second like the slot listing."""

from __future__ import annotations

from flask import abort, jsonify, request
from flask_babel import gettext

from booking.db import db, utcnow
from booking.offices.models import Service
from booking.scheduling import next_free, visits
from booking.scheduling.errors import VisitNotAllowed
from booking.web import caching, validation, visit_input
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


def _visit(service: Service) -> list[visits.Line]:
    """``persons`` for the service (1 if left out) and ``also``, further services with
    their persons (``melde:1,ausweis:2``), as in the visit's slot listing: malformed 400,
    an unknown service 404, a service twice or too many 422. Which offices allow the
    visit in one appointment is each office's own limit (the others are left out)."""
    raw = request.args.get("persons", "1")
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= visits.MAX_PERSONS_PER_LINE):
        raise ApiError(400, visit_input.persons_message())
    also = request.args.get("also")
    try:
        lines = [visits.Line(service, int(raw))] + (
            visit_input.lines_from_text(also) if also else [])
        visits.check_visit(lines, visits.MAX_PERSONS_PER_LINE * len(lines),
                           visit_input.MAX_LINES, {})
    except visit_input.UnknownService as exc:
        abort(404, str(exc))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    except VisitNotAllowed as exc:
        message = visit_input.not_allowed_message(exc)
        raise ApiError(422, gettext("Please correct the marked fields."),
                       {"also": message}) from None
    return lines


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
    lines = _visit(service)
    found = next_free.next_free_everywhere(lines, utcnow(), wanted, limit)
    return caching.public(jsonify({
        "service": service.id,
        "services": [{"service": line.service.id, "persons": line.persons} for line in lines],
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
