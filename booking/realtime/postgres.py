"""PostgreSQL LISTEN/NOTIFY: one listener per process fans notifications out to the hub.

Writers call ``pg_notify`` inside their transaction (see :mod:`booking.realtime.publish`),
so PostgreSQL delivers on commit and never on rollback, to every listening process on
every server. The listener has its own autocommit connection, outside SQLAlchemy's pool.
Notifications sent while it is disconnected are lost; after a reconnect every subscriber
gets a resync event and re-reads the current state.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from time import monotonic

import psycopg

from booking.realtime.bus import Hub

log = logging.getLogger(__name__)

PG_CHANNEL = "booking_events"
# NOTIFY refuses payloads of 8000 bytes or more (in the server encoding).
MAX_PAYLOAD_BYTES = 8000

POLL_SECONDS = 1.0  # how often the listening loop looks at its stop flag
HEALTH_CHECK_SECONDS = 30.0  # a quiet connection is checked with SELECT 1
# Reconnecting: wait BACKOFF_START, then twice as long after every further failure, up
# to BACKOFF_MAX. Only a connection that held for STABLE_SECONDS resets that: one that is
# dropped right after connecting (a database restarting, backends being terminated) must
# not make every subscriber re-read its state at the pace of BACKOFF_START.
BACKOFF_START, BACKOFF_MAX = 0.5, 30.0
STABLE_SECONDS = 30.0
# libpq options: a name to find the connection in pg_stat_activity, and TCP keepalives
# so that a database host that vanished silently is noticed within about a minute.
CONNECT_OPTIONS = {
    "application_name": "booking-realtime",
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60000,  # ms; also when data is waiting to be acknowledged
}


def reconnect_delay(failures: int, start: float = BACKOFF_START,
                    cap: float = BACKOFF_MAX) -> float:
    """Seconds to wait before the next attempt after ``failures`` (>= 1) connections in a
    row failed or did not hold: start, 2 × start, 4 × start … at most ``cap``."""
    return min(start * 2.0 ** min(max(failures - 1, 0), 64), cap)


class PostgresListener:
    """A daemon thread (a greenlet under gevent) holding ``LISTEN booking_events``.

    Started by the first subscriber of a process and again after a fork (gunicorn
    workers fork from the master), like the outbox's BackgroundSender.
    """

    def __init__(self, conninfo: str, *, backoff_start: float = BACKOFF_START,
                 backoff_max: float = BACKOFF_MAX, stable_seconds: float = STABLE_SECONDS
                 ) -> None:
        self._conninfo = conninfo
        self._backoff = (backoff_start, backoff_max)
        self._stable_seconds = stable_seconds
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._hub = Hub(listening=False)
        self.backend_pid: int | None = None  # of the listening connection (tests, monitoring)
        # connections in a row that failed or were lost before they held (tests, monitoring)
        self.failures = 0

    @property
    def hub(self) -> Hub:
        self.ensure_started()
        return self._hub

    def ensure_started(self) -> None:
        with self._lock:
            if self._pid != os.getpid():
                # A forked child inherits neither the thread nor meaningful subscribers.
                self._hub = Hub(listening=False)
                self._thread = None
                self.backend_pid = None
            elif self._thread is not None and self._thread.is_alive():
                return
            self._pid = os.getpid()
            # A stop flag per thread: a stopped thread that is slow to notice can never
            # come back to life beside its successor.
            self._stop = stop = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(stop,),
                                            name="realtime-listener", daemon=True)
            self._thread.start()

    def stop(self, timeout: float | None = 10) -> None:
        """End the thread (tests, shutdown). Subscribers stay registered and get a
        resync when a later subscribe() starts the listener again."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
            self._hub.set_not_listening()
            self.backend_pid = None
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self, stop: threading.Event) -> None:
        self.failures = 0
        while not stop.is_set():
            listening_since = None
            try:
                with psycopg.connect(self._conninfo, autocommit=True, **CONNECT_OPTIONS) as conn:
                    conn.execute(f"LISTEN {PG_CHANNEL}")
                    with self._lock:
                        if stop.is_set():
                            return
                        self.backend_pid = conn.info.backend_pid
                    listening_since = monotonic()
                    self._hub.set_listening()  # every subscriber re-reads its state
                    self._listen(conn, stop)
            except Exception as exc:  # psycopg.Error, OSError …: reconnect with back-off
                with self._lock:
                    if stop.is_set():
                        return
                    self._hub.set_not_listening()
                    self.backend_pid = None
                if (listening_since is not None
                        and monotonic() - listening_since >= self._stable_seconds):
                    self.failures = 0  # it held: the database is back for good
                self.failures += 1
                delay = reconnect_delay(self.failures, *self._backoff)
                log.warning("realtime listener lost its connection (%s); retrying in %.1f s",
                            exc, delay)
                if stop.wait(delay):
                    return

    def _listen(self, conn: psycopg.Connection, stop: threading.Event) -> None:
        checked = monotonic()
        while not stop.is_set():
            received = False
            for notify in conn.notifies(timeout=POLL_SECONDS):
                if stop.is_set():
                    return
                received = True
                self._dispatch(notify.payload)
            if received:
                checked = monotonic()
            elif monotonic() - checked >= HEALTH_CHECK_SECONDS:
                # A peer that vanished without closing the socket is found here.
                conn.execute("SELECT 1")
                checked = monotonic()

    def _dispatch(self, payload: str) -> None:
        try:
            message = json.loads(payload)
            channel, data = message["channel"], message["data"]
        except (ValueError, KeyError, TypeError):
            log.error("ignoring malformed realtime notification: %.200r", payload)
            return
        self._hub.dispatch(channel, data)
