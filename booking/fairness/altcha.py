"""Proof of work instead of a picture captcha (ALTCHA), and its slower no-JavaScript twin.

A browser fetches a challenge (:func:`new_challenge`), its widget finds the counter that
derives the key the challenge asks for (PBKDF2, ``cost`` iterations a try, up to
``max_number`` tries; a second or two on a phone) and sends the result with the form as
the ``altcha`` field. :func:`verify` checks the signature, the expiry and the key, and
records the challenge as spent in the caller's transaction: a solution is accepted once,
across workers and servers (the hash is a primary key).

Without JavaScript the form carries a signed, timestamped waiting token
(:func:`new_wait_token`); :func:`verify_wait_token` accepts it once, and only when it is
at least ``wait`` old: as slow for a bot as for a person, but needing nothing but time.

The same submission sent again (a double click, an API retry with the same
Idempotency-Key) may carry the same solution: pass its key as ``bound_to``; the booking's
own idempotency then answers with the first booking.

No Flask here: the settings, ``now`` and the submission key are arguments.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import altcha
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from booking.db import db
from booking.fairness.models import SpentChallenge

ALGORITHM = "PBKDF2/SHA-256"
#: the longest payload accepted (a real one has about 600 characters)
MAX_PAYLOAD_LENGTH = 4000

# why a solution or a token was refused
MISSING, MALFORMED, INVALID, EXPIRED, USED, TOO_EARLY = (
    "missing", "malformed", "invalid", "expired", "used", "too_early")


class ChallengeRefused(Exception):
    """The proof of work (or the waiting token) does not let the request through."""

    def __init__(self, reason: str, wait_seconds: int = 0):
        super().__init__(reason)
        self.reason = reason
        #: for TOO_EARLY: how many seconds are still to wait
        self.wait_seconds = wait_seconds


@dataclass(frozen=True)
class Settings:
    secret: str  # the app's SECRET_KEY; the keys below are derived from it
    cost: int = 5000
    max_number: int = 10000
    expires: timedelta = timedelta(minutes=20)
    wait: timedelta = timedelta(seconds=20)
    wait_max_age: timedelta = timedelta(hours=2)

    def _derived(self, purpose: str) -> bytes:
        return hmac.new(self.secret.encode("utf-8"), b"altcha\0" + purpose.encode(),
                        hashlib.sha256).digest()

    @property
    def hmac_secret(self) -> bytes:
        return self._derived("challenge")

    @property
    def key_secret(self) -> bytes:
        return self._derived("derived-key")


def new_challenge(settings: Settings, now: datetime) -> dict:
    """A signed challenge as the widget fetches it (JSON). Deterministic mode: the server
    picks the counter (between half of ``max_number`` and ``max_number``, so the work is
    predictable) and signs the key it derives, so checking a solution derives nothing."""
    low = max(1, settings.max_number // 2)
    counter = low + secrets.randbelow(max(1, settings.max_number - low + 1))
    challenge = altcha.create_challenge(
        ALGORITHM, settings.cost, counter=counter, expires_at=now + settings.expires,
        hmac_secret=settings.hmac_secret, hmac_key_secret=settings.key_secret)
    return challenge.to_dict()


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\0{value}".encode("utf-8", "surrogatepass")).hexdigest()


def verify(payload: str | None, settings: Settings, now: datetime, *,
           bound_to: str | None = None) -> None:
    """Accept a solved challenge once, or raise :class:`ChallengeRefused`."""
    if not payload:
        raise ChallengeRefused(MISSING)
    if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD_LENGTH:
        raise ChallengeRefused(MALFORMED)
    try:
        parsed = altcha.Payload.from_base64(payload)
        expires_at = parsed.challenge.parameters.expires_at
        nonce = parsed.challenge.parameters.nonce
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise ChallengeRefused(MALFORMED) from None
    if not isinstance(expires_at, int) or not isinstance(nonce, str):
        raise ChallengeRefused(INVALID)
    try:
        result = altcha.verify_solution(parsed, settings.hmac_secret,
                                        hmac_key_secret=settings.key_secret)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise ChallengeRefused(MALFORMED) from None
    if result.expired:
        raise ChallengeRefused(EXPIRED)
    if not result.verified:  # (only now is expiresAt known to be ours: it is signed)
        raise ChallengeRefused(INVALID)
    expires_dt = datetime.fromtimestamp(expires_at, UTC)
    if expires_dt <= now:
        raise ChallengeRefused(EXPIRED)
    _spend(_digest("challenge", nonce), expires_dt, bound_to)


def new_wait_token(settings: Settings, now: datetime) -> str:
    """A signed token carrying a random value and the time it was made (``now``)."""
    return _serializer(settings).dumps([secrets.token_urlsafe(16), int(now.timestamp())])


def verify_wait_token(token: str | None, settings: Settings, now: datetime, *,
                      bound_to: str | None = None) -> None:
    """Accept a waiting token once, if at least ``settings.wait`` and at most
    ``settings.wait_max_age`` old; otherwise raise :class:`ChallengeRefused`."""
    if not token:
        raise ChallengeRefused(MISSING)
    if not isinstance(token, str) or len(token) > MAX_PAYLOAD_LENGTH:
        raise ChallengeRefused(MALFORMED)
    try:
        nonce, issued = _serializer(settings).loads(token)
        issued_at = datetime.fromtimestamp(issued, UTC)
    except (BadSignature, ValueError, TypeError, OverflowError, OSError):
        raise ChallengeRefused(INVALID) from None
    age = now - issued_at
    if age < settings.wait:
        remaining = settings.wait - age
        raise ChallengeRefused(TOO_EARLY, wait_seconds=math.ceil(remaining.total_seconds()))
    if age > settings.wait_max_age:
        raise ChallengeRefused(EXPIRED)
    _spend(_digest("wait", str(nonce)), issued_at + settings.wait_max_age, bound_to)


def purge_spent(now: datetime) -> int:
    """Forget the spent challenges and tokens that have expired (refused as expired now
    anyway); returns how many."""
    return db.session.execute(
        delete(SpentChallenge).where(SpentChallenge.expires_at <= now)).rowcount


def _spend(digest: str, expires_at: datetime, bound_to: str | None) -> None:
    """Record the challenge as used, or raise USED if it was, by another submission."""
    bound = _digest("submission", bound_to) if bound_to else None
    try:
        with db.session.begin_nested():  # a twin waits here for the first one's commit
            db.session.execute(insert(SpentChallenge).values(
                digest=digest, expires_at=expires_at, bound_to=bound))
    except IntegrityError:
        earlier = db.session.scalar(
            select(SpentChallenge.bound_to).where(SpentChallenge.digest == digest))
        if bound is None or earlier != bound:
            raise ChallengeRefused(USED) from None


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret, salt="booking.altcha.wait-token")
