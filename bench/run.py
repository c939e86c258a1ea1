"""Load benchmark of the booking API against a bare Flask route on the same server.

    .venv/bin/python bench/run.py              # defaults, about 7 minutes
    .venv/bin/python bench/run.py -d 3 -r 1    # one short round, about 2 minutes

1. a fresh PostgreSQL database (migrations, demo town, 20,000 appointments),
2. gunicorn (deploy/gunicorn.conf.py) serving ``bench.app:app``, and the shipped nginx
   site in front of it (bench/server.py),
3. interleaved closed-loop runs (ROUND) with the bare route as the yardstick, direct and
   through nginx; every run that books starts from the same data,
4. 200 simultaneous bookings for the last 2 seats of one start, and an overbooking
   check over the whole database,
5. one Markdown table on stdout (each figure, its target, PASS/FAIL) and the JSON in
   bench/results/. The exit code is non-zero only if the race or the check fails.

See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from bench import race, seed  # noqa: E402
from bench.report import NGINX, checks, markdown, summarise  # noqa: E402
from bench.server import Server, start_nginx  # noqa: E402

BARE_PATH = "/bench/bare"
BOOK_PATH = race.BOOK_PATH
# One round; a run is compared with the yardstick runs (bare, or bare via nginx) just
# before and after it.
ROUND = ["bare", "slots", "bare", "booking", "bare", "slots+booking", "bare",
         "bare via nginx", "slots+booking via nginx", "bare via nginx"]
HANDLED = {"GET": {"200"}, "POST": {"201", "409"}}  # a booking refused as full is handled


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ one run

def loadgen_command(args, front: tuple[int, str | None], path: str, clients: int,
                    bodies_file: str | None = None, duration: float | None = None,
                    warmup: float | None = None) -> list[str]:
    """``front``: (port, TLS server name or None)."""
    port, tls_name = front
    command = [sys.executable, os.path.join(HERE, "loadgen.py"), "--port", str(port),
               "--path", path, "-c", str(clients), "-d", str(duration or args.duration),
               "-w", str(args.warmup if warmup is None else warmup)]
    if tls_name:
        command += ["--tls-name", tls_name]
    if bodies_file:
        command += ["--bodies", bodies_file]
    return command


def measure(args, server: Server, commands: list[list[str]]) -> list[dict]:
    """Run the load generators at the same time; one result each, the first with the
    gunicorn CPU per request of all of them (warm-up included by estimate)."""
    cpu0 = server.cpu_seconds()
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=ROOT) for c in commands]
    outputs = [proc.communicate() for proc in procs]
    cpu = server.cpu_seconds() - cpu0
    for proc, (_, err) in zip(procs, outputs, strict=True):
        if proc.returncode != 0:
            raise RuntimeError(f"loadgen failed:\n{err}")
    results = [json.loads(out) for out, _ in outputs]
    for r in results:
        handled = sum(n for s, n in r["statuses"].items() if s in HANDLED[r["method"]])
        r["handled_rps"] = round(handled / r["duration_s"], 1)
    total = sum(r["requests"] for r in results) * (args.duration + args.warmup) / args.duration
    results[0]["gunicorn_cpu_ms_per_request"] = round(cpu / max(1, total) * 1000, 3)
    return results


def one_run(args, kind: str, server: Server, fronts: dict, slot_path: str,
            bodies_file: str | None) -> dict:
    front = fronts["nginx" if kind.endswith(NGINX) else "direct"]
    base = kind.removesuffix(NGINX)
    if base == "slots+booking":
        listing, booking = measure(args, server, [
            loadgen_command(args, front, slot_path, args.concurrency),
            loadgen_command(args, front, BOOK_PATH, args.bookers, bodies_file)])
        listing["bookings"] = booking
        return listing
    path = {"bare": BARE_PATH, "slots": slot_path, "booking": BOOK_PATH}[base]
    return measure(args, server, [loadgen_command(args, front, path, args.concurrency,
                                                  bodies_file)])[0]


def slots_path(days: int) -> str:
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Berlin")).date()
    last = today + timedelta(days=days - 1)
    return (f"/api/v1/offices/mitte/services/personalausweis/slots"
            f"?from={today.isoformat()}&to={last.isoformat()}")


def machine() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh
                          if line.startswith("model name")), "")
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "loadavg_at_start": os.getloadavg(),
            "python": platform.python_version(), "kernel": platform.release()}


def code_version() -> dict:
    """The commit and whether the files the benchmark exercises differ from it."""
    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    return {"commit": git("rev-parse", "--short", "HEAD") or None,
            "changed": git("status", "--porcelain", "--", "booking", "wsgi.py",
                           "deploy").splitlines()}


# ------------------------------------------------------------------ main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-d", "--duration", type=float, default=8, help="seconds measured per run")
    p.add_argument("-w", "--warmup", type=float, default=2, help="unmeasured seconds per run")
    p.add_argument("-r", "--rounds", type=int, default=3, help="rounds of ROUND (10 runs)")
    p.add_argument("-c", "--concurrency", type=int, default=16,
                   help="keep-alive clients of a run (the listing clients in slots+booking)")
    p.add_argument("--bookers", type=int, default=4, help="booking clients in slots+booking")
    p.add_argument("--no-nginx", action="store_true", help="only the runs straight to gunicorn")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--worker-class", default="gevent", choices=["gevent", "gthread"],
                   help="gunicorn worker class (gevent: deploy/gunicorn.conf.py's default)")
    p.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    p.add_argument("--max-requests", type=int, default=0,
                   help="gunicorn max_requests (0: no worker recycling during the runs)")
    p.add_argument("--appointments", type=int, default=20000)
    p.add_argument("--capacity-factor", type=int, default=10,
                   help="multiply the demo rules' capacities so the appointments fit")
    p.add_argument("--slot-days", type=int, default=60)
    p.add_argument("--race-clients", type=int, default=200)
    p.add_argument("--race-free", type=int, default=2, help="seats left in the race slot")
    p.add_argument("--admin-url", default=os.environ.get(
        "BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    p.add_argument("--db-name", default="booking_bench")
    p.add_argument("--keep-db", action="store_true", help="keep the database afterwards")
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument("--label", default="", help="a name for this run, kept in the results")
    return p.parse_args(argv)


def prepare(args, database_url: str, instance_dir: str, report: dict):
    """Migrations, the demo town and the appointments; returns the app."""
    env = {**os.environ, "DATABASE_URL": database_url, "BOOKING_INSTANCE_PATH": instance_dir,
           "OUTBOX_BACKGROUND": "0"}
    env.pop("BOOKING_ENV", None)
    log(seed.flask_cli(["db", "upgrade"], env) or "migrated")
    log(seed.flask_cli(["seed-demo"], env))
    os.environ.update({"DATABASE_URL": database_url, "BOOKING_INSTANCE_PATH": instance_dir,
                       "OUTBOX_BACKGROUND": "0", "MAIL_SERVER": "",
                       "ANTI_ABUSE": "0"})  # a load benchmark, not a bot run
    from booking import create_app

    app = create_app()
    t0 = time.perf_counter()
    data = seed.load_appointments(app, args.appointments, args.capacity_factor, args.race_free)
    data["load_seconds"] = round(time.perf_counter() - t0, 1)
    report["data"] = data
    log(f"loaded {data['appointments']} appointments, {data['seat_rows']} seats, "
        f"occupancy {data['occupancy']:.0%} ({data['load_seconds']} s)")
    return app


def run_all(args, server: Server, fronts: dict, slot_path: str, bodies: list[dict],
            database_url: str, work: str) -> list[dict]:
    plan = [k for k in ROUND * args.rounds if not (args.no_nginx and k.endswith(NGINX))]
    runs = []
    for index, kind in enumerate(plan):
        bodies_file = None
        if "booking" in kind:  # every free seat-start, in an order of its own
            random.Random(index).shuffle(bodies)
            bodies_file = os.path.join(work, f"bodies-{index}.jsonl")
            with open(bodies_file, "w") as fh:
                fh.writelines(json.dumps(b) + "\n" for b in bodies)
        result = one_run(args, kind, server, fronts, slot_path, bodies_file)
        result.update(kind=kind, index=index)
        runs.append(result)
        extra = ""
        if "bookings" in result:
            b = result["bookings"]
            extra = f"  + bookings {b['handled_rps']:.0f}/s {b['statuses']}"
        if bodies_file:  # the next run starts from the same data
            result["bookings_removed"] = seed.remove_bench_bookings(database_url)
            os.remove(bodies_file)
        log(f"{index + 1:2}/{len(plan)} {kind:24} {result['handled_rps']:7.0f}/s  "
            f"p50 {result['latency_ms']['p50']} ms  p99 {result['latency_ms']['p99']} ms  "
            f"{result['statuses']} {result['cache_statuses'] or ''}{extra}"
            + (f"  errors {result['errors']}" if result["errors"] else ""))
    return runs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    work = tempfile.mkdtemp(prefix="booking-bench-")
    instance_dir = os.path.join(work, "instance")
    os.makedirs(instance_dir)
    report: dict = {"label": args.label, "code": code_version(),
                    "started_at": started.isoformat(timespec="seconds"), "machine": machine(),
                    "settings": {k: v for k, v in vars(args).items() if k != "admin_url"}}
    server = nginx = None
    try:
        log(f"creating database {args.db_name}")
        database_url = seed.create_database(args.admin_url, args.db_name)
        app = prepare(args, database_url, instance_dir, report)
        bodies = seed.booking_bodies(app, report["data"]["race_start"])
        log(f"{len(bodies)} booking bodies (one per free seat-start)")

        server = Server(args, database_url, instance_dir)
        server.start()
        fronts = {"direct": (server.port, None)}
        if not args.no_nginx:
            nginx = start_nginx(work, server.port)
            from tests.test_nginx import HOST

            fronts["nginx"] = (nginx.https_port, HOST)
        log(f"gunicorn ({args.workers} {args.worker_class} workers) on {server.port}"
            + (f", nginx on {nginx.https_port}" if nginx else ""))
        slot_path = report["slots_path"] = slots_path(args.slot_days)
        with urllib.request.urlopen(server.base + slot_path, timeout=30) as response:
            assert response.status == 200, slot_path
        for front in fronts.values():  # every worker imports and connects before measuring
            for path in (BARE_PATH, slot_path):
                subprocess.run(loadgen_command(args, front, path, args.concurrency, None, 0.1, 3),
                               check=True, capture_output=True, cwd=ROOT)

        report["runs"] = run_all(args, server, fronts, slot_path, bodies, database_url, work)
        report["summary"] = summarise(report["runs"])

        start, free = report["data"]["race_start"], args.race_free
        log(f"race: {args.race_clients} clients for the last {free} seats at {start}")
        result = race.race(server.port, start, args.race_clients)
        after = race.race_seats(app, start)
        capacity = report["data"]["race_capacity"]
        result.update(free_before=free, seats_after=after, ok=(
            result["statuses"] == {"201": free, "409": args.race_clients - free}
            and after == {"seats_in_step": capacity, "appointments_starting": capacity}))
        report["race"] = result
        report["overbooked"] = [[str(x) for x in row] for row in seed.overbooked(app)]
        log(f"race {result['statuses']}, overbooked steps: {len(report['overbooked'])}")
    finally:
        if nginx:
            nginx.stop()
            report["nginx_error_log"] = (nginx.tmp / "error.log").read_text()[-4000:]
        if server:
            server.stop()
            report["server_log_errors"] = [
                line for line in server.read_log().splitlines()
                if "Traceback" in line or "[ERROR]" in line][:20]
            if report["server_log_errors"]:
                log("gunicorn log:\n" + server.read_log()[-4000:])
        if not args.keep_db:
            try:
                seed.drop_database(args.admin_url, args.db_name)
            except Exception as exc:  # noqa: BLE001
                log(f"could not drop {args.db_name}: {exc}")
        shutil.rmtree(work, ignore_errors=True)

    report["checks"] = checks(report)
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    os.makedirs(args.out, exist_ok=True)
    label = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in args.label)
    path = os.path.join(args.out, f"bench-{started.strftime('%Y%m%dT%H%M%SZ')}"
                        + (f"-{label}" if label else "") + ".json")
    with open(path, "w") as fh:
        json.dump(report, fh, indent=2, default=str)
    print(markdown(report))
    log(f"results written to {path}")
    return 0 if report["race"]["ok"] and not report["overbooked"] else 1


if __name__ == "__main__":
    sys.exit(main())
