"""Creating users, checking passwords, API and feed tokens, login throttling.

Passwords are hashed with Argon2id (argon2-cffi). Tokens are 192 random bits, stored
as SHA-256 hashes.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from booking.accounts.models import ROLES, ApiToken, LoginFailure, User
from booking.db import db
from booking.offices.models import Office
from booking.scheduling.codes import hash_token

hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12
MAX_FAILURES = 5  # per email address within WINDOW
MAX_FAILURES_PER_CLIENT = 30
WINDOW = timedelta(minutes=15)
# Verifying against this hash when the user does not exist keeps timing alike.
_DUMMY_HASH = hasher.hash(secrets.token_hex(16))


class AccountError(ValueError):
    """Invalid input for an account operation (message is shown to the operator)."""


class Throttled(Exception):
    """Too many failed logins; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"try again in {retry_after} s")
        self.retry_after = retry_after


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


def create_user(email: str, password: str, role: str, office_ids: list[str], now: datetime) -> User:
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError("not an email address (at most 254 characters, with an @)")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    check_password_strength(password)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(f"a user {email} exists already")
    offices = [db.session.get(Office, office_id) for office_id in office_ids]
    if None in offices:
        missing = [o for o, row in zip(office_ids, offices, strict=True) if row is None]
        raise AccountError(f"unknown office(s): {', '.join(missing)}")
    if role != "admin" and not offices:
        raise AccountError("clerks and managers need at least one --office")
    user = User(email=email, password_hash=hasher.hash(password), role=role, offices=offices,
                created_at=now, session_nonce=secrets.token_hex(16))
    db.session.add(user)
    db.session.flush()
    return user


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def _throttle_keys(email: str, client: str | None) -> list[tuple[str, int]]:
    keys = [(f"email:{normalise_email(email)}", MAX_FAILURES)]
    if client:
        keys.append((f"client:{client}", MAX_FAILURES_PER_CLIENT))
    return keys


def _check_throttle(keys, now: datetime) -> None:
    for key, limit in keys:
        row = db.session.get(LoginFailure, key)
        if row and row.failures >= limit and now < row.window_start_at + WINDOW:
            raise Throttled(int((row.window_start_at + WINDOW - now).total_seconds()) + 1)


def _record_failure(keys, now: datetime) -> None:
    for key, _ in keys:
        row = db.session.get(LoginFailure, key)
        if row is None:
            db.session.add(LoginFailure(key=key, failures=1, window_start_at=now))
        elif now >= row.window_start_at + WINDOW:
            row.failures, row.window_start_at = 1, now
        else:
            row.failures += 1
    db.session.flush()


def authenticate(email: str, password: str, client: str | None, now: datetime) -> User | None:
    """The active user with these credentials, or None. Raises Throttled after too many
    failures for the address or the client. Failures are recorded (the caller commits)."""
    keys = _throttle_keys(email, client)
    _check_throttle(keys, now)
    user = get_user_by_email(email)
    try:
        hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None and user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        _record_failure(keys, now)
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    cleared = db.session.get(LoginFailure, keys[0][0])
    if cleared is not None:
        db.session.delete(cleared)
    return user


def verify_password(user: User, password: str) -> bool:
    try:
        return hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def change_password(user: User, new_password: str) -> None:
    """Set a new password; every other session of the user ends (new session nonce)."""
    check_password_strength(new_password)
    user.password_hash = hasher.hash(new_password)
    user.session_nonce = secrets.token_hex(16)


def load_session_user(session_id: str) -> User | None:
    user_id, _, nonce = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or not secrets.compare_digest(user.session_nonce, nonce):
        return None
    return user


def issue_api_token(user: User, now: datetime) -> str:
    token = secrets.token_urlsafe(24)
    db.session.add(ApiToken(user=user, token_hash=hash_token(token), created_at=now))
    db.session.flush()
    return token


def revoke_api_tokens(user: User, now: datetime) -> int:
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount


def user_for_api_token(token: str, now: datetime) -> User | None:
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    row.last_used_at = now
    return row.user


def issue_feed_token(user: User) -> str:
    """A new secret calendar-feed token; the previous feed URL stops working."""
    token = secrets.token_urlsafe(24)
    user.feed_token_hash = hash_token(token)
    return token


def revoke_feed_token(user: User) -> None:
    user.feed_token_hash = None


def user_for_feed_token(token: str) -> User | None:
    user = db.session.scalar(select(User).where(User.feed_token_hash == hash_token(token)))
    return user if user is not None and user.active else None
