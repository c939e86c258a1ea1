"""The walk-in queue benchmark's data (bench/queue_run.py): the office's bench counters
and clerk, tickets drawn or filled in, the queue kept at a length during a run, and the
whole run's check by SQL. Everything runs in the benchmark's own process, against the
same PostgreSQL database as the server."""

from __future__ import annotations

import os
import threading

OFFICE = "mitte"
SERVICE = "meldebescheinigung"


def prepare(app, counters: int) -> tuple[str, list[int]]:
    """``counters`` bench counters at OFFICE for SERVICE, a clerk's API token, and
    opening hours all day every day for SERVICE (the kiosk draws only while the office is
    open, and the benchmark may run at night)."""
    from datetime import time as clock
    from datetime import timedelta

    from sqlalchemy import select

    from booking.accounts.models import User
    from booking.accounts.operations import create_user, issue_api_token
    from booking.db import db, utcnow
    from booking.offices.models import AvailabilityRule, Counter, Office, Service

    with app.app_context():
        office = db.session.get(Office, OFFICE)
        office.queue_daily_limit = None
        service = db.session.get(Service, SERVICE)
        db.session.add(AvailabilityRule(
            office=office, weekdays="1234567", start_time=clock(0), end_time=clock(23, 59, 59),
            valid_from=utcnow().date() - timedelta(days=1), capacity=1, services=[service]))
        for i in range(counters):
            db.session.add(Counter(office=office, name=f"Bench {i + 1:03d}", services=[service]))
        user = create_user("bench-clerk@example.org", os.urandom(12).hex(), "clerk", [OFFICE],
                           utcnow())
        db.session.flush()
        token = issue_api_token(db.session.get(User, user.id), utcnow())
        db.session.commit()
        ids = db.session.scalars(select(Counter.id).where(Counter.name.like("Bench %"))
                                 .order_by(Counter.name)).all()
        db.session.remove()
    return token, list(ids)


def draw(app, n: int) -> list[str]:
    """``n`` walk-in tickets for SERVICE at OFFICE, through the domain (numbering and
    contingent as at the kiosk; opening hours ignored, the benchmark may run at night)."""
    from booking.db import db, utcnow
    from booking.offices.models import Office
    from booking.queueing.arrivals import draw_ticket

    ids = []
    with app.app_context():
        office = db.session.get(Office, OFFICE)
        for i in range(n):
            ids.append(draw_ticket(office, SERVICE, utcnow(), always_open=True).ticket.id)
            if i % 200 == 199:
                db.session.commit()
        db.session.commit()
        db.session.remove()
    return ids


def fill(app, n: int) -> None:
    """``n`` more waiting walk-in tickets in one statement, numbered from the office's
    running number like drawn ones (the throughput runs keep the queue level with it;
    cheaper than ``draw`` so the keeper costs the machine little)."""
    import secrets

    from sqlalchemy import insert
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    from booking.db import db, utcnow
    from booking.offices.models import Office, Service
    from booking.queueing import ordering
    from booking.queueing.models import WAITING, WALK_IN, Ticket, TicketDay

    with app.app_context():
        office, service = db.session.get(Office, OFFICE), db.session.get(Service, SERVICE)
        now = utcnow()
        day = ordering.local_day(now, office.tz)
        last = db.session.scalar(
            pg_insert(TicketDay).values(office_id=OFFICE, day=day, last_seq=n, walk_ins=n)
            .on_conflict_do_update(index_elements=["office_id", "day"],
                                   set_={"last_seq": TicketDay.last_seq + n,
                                         "walk_ins": TicketDay.walk_ins + n})
            .returning(TicketDay.last_seq))
        db.session.execute(insert(Ticket), [
            {"id": secrets.token_urlsafe(16), "office_id": OFFICE, "service_id": SERVICE,
             "day": day, "seq": seq, "number": ordering.format_number(service.queue_prefix, seq),
             "kind": WALK_IN, "language": "de", "status": WAITING, "arrived_at": now,
             "recalls": 0} for seq in range(last - n + 1, last + 1)])
        db.session.commit()
        db.session.remove()


class Level(threading.Thread):
    """Keeps about ``size`` tickets waiting during a throughput run: fills up behind the
    clerks calling, closes the newest as not served behind the drawers."""

    def __init__(self, app, size: int):
        super().__init__(daemon=True)
        self.app, self.size, self.done = app, size, threading.Event()
        self.seen: list[int] = []

    def run(self) -> None:
        while not self.done.wait(0.05):
            n = waiting_count(self.app)
            self.seen.append(n)
            if n < self.size:
                fill(self.app, self.size - n)
            elif n > self.size + 20:
                set_waiting(self.app, self.size)

    def stop(self) -> dict:
        self.done.set()
        self.join()
        seen = sorted(self.seen) or [0]
        return {"min": seen[0], "median": seen[len(seen) // 2], "max": seen[-1]}


def waiting_count(app) -> int:
    from sqlalchemy import func, select

    from booking.db import db
    from booking.queueing.models import WAITING, Ticket

    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(Ticket)
                              .where(Ticket.office_id == OFFICE, Ticket.status == WAITING))
        db.session.remove()
    return n


def top_up(app, size: int) -> int:
    """Tickets until ``size`` wait; returns how many were added."""
    missing = max(0, size - waiting_count(app))
    if missing:
        fill(app, missing)
    return missing


def set_waiting(app, size: int) -> int:
    """Exactly ``size`` waiting: draw more, or close the last ones as not served."""
    from sqlalchemy import select, update

    from booking.db import db, utcnow
    from booking.queueing.models import UNSERVED, WAITING, Ticket

    top_up(app, size)
    with app.app_context():
        extra = db.session.scalars(
            select(Ticket.id).where(Ticket.office_id == OFFICE, Ticket.status == WAITING)
            .order_by(Ticket.arrived_at.desc(), Ticket.id.desc())
            .limit(max(0, waiting_count(app) - size))).all()
        if extra:
            db.session.execute(update(Ticket).where(Ticket.id.in_(extra))
                               .values(status=UNSERVED, finished_at=utcnow()))
            db.session.commit()
        db.session.remove()
    return waiting_count(app)


def integrity(app) -> dict:
    """By SQL: tickets called, and any counter with more than one active ticket."""
    from sqlalchemy import func, select

    from booking.db import db
    from booking.queueing.models import CALLED, SERVING, Ticket

    with app.app_context():
        called = db.session.scalar(select(func.count()).select_from(Ticket)
                                   .where(Ticket.called_at.is_not(None)))
        doubled = db.session.execute(
            select(Ticket.counter_id, func.count())
            .where(Ticket.status.in_((CALLED, SERVING)))
            .group_by(Ticket.counter_id).having(func.count() > 1)).all()
        db.session.remove()
    return {"tickets_with_a_call": called, "counters_with_two_active": len(doubled)}
