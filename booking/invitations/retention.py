"""Invitations hold a citizen's name and email: they go ``RETENTION_DAYS`` after their
purpose is fulfilled (booked, declined, opted out) or their due date has passed (a step
of booking.retention.STEPS). Opt-outs (a hash) and the counts stay."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_

from booking.db import db
from booking.invitations.models import Invitation


def forget_invitations(cutoff: datetime) -> int:
    """Invitations that ended, or whose due date lies, before ``cutoff``."""
    return db.session.execute(delete(Invitation).where(or_(
        Invitation.ended_at < cutoff, Invitation.due_date < cutoff.date()))).rowcount
