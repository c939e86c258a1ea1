"""Emails are kept only as long as needed: one step of the retention purge
(:mod:`booking.retention`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func

from booking.db import db
from booking.notifications.models import PENDING, OutboxMessage


def forget_delivered(before: datetime) -> int:
    """Delete every email that was sent, or failed for good, before ``before``: what
    stays of it after delivery (recipient, subject, the snapshot it was rendered from)
    names the citizen. The bytes themselves are dropped at delivery already (see
    :func:`booking.notifications.outbox._record`). Pending emails stay until they are
    sent. Returns the rows deleted."""
    done_at = func.coalesce(OutboxMessage.sent_at, OutboxMessage.next_attempt_at)
    return db.session.execute(
        delete(OutboxMessage).where(OutboxMessage.status != PENDING, done_at < before)
        .execution_options(synchronize_session=False)
    ).rowcount
