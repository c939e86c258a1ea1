"""The ``/metrics`` text: the counters of every process plus what the database says now.

With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn) the scrape reads every worker's files
(prometheus_client's MultiProcessCollector; event streams of dead workers drop out, their
counts stay); otherwise this process's :data:`booking.metrics.REGISTRY`. The database
figures are read by the one process that answers the scrape, with one cheap query each
(the outbox on its status index, today's tickets per office on their office/day index).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import and_, func, or_, select

from booking.metrics import REGISTRY

CONTENT_TYPE = CONTENT_TYPE_LATEST


def is_multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def render(now: datetime) -> bytes:
    """The exposition text for a scrape at ``now`` (needs an app context)."""
    registry = CollectorRegistry(auto_describe=False)
    if is_multiprocess():
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(_Snapshot(database_metrics(now)))
    return generate_latest(registry)


class _ThisProcess:
    def collect(self) -> Iterator[Metric]:
        return REGISTRY.collect()


class _Snapshot:
    def __init__(self, metrics: list[Metric]):
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return iter(self.metrics)


def database_metrics(now: datetime) -> list[Metric]:
    """Gauges of the state in the database at ``now``: the outbox backlog and its oldest
    pending email, and per office the people waiting today, how long the longest has
    waited and when the last call was (0: none today)."""
    from booking.db import db
    from booking.notifications.models import PENDING, OutboxMessage
    from booking.offices.models import Office
    from booking.queueing.models import WAITING, Ticket
    from booking.queueing.ordering import local_day

    pending, oldest = db.session.execute(
        select(func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status == PENDING)).one()
    backlog = GaugeMetricFamily("booking_outbox_pending",
                                "Emails in the outbox waiting to be sent", value=pending)
    age = GaugeMetricFamily(
        "booking_outbox_oldest_pending_age_seconds",
        "Age of the oldest email waiting in the outbox (0: none waits)",
        value=_seconds_since(oldest, now))

    waiting = GaugeMetricFamily("booking_queue_waiting_tickets",
                                "Tickets waiting to be called today, by office", labels=["office"])
    longest = GaugeMetricFamily(
        "booking_queue_oldest_waiting_seconds",
        "How long the ticket waiting longest today has waited (0: nobody waits), by office",
        labels=["office"])
    last_call = GaugeMetricFamily(
        "booking_queue_last_call_timestamp_seconds",
        "Unix time of the office's last call today (0: no call yet today), by office",
        labels=["office"])
    offices = db.session.execute(select(Office.id, Office.timezone).order_by(Office.id)).all()
    if offices:
        from zoneinfo import ZoneInfo

        days = {office_id: local_day(now, ZoneInfo(tz)) for office_id, tz in offices}
        is_waiting = Ticket.status == WAITING
        rows = db.session.execute(
            select(Ticket.office_id, func.count().filter(is_waiting),
                   func.min(Ticket.arrived_at).filter(is_waiting), func.max(Ticket.called_at))
            .where(or_(*(and_(Ticket.office_id == office_id, Ticket.day == day)
                         for office_id, day in days.items())))
            .group_by(Ticket.office_id)).all()
        today = {row[0]: row[1:] for row in rows}
        for office_id in days:
            count, first_arrival, called_at = today.get(office_id, (0, None, None))
            waiting.add_metric([office_id], count or 0)
            longest.add_metric([office_id], _seconds_since(first_arrival, now))
            last_call.add_metric([office_id], called_at.timestamp() if called_at else 0)
    return [backlog, age, waiting, longest, last_call]


def _seconds_since(instant: datetime | None, now: datetime) -> float:
    if instant is None:
        return 0.0
    return max(0.0, (now - instant).total_seconds())
