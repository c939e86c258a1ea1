"""Opt-outs: a person does not want invitations for a service any more. Only a hash of
the normalised email and the service is kept, so that the same person is not invited
again; no name, no address."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from booking.db import db
from booking.invitations.models import InvitationOptOut

CHUNK = 500


def key(email_key: str, service_id: str) -> str:
    return hashlib.sha256(f"invitation-opt-out\n{service_id}\n{email_key}".encode()).hexdigest()


def opted_out_keys(pairs: Iterable[tuple[str, str]]) -> set[str]:
    """The keys of those (email_key, service_id) pairs that opted out."""
    wanted = sorted({key(email_key, service_id) for email_key, service_id in pairs})
    found: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        found.update(db.session.scalars(select(InvitationOptOut.key_hash).where(
            InvitationOptOut.key_hash.in_(wanted[start:start + CHUNK]))))
    return found


def is_opted_out(email_key: str, service_id: str) -> bool:
    return db.session.get(InvitationOptOut, key(email_key, service_id)) is not None


def record(email_key: str, service_id: str, now: datetime) -> bool:
    """Keep the opt-out; False if it was kept already."""
    if is_opted_out(email_key, service_id):
        return False
    try:
        with db.session.begin_nested():
            db.session.add(InvitationOptOut(key_hash=key(email_key, service_id),
                                            created_at=now))
    except IntegrityError:  # the same click twice at once
        return False
    return True
