"""The in-process part: events, subscriptions with bounded queues, and the hub that fans out.

Everything here is safe across threads and, once gevent has monkey-patched ``threading``,
across greenlets: the locks and conditions are looked up on the ``threading`` module when
an object is created, and no lock is ever held while waiting or doing I/O.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from time import monotonic


@dataclass(frozen=True)
class Event:
    """One live event. ``resync=True`` means events may have been lost (the listener
    reconnected, or this subscriber fell behind): re-read the current state.
    A resync event has no channel and no data."""

    channel: str
    data: dict = field(default_factory=dict)
    resync: bool = False


RESYNC = Event(channel="", data={}, resync=True)


class Subscription:
    """A subscriber's bounded queue. ``get`` blocks; the hub never does.

    When the queue is full the subscriber is too slow to matter for the events it
    holds: they are dropped and replaced by a single resync event.
    """

    def __init__(self, hub: Hub, channels: Iterable[str], maxsize: int) -> None:
        if isinstance(channels, str):
            raise TypeError("channels must be a list of channel names, not one string")
        self.channels = frozenset(channels)
        if not self.channels or not all(isinstance(c, str) and c for c in self.channels):
            raise ValueError("subscribe to at least one non-empty channel name")
        self._hub = hub
        self._maxsize = max(1, maxsize)
        self._queue: deque[Event] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._closed = False
        # True while subscribe() is still waiting for the listener: whoever subscribed
        # reads the current state afterwards, so a (re)connect then needs no resync.
        self.fresh = True

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or ``None`` after ``timeout`` seconds (or once closed)."""
        deadline = None if timeout is None else monotonic() + timeout
        with self._cond:
            while not self._queue and not self._closed:
                remaining = None if deadline is None else deadline - monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return self._queue.popleft() if self._queue else None

    def put(self, event: Event) -> None:
        """Called by the hub (listener thread or committing thread); never blocks."""
        with self._cond:
            if self._closed:
                return
            if event.resync:
                if self._queue and self._queue[-1].resync:
                    return
            elif len(self._queue) >= self._maxsize:
                # Everything queued is superseded by re-reading the state.
                self._queue.clear()
                event = RESYNC
            self._queue.append(event)
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._cond.notify_all()
        self._hub.remove(self)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class Hub:
    """Subscribers of one process, by channel."""

    def __init__(self, listening: bool = True) -> None:
        self._lock = threading.Lock()
        self._by_channel: dict[str, set[Subscription]] = {}
        self._listening = listening
        self._listening_event = threading.Event()
        if listening:
            self._listening_event.set()

    def add(self, sub: Subscription) -> None:
        with self._lock:
            for channel in sub.channels:
                self._by_channel.setdefault(channel, set()).add(sub)

    def remove(self, sub: Subscription) -> None:
        with self._lock:
            for channel in sub.channels:
                subs = self._by_channel.get(channel)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._by_channel[channel]

    def close_all(self) -> None:
        """End every subscription (their streams end; clients reconnect)."""
        with self._lock:
            subs = {s for subs in self._by_channel.values() for s in subs}
        for sub in subs:
            sub.close()

    def subscriber_count(self) -> int:
        with self._lock:
            return len({s for subs in self._by_channel.values() for s in subs})

    def dispatch(self, channel: str, data: dict) -> None:
        with self._lock:
            targets = list(self._by_channel.get(channel, ()))
        event = Event(channel, data)
        for sub in targets:
            sub.put(event)

    # -- listener state (the memory backend is always "listening")

    @property
    def listening(self) -> bool:
        return self._listening

    def wait_listening(self, timeout: float) -> bool:
        return self._listening_event.wait(timeout)

    def mark_ready(self, sub: Subscription) -> None:
        """subscribe() is done waiting; from now on a reconnect owes ``sub`` a resync."""
        with self._lock:
            sub.fresh = False

    def set_listening(self) -> None:
        """The listener (re)connected: everyone who could have missed events resyncs."""
        with self._lock:
            self._listening = True
            self._listening_event.set()
            targets = {s for subs in self._by_channel.values() for s in subs if not s.fresh}
        for sub in targets:
            sub.put(RESYNC)

    def set_not_listening(self) -> None:
        with self._lock:
            self._listening = False
            self._listening_event.clear()
