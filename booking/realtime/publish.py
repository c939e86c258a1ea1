"""``publish``: record an event in the current transaction; it leaves only on commit.

PostgreSQL gives this for free: ``pg_notify`` inside a transaction is delivered when it
commits, discarded when it (or the savepoint around it) rolls back. The memory backend
copies that behaviour with :func:`booking.after_commit.after_commit`: the event reaches
the hub after the outermost commit.
"""

from __future__ import annotations

import json
import logging

from flask import current_app

from booking.after_commit import after_commit
from booking.db import db
from booking.realtime.postgres import MAX_PAYLOAD_BYTES, PG_CHANNEL

log = logging.getLogger(__name__)

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
        # the transaction's connection, the statement as the driver takes it: nothing
        # for SQLAlchemy to compile or to load
        session.connection().exec_driver_sql("SELECT pg_notify(%s, %s)", (PG_CHANNEL, payload))
        return
    message = json.loads(payload)  # the same copy a PostgreSQL subscriber would get
    hub, channel, data = backend.hub, message["channel"], message["data"]
    after_commit(lambda: hub.dispatch(channel, data))
