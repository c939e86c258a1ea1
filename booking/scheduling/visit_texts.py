"""How an appointment's services and persons are shown: pages, emails, the calendar
entry, the staff API and feed. Pure functions of its lines (``.service``, ``.persons``:
appointment lines or :class:`booking.scheduling.visits.Line`).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from booking.offices.models import Service
from booking.scheduling.visits import Line, summary

__all__ = ["bring_text", "fee_cents", "lines_from_snapshot", "lines_json", "persons",
           "snapshot_lines", "summary"]


def persons(lines) -> int:
    return sum(line.persons for line in lines)


def fee_cents(lines) -> int | None:
    """The fee of the whole appointment: each service's fee once per person; None
    ("depends on the case") when any service's fee does."""
    fees = [line.service.fee_cents for line in lines]
    if not fees or any(fee is None for fee in fees):
        return None
    return sum(line.service.fee_cents * line.persons for line in lines)


def bring_text(lines, language: str) -> str:
    """What to bring for all the services, each service's text once, in order."""
    texts: list[str] = []
    for line in lines:
        text = line.service.text("bring", language)
        if text and text not in texts:
            texts.append(text)
    return "; ".join(texts)


def lines_json(lines, language: str) -> list[dict]:
    """``[{"service": id, "name": ..., "persons": n}]`` (the JSON APIs)."""
    return [{"service": line.service.id, "name": line.service.text("name", language),
             "persons": line.persons} for line in lines]


def snapshot_lines(appointment) -> list[list]:
    """``[[service id, persons], ...]``: what a queued email keeps of the lines."""
    return [[line.service_id, line.persons] for line in appointment.lines]


def lines_from_snapshot(snap: dict, get_service: Callable[[str], Service | None]
                        ) -> Sequence[Line]:
    """The lines a queued snapshot names (one line, one person, for snapshots queued
    before appointments had lines); LookupError when a service is gone."""
    pairs = snap.get("lines") or [[snap["service_id"], 1]]
    lines = []
    for service_id, count in pairs:
        service = get_service(service_id)
        if service is None:
            raise LookupError(f"service {service_id!r} is gone")
        lines.append(Line(service, count))
    return lines
