"""What one appointment is for: one or more services, each for a number of persons.

Pure functions; the rules an office sets (how many persons and services, which services
may share an appointment) are checked by :func:`check_visit`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from booking.offices.models import Service


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
