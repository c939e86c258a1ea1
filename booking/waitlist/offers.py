"""Accepting a waitlist offer: one click (a POST) books it through the normal booking path."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from booking.db import db
from booking.scheduling import codes, operations
from booking.scheduling.errors import NotBookable, ServiceNotOffered, SlotTaken
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
    """Book the offered start for the wish's citizen; returns (appointment, manage token).

    The offer is claimed with a conditional UPDATE first, so a double click or two tabs
    book once (OfferGone for the second). If the seat is gone, the offer is withdrawn
    and the wish stays active for the next free seat (SeatGone)."""
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
    citizen = operations.Citizen(wish.name, wish.email, None, wish.language)
    try:
        # (with the seat hold: book against the offer's hold here)
        appointment, token = operations.book_appointment(
            offer.office, offer.service, offer.start_at, citizen, now)
    except (NotBookable, SlotTaken, ServiceNotOffered):
        offer.status = WITHDRAWN
        db.session.flush()
        raise SeatGone() from None
    offer.appointment_id = appointment.id
    wish.status, wish.ended_at = TAKEN, now
    stats.count(offer.office, offer.service_id, now, "taken")
    db.session.flush()
    return appointment, token
