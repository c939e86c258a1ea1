"""Run a step after the current transaction of ``db.session`` commits, never on rollback.

The step waits in ``session.info``, tagged with the savepoints open when it was queued:
a savepoint that rolls back drops the steps queued inside it (a booking retried after a
concurrent one took its seat runs them once), and the steps run after the outermost
commit, not when a savepoint is released. Used for the in-process realtime backend's
events and for the metrics' counters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from booking.db import db

log = logging.getLogger(__name__)

_PENDING = "after_commit_pending"


def after_commit(step: Callable[[], None]) -> None:
    """Queue ``step`` to run once the current transaction commits (an exception it
    raises is logged: the commit has happened and is never failed afterwards)."""
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback before any SQL still discards the step
    session.info.setdefault(_PENDING, []).append((_open_savepoints(session), step))


def _open_savepoints(session: Session) -> tuple[SessionTransaction, ...]:
    chain = []
    trans = session.get_nested_transaction()
    while trans is not None:
        if trans.nested:
            chain.append(trans)
        trans = trans.parent
    return tuple(chain)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint was released: wait for the commit
        return
    for _savepoints, step in session.info.pop(_PENDING, ()):
        try:
            step()
        except Exception:
            log.exception("step after commit failed")


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_savepoint_rollback(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending and previous.nested:
        session.info[_PENDING] = [p for p in pending if previous not in p[0]]


@event.listens_for(Session, "after_transaction_end")
def _drop_at_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # after a commit the list is gone already
        session.info.pop(_PENDING, None)
