"""Appointments and the seats they hold.

Capacity is enforced by the database: every slot step an appointment covers
holds one numbered seat of an availability rule, ``seat_no`` is chosen in
``1..capacity``, and ``(rule_id, slot_at, seat_no)`` is unique. Two requests
racing for the last seat insert the same key and one of them fails, on any
number of workers and servers, on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.db import UTCDateTime, db, utcnow
from booking.offices.models import AvailabilityRule, Office, Service

CONFIRMED = "confirmed"
CANCELLED = "cancelled"
ARRIVED = "arrived"
NO_SHOW = "no_show"
HELD = "held"  # booked, not yet confirmed; its seats are free again from held_until on
STATUSES = (HELD, CONFIRMED, CANCELLED, ARRIVED, NO_SHOW)
ONLINE, PHONE = "online", "phone"
BY_CITIZEN, BY_OFFICE = "citizen", "office"  # cancelled_by


class Appointment(db.Model):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="time_order"),
        CheckConstraint("status in ('held', 'confirmed', 'cancelled', 'arrived', 'no_show')",
                        name="status_known"),
        CheckConstraint("(status = 'held') = (held_until is not null)", name="held_until_set"),
        CheckConstraint("channel in ('online', 'phone')", name="channel_known"),
        CheckConstraint("language in ('de', 'en')", name="language_known"),
        CheckConstraint("sequence >= 0", name="sequence_nonneg"),
        CheckConstraint("cancelled_by is null or cancelled_by in ('citizen', 'office')",
                        name="cancelled_by_known"),
        Index("ix_appointments_office_start", "office_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"))
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    # the address as the same mailbox always has it (booking.fairness.emails): the cap
    # per person counts by it
    email_key: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(2), default="de")
    code: Mapped[str] = mapped_column(String(12), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    ical_uid: Mapped[str] = mapped_column(String(64), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(12), default=CONFIRMED)
    channel: Mapped[str] = mapped_column(String(10), default=ONLINE, server_default=ONLINE)
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # who cancelled (statistics; no personal data, so it outlives the purge)
    cancelled_by: Mapped[str | None] = mapped_column(String(8))
    # the reminder email N hours before (booking.scheduling.reminders): set in the
    # transaction that queues it, so it is queued once; the hash of the second manage
    # token that the reminder's link carries (the first one's hash is token_hash)
    reminder_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminder_token_hash: Mapped[str | None] = mapped_column(String(64))
    # a held appointment (double opt-in, waitlist offer) lapses at this instant unless confirmed
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    office: Mapped[Office] = relationship()
    service: Mapped[Service] = relationship()
    seats: Mapped[list[AppointmentSeat]] = relationship(
        back_populates="appointment", cascade="all, delete-orphan"
    )
    # the services and persons, in the order booked (booking.scheduling.visits); the
    # first one's service is ``service``
    lines: Mapped[list[AppointmentService]] = relationship(
        back_populates="appointment", cascade="all, delete-orphan",
        order_by="AppointmentService.position", lazy="selectin",
    )

    def __init__(self, **fields):
        """Without ``lines``, an appointment is for one person and its ``service``."""
        if "lines" not in fields:
            which = ({"service": fields["service"]} if fields.get("service") is not None
                     else {"service_id": fields.get("service_id")})
            fields["lines"] = [AppointmentService(position=0, persons=1, **which)]
        super().__init__(**fields)

    @property
    def persons(self) -> int:
        return sum(line.persons for line in self.lines)

    @property
    def is_cancelled(self) -> bool:
        return self.status == CANCELLED

    @property
    def is_held(self) -> bool:
        return self.status == HELD

    def hold_lapsed(self, now: datetime) -> bool:
        """A held appointment whose time to confirm is over (its seats are free)."""
        return self.status == HELD and self.held_until <= now


class AppointmentService(db.Model):
    """One service of an appointment, for ``persons`` persons (Reisepass × 3)."""

    __tablename__ = "appointment_services"
    __table_args__ = (
        UniqueConstraint("appointment_id", "service_id", name="uq_appointment_services_service"),
        CheckConstraint("persons between 1 and 20", name="persons_range"),
        CheckConstraint("position >= 0", name="position_nonneg"),
    )

    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), index=True)
    persons: Mapped[int] = mapped_column(default=1)

    appointment: Mapped[Appointment] = relationship(back_populates="lines")
    service: Mapped[Service] = relationship(lazy="joined")


class AppointmentSeat(db.Model):
    """One seat of a step. A seat with ``held_until`` is taken only until then: the seats
    of a held appointment, and those a citizen gave up, which are offered again only at
    the office's release time. From ``held_until`` on it counts as free everywhere, and
    the next booking of its step deletes it (no job needed)."""

    __tablename__ = "appointment_seats"
    __table_args__ = (
        UniqueConstraint("rule_id", "slot_at", "seat_no", name="uq_appointment_seats_seat"),
        CheckConstraint("seat_no >= 1", name="seat_positive"),
        Index("ix_appointment_seats_office_slot", "office_id", "slot_at"),
        # the few held seats, for the listing to subtract the lapsed ones
        Index("ix_appointment_seats_held", "rule_id", "slot_at", "held_until",
              postgresql_where=text("held_until is not null"),
              sqlite_where=text("held_until is not null")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("availability_rules.id"))
    slot_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seat_no: Mapped[int]
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    appointment: Mapped[Appointment] = relationship(back_populates="seats")
    rule: Mapped[AvailabilityRule] = relationship()


class StepCount(db.Model):
    """Seats not held per (rule, step), kept in the transaction that changes them
    (:mod:`booking.scheduling.seat_counts`): what the slot listing reads."""

    __tablename__ = "step_counts"

    rule_id: Mapped[int] = mapped_column(
        ForeignKey("availability_rules.id", ondelete="CASCADE"), primary_key=True)
    slot_at: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    taken: Mapped[int]


class IdempotencyKey(db.Model):
    """A booking made under an idempotency key (the API's ``Idempotency-Key`` header, the
    citizen form's submission key): a repeat of that request gets this booking again
    (see :mod:`booking.scheduling.idempotency`). Kept for a day.

    The key's hash is the primary key: a twin request sent at the same moment waits on
    it in the database and then finds the first booking. Neither the key nor the
    manage token is stored in plain text: ``sealed_token`` opens only with the key.
    """

    __tablename__ = "idempotency_keys"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), unique=True
    )
    sealed_token: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
