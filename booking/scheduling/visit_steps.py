"""The database side of a visit (:mod:`booking.scheduling.visits`): whether an office
offers its services and lets them share an appointment, and the open steps of the rules
that offer them all."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import select

from booking.db import db
from booking.fairness.lottery import withhold_lottery_days
from booking.offices.models import Office, office_services
from booking.scheduling import queries, slots, visits
from booking.scheduling.errors import ServiceNotOffered


def is_single(lines: Sequence[visits.Line]) -> bool:
    """One service for one person: what every booking was before visits."""
    return len(lines) == 1 and lines[0].persons == 1


def get_combinable(office_id: str, service_ids: Iterable[str]) -> dict[str, bool]:
    """Of the services the office offers among ``service_ids``: whether each may share
    an appointment (one query)."""
    return dict(db.session.execute(
        select(office_services.c.service_id, office_services.c.combinable).where(
            office_services.c.office_id == office_id,
            office_services.c.service_id.in_(list(service_ids)))).all())


def check_offered(office: Office, lines: Sequence[visits.Line], *, limits: bool = True
                  ) -> None:
    """Raise ServiceNotOffered unless the office offers every service of the visit, and
    with ``limits`` VisitNotAllowed unless the visit keeps the office's limits
    (:func:`visits.check_visit`)."""
    if is_single(lines):
        if not queries.is_offered(office.id, lines[0].service.id):
            raise ServiceNotOffered(f"{office.id} does not offer {lines[0].service.id}")
        return
    combinable = get_combinable(office.id, visits.service_ids(lines))
    missing = [sid for sid in visits.service_ids(lines) if sid not in combinable]
    if missing:
        raise ServiceNotOffered(f"{office.id} does not offer {missing[0]}")
    if limits:
        visits.check_visit(lines, office.max_persons, office.max_services, combinable)


def open_steps(office: Office, lines: Sequence[visits.Line], first_day: date, last_day: date,
               rules: Iterable[slots.Rule] | None = None, *, lottery: bool = True
               ) -> slots.OpenSteps:
    """The open steps on local dates first_day..last_day of the rules (all of the
    office's unless given) that offer every service of the visit; with ``lottery``,
    without the days a lottery holds back for any of them."""
    rules = visits.offering_rules(queries.get_rules(office) if rules is None else rules, lines)
    steps = queries.get_open_steps(office, rules, lines[0].service.id, first_day, last_day)
    if lottery:
        for line in lines:
            steps = withhold_lottery_days(office, line.service.id, steps)
    return steps
