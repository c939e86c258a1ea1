"""The floor right now, for the manager's live view: who waits for which service, the
longest current wait, and what every counter does. Numbers, ticket numbers and counter
names only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from booking.db import db
from booking.offices.models import Counter, Office, Service
from booking.queueing.models import CALLED, DONE, PARKED, SERVING, WAITING, Ticket

IDLE, PAUSED = "idle", "paused"


@dataclass(frozen=True)
class ServiceNow:
    service: Service
    waiting: int
    parked: int
    longest_minutes: int | None


@dataclass(frozen=True)
class CounterNow:
    name: str
    state: str  # idle, paused, called, serving
    number: str | None
    since: datetime | None
    served_today: int


@dataclass(frozen=True)
class Floor:
    services: list[ServiceNow]
    counters: list[CounterNow]
    longest_minutes: int | None

    @property
    def waiting(self) -> int:
        return sum(s.waiting for s in self.services)

    @property
    def counters_open(self) -> int:
        return sum(1 for c in self.counters if c.state != PAUSED)


def floor_now(office: Office, now: datetime) -> Floor:
    today = now.astimezone(office.tz).date()
    t = Ticket
    rows = db.session.execute(
        select(t.service_id, t.status, func.count(), func.min(t.arrived_at))
        .where(t.office_id == office.id, t.day == today, t.status.in_((WAITING, PARKED)))
        .group_by(t.service_id, t.status)).all()
    counts: dict[tuple[str, str], int] = {}
    oldest: dict[str, datetime] = {}
    for service_id, status, count, first in rows:
        counts[(service_id, status)] = int(count)
        if status == WAITING and first is not None:
            oldest[service_id] = first

    def minutes(since: datetime | None) -> int | None:
        return None if since is None else max(0, int((now - since).total_seconds() // 60))

    services = [ServiceNow(s, counts.get((s.id, WAITING), 0), counts.get((s.id, PARKED), 0),
                           minutes(oldest.get(s.id)))
                for s in office.services]
    active = {c: (n, st, called, started) for c, n, st, called, started in db.session.execute(
        select(t.counter_id, t.number, t.status, t.called_at, t.started_at)
        .where(t.office_id == office.id, t.status.in_((CALLED, SERVING))))}
    served = dict(db.session.execute(
        select(t.counter_id, func.count()).where(t.office_id == office.id, t.day == today,
                                                 t.status == DONE)
        .group_by(t.counter_id)).all())
    counters = []
    for counter in db.session.scalars(select(Counter).where(Counter.office_id == office.id)
                                      .order_by(Counter.name, Counter.id)):
        ticket = active.get(counter.id)
        if ticket is not None:
            number, status, called, started = ticket
            state, since = status, started if status == SERVING else called
        else:
            number, since = None, None
            state = PAUSED if counter.paused else IDLE
        counters.append(CounterNow(counter.name, state, number, since,
                                   int(served.get(counter.id, 0))))
    return Floor(services, counters, minutes(min(oldest.values())) if oldest else None)
