"""What one appointment is for: one or more services, each for a number of persons.

Pure functions; the rules an office sets (how many persons and services, which services
may share an appointment) are checked by :func:`check_visit`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from booking.offices.models import Service
from booking.scheduling.errors import VisitNotAllowed
from booking.scheduling.slots import Rule

#: the reasons of VisitNotAllowed
NO_SERVICE, PERSONS, TOO_MANY_PERSONS, TOO_MANY_SERVICES, TWICE, NOT_COMBINABLE = (
    "no_service", "persons", "too_many_persons", "too_many_services", "twice",
    "not_combinable")
MAX_PERSONS_PER_LINE = 20  # as the table allows (appointment_services.persons)


@dataclass(frozen=True)
class Line:
    service: Service
    persons: int = 1


def line_minutes(service: Service, persons: int) -> int:
    """The first person takes the service's duration, each further one its
    ``further_person_minutes`` (the same again when unset)."""
    further = (service.further_person_minutes if service.further_person_minutes is not None
               else service.duration_minutes)
    return service.duration_minutes + (persons - 1) * further


def visit_minutes(lines: Sequence[Line]) -> int:
    """How long the whole appointment takes."""
    return sum(line_minutes(line.service, line.persons) for line in lines)


def summary(lines, language: str) -> str:
    """"Reisepass × 3, Personalausweis": the services in order, with their persons when
    more than one. ``lines`` are :class:`Line` or appointment lines (``.service``,
    ``.persons``)."""
    return ", ".join(
        line.service.text("name", language) + (f" × {line.persons}" if line.persons > 1 else "")
        for line in lines)


def single(service: Service) -> list[Line]:
    """The visit of one person for one service (every single-service booking)."""
    return [Line(service, 1)]


def service_ids(lines: Sequence[Line]) -> list[str]:
    return [line.service.id for line in lines]


def check_visit(lines: Sequence[Line], max_persons: int, max_services: int,
                combinable: Mapping[str, bool]) -> None:
    """Raise VisitNotAllowed unless the visit keeps an office's rules: at least one
    service, none twice, each for 1 to 20 persons, at most ``max_persons`` persons and
    ``max_services`` services in all, and a service not ``combinable`` (service id →
    whether it may share an appointment) only alone. Whether the office offers the
    services at all is the caller's check."""
    if not lines:
        raise VisitNotAllowed(NO_SERVICE)
    ids = service_ids(lines)
    for line in lines:
        if not 1 <= line.persons <= MAX_PERSONS_PER_LINE:
            raise VisitNotAllowed(PERSONS, MAX_PERSONS_PER_LINE, line.service.id)
    twice = next((sid for n, sid in enumerate(ids) if sid in ids[:n]), None)
    if twice is not None:
        raise VisitNotAllowed(TWICE, service_id=twice)
    if len(lines) > max_services:
        raise VisitNotAllowed(TOO_MANY_SERVICES, max_services)
    if sum(line.persons for line in lines) > max_persons:
        raise VisitNotAllowed(TOO_MANY_PERSONS, max_persons)
    if len(lines) > 1:
        alone = next((sid for sid in ids if not combinable.get(sid, True)), None)
        if alone is not None:
            raise VisitNotAllowed(NOT_COMBINABLE, service_id=alone)


def offering_rules(rules: Iterable[Rule], lines: Sequence[Line]) -> tuple[Rule, ...]:
    """The rules (seat lines) that offer every service of the visit; a rule without
    services offers all of the office's."""
    wanted = set(service_ids(lines))
    return tuple(rule for rule in rules if not rule.service_ids or wanted <= rule.service_ids)


def fingerprint_part(lines: Sequence[Line]) -> str | list:
    """What a visit adds to an idempotency fingerprint: the service's id for one person
    and one service (as before there were visits), else [[id, persons], …]."""
    if len(lines) == 1 and lines[0].persons == 1:
        return lines[0].service.id
    return [[line.service.id, line.persons] for line in lines]
