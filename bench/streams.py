"""Many open Server-Sent-Event streams in one process, with the arrival time of every
message: the receiving side of the walk-in queue benchmark (bench/queue_run.py).

    python bench/streams.py --port 8000 --paths paths.txt --out received.json

``paths.txt`` holds one path per line (``/offices/mitte/display/events``,
``/tickets/<id>/events``). Every stream is opened with HTTP/1.1 on its own connection;
when all have received their first message (the current state) the script prints
``ready <n>`` on stdout. It records, per stream, the wall-clock time (``time.time()``,
comparable with other processes on the machine) of each message, its event name and
the newest call it names (``data-newest="A017@Platz 3@…"``) or the people ahead it
shows (``data-ahead="12"``), reconnects a stream the
server ends (``REALTIME_STREAM_MAX_SECONDS``), and writes everything as JSON when its
standard input is closed. Stdlib only (asyncio, raw sockets).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time

NEWEST = re.compile(r'data-newest="([^"@]*)@')
AHEAD = re.compile(r'data-ahead="(\d+)"')


class Stream:
    def __init__(self, path: str) -> None:
        self.path = path
        self.messages: list[tuple[float, str, str | None, int | None]] = []
        self.connects = 0
        self.errors: list[str] = []
        self.first = asyncio.Event()


async def read_chunked_lines(reader: asyncio.StreamReader):
    """The body's lines, undoing HTTP/1.1 chunked transfer encoding."""
    pending = b""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return
        data = await reader.readexactly(size + 2)
        pending += data[:-2]
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line.rstrip(b"\r").decode("utf-8", "replace")


async def read_plain_lines(reader: asyncio.StreamReader):
    while True:
        line = await reader.readline()
        if not line:
            return
        yield line.rstrip(b"\r\n").decode("utf-8", "replace")


async def follow(stream: Stream, host: str, port: int, stop: asyncio.Event,
                 connecting: asyncio.Semaphore) -> None:
    while not stop.is_set():
        try:
            async with connecting:  # do not open a thousand connections in one burst
                reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
                writer.write(f"GET {stream.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                             "Accept: text/event-stream\r\n\r\n".encode())
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
            stream.connects += 1
            status = int(head.split(b" ", 2)[1])
            if status != 200:
                stream.errors.append(f"HTTP {status}")
                writer.close()
                await asyncio.sleep(1)
                continue
            chunked = b"transfer-encoding: chunked" in head.lower()
            lines = read_chunked_lines(reader) if chunked else read_plain_lines(reader)
            event, data = "", []
            async for line in lines:
                if line == "":
                    if data:
                        text = "\n".join(data)
                        newest, ahead = NEWEST.search(text), AHEAD.search(text)
                        stream.messages.append(
                            (time.time(), event or "message", newest.group(1) if newest else None,
                             int(ahead.group(1)) if ahead else None))
                        stream.first.set()
                    event, data = "", []
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
            writer.close()  # the server ended the stream: reconnect, like a browser
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            stream.errors.append(type(exc).__name__)
            await asyncio.sleep(1)


async def main_async(args) -> dict:
    with open(args.paths, encoding="utf-8") as fh:
        paths = [line.strip() for line in fh if line.strip()]
    streams = [Stream(p) for p in paths]
    stop = asyncio.Event()
    connecting = asyncio.Semaphore(args.connect_concurrency)
    t0 = time.time()
    tasks = [asyncio.create_task(follow(s, args.host, args.port, stop, connecting))
             for s in streams]
    try:
        await asyncio.wait_for(asyncio.gather(*(s.first.wait() for s in streams)),
                               timeout=args.ready_timeout)
    except TimeoutError:
        pass
    ready = sum(1 for s in streams if s.first.is_set())
    print(f"ready {ready} {time.time() - t0:.2f}", flush=True)
    # wait for stdin to close (the runner is done), without blocking the event loop
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"streams": [{"path": s.path, "connects": s.connects, "errors": s.errors,
                         "messages": s.messages} for s in streams],
            "ready": ready}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--paths", required=True, help="file with one path per line")
    parser.add_argument("--out", required=True, help="JSON file for what was received")
    parser.add_argument("--connect-concurrency", type=int, default=50)
    parser.add_argument("--ready-timeout", type=float, default=120)
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args))
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
