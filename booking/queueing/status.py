"""An office's state right now, for the open status feed and the widget: open or when it
opens next, people waiting, the estimated wait and the first free online appointment per
service. Nothing personal. Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from booking.db import db
from booking.offices.models import Office, Service
from booking.queueing import opening, ordering
from booking.queueing.waits import QueueView
from booking.scheduling import next_free, queries, slots

LOOKAHEAD_DAYS = 31  # how far ahead the next opening is looked for


@dataclass(frozen=True)
class ServiceStatus:
    service: Service
    is_open: bool  # a ticket can be drawn for it now
    waiting: int  # tickets of this service waiting now
    ahead: int  # people a ticket drawn now would have ahead (those competing for its counters)
    estimate: int | None  # minutes for a ticket drawn now; None when closed or no counter serves it
    next_free: slots.FreeSlot | None  # the first free online start, None within the horizon


@dataclass(frozen=True)
class OfficeStatus:
    office: Office
    at: datetime
    opening: opening.Opening
    services: list[ServiceStatus]


def get_periods(office: Office, now: datetime, service_ids) -> dict[str | None, list]:
    """Opening periods from today on (:data:`LOOKAHEAD_DAYS`), for the office as a whole
    (key None) and for each of ``service_ids``."""
    first = ordering.local_day(now, office.tz)
    last = first + timedelta(days=LOOKAHEAD_DAYS)
    rules = queries.get_rules(office)
    closed = queries.get_closures(office, first, last)
    holidays = queries.get_holidays(office.state, first, last)
    return {key: opening.opening_periods(rules, closed, holidays, key, office.tz, first, last)
            for key in (None, *service_ids)}


def get_office_status(office: Office, now: datetime, *, always_open: bool = False
                      ) -> OfficeStatus:
    """The office's status at ``now``. ``always_open``: the demo setting QUEUE_ALWAYS_OPEN
    (the kiosk ignores opening hours), so the office is shown open."""
    services = list(office.services)
    periods = get_periods(office, now, [s.id for s in services])
    view = QueueView(office, now)
    free = next_free.first_free_starts(office, services, now)
    rows = []
    for service in services:
        is_open = always_open or opening.opening_at(periods[service.id], now).is_open
        ahead, estimate = view.for_new(service)
        rows.append(ServiceStatus(service, is_open, view.waiting_for(service.id), ahead,
                                  estimate if is_open else None, free[service.id]))
    state = (opening.Opening(True) if always_open
             else opening.opening_at(periods[None], now))
    return OfficeStatus(office, now, state, rows)


def get_all_statuses(now: datetime, *, always_open: bool = False) -> list[OfficeStatus]:
    offices = db.session.scalars(select(Office).order_by(Office.name, Office.id))
    return [get_office_status(o, now, always_open=always_open) for o in offices]
