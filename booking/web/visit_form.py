"""Booking for several persons, and other services of the same office in the same
appointment, without JavaScript: GET fields (``persons`` and, for each other service the
office lets share an appointment, ``also-<id>`` with its persons; 0 or empty: not) on a
service's slot page and on the clerk's phone booking, which the slot links and the
booking forms carry on (templates/_visit_fields.html)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_babel import gettext
from sqlalchemy import select

from booking.db import db
from booking.links import ALSO, visit_fields
from booking.offices.models import Office, Service, office_services
from booking.scheduling import visits
from booking.scheduling.errors import VisitNotAllowed
from booking.web import visit_input


@dataclass
class Visit:
    lines: list[visits.Line]
    others: list[tuple[Service, int]]  # the office's other combinable services, persons
    persons: int = 1  # of the page's own service
    fields: dict[str, int] = field(default_factory=dict)  # what links and forms carry on
    error: str | None = None

    @property
    def is_single(self) -> bool:
        return len(self.lines) == 1 and self.lines[0].persons == 1

    def summary(self, language: str) -> str:
        return visits.summary(self.lines, language)


def _others(office: Office, service: Service) -> list[Service]:
    """The office's other services that may share an appointment with ``service`` (none
    if ``service`` may not)."""
    rows = db.session.execute(
        select(Service, office_services.c.combinable)
        .join(office_services, office_services.c.service_id == Service.id)
        .where(office_services.c.office_id == office.id)
        .order_by(Service.position, Service.id)).all()
    if not next((combinable for found, combinable in rows if found.id == service.id), True):
        return []
    return [found for found, combinable in rows if combinable and found.id != service.id]


def _number(value, low: int) -> int | None:
    """A whole number from ``low`` to the table's limit; None if not one."""
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        return low
    if not text.isdigit() or not low <= int(text) <= visits.MAX_PERSONS_PER_LINE:
        return None
    return int(text)


def visit_from(office: Office, service: Service, values: Mapping) -> Visit:
    """The visit the fields in ``values`` (query string or form) ask for. Invalid or not
    allowed by the office: one person for ``service``, with ``error`` saying why."""
    others = _others(office, service)
    persons = _number(values.get("persons"), 1)
    extra = [(other, _number(values.get(ALSO + other.id), 0)) for other in others]
    single = Visit(visits.single(service), [(other, 0) for other in others])
    if persons is None or any(n is None for _, n in extra):
        single.error = gettext("The number of persons must be a whole number from 1 to "
                               "%(max)d.", max=visits.MAX_PERSONS_PER_LINE)
        return single
    lines = [visits.Line(service, persons)] + [visits.Line(s, n) for s, n in extra if n]
    try:
        visits.check_visit(lines, office.max_persons, office.max_services,
                           {line.service.id: True for line in lines})
    except VisitNotAllowed as exc:
        single.error = visit_input.not_allowed_message(exc)
        return single
    return Visit(lines, extra, persons, visit_fields(lines))
