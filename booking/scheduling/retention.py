"""Data protection (DSGVO): personal data of appointments is kept only as long as needed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from booking.db import db
from booking.fairness import altcha
from booking.notifications.models import PENDING, OutboxMessage
from booking.scheduling import idempotency
from booking.scheduling.models import Appointment

ANONYMOUS = "–"


def purge_personal_data(now: datetime, retention: timedelta) -> tuple[int, int]:
    """Anonymise appointments that ended (or were cancelled) more than ``retention`` ago,
    and delete their delivered emails. Returns (appointments anonymised, emails deleted).

    Code, service, office, times and status stay for statistics; name, email and phone go.
    Idempotency keys older than a day are deleted too, and spent proofs of work that
    have expired.
    """
    idempotency.purge_expired(now)
    altcha.purge_spent(now)
    cutoff = now - retention
    ids = db.session.scalars(
        select(Appointment.id).where(
            Appointment.name != ANONYMOUS,
            or_(Appointment.end_at < cutoff, Appointment.cancelled_at < cutoff),
        )
    ).all()
    if not ids:
        return 0, 0
    db.session.execute(
        update(Appointment)
        .where(Appointment.id.in_(ids))
        .values(name=ANONYMOUS, email=None, phone=None, updated_at=now)
    )
    emails = db.session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.appointment_id.in_(ids), OutboxMessage.status != PENDING
        )
    ).rowcount
    return len(ids), emails
