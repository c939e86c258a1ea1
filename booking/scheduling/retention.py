"""Data protection (DSGVO): personal data of appointments is kept only as long as needed.

One step of the retention purge (:mod:`booking.retention`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update

from booking.db import db
from booking.notifications.models import PENDING, OutboxMessage
from booking.scheduling.models import Appointment

ANONYMOUS = "–"


def anonymise_appointments(now: datetime, before: datetime) -> int:
    """Anonymise appointments that ended, or were cancelled, before ``before``, and
    delete their emails that are no longer pending. Returns the appointments anonymised.

    Code, service, office, times, channel and status stay for statistics; name, email,
    phone and the reason for a cancellation (free text a clerk typed, which may name the
    citizen) go. A cancelled appointment goes ``before`` after its cancellation, even
    when its date is still ahead.
    """
    ids = db.session.scalars(
        select(Appointment.id).where(
            Appointment.name != ANONYMOUS,
            or_(Appointment.end_at < before, Appointment.cancelled_at < before),
        )
    ).all()
    if not ids:
        return 0
    db.session.execute(
        update(Appointment)
        .where(Appointment.id.in_(ids))
        .values(name=ANONYMOUS, email=None, email_key=None, phone=None, cancel_reason=None,
                updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    db.session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.appointment_id.in_(ids), OutboxMessage.status != PENDING
        )
    )
    return len(ids)
