"""Seats taken for good per (rule, step), kept by whatever takes or frees them.

The slot listing reads these counts (one row per step) instead of counting the seat
rows of every step (:func:`queries.get_taken`). Only seats without ``held_until`` are
counted here: a held seat is free from its ``held_until`` on without anyone writing,
so the listing adds the few held seats not lapsed yet from their own small index.

Every change of the seats not held goes through :func:`apply` in the same transaction
(and savepoint) as the change itself: taking seats (operations), releasing them
(cancelling, moving), holding or confirming them (holds), moving them to another rule
(offices.rules). The rows are changed in key order, so that transactions changing
several steps never wait for each other in a cycle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite

from booking.db import db
from booking.scheduling.models import StepCount

Changes = Counter  # (rule id, step) → seats taken (+) or freed (−)


def _upsert(insert):
    table = StepCount.__table__
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.rule_id, table.c.slot_at],
        set_={"taken": table.c.taken + statement.excluded.taken})


# (built once: every booking runs it)
_ADD = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}


def changes(keys: Iterable[tuple[int, datetime]], delta: int) -> Changes:
    """``delta`` for each (rule id, step) of ``keys``."""
    counted: Changes = Counter()
    for key in keys:
        counted[key] += delta
    return counted


def unheld(rows: Iterable[tuple[int, datetime, datetime | None]], delta: int) -> Changes:
    """``delta`` for each (rule id, step, held_until) row whose seat is not held."""
    return changes(((rule_id, at) for rule_id, at, held_until in rows if held_until is None),
                   delta)


def apply(counted: Changes) -> None:
    """Add ``counted`` to the kept counts, in key order, in one round trip."""
    rows = [{"rule_id": rule_id, "slot_at": at, "taken": delta}
            for (rule_id, at), delta in sorted(counted.items()) if delta]
    if not rows:
        return
    connection = db.session.connection()
    connection.execute(_ADD[connection.dialect.name], rows)
