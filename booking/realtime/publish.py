"""``publish``: record an event in the current transaction; it leaves only on commit.

PostgreSQL gives this for free: ``pg_notify`` inside a transaction is delivered when it
commits, discarded when it (or the savepoint around it) rolls back. The memory backend
copies that behaviour with session events: the event waits in ``session.info``, tagged
with the savepoints open at the time, and reaches the hub after the outermost commit.
"""

from __future__ import annotations

import json
import logging

from flask import current_app
from sqlalchemy import event, text
from sqlalchemy.orm import Session, SessionTransaction

from booking.db import db
from booking.realtime.postgres import MAX_PAYLOAD_BYTES, PG_CHANNEL

log = logging.getLogger(__name__)

_PENDING = "realtime_pending"


def encode(channel: str, data: dict) -> str:
    """The notification payload; raises ValueError if it is too large for NOTIFY."""
    if not isinstance(channel, str) or not channel:
        raise ValueError("channel must be a non-empty string")
    if not isinstance(data, dict):
        raise TypeError("data must be a dict")
    payload = json.dumps({"channel": channel, "data": data}, separators=(",", ":"),
                         ensure_ascii=False)
    size = len(payload.encode("utf-8"))
    if size >= MAX_PAYLOAD_BYTES:
        raise ValueError(f"realtime payload of {size} bytes is too large (limit {MAX_PAYLOAD_BYTES}); "
                         "send ids and render on the server")
    return payload


def publish(channel: str, data: dict) -> None:
    """Publish ``data`` on ``channel`` once the current transaction commits.

    Needs an app context; uses ``db.session``. ``data`` must be JSON-serialisable
    (subscribers receive what ``json.loads`` gives back, on every backend) and the
    encoded event must stay under 8000 bytes (``ValueError`` otherwise): send ids and
    let the stream render from the database. Nothing is sent on rollback, nor for a
    savepoint that rolls back.
    """
    payload = encode(channel, data)
    backend = current_app.extensions["realtime"]
    session = db.session()
    if backend.kind == "postgres":
        session.execute(text("SELECT pg_notify(:pg_channel, :payload)"),
                        {"pg_channel": PG_CHANNEL, "payload": payload})
        return
    if not session.in_transaction():
        session.begin()  # so that a rollback before any SQL still discards the event
    message = json.loads(payload)  # the same copy a PostgreSQL subscriber would get
    session.info.setdefault(_PENDING, []).append(
        (_open_savepoints(session), backend, message["channel"], message["data"]))


def _open_savepoints(session: Session) -> tuple[SessionTransaction, ...]:
    chain = []
    trans = session.get_nested_transaction()
    while trans is not None:
        if trans.nested:
            chain.append(trans)
        trans = trans.parent
    return tuple(chain)


@event.listens_for(Session, "after_commit")
def _release_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint was released; wait for the real commit
        return
    for _savepoints, backend, channel, data in session.info.pop(_PENDING, ()):
        try:
            backend.hub.dispatch(channel, data)
        except Exception:  # the commit has happened; never fail it afterwards
            log.exception("realtime event on %s not delivered", channel)


@event.listens_for(Session, "after_soft_rollback")
def _discard_after_savepoint_rollback(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending and previous.nested:
        session.info[_PENDING] = [p for p in pending if previous not in p[0]]


@event.listens_for(Session, "after_transaction_end")
def _discard_at_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # After a commit the list is gone already; after a rollback or close() it is dropped.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
