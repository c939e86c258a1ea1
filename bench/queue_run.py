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

The data and the check by SQL are in bench/queue_data.py, the streams phase in
bench/queue_streams.py. See bench/README.md ("Walk-in queue") for the figures. The exit code is non-zero if a
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
from collections import Counter as Tally
from datetime import UTC, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from bench import seed  # noqa: E402
from bench.queue_data import OFFICE, SERVICE, Level, integrity, prepare, set_waiting  # noqa: E402
from bench.queue_streams import post, streams_phase  # noqa: E402
from bench.run import BARE_PATH, Server, code_version, log, machine  # noqa: E402

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
