"""Closed-loop clerks: each client works one counter, calling the next ticket and
finishing it, as fast as the server answers (bench/queue_run.py's call-next load).

    python bench/counters.py --port 8000 --token T --counters 3,4,5 -d 10 -w 2

Client *i* uses counter *i* on its own keep-alive connection: ``POST
/api/v1/counters/<id>/call-next``, then ``POST /api/v1/tickets/<ticket>/finish``, and
again. Prints one JSON object: call-next throughput and latency (measured window only),
status counts, and the id of every ticket called (whole run), for the check that no
ticket was called twice. Stdlib only; the HTTP reader is bench/loadgen.py's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from loadgen import percentile, read_response  # noqa: E402


def post(host: str, path: str, token: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            "Accept: application/json\r\nContent-Type: application/json\r\n"
            "Content-Length: 2\r\n\r\n{}").encode()


async def clerk(args, counter: int, out: dict, window: tuple[float, float]) -> None:
    host = f"{args.host}:{args.port}"
    reader, writer = await asyncio.open_connection(args.host, args.port)
    call = post(host, f"/api/v1/counters/{counter}/call-next", args.token)
    try:
        while time.perf_counter() < window[1]:
            t0 = time.perf_counter()
            writer.write(call)
            status, body, close = await read_response(reader)
            t1 = time.perf_counter()
            measured = window[0] <= t1 <= window[1]
            if measured:
                out["call_latencies"].append(t1 - t0)
                out["call_statuses"][status] += 1
            if status == 200:
                ticket = json.loads(body)["id"]
                out["called"].append(ticket)
                writer.write(post(host, f"/api/v1/tickets/{ticket}/finish", args.token))
                fstatus, _, close = await read_response(reader)
                if measured:
                    out["finish_statuses"][fstatus] += 1
            elif status == 204:  # nobody waits any more
                out["empty"] += 1
                break
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection(args.host, args.port)
    finally:
        writer.close()


async def main_async(args) -> dict:
    counters = [int(c) for c in args.counters.split(",")]
    out = {"call_latencies": [], "call_statuses": Counter(), "finish_statuses": Counter(),
           "called": [], "empty": 0}
    start = time.perf_counter()
    window = (start + args.warmup, start + args.warmup + args.duration)
    cpu0 = time.process_time()
    await asyncio.gather(*(clerk(args, c, out, window) for c in counters))
    cpu = time.process_time() - cpu0
    lat = sorted(out["call_latencies"])
    n = len(lat)
    ms = lambda v: round(v * 1000, 2) if v is not None else None  # noqa: E731
    return {
        "counters": len(counters),
        "duration_s": args.duration,
        "calls": n,
        "calls_per_s": round(n / args.duration, 1),
        "requests_per_s": round((n + sum(out["finish_statuses"].values())) / args.duration, 1),
        "call_statuses": {str(k): v for k, v in sorted(out["call_statuses"].items())},
        "finish_statuses": {str(k): v for k, v in sorted(out["finish_statuses"].items())},
        "latency_ms": {"p50": ms(percentile(lat, 50)), "p90": ms(percentile(lat, 90)),
                       "p99": ms(percentile(lat, 99)), "max": ms(lat[-1] if lat else None)},
        "ran_dry": out["empty"],
        "called": out["called"],
        "loadgen_cpu_s": round(cpu, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True, help="a clerk's API token")
    parser.add_argument("--counters", required=True, help="comma-separated counter ids")
    parser.add_argument("-d", "--duration", type=float, default=10.0)
    parser.add_argument("-w", "--warmup", type=float, default=2.0)
    args = parser.parse_args(argv)
    json.dump(asyncio.run(main_async(args)), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
