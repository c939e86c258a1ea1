"""Waitlist wishes, the offers made to them, and the offer counts kept for statistics.

At most one open offer per wish, and per (office, service, start): partial unique
indexes, so two matchers running at once cannot offer twice. The counts
(:class:`WaitlistStat`) hold no personal data and outlive the wishes and offers, which
the retention purge deletes.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.db import Base, UTCDateTime, db
from booking.offices.models import Office, Service

ACTIVE, WITHDRAWN, TAKEN, ENDED = "active", "withdrawn", "taken", "ended"
OFFERED, EXPIRED = "offered", "expired"  # offers: offered, taken, expired, withdrawn

wish_offices = Table(
    "waitlist_wish_offices",
    Base.metadata,
    Column("wish_id", ForeignKey("waitlist_wishes.id", ondelete="CASCADE"), primary_key=True),
    Column("office_id", ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True),
)


class WaitlistWish(db.Model):
    """A citizen waits for a seat of ``service`` for ``persons`` (one appointment for all
    of them, as a visit of one line) at one of ``offices``, on ``weekdays``
    (ISO digits, "12345"), starting in [from_time, until_time) local time, up to and
    including ``until_date``. ``token_hash``: the secret of the link to withdraw it."""

    __tablename__ = "waitlist_wishes"
    __table_args__ = (
        CheckConstraint("status in ('active', 'withdrawn', 'taken', 'ended')",
                        name="status_known"),
        CheckConstraint("language in ('de', 'en')", name="language_known"),
        CheckConstraint("until_time > from_time", name="window_order"),
        CheckConstraint("persons between 1 and 20", name="persons_range"),
        Index("ix_waitlist_wishes_service_status", "service_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    persons: Mapped[int] = mapped_column(default=1, server_default="1")
    weekdays: Mapped[str] = mapped_column(String(7))
    from_time: Mapped[time]
    until_time: Mapped[time]
    until_date: Mapped[date]
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), default="de")
    token_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    service: Mapped[Service] = relationship()
    offices: Mapped[list[Office]] = relationship(secondary=wish_offices,
                                                 order_by="Office.name")

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE

    def last_day_over(self, now: datetime) -> bool:
        """Whether ``until_date`` is over at ``now`` in its first office's time zone."""
        tz = self.offices[0].tz if self.offices else now.tzinfo
        return self.until_date < now.astimezone(tz).date()


class WaitlistOffer(db.Model):
    """A free start offered to a wish, held for it until ``expires_at``."""

    __tablename__ = "waitlist_offers"
    __table_args__ = (
        CheckConstraint("status in ('offered', 'taken', 'expired', 'withdrawn')",
                        name="status_known"),
        Index("uq_waitlist_offers_open_wish", "wish_id", unique=True,
              sqlite_where=text("status = 'offered'"),
              postgresql_where=text("status = 'offered'")),
        Index("uq_waitlist_offers_open_start", "office_id", "service_id", "start_at",
              unique=True, sqlite_where=text("status = 'offered'"),
              postgresql_where=text("status = 'offered'")),
        Index("ix_waitlist_offers_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wish_id: Mapped[int] = mapped_column(ForeignKey("waitlist_wishes.id", ondelete="CASCADE"))
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    token_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default=OFFERED)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"))

    wish: Mapped[WaitlistWish] = relationship()
    office: Mapped[Office] = relationship()
    service: Mapped[Service] = relationship()


class WaitlistStat(db.Model):
    """Offers made, taken and expired per office, service and local day of the event."""

    __tablename__ = "waitlist_stats"

    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"),
                                           primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"),
                                            primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    offered: Mapped[int] = mapped_column(default=0)
    taken: Mapped[int] = mapped_column(default=0)
    expired: Mapped[int] = mapped_column(default=0)
