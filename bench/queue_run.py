"""Benchmark of the walk-in queue on one server: live streams, call-next, racing clerks.

    .venv/bin/python bench/queue_run.py               # about 3 minutes
    .venv/bin/python bench/queue_run.py --help        # every option

1. a fresh PostgreSQL database (migrations, demo town), extra counters at office
   *mitte*, a clerk with an API token, waiting tickets;
2. gunicorn with deploy/gunicorn.conf.py and its production worker class (gevent)
   serving ``bench.app:app`` (the app plus the bare yardstick route);
3. **streams**: 1,000 open event streams (waiting-room displays and ticket status pages
   of the office) in a separate process; calls made one after another through the API;
   the time from sending each call to its receipt on every stream, p50/p99; the
   server's memory and CPU with the streams open;
4. **call-next throughput**: clerks calling and finishing tickets in a closed loop,
   interleaved with the bare route at the same concurrency as the yardstick;
5. **race**: 50 clerks at 50 counters press Call next at the same instant, many rounds,
   some with fewer people waiting than clerks; no ticket may be called twice;
6. results as JSON in bench/results/ and a Markdown table on stdout.

See bench/README.md ("Walk-in queue") for the figures. The exit code is non-zero if a
ticket was called twice or a stream missed a call.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter as Tally
from datetime import UTC, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from bench import seed  # noqa: E402
from bench.loadgen import percentile  # noqa: E402
from bench.run import BARE_PATH, Server, code_version, log, machine  # noqa: E402

OFFICE = "mitte"
SERVICE = "meldebescheinigung"


# ------------------------------------------------------------------ data

def prepare(app, counters: int) -> tuple[str, list[int]]:
    """``counters`` bench counters at OFFICE for SERVICE, a clerk's API token, and
    opening hours all day every day for SERVICE (the kiosk draws only while the office is
    open, and the benchmark may run at night)."""
    from datetime import time as clock
    from datetime import timedelta

    from sqlalchemy import select

    from booking.accounts.models import User
    from booking.accounts.operations import create_user, issue_api_token
    from booking.db import db, utcnow
    from booking.offices.models import AvailabilityRule, Counter, Office, Service

    with app.app_context():
        office = db.session.get(Office, OFFICE)
        office.queue_daily_limit = None
        service = db.session.get(Service, SERVICE)
        db.session.add(AvailabilityRule(
            office=office, weekdays="1234567", start_time=clock(0), end_time=clock(23, 59, 59),
            valid_from=utcnow().date() - timedelta(days=1), capacity=1, services=[service]))
        for i in range(counters):
            db.session.add(Counter(office=office, name=f"Bench {i + 1:03d}", services=[service]))
        user = create_user("bench-clerk@example.org", os.urandom(12).hex(), "clerk", [OFFICE],
                           utcnow())
        db.session.flush()
        token = issue_api_token(db.session.get(User, user.id), utcnow())
        db.session.commit()
        ids = db.session.scalars(select(Counter.id).where(Counter.name.like("Bench %"))
                                 .order_by(Counter.name)).all()
        db.session.remove()
    return token, list(ids)


def draw(app, n: int) -> list[str]:
    """``n`` walk-in tickets for SERVICE at OFFICE, through the domain (numbering and
    contingent as at the kiosk; opening hours ignored, the benchmark may run at night)."""
    from booking.db import db, utcnow
    from booking.offices.models import Office
    from booking.queueing.arrivals import draw_ticket

    ids = []
    with app.app_context():
        office = db.session.get(Office, OFFICE)
        for i in range(n):
            ids.append(draw_ticket(office, SERVICE, utcnow(), always_open=True).ticket.id)
            if i % 200 == 199:
                db.session.commit()
        db.session.commit()
        db.session.remove()
    return ids


def fill(app, n: int) -> None:
    """``n`` more waiting walk-in tickets in one statement, numbered from the office's
    running number like drawn ones (the throughput runs keep the queue level with it;
    cheaper than ``draw`` so the keeper costs the machine little)."""
    import secrets

    from sqlalchemy import insert
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    from booking.db import db, utcnow
    from booking.offices.models import Office, Service
    from booking.queueing import ordering
    from booking.queueing.models import WAITING, WALK_IN, Ticket, TicketDay

    with app.app_context():
        office, service = db.session.get(Office, OFFICE), db.session.get(Service, SERVICE)
        now = utcnow()
        day = ordering.local_day(now, office.tz)
        last = db.session.scalar(
            pg_insert(TicketDay).values(office_id=OFFICE, day=day, last_seq=n, walk_ins=n)
            .on_conflict_do_update(index_elements=["office_id", "day"],
                                   set_={"last_seq": TicketDay.last_seq + n,
                                         "walk_ins": TicketDay.walk_ins + n})
            .returning(TicketDay.last_seq))
        db.session.execute(insert(Ticket), [
            {"id": secrets.token_urlsafe(16), "office_id": OFFICE, "service_id": SERVICE,
             "day": day, "seq": seq, "number": ordering.format_number(service.queue_prefix, seq),
             "kind": WALK_IN, "language": "de", "status": WAITING, "arrived_at": now,
             "recalls": 0} for seq in range(last - n + 1, last + 1)])
        db.session.commit()
        db.session.remove()


class Level(threading.Thread):
    """Keeps about ``size`` tickets waiting during a throughput run: fills up behind the
    clerks calling, closes the newest as not served behind the drawers."""

    def __init__(self, app, size: int):
        super().__init__(daemon=True)
        self.app, self.size, self.done = app, size, threading.Event()
        self.seen: list[int] = []

    def run(self) -> None:
        while not self.done.wait(0.05):
            n = waiting_count(self.app)
            self.seen.append(n)
            if n < self.size:
                fill(self.app, self.size - n)
            elif n > self.size + 20:
                set_waiting(self.app, self.size)

    def stop(self) -> dict:
        self.done.set()
        self.join()
        seen = sorted(self.seen) or [0]
        return {"min": seen[0], "median": seen[len(seen) // 2], "max": seen[-1]}


def waiting_count(app) -> int:
    from sqlalchemy import func, select

    from booking.db import db
    from booking.queueing.models import WAITING, Ticket

    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(Ticket)
                              .where(Ticket.office_id == OFFICE, Ticket.status == WAITING))
        db.session.remove()
    return n


def top_up(app, size: int) -> int:
    """Tickets until ``size`` wait; returns how many were added."""
    missing = max(0, size - waiting_count(app))
    if missing:
        fill(app, missing)
    return missing


def set_waiting(app, size: int) -> int:
    """Exactly ``size`` waiting: draw more, or close the last ones as not served."""
    from sqlalchemy import select, update

    from booking.db import db, utcnow
    from booking.queueing.models import UNSERVED, WAITING, Ticket

    top_up(app, size)
    with app.app_context():
        extra = db.session.scalars(
            select(Ticket.id).where(Ticket.office_id == OFFICE, Ticket.status == WAITING)
            .order_by(Ticket.arrived_at.desc(), Ticket.id.desc())
            .limit(max(0, waiting_count(app) - size))).all()
        if extra:
            db.session.execute(update(Ticket).where(Ticket.id.in_(extra))
                               .values(status=UNSERVED, finished_at=utcnow()))
            db.session.commit()
        db.session.remove()
    return waiting_count(app)


def integrity(app) -> dict:
    """By SQL: tickets called, and any counter with more than one active ticket."""
    from sqlalchemy import func, select

    from booking.db import db
    from booking.queueing.models import CALLED, SERVING, Ticket

    with app.app_context():
        called = db.session.scalar(select(func.count()).select_from(Ticket)
                                   .where(Ticket.called_at.is_not(None)))
        doubled = db.session.execute(
            select(Ticket.counter_id, func.count())
            .where(Ticket.status.in_((CALLED, SERVING)))
            .group_by(Ticket.counter_id).having(func.count() > 1)).all()
        db.session.remove()
    return {"tickets_with_a_call": called, "counters_with_two_active": len(doubled)}


# ------------------------------------------------------------------ the server

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


# ------------------------------------------------------------------ phase 1: streams

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


# ------------------------------------------------------------------ phase 2: throughput

def bare_run(args, server: Server) -> dict:
    command = [sys.executable, os.path.join(HERE, "loadgen.py"), "--port", str(server.port),
               "--path", BARE_PATH, "-c", str(args.clients), "-d", str(args.duration),
               "-w", str(args.warmup)]
    cpu0 = server.cpu_seconds()
    result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True,
                                       cwd=ROOT).stdout)
    result["server_cpu_ms_per_request"] = round(
        (server.cpu_seconds() - cpu0) / max(1, result["requests"])
        * args.duration / (args.duration + args.warmup) * 1000, 3)
    return result


def call_run(args, app, server: Server, token: str, counters: list[int], pool: int) -> dict:
    set_waiting(app, pool)
    level = Level(app, pool)
    command = [sys.executable, os.path.join(HERE, "counters.py"), "--port", str(server.port),
               "--token", token, "--counters", ",".join(map(str, counters)),
               "-d", str(args.duration), "-w", str(args.warmup)]
    cpu0 = server.cpu_seconds()
    level.start()
    try:
        result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True,
                                           cwd=ROOT).stdout)
    finally:
        result_level = level.stop()
    requests = result["requests_per_s"] * args.duration
    result["server_cpu_ms_per_request"] = round(
        (server.cpu_seconds() - cpu0) / max(1, requests)
        * args.duration / (args.duration + args.warmup) * 1000, 3)
    result["rate"] = result["calls_per_s"]
    result["waiting"] = result_level
    return result


def draw_run(args, app, server: Server, bodies: str, pool: int) -> dict:
    """Kiosks drawing tickets through the API as fast as the server answers."""
    set_waiting(app, pool)
    level = Level(app, pool)
    command = [sys.executable, os.path.join(HERE, "loadgen.py"), "--port", str(server.port),
               "--path", f"/api/v1/offices/{OFFICE}/tickets", "--bodies", bodies,
               "-c", str(args.clients), "-d", str(args.duration), "-w", str(args.warmup)]
    cpu0 = server.cpu_seconds()
    level.start()
    try:
        result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True,
                                           cwd=ROOT).stdout)
    finally:
        result_level = level.stop()
    result["server_cpu_ms_per_request"] = round(
        (server.cpu_seconds() - cpu0) / max(1, result["requests"])
        * args.duration / (args.duration + args.warmup) * 1000, 3)
    result["rate"] = round(result["statuses"].get("201", 0) / result["duration_s"], 1)
    result["waiting"] = result_level
    return result


def throughput_phase(args, app, server: Server, token: str, counters: list[int],
                     work: str) -> dict:
    """Per round: bare, then for each pool size a draw run and a call run, each followed
    by a bare run; a run's ratio is to the mean of the bare runs either side of it."""
    bodies = os.path.join(work, "draws.jsonl")
    with open(bodies, "w") as fh:
        fh.write((json.dumps({"service": SERVICE}) + "\n") * 200_000)
    kinds = [(op, pool) for pool in args.pools for op in ("draw", "call")]
    runs: dict = {"bare": [], **{f"{op}@{pool}": [] for op, pool in kinds}}
    ratios: dict = {f"{op}@{pool}": [] for op, pool in kinds}
    called: list[str] = []
    for r in range(args.rounds):
        runs["bare"].append(bare_run(args, server))
        for op, pool in kinds:
            if op == "draw":
                result = draw_run(args, app, server, bodies, pool)
            else:
                result = call_run(args, app, server, token, counters, pool)
                called += result.pop("called")
            before = runs["bare"][-1]["rps"]
            runs["bare"].append(bare_run(args, server))
            bare = (before + runs["bare"][-1]["rps"]) / 2
            runs[f"{op}@{pool}"].append(result)
            ratios[f"{op}@{pool}"].append(result["rate"] / bare)
            log(f"round {r + 1}: {op} with {pool} waiting {result['rate']}/s, "
                f"{result['rate'] / bare:.1%} of bare ({bare:.0f} req/s)")
    return {"runs": runs, "ratios": ratios, "called": called}


# ------------------------------------------------------------------ phase 3: the race

def press_at_once(server: Server, token: str, counters: list[int]) -> list:
    """One clerk per counter, each on an open connection, releasing Call next together."""
    barrier = threading.Barrier(len(counters))
    results: list = [None] * len(counters)

    def press(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        try:
            conn.connect()
            barrier.wait()
            results[i] = post(server, f"/api/v1/counters/{counters[i]}/call-next", token, conn)
        except Exception as exc:  # noqa: BLE001  (reported, not raised)
            results[i] = (type(exc).__name__, {})
        finally:
            conn.close()

    threads = [threading.Thread(target=press, args=(i,)) for i in range(len(counters))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def race_phase(args, app, server: Server, token: str, counters: list[int]) -> dict:
    rounds = []
    called: list[str] = []
    for r in range(args.race_rounds):
        # every third round fewer people wait than clerks press the button
        waiting = set_waiting(app, args.race_callers // 2 if r % 3 == 2
                              else args.race_callers * 2)
        results = press_at_once(server, token, counters)
        got = [body["id"] for status, body in results if status == 200]
        called += got
        statuses = Tally(str(status) for status, _ in results)
        rounds.append({"waiting": waiting, "statuses": dict(statuses),
                       "called": len(got), "distinct": len(set(got))})
        # the clerks finish, so every counter is free for the next round
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        for ticket in got:
            post(server, f"/api/v1/tickets/{ticket}/finish", token, conn)
        conn.close()
    expected_ok = all(
        rnd["statuses"].get("200", 0) == min(rnd["waiting"], args.race_callers)
        and rnd["statuses"].get("200", 0) + rnd["statuses"].get("204", 0) == args.race_callers
        for rnd in rounds)
    return {"callers": args.race_callers, "rounds": rounds, "as_expected": expected_ok,
            "called": called}


# ------------------------------------------------------------------ report

def markdown(report: dict) -> str:
    s = report["streams"]
    lines: list[str] = []
    if s:
        lines += [
            f"### Streams ({s['streams']} open: {s['display_streams']} display, "
            f"{s['status_streams']} status; {s['calls']} calls)",
            "",
            "| receiver | deliveries | p50 ms | p90 ms | p99 ms | max ms | within 1 s |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for kind in ("display", "status", "all"):
            f = s["latency"][kind]
            if f["n"]:
                lines.append(f"| {kind} | {f['n']} | {f['p50_ms']} | {f['p90_ms']} | {f['p99_ms']} "
                             f"| {f['max_ms']} | {f['within_1s']:.1%} |")
        lines += [
            "",
            f"- missed deliveries: {s['missed'] or 0}; reconnects {s['reconnects']}, "
            f"stream errors {s['stream_errors']}; all open after {s['ready_seconds']} s",
            f"- server memory (PSS, master + workers): {s['server_pss_mib']['before']} MiB before, "
            f"{s['server_pss_mib']['streams_open']} MiB with the streams open "
            f"({s['server_pss_mib']['per_stream_kib']} KiB per stream)",
            f"- server CPU with the streams open and no calls: "
            f"{s['server_cpu_idle_share']:.1%} of one core; per call delivered to every stream: "
            f"{s['server_cpu_ms_per_call']} ms",
            f"- the call-next request itself (median, streams open): {s['call_answered_ms_median']} ms",
            "",
        ]
    t = report["throughput"]
    if t:
        bare = t["runs"]["bare"]
        med = statistics.median
        lines += [
            f"### Draw and call next ({report['settings']['clients']} clients; the queue kept "
            f"at the given length during each run)",
            "",
            "| run | per second (median) | p50 ms | p99 ms | server CPU ms/req | ratio to bare "
            "(median) | per round |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
            f"| bare Flask route | {med(r['rps'] for r in bare):.0f} req | "
            f"{med(r['latency_ms']['p50'] for r in bare)} | "
            f"{med(r['latency_ms']['p99'] for r in bare)} | "
            f"{med(r['server_cpu_ms_per_request'] for r in bare)} | 100% | |",
        ]
        for key, ratios in t["ratios"].items():
            op, pool = key.split("@")
            rs = t["runs"][key]
            what = ("draws" if op == "draw" else "calls (+ finish)")
            lines.append(
                f"| {'draw' if op == 'draw' else 'call-next'}, {pool} waiting | "
                f"{med(r['rate'] for r in rs):.0f} {what} | "
                f"{med(r['latency_ms']['p50'] for r in rs)} | "
                f"{med(r['latency_ms']['p99'] for r in rs)} | "
                f"{med(r['server_cpu_ms_per_request'] for r in rs)} | {med(ratios):.1%} | "
                f"{', '.join(f'{x:.1%}' for x in ratios)} |")
        lines.append("")
    race = report["race"]
    rounds = race["rounds"] if race else []
    lines += [] if not race else [
        f"### Race ({race['callers']} clerks pressing at once, {len(rounds)} rounds)",
        "",
        f"- statuses over all rounds: {dict(sum((Tally(r['statuses']) for r in rounds), Tally()))}",
        f"- every round as expected (200 for min(waiting, clerks), 204 for the rest): "
        f"{race['as_expected']}",
        "",
    ]
    lines += [
        "### Whole run",
        "",
        f"- call-next answers with a ticket: {report['check']['calls_answered']}, distinct "
        f"tickets among them: {report['check']['distinct']}; tickets with a call in the "
        f"database: {report['check']['tickets_with_a_call']}; counters with two active "
        f"tickets: {report['check']['counters_with_two_active']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--display-share", type=float, default=0.5,
                        help="share of the streams that are displays (the rest: status pages)")
    parser.add_argument("--calls", type=int, default=30, help="calls timed in the stream phase")
    parser.add_argument("--call-gap", type=float, default=1.5, help="seconds between them")
    parser.add_argument("--idle", type=float, default=10, help="seconds of idle CPU measured")
    parser.add_argument("--clients", type=int, default=16, help="clerks in the throughput runs")
    parser.add_argument("--pools", default="50,3000",
                        help="queue lengths (comma-separated) kept during the draw and "
                             "call-next runs")
    parser.add_argument("--quick", action="store_true",
                        help="draw and call-next runs only (no streams, no race), one "
                             "round of 4 s runs unless -r/-d/-w say otherwise")
    parser.add_argument("-d", "--duration", type=float)
    parser.add_argument("-w", "--warmup", type=float)
    parser.add_argument("-r", "--rounds", type=int)
    parser.add_argument("--race-callers", type=int, default=50)
    parser.add_argument("--race-rounds", type=int, default=12)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", default="gevent")
    parser.add_argument("--admin-url", default=os.environ.get(
        "BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--db-name", default="booking_queue_bench")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--label", default="")
    args = parser.parse_args(argv)
    args.pools = [int(p) for p in args.pools.split(",")]
    for name, full, quick in (("duration", 10, 4), ("warmup", 2, 1), ("rounds", 3, 1)):
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    # what bench/run.py's Server reads
    args.threads, args.max_requests = 1, 0

    started = datetime.now(UTC)
    work = tempfile.mkdtemp(prefix="queue-bench-")
    instance_dir = os.path.join(work, "instance")
    os.makedirs(instance_dir)
    report: dict = {"started_at": started.isoformat(timespec="seconds"), "machine": machine(),
                    "code": code_version(),
                    "settings": {k: v for k, v in vars(args).items() if k != "admin_url"}}
    admin = args.admin_url
    server = None
    try:
        log(f"creating database {args.db_name}")
        database_url = seed.create_database(admin, args.db_name)
        env = {**os.environ, "DATABASE_URL": database_url, "BOOKING_INSTANCE_PATH": instance_dir,
               "OUTBOX_BACKGROUND": "0"}
        env.pop("BOOKING_ENV", None)
        seed.flask_cli(["db", "upgrade"], env)
        log(seed.flask_cli(["seed-demo"], env))
        os.environ.update({"DATABASE_URL": database_url, "BOOKING_INSTANCE_PATH": instance_dir,
                           "OUTBOX_BACKGROUND": "0", "MAIL_SERVER": "", "ANTI_ABUSE": "0",
                           "REALTIME_BACKEND": "memory"})
        from booking import create_app

        app = create_app()  # in-process: preparing data only (publishes go nowhere)
        token, counters = prepare(app, args.calls + args.clients + args.race_callers)
        stream_counters = counters[:args.calls]
        load_counters = counters[args.calls:args.calls + args.clients]
        race_counters = counters[args.calls + args.clients:]

        server = Server(args, database_url, instance_dir)
        server.env["GUNICORN_WORKER_CLASS"] = args.worker_class
        server.env["REALTIME_BACKEND"] = "postgres"
        server.start()
        log(f"gunicorn ({args.workers} {args.worker_class} workers) on port {server.port}")

        report["streams"] = report["race"] = {}
        if not args.quick:
            report["streams"] = streams_phase(args, app, server, token, stream_counters, work)
            log(f"streams: {report['streams']['latency']['all']}; "
                f"missed {report['streams']['missed']}")
        report["throughput"] = throughput_phase(args, app, server, token, load_counters, work)
        if not args.quick:
            report["race"] = race_phase(args, app, server, token, race_counters)
            log(f"race: as expected {report['race']['as_expected']}")

        answered = (report["streams"].pop("called", []) + report["throughput"].pop("called")
                    + report["race"].pop("called", []))
        report["check"] = {"calls_answered": len(answered), "distinct": len(set(answered)),
                           **integrity(app)}
    finally:
        if server is not None:
            server.stop()
        if not args.keep_db:
            seed.drop_database(admin, args.db_name)

    os.makedirs(args.out, exist_ok=True)
    name = f"queue-{started.strftime('%Y%m%dT%H%M%SZ')}{'-' + args.label if args.label else ''}"
    with open(os.path.join(args.out, name + ".json"), "w") as fh:
        json.dump(report, fh, indent=2)
    print(markdown(report))
    check = report["check"]
    ok = (check["distinct"] == check["calls_answered"] == check["tickets_with_a_call"]
          and check["counters_with_two_active"] == 0
          and report["race"].get("as_expected", True) and not report["streams"].get("missed"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
