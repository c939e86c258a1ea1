"""Idempotent booking: a request repeated under the same key gets the first booking again.

A key is a random string chosen by the client (the API's ``Idempotency-Key`` header) or
by the server (the citizen booking form's hidden submission key, rendered with the
form). :func:`booking.scheduling.operations.book_appointment` records it with the new
appointment in the booking's transaction. A repeat with the same data (a double click,
a reload, a retry after a broken connection) is answered with that appointment and its
manage token: no second appointment, seat or email. A repeat with other data raises
:class:`~booking.scheduling.errors.KeyReused`.

Twins sent at the same moment: the key's hash is the primary key, so the second insert
waits in the database for the first transaction and fails once it commits; the second
request then finds the first booking (:func:`is_key_taken`). Across workers and servers.

Nothing here reveals a token to whoever reads the database or a backup: only a hash of
the key is stored, and the manage token sealed with a pad derived from the key, so it
opens only for someone who sends the key. Records are deleted after :data:`KEEP` by the
purge (:data:`booking.retention.STEPS`).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from booking.db import db
from booking.scheduling.errors import KeyReused
from booking.scheduling.models import Appointment, IdempotencyKey

KEEP = timedelta(days=1)
MAX_KEY_LENGTH = 255
KEY_PATTERN = f"^[!-~]([ -~]{{0,{MAX_KEY_LENGTH - 2}}}[!-~])?$"
_KEY = re.compile(KEY_PATTERN)


def new_key() -> str:
    """A submission key for a form (192 random bits)."""
    return secrets.token_urlsafe(24)


def is_valid_key(key: str | None) -> bool:
    """1 to MAX_KEY_LENGTH printable ASCII characters, no space at either end (a UUID, say;
    as the OpenAPI document says, ``KEY_PATTERN``)."""
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


def key_hash(key: str) -> str:
    return hashlib.sha256(b"idempotency-key\0" + key.encode("utf-8")).hexdigest()


def fingerprint(*parts: str | bool | None) -> str:
    """A hash of the request's meaning (ids, instants, cleaned fields), not of its bytes."""
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


def _pad(key: str, size: int) -> bytes:
    return hashlib.shake_256(b"manage-token\0" + key.encode("utf-8")).digest(size)


def seal(token: str, key: str) -> str:
    data = token.encode("utf-8")
    return bytes(a ^ b for a, b in zip(data, _pad(key, len(data)), strict=True)).hex()


def unseal(sealed: str, key: str) -> str:
    data = bytes.fromhex(sealed)
    return bytes(a ^ b for a, b in zip(data, _pad(key, len(data)), strict=True)).decode("utf-8")


def get_booking(key: str, request_fingerprint: str) -> tuple[Appointment, str] | None:
    """The appointment booked under ``key`` and its manage token, or None. Raises
    KeyReused if the key was used for a request with another fingerprint."""
    row = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.key_hash == key_hash(key)))
    if row is None:
        return None
    if row.fingerprint != request_fingerprint:
        raise KeyReused("the key was used for another request")
    return db.session.get(Appointment, row.appointment_id), unseal(row.sealed_token, key)


def record(key: str, request_fingerprint: str, appointment: Appointment, token: str,
           now: datetime) -> None:
    """Remember the booking under ``key`` (in the caller's transaction; flushed)."""
    db.session.execute(insert(IdempotencyKey).values(
        key_hash=key_hash(key), fingerprint=request_fingerprint, appointment_id=appointment.id,
        sealed_token=seal(token, key), created_at=now))


def is_key_taken(exc: IntegrityError) -> bool:
    """Whether a twin request recorded the same key first."""
    name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)  # psycopg
    if name is not None:
        return name == "pk_idempotency_keys"
    return str(exc.orig) == "UNIQUE constraint failed: idempotency_keys.key_hash"  # SQLite


def purge_expired(now: datetime) -> int:
    """Delete the keys older than KEEP; returns how many."""
    return db.session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEEP)).rowcount
