"""Tickets of the walk-in queue and the per-office, per-day running numbers.

Invariants held by the database:

* ``(office_id, day, seq)`` is unique: one number per office and day, never twice;
* a counter has at most one ticket that is called or being served (partial unique index);
* an appointment is checked in at most once (``appointment_id`` unique).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.db import UTCDateTime, db
from booking.offices.models import Counter, Office, Service
from booking.scheduling.models import Appointment

WAITING, CALLED, SERVING, PARKED = "waiting", "called", "serving", "parked"
DONE, NO_SHOW, UNSERVED = "done", "no_show", "unserved"
OPEN_STATUSES = (WAITING, CALLED, SERVING, PARKED)
STATUSES = (*OPEN_STATUSES, DONE, NO_SHOW, UNSERVED)
WALK_IN, APPOINTMENT = "walk_in", "appointment"

_ACTIVE_AT_COUNTER = "status in ('called', 'serving')"
_DUE = "due_at is not null"
_ASKED = "notify_email is not null"


class TicketDay(db.Model):
    """The running number of an office's day; incremented atomically (upsert … returning)."""

    __tablename__ = "ticket_days"

    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"),
                                           primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)
    walk_ins: Mapped[int] = mapped_column(default=0)


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("office_id", "day", "seq", name="uq_tickets_number"),
        CheckConstraint(
            "status in ('waiting', 'called', 'serving', 'parked', 'done', 'no_show', 'unserved')",
            name="status_known"),
        CheckConstraint("kind in ('walk_in', 'appointment')", name="kind_known"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        CheckConstraint("recalls >= 0", name="recalls_nonneg"),
        CheckConstraint("reminder_asked_at is not null or (notify_email is null "
                        "and notified_at is null)", name="reminder_asked_once"),
        CheckConstraint(f"counter_id is not null or not ({_ACTIVE_AT_COUNTER})",
                        name="active_has_counter"),
        Index("uq_tickets_counter_active", "counter_id", unique=True,
              postgresql_where=text(_ACTIVE_AT_COUNTER), sqlite_where=text(_ACTIVE_AT_COUNTER)),
        Index("ix_tickets_office_status", "office_id", "status"),
        # the queue's reads cost the same however many wait (and statistics of a period
        # read the tickets of an office's days by the first two columns): the first by arrival, the
        # first due appointment, who is ahead of one ticket, reminders still to send,
        # a service's recent times
        Index("ix_tickets_queue", "office_id", "day", "status", "arrived_at", "id"),
        Index("ix_tickets_due", "office_id", "day", "status", "due_at",
              postgresql_where=text(_DUE), sqlite_where=text(_DUE)),
        Index("ix_tickets_reminder_asked", "office_id", "day",
              postgresql_where=text(_ASKED), sqlite_where=text(_ASKED)),
        Index("ix_tickets_service_finished", "office_id", "service_id", "status", "finished_at"),
    )

    # unguessable: the id is the capability for the public status page
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"))
    day: Mapped[date]
    seq: Mapped[int]
    number: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(12), default=WALK_IN)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"), unique=True)
    language: Mapped[str] = mapped_column(String(2), default="de")
    status: Mapped[str] = mapped_column(String(10), default=WAITING)
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id", ondelete="SET NULL"))
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recalls: Mapped[int] = mapped_column(default=0)
    # "email me when three people are ahead", once per ticket (reminder_asked_at is set
    # once, never cleared): the address is kept only until that email is queued (then
    # only the time is), at the latest until the day end
    notify_email: Mapped[str | None] = mapped_column(String(254))
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminder_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    office: Mapped[Office] = relationship()
    service: Mapped[Service] = relationship()
    counter: Mapped[Counter | None] = relationship()
    appointment: Mapped[Appointment | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class EstimateDay(db.Model):
    """A closed local day of an office whose estimates have been replayed into
    :class:`EstimateError` (written once, by the periodic job; see
    booking.queueing.estimator_error)."""

    __tablename__ = "estimate_days"

    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"),
                                           primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)


class EstimateError(db.Model):
    """How far a closed day's walk-in estimates of a service were from the actual waits:
    sums that add up over days (minutes). Nothing personal."""

    __tablename__ = "estimate_errors"

    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"),
                                           primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"),
                                            primary_key=True)
    tickets: Mapped[int]
    abs_error_sum: Mapped[float]  # minutes, summed |estimate - actual|
    error_sum: Mapped[float]  # minutes, summed estimate - actual
    within_5: Mapped[int]  # tickets with |estimate - actual| <= 5 minutes
