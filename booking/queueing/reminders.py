"""The citizen's reminder of a waiting ticket: "email me when three people are ahead"."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from booking.db import db
from booking.notifications import ticket_mails
from booking.notifications.models import OutboxMessage
from booking.offices.models import Office
from booking.queueing import errors
from booking.queueing.models import WAITING, Ticket
from booking.queueing.waits import QueueView, waiting_today

REMIND_AHEAD = 3  # people ahead when the reminder email goes out


def ask_for_reminder(ticket: Ticket, email: str, now: datetime) -> None:
    """The citizen wants an email when ``REMIND_AHEAD`` people are ahead of the waiting
    ``ticket`` (at once if that is so already). ``email`` must be validated.

    Once per ticket: the address cannot be changed or given again (ReminderAsked), so
    the status page cannot be used to send mail to anybody. The database decides, in one
    conditional update, so concurrent requests cannot both succeed."""
    if ticket.status != WAITING:
        raise errors.WrongState()
    asked = db.session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status == WAITING,
               Ticket.reminder_asked_at.is_(None))
        .values(notify_email=email, reminder_asked_at=now)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if not asked:
        db.session.refresh(ticket)
        raise errors.ReminderAsked() if ticket.reminder_asked_at else errors.WrongState()
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


def forget_reminders(before: datetime) -> int:
    """Drop what reminders asked before ``before`` still hold (the nightly day end and
    the retention purge): the address on the ticket and the reminder emails, sent or
    not, for a reminder of a past day is of no use. Returns the emails deleted."""
    db.session.execute(
        update(Ticket).where(Ticket.notify_email.is_not(None), Ticket.reminder_asked_at < before)
        .values(notify_email=None).execution_options(synchronize_session="fetch"))
    return db.session.execute(
        delete(OutboxMessage).where(OutboxMessage.kind == ticket_mails.KIND,
                                    OutboxMessage.created_at < before)
    ).rowcount

