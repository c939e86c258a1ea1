"""A ticket in words, for the kiosk's ticket page and the public status page.

Prepared values only (templates don't decide); nothing personal: number, office,
service, status, people ahead, estimated wait and the counter once called.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext, ngettext

from booking.queueing.models import (
    CALLED,
    DONE,
    NO_SHOW,
    PARKED,
    SERVING,
    UNSERVED,
    WAITING,
    Ticket,
)
from booking.queueing.waits import TicketState, ticket_state
from booking.scheduling import visit_texts
from booking.web.queue_presenters import counter_title


@dataclass(frozen=True)
class TicketFacts:
    number: str
    office: str
    service: str
    status: str
    status_text: str
    ahead: int | None
    ahead_text: str | None
    wait_text: str | None
    counter: str | None

    @property
    def is_called(self) -> bool:
        """Called or being served: show the counter big."""
        return self.status in (CALLED, SERVING) and self.counter is not None


def _status_text(status: str, counter: str | None) -> str:
    if status == CALLED:
        return gettext("Called to %(counter)s", counter=counter or "?")
    if status == SERVING:
        return gettext("You are being served at %(counter)s.", counter=counter or "?")
    return {
        WAITING: gettext("Waiting"),
        PARKED: gettext("On hold. When you are ready, please tell the staff at the counter."),
        DONE: gettext("Done. Thank you for your visit."),
        NO_SHOW: gettext("Missed: you were called but did not come. "
                         "Please ask at the information desk."),
        UNSERVED: gettext("Not served: the office day has ended."),
    }.get(status, status)


def _ahead_text(ahead: int | None) -> str | None:
    if ahead is None:
        return None
    if ahead == 0:
        return gettext("You are next.")
    return ngettext("%(num)s person ahead of you", "%(num)s people ahead of you", ahead)


def _wait_text(ahead: int | None, minutes: int | None) -> str | None:
    if ahead is None:
        return None
    if minutes is None:
        return gettext("The waiting time can't be estimated right now.")
    if minutes == 0:
        return gettext("You will be called soon.")
    return ngettext("Estimated wait: about %(num)s minute",
                    "Estimated wait: about %(num)s minutes", minutes)


def facts_from(state: TicketState, office: str, service: str) -> TicketFacts:
    """The facts of a ticket's plain state, in the current locale; ``office`` and
    ``service`` are names in the page's language."""
    counter = counter_title(state.counter)
    return TicketFacts(
        number=state.number,
        office=office,
        service=service,
        status=state.status,
        status_text=_status_text(state.status, counter),
        ahead=state.ahead,
        ahead_text=_ahead_text(state.ahead),
        wait_text=_wait_text(state.ahead, state.estimate),
        counter=counter,
    )


def ticket_facts(ticket: Ticket, now: datetime, language: str) -> TicketFacts:
    """The ticket as the public sees it, in the current locale (texts) and ``language``
    (the service's name)."""
    return facts_from(ticket_state(ticket, now), ticket.office.name,
                      ticket_service(ticket, language))


def ticket_service(ticket: Ticket, language: str) -> str:
    """What the ticket is for: an appointment's services and persons ("Reisepass × 3,
    Wohnsitz anmelden"; one ticket for the whole appointment), else the service's name
    (also once a clerk passed the ticket on to another service)."""
    appointment = ticket.appointment
    if appointment is not None and appointment.service_id == ticket.service_id:
        return visit_texts.summary(appointment.lines, language)
    return ticket.service.text("name", language)


def service_queue_text(ahead: int, minutes: int | None) -> str:
    """For a service button on the kiosk: who waits now and the wait for a new ticket."""
    waiting = (gettext("Nobody is waiting.") if ahead == 0 else
               ngettext("%(num)s person waiting", "%(num)s people waiting", ahead))
    if ahead == 0 or minutes is None:
        return waiting
    return waiting + " · " + ngettext("about %(num)s minute", "about %(num)s minutes", minutes)
