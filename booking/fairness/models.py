"""Tables of the fairness measures: proofs of work already used, and the API keys an
office gives to a trusted portal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.db import UTCDateTime, db
from booking.offices.models import Office


class SpentChallenge(db.Model):
    """A solved challenge (or a no-JavaScript waiting token) that was accepted once: its
    hash is the primary key, so a second use fails in the database, across workers and
    servers. ``bound_to`` is a hash of the submission it was used for (the booking form's
    submission key, the API's Idempotency-Key): the same submission sent again (a double
    click, a retry) may carry it again, and gets the first booking back. Rows are
    deleted once the challenge has expired (it is refused as expired then anyway)."""

    __tablename__ = "spent_challenges"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    bound_to: Mapped[str | None] = mapped_column(String(64))


class PortalKey(db.Model):
    """An API key an office issued to a trusted portal (the town's service portal, say):
    its bookings need no proof of work. Only a hash is stored; the key is shown once."""

    __tablename__ = "portal_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"),
                                           index=True)
    label: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    office: Mapped[Office] = relationship()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
