"""The citizen's reminder of a waiting ticket: "email me when three people are ahead"."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from booking.db import db
from booking.notifications import ticket_mails
from booking.offices.models import Office
from booking.queueing import errors
from booking.queueing.models import WAITING, Ticket
from booking.queueing.waits import QueueView, waiting_today

REMIND_AHEAD = 3  # people ahead when the reminder email goes out


def ask_for_reminder(ticket: Ticket, email: str, now: datetime) -> None:
    """The citizen wants an email when ``REMIND_AHEAD`` people are ahead of the waiting
    ``ticket`` (at once if that is so already). ``email`` must be validated."""
    if ticket.status != WAITING:
        raise errors.WrongState()
    ticket.notify_email, ticket.notified_at = email, None
    db.session.flush()
    remind_almost_there(ticket.office, now)


def remind_almost_there(office: Office, now: datetime) -> int:
    """Queue the reminder of every waiting ticket now close enough; runs when the queue
    moves forward (a call; transfers and returns only add to it). The address is
    dropped from the ticket once the email is queued. Returns how many were queued."""
    asked = db.session.scalars(
        select(Ticket).where(*waiting_today(office, now), Ticket.notify_email.is_not(None))
    ).all()
    if not asked:
        return 0
    view = QueueView(office, now)
    queued = 0
    for ticket in asked:
        ahead = view.position(ticket)
        if ahead is not None and ahead <= REMIND_AHEAD:
            ticket_mails.notify_almost_there(ticket, ticket.notify_email, ahead, now)
            ticket.notify_email, ticket.notified_at = None, now
            queued += 1
    db.session.flush()
    return queued
