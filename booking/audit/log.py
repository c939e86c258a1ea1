"""Recording staff actions in the same transaction as the change, and removing
citizens' data from old entries."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Text, cast, inspect, or_, select

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


#: The fields of an entity's audited values that may hold a citizen's data (free text
#: a clerk typed, such as the reason for a cancellation, may name the citizen). The
#: retention purge removes them from entries older than the retention period; who did
#: what, to which entity and when stays. Features that audit citizens' data add their
#: entity here.
CITIZEN_FIELDS: dict[str, frozenset[str]] = {
    "appointment": frozenset({"name", "email", "phone", "cancel_reason"}),
    "ticket": frozenset({"notify_email"}),
}


def strip_citizen_data(before: datetime) -> int:
    """Remove :data:`CITIZEN_FIELDS` from the values of entries recorded before
    ``before``. Returns the entries changed."""
    changed = 0
    for entity, fields in CITIZEN_FIELDS.items():
        mentions = [cast(column, Text).like(f'%"{field}"%')
                    for column in (AuditEntry.before, AuditEntry.after) for field in fields]
        entries = db.session.scalars(select(AuditEntry).where(
            AuditEntry.entity == entity, AuditEntry.at < before, or_(*mentions)))
        for entry in entries:
            stripped = [{k: v for k, v in values.items() if k not in fields}
                        if isinstance(values, dict) else values
                        for values in (entry.before, entry.after)]
            if stripped != [entry.before, entry.after]:
                entry.before, entry.after = stripped
                changed += 1
    db.session.flush()
    return changed
