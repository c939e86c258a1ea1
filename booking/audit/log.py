"""Recording staff actions in the same transaction as the change."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import inspect

from booking.audit.models import AuditEntry
from booking.db import db


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return sorted(_plain(v) for v in value)
    return value


def snapshot(obj, fields: list[str] | None = None) -> dict:
    """Column values of a model instance (and given extra attributes) as JSON-safe data."""
    mapper = inspect(obj).mapper
    names = fields or [c.key for c in mapper.column_attrs]
    return {name: _plain(getattr(obj, name)) for name in names}


def record(actor, action: str, entity: str, entity_id, *, office_id: str | None,
           before: dict | None = None, after: dict | None = None, now: datetime) -> AuditEntry:
    """Add an audit entry for ``actor`` (a User) to the current transaction."""
    if before is not None and after is not None:
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        before = {k: before.get(k) for k in sorted(changed)}
        after = {k: after.get(k) for k in sorted(changed)}
    entry = AuditEntry(at=now, user_id=actor.id, user_email=actor.email, office_id=office_id,
                       action=action, entity=entity, entity_id=str(entity_id),
                       before=before, after=after)
    db.session.add(entry)
    return entry
