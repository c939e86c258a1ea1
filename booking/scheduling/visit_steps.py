"""The database side of a visit (:mod:`booking.scheduling.visits`): whether an office
offers its services and lets them share an appointment, and the open steps of the rules
that offer them all."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from booking.fairness.lottery import withhold_lottery_days
from booking.offices.models import Office
from booking.scheduling import queries, slots, visits
from booking.scheduling.errors import ServiceNotOffered


def check_offered(office: Office, lines: Sequence[visits.Line], *, limits: bool = True,
                  lock: bool = False) -> None:
    """Raise ServiceNotOffered unless the office offers every service of the visit, and
    with ``limits`` VisitNotAllowed unless the visit keeps the office's limits
    (:func:`visits.check_visit`). ``lock``: lock the office's schedule for a booking in
    the same statement (:func:`queries.get_offered`)."""
    wanted = visits.service_ids(lines)
    combinable = queries.get_offered(office.id, wanted, lock=lock)
    missing = [sid for sid in wanted if sid not in combinable]
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
