"""Accepting a waitlist offer: one click (a POST) confirms the appointment that has held the
offered seat since the offer was made (booking.waitlist.matching)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from booking.db import db
from booking.scheduling import codes, holds
from booking.scheduling.models import Appointment
from booking.waitlist import stats
from booking.waitlist.models import OFFERED, TAKEN, WITHDRAWN, WaitlistOffer


class OfferGone(Exception):
    """The offer expired, was taken already or withdrawn."""


class SeatGone(Exception):
    """The seat was booked by somebody else meanwhile; the wish stays active."""


def get_offer(offer_id: int, token: str | None) -> WaitlistOffer | None:
    offer = db.session.get(WaitlistOffer, offer_id)
    if offer is None or not codes.token_matches(token, offer.token_hash):
        return None
    return offer


def is_open(offer: WaitlistOffer, now: datetime) -> bool:
    return offer.status == OFFERED and now < offer.expires_at


def accept_offer(offer: WaitlistOffer, now: datetime) -> tuple[Appointment, str]:
    """Confirm the held appointment of the offer; returns (appointment, manage token).

    The offer is claimed with a conditional UPDATE first, so a double click or two tabs
    confirm once (OfferGone for the second). If the hold is gone (a closure, a rule
    change), the offer is withdrawn and the wish stays active for the next free seat
    (SeatGone)."""
    claimed = db.session.execute(
        update(WaitlistOffer).where(WaitlistOffer.id == offer.id,
                                    WaitlistOffer.status == OFFERED,
                                    WaitlistOffer.expires_at > now)
        .values(status=TAKEN).execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(offer)
    if not claimed:
        raise OfferGone()
    wish = offer.wish
    appointment = db.session.get(Appointment, offer.appointment_id) \
        if offer.appointment_id is not None else None
    try:
        if appointment is None:  # (the hold was cancelled by the office)
            raise holds.HoldLapsed("no hold")
        token = holds.confirm_hold(appointment, now)  # the normal confirmation email
    except holds.HoldLapsed:
        offer.status = WITHDRAWN
        db.session.flush()
        raise SeatGone() from None
    wish.status, wish.ended_at = TAKEN, now
    stats.count(offer.office, offer.service_id, now, "taken")
    db.session.flush()
    return appointment, token
