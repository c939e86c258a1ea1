"""Counts of waitlist offers made, taken and expired, per office, service and local day.
No personal data: they outlive the wishes and offers (retention purge)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from booking.db import add_one, db
from booking.offices.models import Office
from booking.waitlist.models import WaitlistStat

FIELDS = ("offered", "taken", "expired")


def count(office: Office, service_id: str, now: datetime, field: str) -> None:
    """Add one to ``field`` for the office's local day of ``now``."""
    assert field in FIELDS
    add_one(WaitlistStat, {"office_id": office.id, "service_id": service_id,
                       "day": now.astimezone(office.tz).date()}, field, FIELDS)


@dataclass(frozen=True)
class Counts:
    service_id: str
    offered: int
    taken: int
    expired: int


def get_offer_counts(office_id: str, first_day: date, last_day: date,
                     service_id: str | None = None) -> list[Counts]:
    """Offers made, taken and expired at an office on local days first..last, per service."""
    query = (select(WaitlistStat.service_id, func.sum(WaitlistStat.offered),
                    func.sum(WaitlistStat.taken), func.sum(WaitlistStat.expired))
             .where(WaitlistStat.office_id == office_id, WaitlistStat.day >= first_day,
                    WaitlistStat.day <= last_day)
             .group_by(WaitlistStat.service_id).order_by(WaitlistStat.service_id))
    if service_id is not None:
        query = query.where(WaitlistStat.service_id == service_id)
    return [Counts(s, int(o), int(t), int(e)) for s, o, t, e in db.session.execute(query)]
