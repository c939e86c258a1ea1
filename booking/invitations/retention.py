"""Invitations hold a citizen's name and email: they go ``RETENTION_DAYS`` after their
purpose is fulfilled (booked, declined, opted out) or their due date has passed (a step
of booking.retention.STEPS). Opt-outs (a hash) and the counts stay."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select

from booking.db import db
from booking.invitations.models import Invitation
from booking.offices.models import Office


def forget_invitations(cutoff: datetime) -> int:
    """Invitations that ended before ``cutoff``, or whose due date (a date at their
    office) was over before it: one statement per time zone of the offices."""
    offices: dict[str, list[str]] = {}
    for office_id, timezone in db.session.execute(select(Office.id, Office.timezone)):
        offices.setdefault(timezone, []).append(office_id)
    return sum(db.session.execute(delete(Invitation).where(
        Invitation.office_id.in_(office_ids),
        or_(Invitation.ended_at < cutoff,
            Invitation.due_date < cutoff.astimezone(ZoneInfo(timezone)).date()))).rowcount
               for timezone, office_ids in offices.items())
