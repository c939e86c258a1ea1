"""A lottery release: new capacity of a service at some offices, given by a draw.

While a lottery is not drawn, its service's slots on its days at its offices are held
back from booking (:func:`booking.fairness.lottery.withhold_lottery_days`). Entries are
unique per normalised email in the database; the draw's seed and counts are kept on the
lottery after the entries are purged.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.db import Base, UTCDateTime, db
from booking.offices.models import Office, Service

OPEN = "open"  # announced or taking entries; its days are held back
DRAWN = "drawn"
WON, LOST = "won", "lost"

lottery_offices = Table(
    "lottery_offices",
    Base.metadata,
    Column("lottery_id", ForeignKey("lotteries.id", ondelete="CASCADE"), primary_key=True),
    Column("office_id", ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True),
)


class Lottery(db.Model):
    __tablename__ = "lotteries"
    __table_args__ = (
        CheckConstraint("last_day >= first_day", name="day_order"),
        CheckConstraint("closes_at > opens_at", name="window_order"),
        CheckConstraint("status in ('open', 'drawn')", name="status_known"),
        CheckConstraint("status = 'open' or (seed is not null and drawn_at is not null)",
                        name="drawn_has_seed"),
        Index("ix_lotteries_service_status", "service_id", "status"),
        Index("ix_lotteries_status_closes", "status", "closes_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"))
    first_day: Mapped[date]
    last_day: Mapped[date]
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the draw happens then
    status: Mapped[str] = mapped_column(String(10), default=OPEN)
    seed: Mapped[str | None] = mapped_column(String(64))
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # counts kept for statistics after the entries are purged
    entries_count: Mapped[int] = mapped_column(default=0)
    verified_count: Mapped[int] = mapped_column(default=0)
    seats_count: Mapped[int] = mapped_column(default=0)
    winners_count: Mapped[int] = mapped_column(default=0)

    service: Mapped[Service] = relationship()
    offices: Mapped[list[Office]] = relationship(secondary=lottery_offices,
                                                 order_by=Office.name)

    @property
    def office_ids(self) -> list[str]:
        return [office.id for office in self.offices]


class LotteryEntry(db.Model):
    """A citizen's entry. ``email_key`` is the normalised address
    (:func:`booking.fairness.emails.normalise_email`): one entry per person and lottery.
    ``offices`` (comma-separated ids), ``weekdays`` (ISO digits, "135") and ``times``
    (comma-separated bands of :data:`booking.fairness.lottery_draw.TIME_BANDS`) are the
    wishes. Deleted by the retention purge after the draw."""

    __tablename__ = "lottery_entries"
    __table_args__ = (
        UniqueConstraint("lottery_id", "email_key", name="uq_lottery_entries_person"),
        CheckConstraint("language in ('de', 'en')", name="language_known"),
        CheckConstraint("outcome is null or outcome in ('won', 'lost')", name="outcome_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lottery_id: Mapped[int] = mapped_column(ForeignKey("lotteries.id", ondelete="CASCADE"),
                                            index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), default="de")
    offices: Mapped[str] = mapped_column(String(500))
    weekdays: Mapped[str] = mapped_column(String(7))
    times: Mapped[str] = mapped_column(String(60))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(4))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"))

    lottery: Mapped[Lottery] = relationship()

    @property
    def office_list(self) -> list[str]:
        return [part for part in self.offices.split(",") if part]
