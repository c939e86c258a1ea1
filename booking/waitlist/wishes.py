"""Registering and withdrawing waitlist wishes (the citizen pages and the JSON API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import gettext
from sqlalchemy import select, update

from booking.db import db
from booking.notifications import waitlist_mails
from booking.offices.models import Office, Service
from booking.scheduling import codes, holds, queries, visits
from booking.scheduling.models import HELD, Appointment
from booking.waitlist.models import ACTIVE, OFFERED, WITHDRAWN, WaitlistOffer, WaitlistWish

MORNING = (time(0), time(12))
AFTERNOON = (time(12), time(23, 59, 59))
ALL_DAY = (time(0), time(23, 59, 59))


class WishRejected(ValueError):
    """The wish cannot be registered; ``errors`` maps fields to translated messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(", ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Wish:
    """What a citizen asks for; checked by :func:`register_wish`."""

    service: Service
    offices: list[Office]
    weekdays: str  # ISO digits, e.g. "12345"
    from_time: time
    until_time: time
    until_date: date
    name: str
    email: str
    language: str = "de"
    persons: int = 1  # who need the service, in one appointment


def latest_until(offices: list[Office], now: datetime) -> date:
    """The last date a wish may run to: the end of the longest booking horizon."""
    return max(now.astimezone(o.tz).date() + timedelta(days=o.horizon_days) for o in offices)


def _check(wish: Wish, now: datetime) -> None:
    errors = {}
    if not wish.offices:
        errors["offices"] = gettext("Please choose at least one office.")
    elif any(not queries.is_offered(o.id, wish.service.id) for o in wish.offices):
        errors["offices"] = gettext("Not every office chosen offers this service.")
    if not 1 <= wish.persons <= visits.MAX_PERSONS_PER_LINE:
        errors["persons"] = gettext("The number of persons must be a whole number from 1 to "
                                    "%(max)d.", max=visits.MAX_PERSONS_PER_LINE)
    elif wish.offices:
        strictest = min(wish.offices, key=lambda o: o.max_persons)
        if wish.persons > strictest.max_persons:
            errors["persons"] = gettext(
                "At most %(max)d persons can come to one appointment at %(office)s.",
                max=strictest.max_persons, office=strictest.name)
    if not wish.weekdays or any(d not in "1234567" for d in wish.weekdays):
        errors["weekdays"] = gettext("Please choose at least one weekday.")
    if not wish.from_time < wish.until_time:
        errors["to"] = gettext("The end of the time window must be after its start.")
    if wish.offices and "offices" not in errors:
        today = now.astimezone(wish.offices[0].tz).date()
        last = latest_until(wish.offices, now)
        if not today <= wish.until_date <= last:
            errors["until"] = gettext("Please choose a date from today to %(last)s.",
                                      last=last.isoformat())
    if errors:
        raise WishRejected(errors)


def register_wish(wish: Wish, now: datetime) -> tuple[WaitlistWish, str]:
    """Store the wish and queue its confirmation (with the link to withdraw it); returns
    the row and the link's token. Raises WishRejected."""
    _check(wish, now)
    token = codes.new_token()
    row = WaitlistWish(
        service=wish.service, persons=wish.persons, offices=list(dict.fromkeys(wish.offices)),
        weekdays="".join(sorted(set(wish.weekdays))), from_time=wish.from_time,
        until_time=wish.until_time, until_date=wish.until_date, name=wish.name,
        email=wish.email, language=wish.language, token_hash=codes.hash_token(token),
        status=ACTIVE, created_at=now)
    db.session.add(row)
    db.session.flush()
    waitlist_mails.notify_wish_registered(row, token, now)
    return row, token


def get_wish(wish_id: int, token: str | None) -> WaitlistWish | None:
    wish = db.session.get(WaitlistWish, wish_id)
    if wish is None or not codes.token_matches(token, wish.token_hash):
        return None
    return wish


def withdraw_wish(wish: WaitlistWish, now: datetime) -> bool:
    """End the wish and its open offer; False if it was no longer active."""
    done = db.session.execute(
        update(WaitlistWish).where(WaitlistWish.id == wish.id, WaitlistWish.status == ACTIVE)
        .values(status=WITHDRAWN, ended_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if done:
        offer = get_open_offer(wish)
        if offer is not None:  # its held seat is free again at once
            offer.status = WITHDRAWN
            if offer.appointment_id is not None:
                held = db.session.get(Appointment, offer.appointment_id)
                if held.status == HELD:
                    held.held_until = now
                    holds.give_up_seats(held, now, None)
            db.session.flush()
    db.session.refresh(wish)
    return bool(done)


def get_open_offer(wish: WaitlistWish) -> WaitlistOffer | None:
    return db.session.scalar(select(WaitlistOffer).where(
        WaitlistOffer.wish_id == wish.id, WaitlistOffer.status == OFFERED))
