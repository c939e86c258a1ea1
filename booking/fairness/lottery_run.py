"""Running a lottery's draw: exactly once, across servers, at the close of its window.

:func:`draw_lottery` claims the lottery with one conditional update
(``status 'open' → 'drawn'`` where it is still open and due): on PostgreSQL a second
server's update waits for the first one's row lock and then matches nothing; SQLite runs
one writer at a time. Within the same transaction it works out the free seats, draws
(:func:`booking.fairness.lottery_draw.draw`), books the winners through the one booking
path (:func:`booking.scheduling.operations.book_appointment`, which sends the usual
confirmation with the calendar invitation) and queues a "not drawn" email for the others.
If anything fails, the transaction rolls back and the lottery is still open: the next
run draws it. Once it commits, the days' remaining seats are bookable as usual.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import delete, select, update

from booking.audit.log import record
from booking.db import db
from booking.fairness.lottery import get_next_draw
from booking.fairness.lottery_draw import Entry, Seat, draw, seat_starts
from booking.fairness.lottery_models import DRAWN, LOST, OPEN, WON, Lottery, LotteryEntry
from booking.notifications import lottery_mails
from booking.scheduling import operations, queries, visits
from booking.scheduling.errors import NotBookable, SlotTaken

log = logging.getLogger(__name__)

#: who the audit log names for the draw (no staff member runs it)
DRAW_ACTOR = SimpleNamespace(id=None, email="lottery-draw")


def get_due(now: datetime) -> list[int]:
    """Ids of the lotteries whose window has closed and that are not drawn yet."""
    return list(db.session.scalars(
        select(Lottery.id).where(Lottery.status == OPEN, Lottery.closes_at <= now)
        .order_by(Lottery.closes_at, Lottery.id)))


def get_seats(lottery: Lottery, now: datetime) -> list[Seat]:
    """The appointments the lottery can give: at each office, as many as fit at once into
    the seats of its days that are free now (bookable by the citizens' rules at ``now``)."""
    result = []
    service = lottery.service
    for office in lottery.offices:
        rules = queries.get_rules(office)
        steps = queries.get_open_steps(office, rules, service.id, lottery.first_day,
                                       lottery.last_day)
        taken = queries.get_taken(office, rules, lottery.first_day, lottery.last_day, now)
        for start_at in seat_starts(steps, taken, service.duration_minutes,
                                    queries.get_policy(office), now):
            result.append(Seat(office.id, start_at, start_at.astimezone(office.tz)))
    return result


def _as_entry(entry: LotteryEntry) -> Entry:
    return Entry(id=entry.id, email_key=entry.email_key, offices=frozenset(entry.office_list),
                 weekdays=frozenset(int(day) for day in entry.weekdays),
                 times=frozenset(entry.times.split(",")))


def draw_lottery(lottery_id: int, now: datetime, seed: str | None = None) -> dict | None:
    """Draw the lottery if it is due and nobody drew it yet; returns the audited summary
    (seed and counts), or None if there was nothing to draw. ``seed``: for tests."""
    seed = seed or secrets.token_hex(16)
    claimed = db.session.execute(
        update(Lottery)
        .where(Lottery.id == lottery_id, Lottery.status == OPEN, Lottery.closes_at <= now)
        .values(status=DRAWN, drawn_at=now, seed=seed)
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return None
    lottery = db.session.get(Lottery, lottery_id)
    db.session.refresh(lottery)
    entries = list(db.session.scalars(
        select(LotteryEntry).where(LotteryEntry.lottery_id == lottery.id)
        .order_by(LotteryEntry.id)))
    verified = [entry for entry in entries if entry.verified_at is not None]
    seats = get_seats(lottery, now)
    result = draw([_as_entry(entry) for entry in verified], seats, seed)
    offices = {office.id: office for office in lottery.offices}
    by_id = {entry.id: entry for entry in verified}
    next_draw_at = get_next_draw(lottery)
    booked = 0
    for entry_id, seat in sorted(result.winners.items(), key=lambda item: item[1].start_at):
        entry = by_id[entry_id]
        citizen = operations.Citizen(entry.name, entry.email, None, entry.language)
        try:
            appointment, _ = operations.book_appointment(
                offices[seat.office_id], visits.single(lottery.service), seat.start_at,
                citizen, now)
        except (NotBookable, SlotTaken):  # cannot happen while the days are held back
            entry.outcome = LOST
            lottery_mails.notify_not_drawn(entry, lottery, next_draw_at, now)
            continue
        entry.outcome, entry.appointment_id = WON, appointment.id
        booked += 1
    for entry_id in result.losers:
        entry = by_id[entry_id]
        entry.outcome = LOST
        lottery_mails.notify_not_drawn(entry, lottery, next_draw_at, now)
    lottery.entries_count, lottery.verified_count = len(entries), len(verified)
    lottery.seats_count, lottery.winners_count = len(seats), booked
    summary = {"seed": seed, "entries": len(entries), "verified": len(verified),
               "seats": len(seats), "winners": booked}
    for office_id in offices:
        record(DRAW_ACTOR, "lottery.drawn", "lottery", lottery.id, office_id=office_id,
               after=summary, now=now)
    db.session.flush()
    return summary


def forget_entries(now: datetime, retention: timedelta) -> int:
    """Delete the entries (names, addresses, wishes) of lotteries drawn more than
    ``retention`` ago; the lottery keeps its seed and counts. Returns how many."""
    drawn_before = select(Lottery.id).where(Lottery.status == DRAWN,
                                            Lottery.drawn_at < now - retention)
    return db.session.execute(
        delete(LotteryEntry).where(LotteryEntry.lottery_id.in_(drawn_before))
        .execution_options(synchronize_session=False)).rowcount


def draw_due(now: datetime) -> list[tuple[int, dict]]:
    """Draw every due lottery, each in its own transaction (a failing one stays open for
    the next run and keeps the others from nothing). For the CLI and the background
    sender; returns (lottery id, summary) of those this process drew."""
    from booking.db import unit_of_work

    with unit_of_work():
        due = get_due(now)
    drawn = []
    for lottery_id in due:
        try:
            with unit_of_work():
                summary = draw_lottery(lottery_id, now)
        except Exception:  # logged; the lottery stays open and is drawn by the next run
            log.exception("lottery %s could not be drawn", lottery_id)
            continue
        if summary is not None:
            drawn.append((lottery_id, summary))
    return drawn
