"""Server-Sent Events responses (``text/event-stream``) fed by :func:`subscribe`.

An open stream holds no database connection: the request's session is released before
the first byte, and every render gets a fresh app and request context (so templates can
use ``url_for`` and the request's language) whose session is removed right after.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator

from flask import Response, current_app, request, session
from flask.ctx import RequestContext

from booking.db import db
from booking.realtime.bus import Event

log = logging.getLogger(__name__)

RETRY_MS = 2000
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the line ends of the event-stream format

Render = Callable[[Event | None], Iterable[tuple[str, str]]]


def format_message(event_name: str, data: str, message_id: str) -> str:
    """One event-stream message; multi-line ``data`` becomes several ``data:`` lines."""
    if _LINE_BREAK.search(event_name) or _LINE_BREAK.search(message_id):
        raise ValueError("event names and ids must be single lines")
    lines = [f"id: {message_id}"]
    if event_name:
        lines.append(f"event: {event_name}")
    lines.extend(f"data: {line}" for line in _LINE_BREAK.split(data))
    return "\n".join(lines) + "\n\n"


def sse_response(channels: Iterable[str], render: Render) -> Response:
    """Stream ``render``'s messages for ``channels`` as Server-Sent Events.

    ``render(None)`` gives the current state and is sent first, also to a client that
    reconnects with ``Last-Event-ID`` (missed events are not replayed: the state is
    re-sent). Then ``render(event)`` runs for every event; for an event with
    ``resync=True`` it must send the whole state again, as for ``None``. ``render``
    returns ``(event_name, data)`` pairs; ``data`` may span lines.

    The view calling this must not write to the database: its session is closed here.
    The stream pings every ``REALTIME_HEARTBEAT_SECONDS`` and ends after
    ``REALTIME_STREAM_MAX_SECONDS`` (the browser reconnects after ``retry``).
    """
    from booking.metrics import EVENT_STREAMS
    from booking.realtime import subscribe  # late: the package imports this module

    app = current_app._get_current_object()
    environ = {k: v for k, v in request.environ.items() if k != "werkzeug.request"}
    if isinstance(channels, str):
        raise TypeError("channels must be a list of channel names, not one string")
    channels = list(channels)
    heartbeat = float(app.config["REALTIME_HEARTBEAT_SECONDS"])
    lifetime = float(app.config["REALTIME_STREAM_MAX_SECONDS"])
    db.session.remove()  # no connection is held while the stream is open
    open_streams = EVENT_STREAMS.labels(request.endpoint or "none")

    # The request is parsed and its session cookie read once per stream, not per render:
    # with a thousand open streams that is a good part of the cost of an event.
    stream_request = app.request_class(environ)
    stream_session = session._get_current_object()

    def render_in_context(ev: Event | None) -> list[tuple[str, str]]:
        with app.app_context(), RequestContext(app, environ, request=stream_request,
                                               session=stream_session):
            try:
                return list(render(ev))
            finally:
                db.session.remove()

    def stream() -> Iterator[str]:
        started = time.monotonic()
        prefix = f"{time.time_ns() // 1_000_000:x}"
        count = 0

        def messages(ev: Event | None) -> str:
            nonlocal count
            out = []
            for name, data in render_in_context(ev):
                count += 1
                out.append(format_message(name, data, f"{prefix}-{count}"))
            return "".join(out)

        open_streams.inc()  # counted while the client reads it; closed: the finally
        try:
            with app.app_context():
                sub = subscribe(channels)
            with sub:
                # Subscribed before the state is read: nothing can fall between the two.
                yield f"retry: {RETRY_MS}\n\n" + messages(None)
                last_write = time.monotonic()
                while True:
                    now = time.monotonic()
                    if now - started >= lifetime:
                        return
                    wait = min(last_write + heartbeat, started + lifetime) - now
                    ev = sub.get(timeout=max(wait, 0))
                    if sub.closed:  # the backend stopped (shutdown): the client reconnects
                        return
                    if ev is None:
                        if time.monotonic() - last_write >= heartbeat:
                            yield ": ping\n\n"
                            last_write = time.monotonic()
                        continue
                    chunk = messages(ev)
                    if chunk:
                        yield chunk
                        last_write = time.monotonic()
        finally:
            open_streams.dec()

    response: Response = app.response_class(stream(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response
