"""Invitations, the opt-outs that stop them, and their counts for statistics.

An invitation holds a citizen's name and email until its purpose is fulfilled (booked,
declined) or its due date has passed, plus the retention period (booking.retention).
One invitation per person (normalised email), service and due date: a unique index,
so two uploads at once cannot store the same twice. An opt-out keeps only a hash of
the normalised email and the service; the counts hold no personal data at all.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.db import UTCDateTime, db
from booking.offices.models import Office, Service

PENDING, SENT, BOOKED, DECLINED, OPTED_OUT = "pending", "sent", "booked", "declined", "opted_out"
ENDED = (BOOKED, DECLINED, OPTED_OUT)


class Invitation(db.Model):
    __tablename__ = "invitations"
    __table_args__ = (
        CheckConstraint("status in ('pending', 'sent', 'booked', 'declined', 'opted_out')",
                        name="status_known"),
        CheckConstraint("language in ('de', 'en')", name="language_known"),
        Index("uq_invitations_person_service_due", "email_key", "service_id", "due_date",
              unique=True),
        Index("ix_invitations_status_due", "status", "due_date"),
        Index("ix_invitations_office_created", "office_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    due_date: Mapped[date]
    language: Mapped[str] = mapped_column(String(2), default="de")
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    # the link's secret, written when the email is queued (hashed; the email has it)
    token_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"))

    office: Mapped[Office] = relationship()
    service: Mapped[Service] = relationship()

    @property
    def is_open(self) -> bool:
        """Sent and neither booked, declined nor opted out."""
        return self.status == SENT


class InvitationOptOut(db.Model):
    """A person who does not want invitations for a service: the hash of the normalised
    email and the service (booking.invitations.optouts.key), nothing else."""

    __tablename__ = "invitation_opt_outs"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InvitationStat(db.Model):
    """Invitations sent, booked, declined and opted out per office, service and local
    month (``month``: its first day)."""

    __tablename__ = "invitation_stats"

    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"),
                                           primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"),
                                            primary_key=True)
    month: Mapped[date] = mapped_column(primary_key=True)
    sent: Mapped[int] = mapped_column(default=0)
    booked: Mapped[int] = mapped_column(default=0)
    declined: Mapped[int] = mapped_column(default=0)
    opted_out: Mapped[int] = mapped_column(default=0)
