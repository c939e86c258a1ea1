"""Booking for several persons, and other services of the same office in the same
appointment, without JavaScript: GET fields (``persons`` and, for each other service the
office lets share an appointment, ``also-<id>`` with its persons; 0 or empty: not) on a
service's slot page and on the clerk's phone booking, which the slot links and the
booking forms carry on (templates/_visit_fields.html); and on a service's page, whose
search for the next free appointment looks across offices."""

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
    MAX_PERSONS = visits.MAX_PERSONS_PER_LINE  # per service, where no office limits them

    @property
    def is_single(self) -> bool:
        return len(self.lines) == 1 and self.lines[0].persons == 1

    def summary(self, language: str) -> str:
        return visits.summary(self.lines, language)


def _others(office: Office | None, service: Service) -> list[Service]:
    """The other services that may share an appointment with ``service`` at the office
    (none if ``service`` may not), or with no office given at any office that offers
    ``service`` and lets it share one."""
    offices = select(office_services.c.office_id).where(
        office_services.c.service_id == service.id, office_services.c.combinable.is_(True))
    if office is not None:
        offices = offices.where(office_services.c.office_id == office.id)
    others = select(office_services.c.service_id).where(
        office_services.c.office_id.in_(offices), office_services.c.combinable.is_(True))
    return list(db.session.scalars(
        select(Service).where(Service.id.in_(others), Service.id != service.id)
        .order_by(Service.position, Service.id)))


def _number(value, low: int) -> int | None:
    """A whole number from ``low`` to the table's limit; None if not one."""
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        return low
    if not text.isdigit() or not low <= int(text) <= visits.MAX_PERSONS_PER_LINE:
        return None
    return int(text)


def visit_from(office: Office | None, service: Service, values: Mapping) -> Visit:
    """The visit the fields in ``values`` (query string or form) ask for. Invalid or not
    allowed by the office: one person for ``service``, with ``error`` saying why. No
    office (a service's page): no office's limits are checked; the search leaves out the
    offices that do not allow the visit."""
    others = _others(office, service)
    persons = _number(values.get("persons"), 1)
    extra = [(other, _number(values.get(ALSO + other.id), 0)) for other in others]
    single = Visit(visits.single(service), [(other, 0) for other in others])
    if persons is None or any(n is None for _, n in extra):
        single.error = gettext("The number of persons must be a whole number from 1 to "
                               "%(max)d.", max=visits.MAX_PERSONS_PER_LINE)
        return single
    lines = [visits.Line(service, persons)] + [visits.Line(s, n) for s, n in extra if n]
    if office is None:
        return Visit(lines, extra, persons, visit_fields(lines))
    try:
        visits.check_visit(lines, office.max_persons, office.max_services,
                           {line.service.id: True for line in lines})
    except VisitNotAllowed as exc:
        single.error = visit_input.not_allowed_message(exc)
        return single
    return Visit(lines, extra, persons, visit_fields(lines))
