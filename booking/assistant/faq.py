"""Editing the FAQ (managers for their offices, administrators also town-wide), audited
in the same transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from booking.assistant.models import FaqEntry
from booking.audit.log import record, snapshot
from booking.db import db

FIELDS = ("question_de", "answer_de", "question_en", "answer_en")


def get_entries(office_id: str | None) -> list[FaqEntry]:
    """The town-wide entries and, with ``office_id``, that office's."""
    query = select(FaqEntry).order_by(FaqEntry.office_id.is_not(None), FaqEntry.id)
    scope = FaqEntry.office_id.is_(None)
    if office_id is not None:
        scope = or_(scope, FaqEntry.office_id == office_id)
    return list(db.session.scalars(query.where(scope)))


def save_entry(entry: FaqEntry | None, values: dict, office_id: str | None, actor,
               now: datetime) -> FaqEntry:
    """Create (``entry`` None) or change an entry; ``values`` has :data:`FIELDS`."""
    before = snapshot(entry, ["office_id", *FIELDS]) if entry is not None else None
    if entry is None:
        entry = FaqEntry(office_id=office_id)
        db.session.add(entry)
    for name in FIELDS:
        setattr(entry, name, values[name].strip())
    entry.updated_at = now
    db.session.flush()
    record(actor, "faq.updated" if before else "faq.created", "faq", entry.id,
           office_id=entry.office_id, before=before,
           after=snapshot(entry, ["office_id", *FIELDS]), now=now)
    return entry


def delete_entry(entry: FaqEntry, actor, now: datetime) -> None:
    record(actor, "faq.deleted", "faq", entry.id, office_id=entry.office_id,
           before=snapshot(entry, ["office_id", *FIELDS]), now=now)
    db.session.delete(entry)
    db.session.flush()
