"""Waitlist wishes and offers hold a citizen's name and email: they go
``RETENTION_DAYS`` after they end (steps of booking.retention.STEPS). The counts for
statistics (waitlist_stats) hold no personal data and stay."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select

from booking.db import db
from booking.waitlist.models import WaitlistOffer, WaitlistWish


def forget_offers(cutoff: datetime) -> int:
    """Offers that expired before ``cutoff``."""
    return db.session.execute(
        delete(WaitlistOffer).where(WaitlistOffer.expires_at < cutoff)).rowcount


def forget_wishes(cutoff: datetime) -> int:
    """Wishes whose last date (at their office) or end (withdrawn, taken) was over
    before ``cutoff``, with their offers."""
    candidates = db.session.scalars(select(WaitlistWish).where(or_(
        WaitlistWish.until_date < (cutoff + timedelta(days=1)).date(),
        WaitlistWish.ended_at < cutoff))).all()
    ids = [wish.id for wish in candidates
           if (wish.ended_at is not None and wish.ended_at < cutoff)
           or wish.last_day_over(cutoff)]
    if ids:
        db.session.execute(delete(WaitlistOffer).where(WaitlistOffer.wish_id.in_(ids)))
        db.session.execute(delete(WaitlistWish).where(WaitlistWish.id.in_(ids)))
    return len(ids)
