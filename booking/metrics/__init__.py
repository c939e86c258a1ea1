"""Operational metrics (Prometheus, prometheus_client): the metric objects and
:func:`count`, which counts a domain event once its transaction commits.

Under gunicorn every worker is its own process: ``PROMETHEUS_MULTIPROC_DIR`` (set up by
deploy/gunicorn.conf.py before prometheus_client is imported) makes each process write
its values to files there, and a scrape of any worker adds them up
(booking.metrics.exposition). Without it (``flask run``, the tests) the values live in
this process and :data:`REGISTRY` exports them.

Labels never carry a path, an id of a person or a token: endpoints are Flask endpoint
names, offices their short ids (a handful, chosen by the administrator).

What is in the database now (the outbox backlog, the people waiting) is read at scrape
time by booking.metrics.exposition, not kept here.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

from booking.after_commit import after_commit

disable_created_metrics()  # the *_created series: not in multiprocess mode either
REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "booking_http_requests", "HTTP requests answered, by endpoint, method and status class",
    ["endpoint", "method", "status"], registry=REGISTRY)
HTTP_DURATION = Histogram(
    "booking_http_request_duration_seconds",
    "Time to the response's headers (event streams: to their start), by endpoint",
    ["endpoint"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
BOOKINGS = Counter(
    "booking_appointments_booked",
    "Appointments confirmed (booked directly, or a held one confirmed), by office and channel",
    ["office", "channel"], registry=REGISTRY)
CANCELLATIONS = Counter(
    "booking_appointments_cancelled", "Appointments cancelled, by office and by whom "
    "(citizen, office)", ["office", "by"], registry=REGISTRY)
TICKETS = Counter(
    "booking_queue_tickets", "Queue tickets issued (walk_in: drawn; appointment: checked in), "
    "by office and kind", ["office", "kind"], registry=REGISTRY)
CALLS = Counter(
    "booking_queue_calls", "Tickets called to a counter (call next), by office",
    ["office"], registry=REGISTRY)
RATE_LIMITED = Counter(
    "booking_rate_limited_requests", "Requests refused by a rate limit (429), by endpoint",
    ["endpoint"], registry=REGISTRY)
EVENT_STREAMS = Gauge(
    "booking_event_streams_open", "Event streams (Server-Sent Events) open now, by endpoint",
    ["endpoint"], registry=REGISTRY, multiprocess_mode="livesum")


# ---------------------------------------------------------------- counted after commit

def count(counter: Counter, **labels: str) -> None:
    """Add one to ``counter`` (with ``labels``) when the current transaction of
    ``db.session`` commits; nothing on rollback, nor for a savepoint that rolls back
    (a booking retried after a concurrent one took its seat counts once)."""
    after_commit(counter.labels(**labels).inc)
