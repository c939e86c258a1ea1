"""API keys an office issues to a trusted portal: its bookings through the JSON API need
no proof of work (and the rate limiter exempts it). Only a hash of a key is stored; the
key itself is shown once, when it is issued. Issuing and revoking are audited."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select

from booking.audit import log as audit
from booking.db import db
from booking.fairness.models import PortalKey
from booking.offices.models import Office

#: keys are this prefix and 43 URL-safe characters (256 random bits)
PREFIX = "bbk_"
MAX_KEY_LENGTH = 100


def hash_key(key: str) -> str:
    return hashlib.sha256(b"portal-key\0" + key.encode("utf-8", "surrogatepass")).hexdigest()


def _shown(key: PortalKey) -> dict:
    return {"label": key.label, "office_id": key.office_id}


def issue_key(office: Office, label: str, actor, now: datetime) -> tuple[PortalKey, str]:
    """A new key for ``office``; returns the row and the key (shown once, never stored)."""
    key = PREFIX + secrets.token_urlsafe(32)
    row = PortalKey(office=office, label=label, key_hash=hash_key(key), created_at=now)
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "portal_key.issued", "portal_key", row.id, office_id=office.id,
                 after=_shown(row), now=now)
    return row, key


def revoke_key(row: PortalKey, actor, now: datetime) -> bool:
    """Revoke ``row`` (at once, on every server); False if it was revoked before."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = now
    audit.record(actor, "portal_key.revoked", "portal_key", row.id, office_id=row.office_id,
                 before=_shown(row), now=now)
    return True


def get_active_key(key: str | None) -> PortalKey | None:
    """The unrevoked key row for ``key`` as sent by a portal, or None."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    row = db.session.scalar(select(PortalKey).where(PortalKey.key_hash == hash_key(key)))
    return row if row is not None and row.revoked_at is None else None


def get_office_keys(office: Office) -> list[PortalKey]:
    return list(db.session.scalars(select(PortalKey).where(PortalKey.office_id == office.id)
                                   .order_by(PortalKey.created_at.desc(), PortalKey.id.desc())))
