"""Staff users, their offices, sessions, personal API tokens and login throttling state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.db import Base, UTCDateTime, db, utcnow
from booking.offices.models import Office

CLERK, MANAGER, ADMIN = "clerk", "manager", "admin"
ROLES = (CLERK, MANAGER, ADMIN)
RANK = {CLERK: 1, MANAGER: 2, ADMIN: 3}

user_offices = Table(
    "user_offices",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("office_id", ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True),
)


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role in ('clerk', 'manager', 'admin')", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    feed_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    offices: Mapped[list[Office]] = relationship(secondary=user_offices, order_by="Office.name")
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user",
                                                  cascade="all, delete-orphan")

    # The secret of the session this request runs in (set by accounts.operations when it
    # starts or loads one); Flask-Login keeps it in the signed session cookie.
    session_key = None

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.session_key

    def has_role(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]

    @property
    def office_ids(self) -> set[str]:
        return {o.id for o in self.offices}


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="tokens")


class StaffSession(db.Model):
    """A logged-in browser session. The cookie holds a random key, the table its hash:
    logging out deletes the row, so a copy of the cookie is worth nothing afterwards, on
    every worker and server. Idle and absolute lifetime are checked on each request."""

    __tablename__ = "staff_sessions"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class LoginFailure(db.Model):
    """Failed logins per key (a hash of account and client address, or of a client
    address), for throttling across all workers and servers."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_start_at: Mapped[datetime] = mapped_column(UTCDateTime())
