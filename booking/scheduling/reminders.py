"""The reminder email N hours before an appointment (``Office.reminder_hours``, 0: none).

:func:`send_due_reminders` runs from ``flask send-reminders`` and from every process's
background sender (:mod:`booking.jobs`), with the clock as an argument. Each reminder is
queued exactly once, on any number of processes and servers: one conditional UPDATE
marks the appointment (``reminder_queued_at`` still empty, still confirmed) in the
transaction that queues the email; a concurrent sender's UPDATE waits for that row and
then matches nothing (PostgreSQL re-reads it; SQLite runs one writer at a time).

Only confirmed appointments get one (not cancelled ones, nor ones held for a double
opt-in), and not those booked after their reminder time: they have their confirmation.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from booking.db import db
from booking.notifications import reminder_mails
from booking.offices.models import Office
from booking.scheduling import codes
from booking.scheduling.models import CONFIRMED, Appointment


def _due(office: Office, now: datetime) -> list[Appointment]:
    lead = timedelta(hours=office.reminder_hours)
    rows = db.session.scalars(
        select(Appointment).where(
            Appointment.office_id == office.id, Appointment.status == CONFIRMED,
            Appointment.reminder_queued_at.is_(None), Appointment.email.is_not(None),
            Appointment.start_at > now, Appointment.start_at <= now + lead)
        .order_by(Appointment.start_at, Appointment.id)
    ).all()
    # booked after its reminder time (those stay unmarked; they leave the window soon)
    return [a for a in rows if a.created_at <= a.start_at - lead]


def queue_reminder(appointment: Appointment, now: datetime) -> bool:
    """Mark ``appointment`` and queue its reminder, unless another sender did so first
    (or it is no longer confirmed). The email's manage link carries a second token
    (``reminder_token_hash``): the first one is known only to the citizen."""
    token = codes.new_token()
    marked = db.session.execute(
        update(Appointment)
        .where(Appointment.id == appointment.id, Appointment.status == CONFIRMED,
               Appointment.reminder_queued_at.is_(None))
        .values(reminder_queued_at=now, reminder_token_hash=codes.hash_token(token))
        .execution_options(synchronize_session=False)
    ).rowcount
    if not marked:
        return False
    db.session.refresh(appointment)
    reminder_mails.notify_reminder(appointment, token, now)
    return True


def send_due_reminders(now: datetime) -> int:
    """Queue the reminder of every appointment now within its office's reminder time;
    returns how many were queued. Only flushes: the caller commits."""
    offices = db.session.scalars(select(Office).where(Office.reminder_hours > 0)).all()
    queued = 0
    for office in offices:
        for appointment in _due(office, now):
            queued += queue_reminder(appointment, now)
    db.session.flush()
    return queued
