# placeholder until the realtime branch lands
#
# TEMP realtime stand-in (kiosk branch): a minimal in-process ``sse_response`` with the
# agreed signature, so the ticket status stream can be written and tested. It renders the
# initial state once and ends the stream. Drop this whole commit when booking/realtime lands.
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flask import Response


def publish(channel, data):
    pass


@dataclass
class Event:
    channel: str
    data: dict = field(default_factory=dict)
    resync: bool = False


def _frame(name: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {name}\n{lines}\n"


def sse_response(channels: Iterable[str],
                 render: Callable[[Event | None], list[tuple[str, str]]]) -> Response:
    list(channels)
    body = "retry: 5000\n\n" + "".join(_frame(name, data) for name, data in render(None))
    return Response(body, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
