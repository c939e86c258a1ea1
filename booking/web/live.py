"""Rendering for live streams: one render per event per process, shared by all streams.

A call reaches every open display and status page of the office at once. Each stream
re-renders its fragments from the database (payloads carry ids only), and with
hundreds of streams per worker that would be hundreds of identical renders per event.
Streams of one process receive the *same* event object, so the first stream to handle
an event renders it and the others reuse the result; the initial render after a
(re)connect is not shared, it must show the state at that moment.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")

_MAX = 256
_lock = threading.Lock()
_results: OrderedDict[tuple, tuple[object, object]] = OrderedDict()
_pending: dict[tuple, threading.Event] = {}


def shared(key: Hashable, event: object | None, render: Callable[[], T]) -> T:
    """``render()`` once per (``key``, ``event``) in this process; None renders anew."""
    if event is None:
        return render()
    slot = (key, id(event))
    while True:
        with _lock:
            hit = _results.get(slot)
            if hit is not None and hit[0] is event:  # the event object keeps its id unique
                _results.move_to_end(slot)
                return hit[1]
            waiting = _pending.get(slot)
            if waiting is None:
                _pending[slot] = threading.Event()
                break
        waiting.wait(10)
    try:
        value = render()
        with _lock:
            _results[slot] = (event, value)
            while len(_results) > _MAX:
                _results.popitem(last=False)
        return value
    finally:
        with _lock:
            _pending.pop(slot).set()
