"""The waitlist matcher: offers free starts to the longest-waiting matching wishes.

:func:`run_matcher` runs from ``flask waitlist-offers`` and from every process's
background sender (:mod:`booking.jobs`), with the clock as an argument. It needs no hook
in cancellations, closures or rule changes: whatever freed a seat (a cancellation, a
closure lifted, new capacity), the next run sees it among the free starts.

Per run: open offers past their time expire (their start goes to the next wish in the
same run; the wish that let it expire is not offered that start again); wishes past
their date end; then, per (office, service) that active wishes ask for, the free starts
are handed out in order of the wishes' age, each wish getting its earliest matching
start where all its persons fit (as for a booking of that visit). The starts are listed
once per number of persons, and again after an offer to another number of persons,
whose hold may overlap them. At most one open offer per wish and per
(office, service, start) (database indexes): a concurrent matcher's duplicate fails its
savepoint and is skipped.

Seat hold: :func:`_offer` books the start for the wish's citizen as a *held*
appointment (booking.scheduling.holds) until the offer expires, through the one booking
path; nobody else can book the seat meanwhile, and when the offer expires the seat is
free again by itself. Accepting confirms that hold
(:func:`booking.waitlist.offers.accept_offer`); withdrawing the wish frees it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from booking.db import db
from booking.notifications import waitlist_mails
from booking.offices.models import Office, Service
from booking.scheduling import codes, operations, visits
from booking.scheduling.errors import NotBookable, ServiceNotOffered, SlotTaken, VisitNotAllowed
from booking.scheduling.slots import FreeSlot
from booking.waitlist import stats
from booking.waitlist.models import (
    ACTIVE,
    ENDED,
    EXPIRED,
    OFFERED,
    WaitlistOffer,
    WaitlistWish,
    wish_offices,
)

MIN_HOLD = timedelta(minutes=10)  # an offer that could be held for less is not made


@dataclass(frozen=True)
class MatcherRun:
    expired: int
    ended: int
    offered: int


def expire_offers(now: datetime) -> int:
    """Open offers whose time is over become expired (counted for statistics)."""
    due = db.session.scalars(select(WaitlistOffer).where(
        WaitlistOffer.status == OFFERED, WaitlistOffer.expires_at <= now)).all()
    expired = 0
    for offer in due:
        if db.session.execute(
            update(WaitlistOffer).where(WaitlistOffer.id == offer.id,
                                        WaitlistOffer.status == OFFERED)
            .values(status=EXPIRED).execution_options(synchronize_session=False)
        ).rowcount:
            stats.count(offer.office, offer.service_id, now, "expired")
            expired += 1
    return expired


def end_past_wishes(now: datetime) -> int:
    """Active wishes whose last date is over (in their first office's time zone) end."""
    candidates = db.session.scalars(select(WaitlistWish).where(
        WaitlistWish.status == ACTIVE,
        WaitlistWish.until_date < (now + timedelta(days=1)).date())).all()
    ended = 0
    for wish in candidates:
        if wish.last_day_over(now):
            wish.status, wish.ended_at = ENDED, now
            ended += 1
    db.session.flush()
    return ended


def _matches(wish: WaitlistWish, office: Office, slot: FreeSlot) -> bool:
    local = slot.start_at.astimezone(office.tz)
    return (str(local.isoweekday()) in wish.weekdays
            and wish.from_time <= local.time().replace(tzinfo=None) < wish.until_time
            and local.date() <= wish.until_date)


def _open_starts() -> set[tuple[str, str, datetime]]:
    return {(o, s, at) for o, s, at in db.session.execute(select(
        WaitlistOffer.office_id, WaitlistOffer.service_id, WaitlistOffer.start_at)
        .where(WaitlistOffer.status == OFFERED))}


def _let_expire(office_id: str, service_id: str) -> set[tuple[int, datetime]]:
    """(wish, start) of the offers a wish let expire: that start goes to the next wish."""
    return {(w, at) for w, at in db.session.execute(select(
        WaitlistOffer.wish_id, WaitlistOffer.start_at).where(
        WaitlistOffer.office_id == office_id, WaitlistOffer.service_id == service_id,
        WaitlistOffer.status == EXPIRED))}


def _waiting_wishes(office_id: str, service_id: str) -> list[WaitlistWish]:
    """Active wishes for the pair without an open offer, longest-waiting first."""
    has_offer = select(WaitlistOffer.id).where(WaitlistOffer.wish_id == WaitlistWish.id,
                                               WaitlistOffer.status == OFFERED).exists()
    return list(db.session.scalars(
        select(WaitlistWish).join(wish_offices, wish_offices.c.wish_id == WaitlistWish.id)
        .where(wish_offices.c.office_id == office_id, WaitlistWish.service_id == service_id,
               WaitlistWish.status == ACTIVE, ~has_offer)
        .order_by(WaitlistWish.created_at, WaitlistWish.id)))


def _visit(service: Service, persons: int) -> list[visits.Line]:
    return [visits.Line(service, persons)]


def _offer(wish: WaitlistWish, office: Office, service: Service, slot: FreeSlot,
           now: datetime) -> bool:
    """Create the offer and queue its email; False if a concurrent matcher was first."""
    lead = timedelta(minutes=office.lead_time_minutes)
    # held for the office's time, but never past the moment it can no longer be booked
    expires_at = min(now + timedelta(minutes=office.waitlist_hold_minutes),
                     slot.start_at - lead)
    if expires_at - now < MIN_HOLD:
        return False
    token = codes.new_token()
    offer = WaitlistOffer(wish=wish, office=office, service=service, start_at=slot.start_at,
                          expires_at=expires_at, created_at=now, status=OFFERED,
                          token_hash=codes.hash_token(token))
    citizen = operations.Citizen(wish.name, wish.email, None, wish.language)
    try:
        with db.session.begin_nested():
            db.session.add(offer)
            db.session.flush()
            # the seat is held for the offer (an appointment held until the offer expires,
            # through the one booking path): nobody else books it meanwhile, and when the
            # offer expires the seat is free again by itself
            held, _ = operations.book_appointment(office, _visit(service, wish.persons),
                                                  slot.start_at, citizen, now,
                                                  hold_until=expires_at, notify=False)
            offer.appointment_id = held.id
            db.session.flush()
    except (IntegrityError, NotBookable, SlotTaken, VisitNotAllowed):
        return False
    stats.count(office, service.id, now, "offered")
    waitlist_mails.notify_offer(offer, token, now)
    return True


def _free_starts(office: Office, service: Service, persons: int, now: datetime, until: date,
                 taken: set) -> list[FreeSlot]:
    """The free starts for ``persons`` up to ``until`` not offered already; none if the
    office no longer offers the service or allows that many persons."""
    try:
        free = operations.list_free_slots(office, _visit(service, persons), now, None, until)
    except (ServiceNotOffered, VisitNotAllowed):
        return []
    return [s for s in free if (office.id, service.id, s.start_at) not in taken]


def make_offers(now: datetime) -> int:
    """Offer free starts to waiting wishes; returns the number of offers made."""
    pairs = db.session.execute(
        select(wish_offices.c.office_id, WaitlistWish.service_id).distinct()
        .join(WaitlistWish, WaitlistWish.id == wish_offices.c.wish_id)
        .where(WaitlistWish.status == ACTIVE)
        .order_by(wish_offices.c.office_id, WaitlistWish.service_id)).all()
    taken = _open_starts()
    served: set[int] = set()  # wishes offered a start in this run (at another office)
    made = 0
    for office_id, service_id in pairs:
        wishes = [w for w in _waiting_wishes(office_id, service_id) if w.id not in served]
        if not wishes:
            continue
        office, service = db.session.get(Office, office_id), db.session.get(Service, service_id)
        until = max(w.until_date for w in wishes)
        let_go = _let_expire(office.id, service.id)
        free_of: dict[int, list[FreeSlot]] = {}  # persons → free starts, listed when needed
        for wish in wishes:  # longest-waiting first, whatever their persons
            if wish.persons not in free_of:
                free_of[wish.persons] = _free_starts(office, service, wish.persons, now, until,
                                                     taken)
            free = free_of[wish.persons]
            slot = next((s for s in free if _matches(wish, office, s)
                         and (wish.id, s.start_at) not in let_go), None)
            if slot is None:
                continue
            free.remove(slot)
            if _offer(wish, office, service, slot, now):
                served.add(wish.id)
                taken.add((office.id, service.id, slot.start_at))
                made += 1
                # the hold may overlap starts listed for other numbers of persons
                free_of = {wish.persons: free}
    return made


def run_matcher(now: datetime) -> MatcherRun:
    """One round: expire, end past wishes, offer. Only flushes: the caller commits."""
    expired = expire_offers(now)
    ended = end_past_wishes(now)
    offered = make_offers(now)
    db.session.flush()
    return MatcherRun(expired, ended, offered)
