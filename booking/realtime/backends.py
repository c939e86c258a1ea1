"""The two backends and the per-process registry that picks them.

* ``postgres``: ``publish`` runs ``pg_notify`` in the transaction; one
  :class:`~booking.realtime.postgres.PostgresListener` per process and database
  delivers to local subscribers. Works across workers and servers.
* ``memory``: ``publish`` keeps the event in the session until commit and hands it to
  this process's hub. With SQLite every process has its own hub, so events published
  in one gunicorn worker never reach a stream held by another: run a single worker
  (or use PostgreSQL).

Backends are shared by database URL, not by app: two apps on one database in one
process (the test suite has two) see the same events, and a process has one listener.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable

from sqlalchemy.engine import URL

from booking.config import ConfigError
from booking.realtime.bus import Hub, Subscription
from booking.realtime.postgres import PostgresListener

BACKENDS = ("auto", "postgres", "memory")


class MemoryBackend:
    kind = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hub = Hub()
        self._pid = os.getpid()

    @property
    def hub(self) -> Hub:
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's subscribers are not ours
                self._hub, self._pid = Hub(), os.getpid()
            return self._hub

    def subscribe(self, channels: Iterable[str], queue_size: int, wait: float) -> Subscription:
        hub = self.hub
        sub = Subscription(hub, channels, queue_size)
        hub.add(sub)
        hub.mark_ready(sub)
        return sub

    def stop(self) -> None:
        pass


class PostgresBackend:
    kind = "postgres"

    def __init__(self, conninfo: str) -> None:
        self.listener = PostgresListener(conninfo)

    @property
    def hub(self) -> Hub:
        return self.listener.hub

    def subscribe(self, channels: Iterable[str], queue_size: int, wait: float) -> Subscription:
        hub = self.listener.hub  # starts the listener in this process if needed
        sub = Subscription(hub, channels, queue_size)
        hub.add(sub)
        if not hub.listening:
            # Usually the first subscriber of a process: wait for LISTEN, so that state
            # read after subscribe() returns is followed by every later change. If the
            # database is unreachable, go on; the reconnect will send a resync.
            hub.wait_listening(wait)
        hub.mark_ready(sub)
        return sub

    def stop(self) -> None:
        self.listener.stop()


_registry: dict[tuple[str, str], MemoryBackend | PostgresBackend] = {}
_registry_lock = threading.Lock()


def resolve_kind(setting: str, dialect: str) -> str:
    if setting not in BACKENDS:
        raise ConfigError(f"REALTIME_BACKEND must be one of {', '.join(BACKENDS)}, not {setting!r}")
    if setting == "auto":
        return "postgres" if dialect == "postgresql" else "memory"
    if setting == "postgres" and dialect != "postgresql":
        raise ConfigError("REALTIME_BACKEND=postgres needs a PostgreSQL database")
    return setting


def libpq_conninfo(url: URL) -> str:
    """A libpq URI for psycopg from a SQLAlchemy URL (``postgresql+psycopg://…``)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def get_backend(kind: str, url: URL) -> MemoryBackend | PostgresBackend:
    key = (kind, url.render_as_string(hide_password=False))
    with _registry_lock:
        backend = _registry.get(key)
        if backend is None:
            backend = PostgresBackend(libpq_conninfo(url)) if kind == "postgres" else MemoryBackend()
            _registry[key] = backend
        return backend
