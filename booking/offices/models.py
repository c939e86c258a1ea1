"""Offices and what they offer: services, counters, availability rules, closures."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, String, Table
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.db import Base, UTCDateTime, db

office_services = Table(
    "office_services",
    Base.metadata,
    Column("office_id", ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
    # may share one appointment with other services (booking.scheduling.visits)
    Column("combinable", Boolean, nullable=False, default=True, server_default=sa_true()),
)

rule_services = Table(
    "rule_services",
    Base.metadata,
    Column("rule_id", ForeignKey("availability_rules.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
)

counter_services = Table(
    "counter_services",
    Base.metadata,
    Column("counter_id", ForeignKey("counters.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
)


class Office(db.Model):
    __tablename__ = "offices"
    __table_args__ = (
        CheckConstraint("slot_minutes between 5 and 240", name="slot_minutes_range"),
        CheckConstraint("lead_time_minutes >= 0", name="lead_time_nonneg"),
        CheckConstraint("horizon_days between 1 and 366", name="horizon_range"),
        CheckConstraint("cancel_deadline_minutes >= 0", name="cancel_deadline_nonneg"),
        CheckConstraint("queue_window_minutes between 0 and 240", name="queue_window_range"),
        CheckConstraint("queue_recall_cooldown_seconds between 0 and 600",
                        name="queue_cooldown_range"),
        CheckConstraint("queue_max_recalls between 0 and 10", name="queue_max_recalls_range"),
        CheckConstraint("queue_daily_limit is null or queue_daily_limit >= 1",
                        name="queue_daily_limit_positive"),
        CheckConstraint("reminder_hours between 0 and 168", name="reminder_hours_range"),
        CheckConstraint("waitlist_hold_minutes between 5 and 1440",
                        name="waitlist_hold_range"),
        CheckConstraint("max_active_per_email is null or max_active_per_email >= 1",
                        name="max_active_per_email_positive"),
        CheckConstraint("opt_in_hold_minutes is null or opt_in_hold_minutes between 0 and 1440",
                        name="opt_in_hold_range"),
        CheckConstraint("release_delay_minutes is null or release_delay_minutes "
                        "between 0 and 10080", name="release_delay_range"),
        CheckConstraint("latitude is null or latitude between -90 and 90",
                        name="latitude_range"),
        CheckConstraint("longitude is null or longitude between -180 and 180",
                        name="longitude_range"),
        CheckConstraint("(latitude is null and longitude is null) or "
                        "(latitude is not null and longitude is not null)",
                        name="coordinates_paired"),
        CheckConstraint("invitation_weeks between 1 and 26", name="invitation_weeks_range"),
        CheckConstraint("invitation_language in ('de', 'en')",
                        name="invitation_language_known"),
        CheckConstraint("max_persons between 1 and 20", name="max_persons_range"),
        CheckConstraint("max_services between 1 and 10", name="max_services_range"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    # where in town, in words (a district: "Innenstadt", "Nordend"); shown where offices
    # are compared, e.g. with the next free appointment of every office
    district: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(60))
    timezone: Mapped[str] = mapped_column(String(60), default="Europe/Berlin")
    state: Mapped[str] = mapped_column(String(2), default="HE")
    slot_minutes: Mapped[int] = mapped_column(default=15)
    lead_time_minutes: Mapped[int] = mapped_column(default=120)
    horizon_days: Mapped[int] = mapped_column(default=60)
    cancel_deadline_minutes: Mapped[int] = mapped_column(default=60)
    # staff calendar feeds show citizens' names only if the office opts in
    feed_shows_names: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    # walk-in queue: appointments checked in go first from this long before their start;
    # later arrivals join as walk-ins
    queue_window_minutes: Mapped[int] = mapped_column(default=15, server_default="15")
    queue_recall_cooldown_seconds: Mapped[int] = mapped_column(default=30, server_default="30")
    queue_max_recalls: Mapped[int] = mapped_column(default=2, server_default="2")
    # walk-in tickets per day; None: no limit
    queue_daily_limit: Mapped[int | None]
    # the reminder email goes out this many hours before an appointment; 0: none
    reminder_hours: Mapped[int] = mapped_column(default=24, server_default="24")
    # a seat offered to a waitlist wish is kept for it this long
    waitlist_hold_minutes: Mapped[int] = mapped_column(default=120, server_default="120")
    # fairness (booking.fairness; each also switched by its global setting)
    # active future appointments per person (normalised email) and service; None: no cap
    max_active_per_email: Mapped[int | None] = mapped_column(default=2)
    # online bookings are held this long until confirmed by email; None or 0: no opt-in
    opt_in_hold_minutes: Mapped[int | None]
    # seats a citizen gives up are offered again this much later, and/or at the next
    # release time of the day (local); neither: at once
    release_delay_minutes: Mapped[int | None] = mapped_column(default=10)
    release_time: Mapped[time | None]
    # the public office page (/offices/<id>/): how to get there by public transport and
    # the accessibility facts, in German and English (empty: not stated); step-free
    # access yes/no (None: not stated); the position for a plain OpenStreetMap link
    transport_de: Mapped[str] = mapped_column(default="", server_default="")
    transport_en: Mapped[str] = mapped_column(default="", server_default="")
    accessibility_de: Mapped[str] = mapped_column(default="", server_default="")
    accessibility_en: Mapped[str] = mapped_column(default="", server_default="")
    step_free: Mapped[bool | None]
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    # proactive invitations (booking.invitations): sent this many weeks before the due
    # date, in this language unless the uploaded file names one per person
    invitation_weeks: Mapped[int] = mapped_column(default=6, server_default="6")
    # one appointment for several services and persons (a family): at most this many
    # persons in all and services in all; which services may share an appointment is
    # office_services.combinable
    max_persons: Mapped[int] = mapped_column(default=6, server_default="6")
    max_services: Mapped[int] = mapped_column(default=5, server_default="5")
    invitation_language: Mapped[str] = mapped_column(String(2), default="de",
                                                     server_default="de")

    services: Mapped[list[Service]] = relationship(
        secondary=office_services, back_populates="offices", order_by="Service.position"
    )
    rules: Mapped[list[AvailabilityRule]] = relationship(
        back_populates="office", cascade="all, delete-orphan"
    )
    closures: Mapped[list[Closure]] = relationship(
        back_populates="office", cascade="all, delete-orphan"
    )
    counters: Mapped[list[Counter]] = relationship(
        back_populates="office", cascade="all, delete-orphan", order_by="Counter.name"
    )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def text(self, field: str, language: str) -> str:
        """A translated text (``transport``, ``accessibility``) in ``language``; the German
        one if the English is empty."""
        value = getattr(self, f"{field}_{'en' if language == 'en' else 'de'}")
        return value or getattr(self, f"{field}_de")


class Service(db.Model):
    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint("duration_minutes between 5 and 480", name="duration_range"),
        CheckConstraint("fee_cents is null or fee_cents >= 0", name="fee_nonneg"),
        CheckConstraint("further_person_minutes is null or further_person_minutes "
                        "between 0 and 480", name="further_person_range"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    name_de: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description_de: Mapped[str] = mapped_column(default="")
    description_en: Mapped[str] = mapped_column(default="")
    bring_de: Mapped[str] = mapped_column(default="")
    bring_en: Mapped[str] = mapped_column(default="")
    fee_cents: Mapped[int | None]
    duration_minutes: Mapped[int] = mapped_column(default=15)
    # each further person of the same appointment needs this long (None: as long as the
    # first one); see booking.scheduling.visits
    further_person_minutes: Mapped[int | None]
    queue_prefix: Mapped[str] = mapped_column(String(1), default="A")

    offices: Mapped[list[Office]] = relationship(
        secondary=office_services, back_populates="services", order_by="Office.name"
    )

    def text(self, field: str, language: str) -> str:
        """A translated field (``name``, ``description``, ``bring``) in ``language``."""
        value = getattr(self, f"{field}_{'en' if language == 'en' else 'de'}")
        return value or getattr(self, f"{field}_de")


class Counter(db.Model):
    __tablename__ = "counters"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    # a paused counter calls nobody and is left out of waiting-time estimates
    paused: Mapped[bool] = mapped_column(default=False, server_default=sa_false())

    office: Mapped[Office] = relationship(back_populates="counters")
    services: Mapped[list[Service]] = relationship(secondary=counter_services)


class AvailabilityRule(db.Model):
    """Weekdays × time range × validity period, with an online capacity.

    ``weekdays`` is a string of ISO weekday digits (1 = Monday … 7 = Sunday),
    e.g. ``"1234"``. No services means: all services of the office.
    """

    __tablename__ = "availability_rules"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("end_time > start_time", name="time_order"),
        CheckConstraint("valid_until is null or valid_until >= valid_from", name="valid_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"), index=True)
    weekdays: Mapped[str] = mapped_column(String(7))
    start_time: Mapped[time]
    end_time: Mapped[time]
    valid_from: Mapped[date]
    valid_until: Mapped[date | None]
    capacity: Mapped[int] = mapped_column(default=1)

    office: Mapped[Office] = relationship(back_populates="rules")
    services: Mapped[list[Service]] = relationship(secondary=rule_services)


class Closure(db.Model):
    """The office (or, with ``counter_id``, one counter) is closed in [starts_at, ends_at):
    a day, several days or hours. A counter closure takes one seat off every rule's
    capacity for its time."""

    __tablename__ = "closures"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="closure_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(200), default="")
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id", ondelete="CASCADE"))

    office: Mapped[Office] = relationship(back_populates="closures")
    counter: Mapped[Counter | None] = relationship()
