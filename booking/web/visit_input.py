"""A visit (services and persons, :mod:`booking.scheduling.visits`) as the web layer
reads it: the JSON API's ``"services"`` list, the text ``pass:3,ausweis:1`` of a query
string; and the words for what an office does not allow."""

from __future__ import annotations

import re

from flask_babel import gettext
from sqlalchemy import select

from booking.db import db
from booking.i18n import current_language
from booking.offices.models import Service
from booking.scheduling import visits
from booking.scheduling.errors import VisitNotAllowed

MAX_LINES = 10  # as many services as an office may allow (offices.max_services)
#: ``pass:3,ausweis:1``: service ids, each with its persons (1 if left out); the same
#: pattern is in the OpenAPI document
TEXT_PATTERN = r"[^,:]+(:[1-9][0-9]?)?(,[^,:]+(:[1-9][0-9]?)?)*"


class UnknownService(ValueError):
    """A service id no service has (the message names it)."""


def _lines(pairs: list[tuple[str, int]]) -> list[visits.Line]:
    """The lines for (service id, persons) pairs, in order; UnknownService for an id no
    service has. One query."""
    known = {service.id: service for service in db.session.scalars(
        select(Service).where(Service.id.in_({sid for sid, _ in pairs})))}
    for sid, _ in pairs:
        if sid not in known:
            raise UnknownService(gettext("Unknown service: %(service)s.", service=sid))
    return [visits.Line(known[sid], persons) for sid, persons in pairs]


def persons_message() -> str:
    return gettext("The number of persons must be a whole number from 1 to %(max)d.",
                   max=visits.MAX_PERSONS_PER_LINE)


def lines_from_json(entries) -> list[visits.Line]:
    """``[{"service": "pass", "persons": 3}, …]`` (``persons`` 1 if left out) as lines;
    ValueError with a message for anything else or an unknown service."""
    shape = gettext('"services" must be a list of 1 to %(max)d objects like '
                    '{"service": "pass", "persons": 2}.', max=MAX_LINES)
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_LINES:
        raise ValueError(shape)
    pairs = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("service"), str):
            raise ValueError(shape)
        persons = entry.get("persons", 1)
        if (not isinstance(persons, int) or isinstance(persons, bool)
                or not 1 <= persons <= visits.MAX_PERSONS_PER_LINE):
            raise ValueError(persons_message())
        pairs.append((entry["service"], persons))
    return _lines(pairs)


def parse_text(text: str) -> list[tuple[str, int]]:
    """``pass:3,ausweis:1`` as (service id, persons) pairs; ValueError if malformed."""
    if re.fullmatch(TEXT_PATTERN, text) is None:
        raise ValueError(gettext('"services" must be service ids with their persons, e.g. '
                                 'pass:3,ausweis:1.'))
    pairs = []
    for part in text.split(","):
        sid, _, persons = part.partition(":")
        pairs.append((sid, int(persons or 1)))
    return pairs


def lines_from_text(text: str) -> list[visits.Line]:
    """:func:`parse_text` as lines (ValueError; UnknownService for an unknown id)."""
    pairs = parse_text(text)
    if len(pairs) > MAX_LINES:
        raise VisitNotAllowed(visits.TOO_MANY_SERVICES, MAX_LINES)
    for _, persons in pairs:
        if persons > visits.MAX_PERSONS_PER_LINE:
            raise VisitNotAllowed(visits.PERSONS, visits.MAX_PERSONS_PER_LINE)
    return _lines(pairs)


def not_allowed_message(exc: VisitNotAllowed) -> str:
    """What the citizen reads when an office does not allow a visit."""
    if exc.reason == visits.TOO_MANY_PERSONS:
        return gettext("At most %(max)d persons can come to one appointment at this office.",
                       max=exc.limit)
    if exc.reason == visits.TOO_MANY_SERVICES:
        return gettext("At most %(max)d services can be booked in one appointment at this "
                       "office.", max=exc.limit)
    if exc.reason == visits.TWICE:
        return gettext("Each service can be chosen only once per appointment; give the "
                       "number of persons instead.")
    if exc.reason == visits.NOT_COMBINABLE:
        return gettext("The service %(service)s can only be booked on its own.",
                       service=_name(exc.service_id))
    if exc.reason == visits.PERSONS:
        return persons_message()
    return gettext("Please choose at least one service.")


def _name(service_id: str | None) -> str:
    service = db.session.get(Service, service_id) if service_id else None
    return service.text("name", current_language()) if service else str(service_id)
