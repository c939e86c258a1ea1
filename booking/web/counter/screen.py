"""What the counter screen shows, prepared for the templates (they don't decide).

Reads only; the clock and the language are arguments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext, ngettext

from booking.offices.models import Counter, Office
from booking.queueing import counter_operations, errors, waits
from booking.queueing.models import APPOINTMENT, CALLED, Ticket
from booking.scheduling.codes import format_code
from booking.web.queue_presenters import counter_title, queue_error_message
from booking.web.ticket_status import ticket_service


@dataclass(frozen=True)
class TicketRow:
    id: str
    number: str
    service: str
    kind: str
    is_appointment: bool
    is_due: bool
    arrived: str  # local time, HH:MM
    waited_minutes: int
    waited: str  # "12 min"


@dataclass(frozen=True)
class Current:
    ticket: TicketRow
    status_key: str
    status: str
    is_called: bool  # called, not yet served: recall, start and no-show apply
    called: str
    recalls: int
    recall_seconds_left: int  # 0: a recall is possible now
    recall_note: str  # why not yet, or ""
    can_no_show: bool
    no_show_note: str  # why not yet, or ""
    citizen: str | None  # an appointment's name (the clerk greets and checks the person)
    code: str | None  # an appointment's booking code, formatted


@dataclass(frozen=True)
class CounterRow:
    id: int
    name: str
    services: str
    paused: bool


@dataclass(frozen=True)
class OfficeCounters:
    id: str
    name: str
    counters: list[CounterRow]


@dataclass(frozen=True)
class Screen:
    counter_id: int
    name: str
    office_id: str
    office_name: str
    services: str
    paused: bool
    current: Current | None
    current_key: str  # which ticket in which state: live updates compare it
    call_note: str | None  # why "Call next" is not possible now; None: it is
    pause_note: str | None  # why "Pause" is not possible now; None: it is
    waiting: list[TicketRow]
    waiting_label: str
    parked: list[TicketRow]
    transfer_choices: list[tuple[str, str]]


def _minutes(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() // 60))


def _row(ticket: Ticket, office: Office, now: datetime, lang: str) -> TicketRow:
    waited = _minutes(now - ticket.arrived_at)
    window = timedelta(minutes=office.queue_window_minutes)
    return TicketRow(
        id=ticket.id, number=ticket.number, service=ticket_service(ticket, lang),
        kind=gettext("Appointment") if ticket.kind == APPOINTMENT else gettext("Walk-in"),
        is_appointment=ticket.kind == APPOINTMENT,
        is_due=ticket.due_at is not None and ticket.due_at - window <= now,
        arrived=ticket.arrived_at.astimezone(office.tz).strftime("%H:%M"),
        waited_minutes=waited, waited=gettext("%(minutes)s min", minutes=waited),
    )


def _current(ticket: Ticket, office: Office, now: datetime, lang: str) -> Current:
    called_at = ticket.called_at or now
    is_called = ticket.status == CALLED
    ready_at = called_at + timedelta(seconds=office.queue_recall_cooldown_seconds)
    left = max(0, math.ceil((ready_at - now).total_seconds())) if is_called else 0
    recall_note = gettext(
        "Calling again is possible in %(seconds)s seconds (at %(time)s).", seconds=left,
        time=ready_at.astimezone(office.tz).strftime("%H:%M:%S")) if left else ""
    needed = office.queue_max_recalls
    can_no_show = is_called and ticket.recalls >= needed
    no_show_note = "" if can_no_show or not is_called else " ".join((
        queue_error_message(errors.NoShowTooSoon(needed)),
        gettext("Recalls so far: %(count)s.", count=ticket.recalls)))
    appointment = ticket.appointment if ticket.kind == APPOINTMENT else None
    return Current(
        ticket=_row(ticket, office, now, lang), status_key=ticket.status,
        status=gettext("Called") if is_called else gettext("Being served"),
        is_called=is_called, called=called_at.astimezone(office.tz).strftime("%H:%M"),
        recalls=ticket.recalls, recall_seconds_left=left, recall_note=recall_note,
        can_no_show=can_no_show, no_show_note=no_show_note,
        citizen=appointment.name if appointment is not None else None,
        code=format_code(appointment.code) if appointment is not None else None,
    )


def service_names(counter: Counter, lang: str) -> str:
    services = sorted(counter.services, key=lambda s: (s.position, s.id))
    return ", ".join(s.text("name", lang) for s in services) or gettext("none")


def build(counter: Counter, now: datetime, lang: str) -> Screen:
    office = counter.office
    view = waits.QueueView(office, now)
    active = counter_operations.get_active(counter)
    current = _current(active, office, now, lang) if active is not None else None
    waiting = [_row(t, office, now, lang) for t in view.for_counter(counter)]
    if counter.paused:
        call_note = queue_error_message(errors.CounterPaused())
    elif active is not None:
        call_note = queue_error_message(errors.CounterBusy())
    else:
        call_note = None
    service_id = active.service_id if active is not None else None
    return Screen(
        counter_id=counter.id, name=counter_title(counter.name), office_id=office.id, office_name=office.name,
        services=service_names(counter, lang), paused=counter.paused, current=current,
        current_key=f"{active.id}:{active.status}:{active.recalls}" if active else "",
        call_note=call_note,
        pause_note=(queue_error_message(errors.CounterBusy())
                    if active is not None and not counter.paused else None),
        waiting=waiting, waiting_label=waiting_label(len(waiting)),
        parked=[_row(t, office, now, lang) for t in counter_operations.get_parked(office)],
        transfer_choices=[(s.id, s.text("name", lang)) for s in office.services
                          if s.id != service_id],
    )


def waiting_label(count: int) -> str:
    if count == 0:
        return gettext("Nobody is waiting for this counter.")
    return ngettext("%(num)s waiting", "%(num)s waiting", count)


def chooser(offices: list[Office], lang: str) -> list[OfficeCounters]:
    return [OfficeCounters(o.id, o.name, [
        CounterRow(c.id, counter_title(c.name), service_names(c, lang), c.paused) for c in o.counters])
        for o in offices]
