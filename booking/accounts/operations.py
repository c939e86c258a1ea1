"""Creating users, checking passwords, API and feed tokens, login throttling.

Passwords are hashed with Argon2id (argon2-cffi). Tokens are 192 random bits, stored
as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import joinedload

from booking.accounts.models import ROLES, ApiToken, LoginFailure, StaffSession, User
from booking.db import db
from booking.offices.models import Office
from booking.scheduling.codes import hash_token

hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12
MAX_FAILURES = 5  # per account and client address within WINDOW
MAX_FAILURES_PER_CLIENT = 30  # per client address, all accounts together
WINDOW = timedelta(minutes=15)
SESSION_TOUCH = timedelta(minutes=1)  # how often a session's last use is written
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
                created_at=now)
    db.session.add(user)
    db.session.flush()
    return user


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def _throttle_keys(email: str, client: str | None, secret: str = "") -> list[tuple[str, int]]:
    """The counters a login attempt is checked against and counts towards: this client
    at this account (``MAX_FAILURES``) and this client at any account
    (``MAX_FAILURES_PER_CLIENT``). None is shared by all clients, so an attacker locks
    out neither the account's owner elsewhere nor anybody at other accounts. Keys are
    hashes keyed with ``secret`` (the app's SECRET_KEY): fixed length whatever was
    typed, and no client address in the clear nor one that can be found again by
    hashing every address."""
    client = client or "unknown"
    account = normalise_email(email)
    return [(_throttle_key("account-client", f"{account}\n{client}", secret), MAX_FAILURES),
            (_throttle_key("client", client, secret), MAX_FAILURES_PER_CLIENT)]


def _throttle_key(kind: str, value: str, secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8", "surrogatepass"),
                      value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return f"{kind}:{digest}"


def _check_throttle(keys, now: datetime) -> None:
    for key, limit in keys:
        row = db.session.get(LoginFailure, key)
        if row and row.failures >= limit and now < row.window_start_at + WINDOW:
            raise Throttled(int((row.window_start_at + WINDOW - now).total_seconds()) + 1)


def _record_failure(keys, now: datetime) -> None:
    # counters whose window has ended stand only for a client address: gone at the
    # next failure anywhere (and in the nightly purge), not kept for a day
    db.session.execute(delete(LoginFailure).where(LoginFailure.window_start_at <= now - WINDOW,
                                                  LoginFailure.key.not_in([k for k, _ in keys])))
    for key, _ in keys:
        row = db.session.get(LoginFailure, key)
        if row is None:
            db.session.add(LoginFailure(key=key, failures=1, window_start_at=now))
        elif now >= row.window_start_at + WINDOW:
            row.failures, row.window_start_at = 1, now
        else:
            row.failures += 1
    db.session.flush()


def authenticate(email: str, password: str, client: str | None, now: datetime, *,
                 secret: str = "") -> User | None:
    """The active user with these credentials, or None. Raises Throttled after too many
    failures of ``client`` (its real address) at this account or at all accounts.
    Failures are recorded (the caller commits) under keys hashed with ``secret``."""
    keys = _throttle_keys(email, client, secret)
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
    """Set a new password; every session of the user ends (start a new one for the
    user's current browser)."""
    check_password_strength(new_password)
    user.password_hash = hasher.hash(new_password)
    db.session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))


def start_session(user: User, now: datetime) -> str:
    """A new session of ``user``; returns its secret key (also in ``user.session_key``)
    for the session cookie."""
    key = secrets.token_urlsafe(32)
    db.session.add(StaffSession(key_hash=hash_token(key), user_id=user.id, created_at=now,
                                last_seen_at=now))
    db.session.flush()
    user.session_key = key
    return key


def end_session(key: str | None) -> None:
    """Log out: the session's key is worthless from now on, for every copy of the cookie."""
    if key:
        db.session.execute(delete(StaffSession).where(StaffSession.key_hash == hash_token(key)))


def load_session_user(key: str, now: datetime, idle: timedelta,
                      max_age: timedelta) -> User | None:
    """The active user of the live session ``key``, or None when it was ended, lay
    unused for ``idle`` or began more than ``max_age`` ago. Marks it used (at most once
    a minute: one write per minute and session, not per request)."""
    row = db.session.get(StaffSession, hash_token(key)) if key else None
    if row is None or now - row.last_seen_at >= idle or now - row.created_at >= max_age \
            or not row.user.active:
        return None
    if now - row.last_seen_at >= SESSION_TOUCH:
        row.last_seen_at = now
    row.user.session_key = key
    return row.user


def forget_stale_logins(now: datetime, idle: timedelta, max_age: timedelta) -> int:
    """Delete sessions that can no longer be used and throttle counters whose window
    has ended (they stand for client addresses). Returns the rows deleted."""
    sessions = db.session.execute(delete(StaffSession).where(
        or_(StaffSession.last_seen_at <= now - idle, StaffSession.created_at <= now - max_age)))
    failures = db.session.execute(delete(LoginFailure).where(
        LoginFailure.window_start_at <= now - WINDOW))
    return sessions.rowcount + failures.rowcount


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


#: how exactly a token's last use is recorded: a write at most this often, not one per
#: request (every request with the token would otherwise update, and lock until its
#: commit, the same row: clerks sharing a token would wait for each other)
TOKEN_USE_PRECISION = timedelta(minutes=1)


def user_for_api_token(token: str, now: datetime) -> User | None:
    row = db.session.scalars(  # the user and their offices in the same query
        select(ApiToken).where(ApiToken.token_hash == hash_token(token))
        .options(joinedload(ApiToken.user).joinedload(User.offices))).unique().one_or_none()
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_PRECISION:
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
