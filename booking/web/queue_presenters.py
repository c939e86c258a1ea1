"""What the kiosk, counter screens, displays, status pages and the API show of the queue.

Shared by the HTML blueprints and the JSON API so that every screen tells the same
story. Reads only; no request globals except through the arguments.
"""

from __future__ import annotations

from datetime import datetime

from flask import abort
from flask_babel import gettext
from sqlalchemy.orm import joinedload

from booking.accounts.models import User
from booking.db import db
from booking.i18n import current_language, local_date
from booking.links import external_url
from booking.offices.models import Counter, Office
from booking.queueing import errors
from booking.queueing.models import Ticket
from booking.queueing.waits import TicketState, ticket_state
from booking.web.auth import can_access_office


def counter_title(name: str | None) -> str | None:
    """How every screen, page and list names a counter: its label (a number or a short
    name, e.g. "3") in the one translated format, "Schalter 3" / "Counter 3"."""
    return gettext("Counter %(name)s", name=name) if name else None


def status_url(ticket: Ticket) -> str:
    return external_url("display.ticket_status", ticket_id=ticket.id)


def ticket_json(ticket: Ticket, now: datetime, state: TicketState | None = None) -> dict:
    """The public view of a ticket: number, status, position, wait, counter. Nothing personal.
    Only a waiting ticket has a position (counted in the database, see waits.ticket_state;
    ``state``: as counted already, for a ticket just drawn)."""
    state = state if state is not None else ticket_state(ticket, now)
    return {
        "id": ticket.id,
        "number": ticket.number,
        "status": ticket.status,
        "service": ticket.service_id,
        "office": ticket.office_id,
        "kind": ticket.kind,
        "position": state.ahead,
        "estimated_wait_minutes": state.estimate,
        "counter": state.counter,
        "counter_id": ticket.counter_id,
        "recalls": ticket.recalls,
        "status_url": status_url(ticket),
    }


def display_json(office: Office, current: list[Ticket], recent: list[Ticket], waiting: int) -> dict:
    def call(t: Ticket) -> dict:
        return {"number": t.number, "counter": t.counter.name if t.counter else None,
                "called_at": t.called_at.isoformat() if t.called_at else None}

    return {"current": [call(t) for t in current], "recent": [call(t) for t in recent],
            "waiting": waiting}


def counter_for(user: User, counter_id) -> Counter:
    """A counter the user may work at: 404 if unknown, 403 if of another office."""
    counter = db.session.get(Counter, counter_id) if isinstance(counter_id, int) else None
    if counter is None:
        abort(404, gettext("Unknown counter."))
    if not can_access_office(user, counter.office_id):
        abort(403)
    return counter


def public_ticket(ticket_id: str) -> Ticket:
    """A ticket by its unguessable id (the key to its public pages): 404 if unknown."""
    ticket = db.session.get(Ticket, ticket_id) if len(ticket_id) <= 32 else None
    if ticket is None:
        abort(404, gettext("Unknown ticket."))
    return ticket


_WITH_COUNTER = (joinedload(Ticket.counter),)  # a loader option, built once


def ticket_for(user: User, ticket_id: str) -> Ticket:
    """A ticket of one of the user's offices: 404 if unknown, 403 otherwise. Its counter
    comes in the same query (every answer about it names the counter)."""
    ticket = db.session.get(Ticket, ticket_id, options=_WITH_COUNTER) \
        if isinstance(ticket_id, str) else None
    if ticket is None:
        abort(404, gettext("Unknown ticket."))
    if not can_access_office(user, ticket.office_id):
        abort(403)
    return ticket


def queue_error_message(exc: errors.QueueError) -> str:
    if isinstance(exc, errors.OfficeClosedNow):
        return gettext("No tickets right now: the office is closed at this time.")
    if isinstance(exc, errors.ContingentExhausted):
        return gettext("Today's tickets are all given out. Please come back on another day "
                       "or book an appointment online.")
    if isinstance(exc, errors.ServiceNotOffered):
        return gettext("This office does not offer this service.")
    if isinstance(exc, errors.UnknownAppointment):
        return gettext("No appointment with this booking code at this office.")
    if isinstance(exc, errors.NotCheckable):
        if exc.reason == "cancelled":
            return gettext("This appointment was cancelled.")
        if exc.reason == "not_confirmed":
            return gettext("This appointment was not confirmed by email, so it is not "
                           "booked. Please draw a ticket or ask at the counter.")
        if exc.reason == "other_day" and exc.day is not None:
            return gettext("This appointment is on %(date)s, not today.",
                           date=local_date(exc.day, current_language(), "long"))
        return gettext("This appointment is already checked in.")
    if isinstance(exc, errors.CounterBusy):
        return gettext("Finish or park the current ticket first.")
    if isinstance(exc, errors.CounterPaused):
        return gettext("This counter is paused. Resume it to call tickets.")
    if isinstance(exc, errors.ReminderAsked):
        return gettext("A reminder for this number was requested already.")
    if isinstance(exc, errors.RecallTooSoon):
        return gettext("Please wait %(seconds)s seconds before calling again.",
                       seconds=exc.seconds_left)
    if isinstance(exc, errors.NoShowTooSoon):
        return gettext("A no-show can be recorded after %(count)s recalls.",
                       count=exc.recalls_needed)
    return gettext("This is not possible for the ticket in its current state.")


def queue_error_status(exc: errors.QueueError) -> int:
    if isinstance(exc, errors.UnknownAppointment):
        return 404
    if isinstance(exc, errors.ServiceNotOffered):
        return 422
    return 409
