"""Lottery release: announcing one, holding its days back, entering and verifying.

The draw itself is in :mod:`booking.fairness.lottery_run` (the database side) and
:mod:`booking.fairness.lottery_draw` (pure). Operations take ``now``, only flush, and
queue their emails in the outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from booking.audit.log import record
from booking.db import db
from booking.fairness.emails import normalise_email
from booking.fairness.lottery_draw import TIME_BANDS
from booking.fairness.lottery_models import OPEN, Lottery, LotteryEntry, lottery_offices
from booking.notifications import lottery_mails
from booking.offices.models import Office, Service
from booking.scheduling import codes, slots


class LotteryError(Exception):
    """Base of the lottery's refusals."""


class NotOffered(LotteryError):
    """An office taking part does not offer the service."""


class BadWindow(LotteryError):
    """The entry window is over already or does not end before the lottery's days."""


class Overlaps(LotteryError):
    """Another lottery not drawn yet covers some of the same days, service and office."""


class WindowClosed(LotteryError):
    """Entering or verifying outside the entry window."""


class AlreadyEntered(LotteryError):
    """This (normalised) email address has an entry already."""


class BadWishes(LotteryError):
    """No office, weekday or time of day, or one that is not part of the lottery."""


# ---------------------------------------------------------------- the manager's side

def create_lottery(service: Service, offices: Sequence[Office], first_day: date,
                   last_day: date, opens_at: datetime, closes_at: datetime, actor,
                   now: datetime) -> Lottery:
    """Announce a lottery of ``service`` at ``offices`` for the local dates
    first_day..last_day, with entries from ``opens_at`` until ``closes_at`` (the draw).
    From now on those days' slots are held back (:func:`withhold_lottery_days`).
    Audited once per office. Raises NotOffered, BadWindow or Overlaps."""
    if not offices or any(service not in office.services for office in offices):
        raise NotOffered()
    if not opens_at < closes_at or closes_at <= now or last_day < first_day:
        raise BadWindow()
    if any(closes_at.astimezone(office.tz).date() >= first_day for office in offices):
        raise BadWindow()  # the draw must come before the first of its days
    overlapping = db.session.scalar(
        select(Lottery.id).join(lottery_offices)
        .where(Lottery.service_id == service.id, Lottery.status == OPEN,
               lottery_offices.c.office_id.in_([office.id for office in offices]),
               Lottery.first_day <= last_day, Lottery.last_day >= first_day).limit(1))
    if overlapping is not None:
        raise Overlaps()
    lottery = Lottery(service=service, offices=list(offices), first_day=first_day,
                      last_day=last_day, opens_at=opens_at, closes_at=closes_at, status=OPEN,
                      created_at=now)
    db.session.add(lottery)
    db.session.flush()
    after = {"service_id": service.id, "offices": [office.id for office in offices],
             "first_day": first_day, "last_day": last_day, "opens_at": opens_at,
             "closes_at": closes_at}
    for office in offices:
        record(actor, "lottery.created", "lottery", lottery.id, office_id=office.id,
               after={k: v.isoformat() if isinstance(v, date | datetime) else v
                      for k, v in after.items()}, now=now)
    return lottery


def get_lotteries(office_ids: Sequence[str]) -> list[Lottery]:
    """Lotteries that one of ``office_ids`` takes part in, the latest first."""
    return list(db.session.scalars(
        select(Lottery).where(Lottery.id.in_(
            select(lottery_offices.c.lottery_id)
            .where(lottery_offices.c.office_id.in_(office_ids))))
        .order_by(Lottery.closes_at.desc(), Lottery.id.desc())))


# ---------------------------------------------------------------- holding days back

_HELD_BACK = (  # (built once: every listing and booking runs it)
    select(Lottery.first_day, Lottery.last_day).join(lottery_offices)
    .where(lottery_offices.c.office_id == bindparam("office"),
           Lottery.service_id == bindparam("service"), Lottery.status == OPEN,
           Lottery.first_day <= bindparam("last"), Lottery.last_day >= bindparam("first")))


def withhold_lottery_days(office: Office, service_id: str | None, steps: slots.OpenSteps
                          ) -> slots.OpenSteps:
    """``steps`` without the days that a lottery not drawn yet holds back for
    ``service_id`` at ``office``: those seats are given by the draw, not booked first
    come, first served. After the draw the remaining seats are bookable as usual."""
    if not steps or service_id is None:
        return steps
    days = [step.day for step in steps.values()]
    held = db.session.execute(_HELD_BACK, {"office": office.id, "service": service_id,
                             "first": min(days), "last": max(days)}).all()
    if not held:
        return steps
    return {at: step for at, step in steps.items()
            if not any(first <= step.day <= last for first, last in held)}


def lottery_days_of(office_ids: Sequence[str], service_ids: Sequence[str], first_day: date,
                    last_day: date) -> dict[str, list[tuple[date, date]]]:
    """The days lotteries not drawn yet hold back for any of ``service_ids`` at each of
    several offices within first_day..last_day, in one query: office id → (first, last)
    days. :func:`withhold_lottery_days` for many offices (and services) at once."""
    rows = db.session.execute(
        select(lottery_offices.c.office_id, Lottery.first_day, Lottery.last_day)
        .join(Lottery, Lottery.id == lottery_offices.c.lottery_id)
        .where(lottery_offices.c.office_id.in_(list(office_ids)),
               Lottery.service_id.in_(list(service_ids)), Lottery.status == OPEN,
               Lottery.first_day <= last_day, Lottery.last_day >= first_day))
    held: dict[str, list[tuple[date, date]]] = {}
    for office_id, first, last in rows:
        held.setdefault(office_id, []).append((first, last))
    return held


# ---------------------------------------------------------------- the citizens' side

def get_announced(service_id: str, now: datetime, office_id: str | None = None
                  ) -> list[Lottery]:
    """Lotteries of the service not drawn yet (at ``office_id``, if given), by draw."""
    query = (select(Lottery).where(Lottery.service_id == service_id, Lottery.status == OPEN)
             .order_by(Lottery.closes_at, Lottery.id))
    if office_id is not None:
        query = query.where(Lottery.id.in_(select(lottery_offices.c.lottery_id)
                                           .where(lottery_offices.c.office_id == office_id)))
    return list(db.session.scalars(query))


def get_next_draw(lottery: Lottery) -> datetime | None:
    """When the next announced lottery of the same service is drawn, if there is one."""
    return db.session.scalar(
        select(Lottery.closes_at).where(Lottery.service_id == lottery.service_id,
                                        Lottery.status == OPEN, Lottery.id != lottery.id,
                                        Lottery.closes_at > lottery.closes_at)
        .order_by(Lottery.closes_at).limit(1))


def is_taking_entries(lottery: Lottery, now: datetime) -> bool:
    return lottery.status == OPEN and lottery.opens_at <= now < lottery.closes_at


def enter(lottery: Lottery, name: str, email: str, language: str, office_ids: Sequence[str],
          weekdays: Sequence[int], times: Sequence[str], now: datetime
          ) -> tuple[LotteryEntry, str]:
    """Enter ``lottery`` (``name`` and ``email`` validated already) and queue the email
    whose link verifies the entry; returns (entry, token). Only verified entries are
    drawn. Raises WindowClosed, BadWishes, or AlreadyEntered: one entry per normalised
    email, decided by the database's unique key."""
    if not is_taking_entries(lottery, now):
        raise WindowClosed()
    allowed = set(lottery.office_ids)
    if (not office_ids or not set(office_ids) <= allowed or not weekdays
            or not set(weekdays) <= set(range(1, 8)) or not times
            or not set(times) <= TIME_BANDS.keys()):
        raise BadWishes()
    token = codes.new_token()
    entry = LotteryEntry(
        lottery_id=lottery.id, name=name, email=email, email_key=normalise_email(email),
        language=language, offices=",".join(sorted(set(office_ids))),
        weekdays="".join(str(day) for day in sorted(set(weekdays))),
        times=",".join(band for band in TIME_BANDS if band in times),
        token_hash=codes.hash_token(token), created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(entry)
    except IntegrityError:
        raise AlreadyEntered() from None
    lottery_mails.notify_verify(entry, lottery, token, now)
    return entry, token


def get_entry_by_token(token: str) -> LotteryEntry | None:
    return db.session.scalar(
        select(LotteryEntry).where(LotteryEntry.token_hash == codes.hash_token(token)))


def verify_entry(entry: LotteryEntry, now: datetime) -> bool:
    """Confirm the entry's address (the citizen pressed the button of the emailed link).
    Returns False if it was verified already. Raises WindowClosed after the close."""
    if not is_taking_entries(entry.lottery, now):
        raise WindowClosed()
    if entry.verified_at is not None:
        return False
    entry.verified_at = now
    db.session.flush()
    return True
