# placeholder until the realtime branch lands
def publish(channel, data):
    pass


# --- TEMP realtime stand-in (counter branch): drop at merge, the realtime branch has the
# real implementation. Renders the initial state once and ends the stream.
from dataclasses import dataclass, field  # noqa: E402


@dataclass(frozen=True)
class Event:
    channel: str
    data: dict = field(default_factory=dict)
    resync: bool = False


def sse_response(channels, render):
    from flask import Response

    def frame(name: str, data: str) -> str:
        lines = "".join(f"data: {line}\n" for line in data.split("\n"))
        return f"event: {name}\n{lines}\n"

    body = "retry: 600000\n\n" + "".join(frame(n, d) for n, d in render(None))
    return Response(body, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
