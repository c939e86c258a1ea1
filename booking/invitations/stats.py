"""Counts of invitations sent, booked, declined and opted out, per office, service and
local month. No personal data: they outlive the invitations (retention purge)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from booking.db import add_one, db
from booking.invitations.models import InvitationStat
from booking.offices.models import Office

FIELDS = ("sent", "booked", "declined", "opted_out")


def count(office: Office, service_id: str, now: datetime, field: str) -> None:
    """Add one to ``field`` for the office's local month of ``now``."""
    assert field in FIELDS
    add_one(InvitationStat, {"office_id": office.id, "service_id": service_id,
                       "month": now.astimezone(office.tz).date().replace(day=1)}, field, FIELDS)


@dataclass(frozen=True)
class Counts:
    office_id: str
    service_id: str
    month: date
    sent: int
    booked: int
    declined: int
    opted_out: int


def get_counts(office_ids: Iterable[str], first_month: date | None = None,
               last_month: date | None = None) -> list[Counts]:
    """The counts of the offices per service and month (newest month first)."""
    query = select(InvitationStat).where(InvitationStat.office_id.in_(list(office_ids)))
    if first_month is not None:
        query = query.where(InvitationStat.month >= first_month.replace(day=1))
    if last_month is not None:
        query = query.where(InvitationStat.month <= last_month.replace(day=1))
    query = query.order_by(InvitationStat.month.desc(), InvitationStat.office_id,
                           InvitationStat.service_id)
    return [Counts(s.office_id, s.service_id, s.month, s.sent, s.booked, s.declined,
                   s.opted_out) for s in db.session.scalars(query)]
