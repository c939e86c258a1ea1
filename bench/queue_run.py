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
    """``counters`` bench counters at OFFICE for SERVICE and a clerk's API token."""
    from sqlalchemy import select

    from booking.accounts.models import User
    from booking.accounts.operations import create_user, issue_api_token
    from booking.db import db, utcnow
    from booking.offices.models import Counter, Office, Service

    with app.app_context():
        office = db.session.get(Office, OFFICE)
        office.queue_daily_limit = None
        service = db.session.get(Service, SERVICE)
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
            ids.append(draw_ticket(office, SERVICE, utcnow(), always_open=True).id)
            if i % 200 == 199:
                db.session.commit()
        db.session.commit()
        db.session.remove()
    return ids


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
    """Draw tickets until ``size`` wait; returns how many were drawn."""
    missing = max(0, size - waiting_count(app))
    draw(app, missing)
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


def call_run(args, app, server: Server, token: str, counters: list[int]) -> dict:
    drawn = top_up(app, args.pool)
    command = [sys.executable, os.path.join(HERE, "counters.py"), "--port", str(server.port),
               "--token", token, "--counters", ",".join(map(str, counters)),
               "-d", str(args.duration), "-w", str(args.warmup)]
    cpu0 = server.cpu_seconds()
    result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True,
                                       cwd=ROOT).stdout)
    requests = result["requests_per_s"] * args.duration
    result["server_cpu_ms_per_request"] = round(
        (server.cpu_seconds() - cpu0) / max(1, requests)
        * args.duration / (args.duration + args.warmup) * 1000, 3)
    result["waiting_at_start"] = args.pool
    result["drawn_before"] = drawn
    return result


def throughput_phase(args, app, server: Server, token: str, counters: list[int]) -> dict:
    runs = {"bare": [], "call": []}
    called: list[str] = []
    for r in range(args.rounds):
        runs["bare"].append(bare_run(args, server))
        result = call_run(args, app, server, token, counters)
        called += result.pop("called")
        runs["call"].append(result)
        log(f"round {r + 1}: bare {runs['bare'][-1]['rps']} req/s, "
            f"call-next {result['calls_per_s']}/s ({result['requests_per_s']} req/s with finish)")
    runs["bare"].append(bare_run(args, server))
    ratios = []
    for i, run in enumerate(runs["call"]):
        bare = (runs["bare"][i]["rps"] + runs["bare"][i + 1]["rps"]) / 2
        ratios.append(run["calls_per_s"] / bare)
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
    lines = [
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
    bare = [r["rps"] for r in t["runs"]["bare"]]
    calls = t["runs"]["call"]
    lines += [
        f"### Call next ({calls[0]['counters']} clerks, call + finish in a closed loop; "
        f"{calls[0]['waiting_at_start']} waiting at the start of each run)",
        "",
        "| | per second (median) | p50 ms | p99 ms | server CPU ms/req | ratio to bare |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| bare Flask route, {report['settings']['clients']} clients | "
        f"{statistics.median(bare):.0f} req | "
        f"{statistics.median(r['latency_ms']['p50'] for r in t['runs']['bare'])} | "
        f"{statistics.median(r['latency_ms']['p99'] for r in t['runs']['bare'])} | "
        f"{statistics.median(r['server_cpu_ms_per_request'] for r in t['runs']['bare'])} | 100% |",
        f"| call-next | {statistics.median(r['calls_per_s'] for r in calls):.0f} calls "
        f"({statistics.median(r['requests_per_s'] for r in calls):.0f} req with finish) | "
        f"{statistics.median(r['latency_ms']['p50'] for r in calls)} | "
        f"{statistics.median(r['latency_ms']['p99'] for r in calls)} | "
        f"{statistics.median(r['server_cpu_ms_per_request'] for r in calls)} | "
        f"{statistics.median(t['ratios']):.0%} |",
        "",
        f"- call-next ratio per round: {', '.join(f'{x:.0%}' for x in t['ratios'])}",
        "",
    ]
    race = report["race"]
    rounds = race["rounds"]
    lines += [
        f"### Race ({race['callers']} clerks pressing at once, {len(rounds)} rounds)",
        "",
        f"- statuses over all rounds: {dict(sum((Tally(r['statuses']) for r in rounds), Tally()))}",
        f"- every round as expected (200 for min(waiting, clerks), 204 for the rest): "
        f"{race['as_expected']}",
        "",
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
    parser.add_argument("--pool", type=int, default=1000,
                        help="tickets waiting at the start of each throughput run")
    parser.add_argument("-d", "--duration", type=float, default=10)
    parser.add_argument("-w", "--warmup", type=float, default=2)
    parser.add_argument("-r", "--rounds", type=int, default=3)
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

        report["streams"] = streams_phase(args, app, server, token, stream_counters, work)
        log(f"streams: {report['streams']['latency']['all']}; missed {report['streams']['missed']}")
        report["throughput"] = throughput_phase(args, app, server, token, load_counters)
        report["race"] = race_phase(args, app, server, token, race_counters)
        log(f"race: as expected {report['race']['as_expected']}")

        answered = (report["streams"].pop("called") + report["throughput"].pop("called")
                    + report["race"].pop("called"))
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
          and check["counters_with_two_active"] == 0 and report["race"]["as_expected"]
          and not report["streams"]["missed"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
