"""The outbox: one row per email, written in the same transaction as the change.

A row is either queued ready-made (``message`` holds the bytes) or as a ``payload`` (a
JSON snapshot of what the email says) that the sender renders at delivery time; the
rendered bytes are then kept in ``message`` so that a retry sends the same bytes. Once
the message is sent (or failed for good) the bytes are dropped: they carry the manage
link. Envelope, subject, status and times stay until the retention purge."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from booking.db import UTCDateTime, db, utcnow

PENDING = "pending"
SENT = "sent"
FAILED = "failed"


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint("status in ('pending', 'sent', 'failed')", name="status_known"),
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"), index=True
    )
    sender: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(String(254))
    # subject and message: None until a payload row is rendered by the sender; message
    # None again once sent or failed for good
    subject: Mapped[str | None] = mapped_column(String(300))
    message: Mapped[bytes | None] = mapped_column(LargeBinary)
    # what to render (see outbox.enqueue_payload); the manage token in it is removed
    # once the message is rendered (the message then carries it until it is sent)
    payload: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
