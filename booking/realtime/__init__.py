"""Live events: published inside a transaction, delivered after commit, to every process.

::

    from booking import realtime

    realtime.publish("office:amt", {"ticket": 17})    # in a request or unit_of_work()

    with realtime.subscribe(["office:amt"]) as sub:    # needs an app context
        ev = sub.get(timeout=15)                       # Event | None

    return realtime.sse_response(["office:amt"], render)   # from a view

``render(ev)`` returns ``[(event_name, data), ...]``; ``ev`` is ``None`` for the initial
state, and an :class:`Event` with ``resync=True`` after events may have been lost (the
listener reconnected or the client fell behind): send the whole state again.

Backends (``REALTIME_BACKEND``): ``postgres`` uses ``pg_notify`` in the transaction and
one ``LISTEN`` connection per process, so events reach every worker on every server;
``memory`` keeps events inside the process (SQLite, development: use one worker);
``auto`` (default) takes ``postgres`` on PostgreSQL, else ``memory``.

Config keys: ``REALTIME_BACKEND`` (auto), ``REALTIME_HEARTBEAT_SECONDS`` (15, comment
ping on idle streams; keep it below the proxy's read timeout),
``REALTIME_STREAM_MAX_SECONDS`` (300, streams end and the browser reconnects, so reloads
and deploys are not held up), ``REALTIME_QUEUE_SIZE`` (256 events a slow subscriber may
lag before it is sent a resync instead), ``REALTIME_SUBSCRIBE_WAIT_SECONDS`` (5, how long
the first subscriber of a process waits for the listener to connect).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, current_app

from booking.config import ConfigError
from booking.realtime.backends import MemoryBackend, PostgresBackend, get_backend, resolve_kind
from booking.realtime.bus import Event, Subscription
from booking.realtime.cooperative import make_psycopg_cooperative
from booking.realtime.publish import publish
from booking.realtime.sse import sse_response

__all__ = ["Event", "Subscription", "init_app", "publish", "subscribe", "sse_response"]

DEFAULTS = {
    "REALTIME_BACKEND": "auto",
    "REALTIME_HEARTBEAT_SECONDS": 15.0,
    "REALTIME_STREAM_MAX_SECONDS": 300.0,
    "REALTIME_QUEUE_SIZE": 256,
    "REALTIME_SUBSCRIBE_WAIT_SECONDS": 5.0,
}


def init_app(app: Flask) -> None:
    """Choose the backend by the database dialect. Connects to nothing: the listener
    starts with the first subscriber of each process."""
    from booking.db import db

    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    for key in ("REALTIME_HEARTBEAT_SECONDS", "REALTIME_STREAM_MAX_SECONDS"):
        if float(app.config[key]) <= 0:
            raise ConfigError(f"{key} must be positive")
    with app.app_context():
        url = db.engine.url
    kind = resolve_kind(app.config["REALTIME_BACKEND"], url.get_backend_name())
    app.extensions["realtime"] = get_backend(kind, url)
    make_psycopg_cooperative()


def backend() -> MemoryBackend | PostgresBackend:
    """The current app's backend (needs an app context)."""
    return current_app.extensions["realtime"]


def subscribe(channels: Iterable[str]) -> Subscription:
    """Receive the events of ``channels`` published from now on; use it as a context
    manager (or call ``close()``). Needs an app context."""
    config = current_app.config
    return backend().subscribe(channels, int(config["REALTIME_QUEUE_SIZE"]),
                               float(config["REALTIME_SUBSCRIBE_WAIT_SECONDS"]))
