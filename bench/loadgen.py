"""Closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending its next
request as soon as the previous response is read. Stdlib only (asyncio, raw sockets), so
it costs little CPU per request; it runs as its own process and prints one JSON object.

    python bench/loadgen.py --port 8000 --path /bench/bare -c 16 -d 10 -w 2
    python bench/loadgen.py --port 8000 --path /api/v1/appointments --bodies b.jsonl ...
    python bench/loadgen.py --port 8443 --tls-name termine.example-stadt.de --path ...

With ``--tls-name`` the connections use TLS (certificate not verified) with that server
name, which also goes into the Host header: for an nginx site in front of the app.

A client opens a new connection once its connection is ``--connection-seconds`` old
(0.5 s), after a response: its requests are not tied for the whole run to the gunicorn
worker that happened to accept it. Workers accept unevenly when all clients connect at
once (one worker may take all 16), and a worker serves at most one core: with connections
kept for the whole run, the booking's rate jumped between runs with the number of
workers that had clients (143 or 263 bookings a second on the same code).

With ``--bodies`` every request is a POST with the next line of the file as its JSON
body; no body is sent twice, and a client stops when the file is used up.
Only responses that complete inside the measured window (after the warm-up) count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import time
from collections import Counter


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil(n * p / 100)
    return sorted_values[int(rank) - 1]


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.cache: Counter[str] = Counter()  # nginx's X-Cache-Status, where it sends one
        self.errors: Counter[str] = Counter()
        self.bytes = 0


async def read_response(reader: asyncio.StreamReader,
                        cache: Counter[str] | None = None) -> tuple[int, bytes, bool]:
    """(status, body, server wants to close); nginx's X-Cache-Status counted in ``cache``."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    chunked = close = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
        elif name == b"x-cache-status" and cache is not None:
            cache[value.strip().decode()] += 1
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        return status, b"".join(parts), close
    if length is None:
        return status, await reader.read(), True
    return status, await reader.readexactly(length), close


def build_requests(args) -> tuple[bytes | None, list[bytes] | None]:
    host = (args.tls_name or f"{args.host}:{args.port}").encode()
    if not args.bodies:
        request = (b"GET " + args.path.encode() + b" HTTP/1.1\r\nHost: " + host
                   + b"\r\nAccept: application/json\r\nUser-Agent: bench\r\n\r\n")
        return request, None
    requests = []
    with open(args.bodies, "rb") as fh:
        for line in fh:
            body = line.strip()
            if body:
                requests.append(
                    b"POST " + args.path.encode() + b" HTTP/1.1\r\nHost: " + host
                    + b"\r\nAccept: application/json\r\nUser-Agent: bench"
                    + b"\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(body)).encode() + b"\r\n\r\n" + body)
    requests.reverse()  # pop() from the end hands them out in file order
    return None, requests


def tls_context(args) -> ssl.SSLContext | None:
    """One context for all clients, without the system's CA store (loading it takes
    long enough on a busy machine to hold the first requests back)."""
    if not args.tls_name:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False  # a throw-away certificate on 127.0.0.1
    context.verify_mode = ssl.CERT_NONE
    return context


async def client(args, fixed: bytes | None, pool: list[bytes] | None, stats: Stats,
                 window: list[float], stop_at: float, tls: ssl.SSLContext | None) -> None:
    reader = writer = None
    opened = 0.0
    while True:
        if time.perf_counter() >= stop_at:
            break
        if pool is not None:
            if not pool:
                stats.errors["bodies used up"] += 1
                break
            request = pool.pop()
        else:
            request = fixed
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(
                    args.host, args.port, ssl=tls, server_hostname=args.tls_name)
                opened = time.perf_counter()
            t0 = time.perf_counter()
            writer.write(request)
            cache: Counter[str] = Counter()
            status, body, close = await read_response(reader, cache)
            t1 = time.perf_counter()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            stats.errors[type(exc).__name__] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
            continue
        if window[0] <= t1 <= window[1]:
            stats.latencies.append(t1 - t0)
            stats.statuses[status] += 1
            stats.cache.update(cache)
            stats.bytes += len(body)
        if close or t1 - opened >= args.connection_seconds:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def main_async(args) -> dict:
    fixed, pool = build_requests(args)
    stats = Stats()
    start = time.perf_counter()
    window = [start + args.warmup, start + args.warmup + args.duration]
    cpu0 = None

    async def mark_cpu():
        nonlocal cpu0
        await asyncio.sleep(args.warmup)
        cpu0 = time.process_time()

    marker = asyncio.create_task(mark_cpu())
    tls = tls_context(args)
    await asyncio.gather(*(client(args, fixed, pool, stats, window, window[1], tls)
                           for _ in range(args.concurrency)))
    await marker
    ended = time.perf_counter()
    cpu = time.process_time() - (cpu0 or 0.0)
    elapsed = min(ended, window[1]) - window[0]
    if elapsed <= 0:
        elapsed = float("nan")
    lat = sorted(stats.latencies)
    n = len(lat)
    return {
        "path": args.path,
        "method": "POST" if args.bodies else "GET",
        "concurrency": args.concurrency,
        "duration_s": round(elapsed, 3),
        "requests": n,
        "rps": round(n / elapsed, 1),
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "errors": dict(stats.errors),
        "cache_statuses": dict(stats.cache),
        "latency_ms": {
            "mean": round(sum(lat) / n * 1000, 2) if n else None,
            "p50": round(percentile(lat, 50) * 1000, 2) if n else None,
            "p90": round(percentile(lat, 90) * 1000, 2) if n else None,
            "p99": round(percentile(lat, 99) * 1000, 2) if n else None,
            "max": round(lat[-1] * 1000, 2) if n else None,
        },
        "mean_body_bytes": round(stats.bytes / n) if n else None,
        "loadgen_cpu_ms_per_request": round(cpu / n * 1000, 3) if n else None,
        "bodies_left": len(pool) if pool is not None else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--tls-name", help="connect with TLS to this server name")
    parser.add_argument("--bodies", help="JSON lines file: POST one line per request")
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    parser.add_argument("-d", "--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("-w", "--warmup", type=float, default=2.0, help="unmeasured seconds")
    parser.add_argument("--connection-seconds", type=float, default=0.5,
                        help="a connection's age after which the client opens a new one")
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
