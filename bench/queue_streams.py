"""The walk-in queue benchmark's first phase (bench/queue_run.py): 1,000 open event
streams in a separate process (bench/streams.py), calls made one after another, and the
time from each call to its receipt on every stream; the server's memory and CPU."""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter as Tally

from bench.loadgen import percentile
from bench.queue_data import OFFICE, draw
from bench.run import Server, log

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def pss_kib(server: Server) -> int:
    """Proportional set size of the gunicorn master and workers (shared pages split)."""
    total = 0
    for pid in [server.proc.pid, *server.worker_pids()]:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def post(server: Server, path: str, token: str, conn=None) -> tuple[int, dict]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("POST", path, "{}", {"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else {}
    finally:
        if own:
            conn.close()


def streams_phase(args, app, server: Server, token: str, counters: list[int],
                  work: str) -> dict:
    n_display = round(args.streams * args.display_share)
    n_status = args.streams - n_display
    draw(app, args.calls)  # the tickets the calls will take, first in the queue
    watched = draw(app, n_status)  # waiting behind them, each with its status page open
    paths = [f"/offices/{OFFICE}/display/events"] * n_display
    paths += [f"/tickets/{t}/events" for t in watched]
    paths_file = os.path.join(work, "paths.txt")
    with open(paths_file, "w") as fh:
        fh.write("\n".join(paths) + "\n")
    out_file = os.path.join(work, "received.json")

    pss_before = pss_kib(server)
    client = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "streams.py"), "--port", str(server.port),
         "--paths", paths_file, "--out", out_file],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    ready_line = client.stdout.readline().split()
    ready, ready_s = int(ready_line[1]), float(ready_line[2])
    log(f"{ready} of {len(paths)} streams open in {ready_s:.1f} s")
    time.sleep(2)
    pss_open = pss_kib(server)

    cpu0, t0 = server.cpu_seconds(), time.monotonic()
    time.sleep(args.idle)
    idle_cpu = (server.cpu_seconds() - cpu0) / (time.monotonic() - t0)

    calls = []
    cpu0 = server.cpu_seconds()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    for i in range(args.calls):
        sent = time.time()
        status, body = post(server, f"/api/v1/counters/{counters[i]}/call-next", token, conn)
        answered = time.time()
        if status != 200:
            raise RuntimeError(f"call-next answered {status}: {body}")
        calls.append({"number": body["number"], "id": body["id"], "sent": sent,
                      "answered_ms": round((answered - sent) * 1000, 1)})
        time.sleep(args.call_gap)
    conn.close()
    calls_cpu = server.cpu_seconds() - cpu0
    client.stdin.close()
    client.wait(timeout=120)
    # the server notices a closed stream at its next heartbeat; until then each event is
    # still rendered for it: let them end before the draws and calls are measured
    time.sleep(float(server.env.get("REALTIME_HEARTBEAT_SECONDS") or 15) + 3)
    with open(out_file) as fh:
        received = json.load(fh)

    # latency of every (call, stream): when the stream first showed that call or a later
    # one. A display shows the called number as the newest call; a status page's people
    # ahead drop by one with each call (every call takes a ticket before the watched ones).
    index = {c["number"]: k for k, c in enumerate(calls)}
    lat = {"display": [], "status": []}
    missed = Tally()
    for stream in received["streams"]:
        kind = "display" if stream["path"].endswith("/display/events") else "status"
        messages = stream["messages"]
        if kind == "display":
            seen = [(t, index[newest]) for t, _, newest, _ in messages if newest in index]
        else:
            initial = next((ahead for _, _, _, ahead in messages if ahead is not None), None)
            seen = [(t, initial - ahead - 1) for t, _, _, ahead in messages
                    if ahead is not None and initial is not None and ahead < initial]
        for k, call in enumerate(calls):
            hit = next((t for t, reached in seen if reached >= k and t >= call["sent"]), None)
            if hit is None:
                missed[kind] += 1
            else:
                lat[kind].append(hit - call["sent"])
    every = sorted(lat["display"] + lat["status"])

    def figures(values: list[float]) -> dict:
        values = sorted(values)
        if not values:
            return {"n": 0}
        return {"n": len(values),
                "p50_ms": round(percentile(values, 50) * 1000, 1),
                "p90_ms": round(percentile(values, 90) * 1000, 1),
                "p99_ms": round(percentile(values, 99) * 1000, 1),
                "max_ms": round(values[-1] * 1000, 1),
                "within_1s": round(sum(1 for v in values if v <= 1.0) / len(values), 4)}

    return {
        "streams": len(paths), "display_streams": n_display, "status_streams": n_status,
        "ready": ready, "ready_seconds": ready_s,
        "reconnects": sum(max(0, s["connects"] - 1) for s in received["streams"]),
        "stream_errors": sum(len(s["errors"]) for s in received["streams"]),
        "calls": len(calls), "call_gap_s": args.call_gap,
        "call_answered_ms_median": statistics.median(c["answered_ms"] for c in calls),
        "latency": {"all": figures(every), "display": figures(lat["display"]),
                    "status": figures(lat["status"])},
        "missed": dict(missed),
        "server_pss_mib": {"before": round(pss_before / 1024, 1),
                           "streams_open": round(pss_open / 1024, 1),
                           "per_stream_kib": round((pss_open - pss_before) / max(1, ready), 1)},
        "server_cpu_idle_share": round(idle_cpu, 3),
        "server_cpu_ms_per_call": round(calls_cpu / max(1, len(calls)) * 1000, 1),
        "called": [c["id"] for c in calls],
    }
