"""Load benchmark of the booking API against a bare Flask route on the same server.

    .venv/bin/python bench/run.py                      # defaults, about 5 minutes
    .venv/bin/python bench/run.py -d 5 -r 2 -c 32      # shorter runs, more clients

1. a fresh PostgreSQL database (migrations, demo town, 20,000 appointments),
2. gunicorn (deploy/gunicorn.conf.py, gthread) serving ``bench.app:app``,
3. interleaved closed-loop runs: bare, slots, bare, booking, bare, mixed (slot listings
   while bookings run), three rounds, and a last bare run,
4. a race of 200 simultaneous bookings for the last seats of one slot, and an
   overbooking check over the whole database,
5. results as JSON in bench/results/ and a Markdown table on stdout.

See bench/README.md for what is measured and the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from bench import seed  # noqa: E402

TARGETS = {"slots": 0.50, "booking": 0.25}
BARE_PATH = "/bench/bare"
BOOK_PATH = "/api/v1/appointments"


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------ the server

def gunicorn_command(args, port: int) -> list[str]:
    conf = os.path.join(ROOT, "deploy", "gunicorn.conf.py")
    base = [sys.executable, "-m", "gunicorn"]
    if os.path.exists(conf) and not args.no_conf:
        # the production settings; the environment chooses bind, workers and threads
        return base + ["-c", conf, "--access-logfile", args.access_log, "bench.app:app"]
    return base + ["-k", "gthread", "--threads", str(args.threads), "-w", str(args.workers),
                   "-b", f"127.0.0.1:{port}", "--keep-alive", "5",
                   "--access-logfile", args.access_log, "bench.app:app"]


class Server:
    def __init__(self, args, database_url: str, instance_dir: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "BOOKING_ENV": "production",
            "SECRET_KEY": "bench-secret-" + os.urandom(8).hex(),
            "DATABASE_URL": database_url,
            "BOOKING_INSTANCE_PATH": instance_dir,
            "BOOKING_BASE_URL": self.base,
            "OUTBOX_BACKGROUND": "0",
            # deploy/gunicorn.conf.py starts each worker's outbox sender whatever
            # OUTBOX_BACKGROUND says; a poll interval of a day keeps the emails queued.
            "OUTBOX_POLL_SECONDS": "86400",
            "MAIL_SERVER": "",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": str(args.workers),
            "GUNICORN_THREADS": str(args.threads),
            # The figures in bench/README.md were taken with gthread workers (the default
            # then); GUNICORN_WORKER_CLASS=gevent measures today's production default.
            "GUNICORN_WORKER_CLASS": os.environ.get("GUNICORN_WORKER_CLASS", "gthread"),
            "GUNICORN_MAX_REQUESTS": str(args.max_requests),
            "GUNICORN_MAX_REQUESTS_JITTER": "0" if not args.max_requests else "200",
            "GUNICORN_LOGLEVEL": "warning",
            "BENCH_SLOT_CACHE": "0" if args.no_slot_cache else "1",
        }
        self.command = gunicorn_command(args, self.port)
        self.log_path = os.path.join(instance_dir, "gunicorn.log")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "wb") as fh:
            self.proc = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=fh,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start:\n" + self.read_log())
            time.sleep(0.2)
        # every worker should have loaded the app before the first measured run
        time.sleep(2)

    def read_log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as fh:
            return fh.read()

    def worker_pids(self) -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.proc.pid:
                    pids.append(int(entry))
        return pids

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers so far."""
        total = 0
        for pid in [self.proc.pid, *self.worker_pids()]:
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def cache_stats(self) -> dict[int, dict]:
        """Each worker's slot-cache counters: new connections until every worker answered."""
        wanted = set(self.worker_pids())
        seen: dict[int, dict] = {}
        for _ in range(400):
            if wanted <= set(seen):
                break
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                conn.request("GET", "/bench/stats", headers={"Connection": "close"})
                body = json.loads(conn.getresponse().read())
            finally:
                conn.close()
            seen[body["pid"]] = body
        return seen

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ------------------------------------------------------------------ the runs

def loadgen_command(args, server: Server, path: str, bodies_file: str | None = None,
                    concurrency: int | None = None, duration: float | None = None,
                    warmup: float | None = None) -> list[str]:
    command = [sys.executable, os.path.join(HERE, "loadgen.py"), "--port", str(server.port),
               "--path", path, "-c", str(concurrency or args.concurrency),
               "-d", str(duration or args.duration),
               "-w", str(args.warmup if warmup is None else warmup)]
    if bodies_file:
        command += ["--bodies", bodies_file]
    return command


def loadgen(args, server: Server, path: str, bodies_file: str | None = None,
            background: list[str] | None = None) -> dict:
    """One measured run; ``background`` is a second load generator run at the same time
    (its result goes to ``result["background"]``)."""
    stats0 = server.cache_stats()
    cpu0 = server.cpu_seconds()
    procs = [subprocess.Popen(loadgen_command(args, server, path, bodies_file),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=ROOT)]
    if background:
        procs.append(subprocess.Popen(background, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, cwd=ROOT))
    outputs = [proc.communicate() for proc in procs]
    cpu1 = server.cpu_seconds()
    stats1 = server.cache_stats()
    for proc, (_, err) in zip(procs, outputs, strict=True):
        if proc.returncode != 0:
            raise RuntimeError(f"loadgen failed:\n{err}")
    result = json.loads(outputs[0][0])
    if background:
        result["background"] = json.loads(outputs[1][0])
    total = result["requests"] + (result["background"]["requests"] if background else 0)
    # includes the warm-up: an estimate of server CPU per request, not a measurement
    scale = (args.duration + args.warmup) / args.duration
    result["server_cpu_ms_per_request"] = round(
        (cpu1 - cpu0) / (max(1, total) * scale) * 1000, 3)
    # slot-list cache use during the run (warm-up included), summed over the workers
    for name in ("slot_cache_hits", "slot_cache_misses"):
        after = sum(s[name] or 0 for s in stats1.values())
        before = sum((stats0.get(pid) or {}).get(name) or 0 for pid in stats1)
        result[name] = after - before
    return result


def slots_path(tz: ZoneInfo, days: int) -> str:
    today = datetime.now(UTC).astimezone(tz).date()
    last = today + timedelta(days=days - 1)
    return (f"/api/v1/offices/mitte/services/personalausweis/slots"
            f"?from={today.isoformat()}&to={last.isoformat()}")


def race(server: Server, start: str, clients: int) -> dict:
    """``clients`` POSTs for one start, each on its own connection, released at once."""
    barrier = threading.Barrier(clients)
    results: list = [None] * clients

    def run(i: int) -> None:
        body = json.dumps({"office": "mitte", "service": "wohnsitz", "start": start,
                           "name": f"Racer {i}", "email": f"racer{i}@example.org"})
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        try:
            conn.connect()
            barrier.wait()
            t0 = time.perf_counter()
            conn.request("POST", BOOK_PATH, body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            results[i] = (response.status, time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001  (reported, not raised)
            results[i] = (type(exc).__name__, None)
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    statuses = Counter(str(status) for status, _ in results)
    latencies = sorted(lat for _, lat in results if lat is not None)
    return {
        "clients": clients,
        "start": start,
        "statuses": dict(statuses),
        "wall_s": round(elapsed, 3),
        "latency_ms": {"p50": round(statistics.median(latencies) * 1000, 1),
                       "max": round(latencies[-1] * 1000, 1)} if latencies else None,
    }


def race_seats(app, start: str) -> dict:
    from sqlalchemy import func, select

    from booking.db import db
    from booking.scheduling.models import Appointment, AppointmentSeat

    at = datetime.fromisoformat(start)
    with app.app_context():
        seats = db.session.scalar(select(func.count()).select_from(AppointmentSeat)
                                  .where(AppointmentSeat.slot_at == at,
                                         AppointmentSeat.office_id == "mitte"))
        appointments = db.session.scalar(select(func.count()).select_from(Appointment)
                                         .where(Appointment.start_at == at,
                                                Appointment.office_id == "mitte"))
        db.session.remove()
    return {"seats_in_step": seats, "appointments_starting": appointments}


# ------------------------------------------------------------------ reporting

def machine() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh
                          if line.startswith("model name")), "")
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "loadavg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def code_version() -> dict:
    """The commit and whether the files the benchmark exercises differ from it."""
    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    return {"root": ROOT, "commit": git("rev-parse", "--short", "HEAD") or None,
            "changed": git("status", "--porcelain", "--", "booking", "wsgi.py",
                           "deploy").splitlines()}


def summarise(runs: list[dict]) -> dict:
    """Medians per kind; each non-bare run is compared with the mean of the bare runs
    just before and after it."""
    bare = [r for r in runs if r["kind"] == "bare"]
    summary = {}
    for kind in ("bare", "slots", "booking", "mixed"):
        mine = [r for r in runs if r["kind"] == kind]
        if not mine:
            continue
        entry = {
            "runs": len(mine),
            "rps_median": round(statistics.median(r["rps"] for r in mine), 1),
            "rps_all": [r["rps"] for r in mine],
            "p50_ms": round(statistics.median(r["latency_ms"]["p50"] for r in mine), 2),
            "p99_ms": round(statistics.median(r["latency_ms"]["p99"] for r in mine), 2),
            "server_cpu_ms_per_request": round(
                statistics.median(r["server_cpu_ms_per_request"] for r in mine), 3),
            "statuses": dict(sum((Counter(r["statuses"]) for r in mine), Counter())),
        }
        if kind in ("slots", "mixed"):
            hits = sum(r["slot_cache_hits"] for r in mine)
            misses = sum(r["slot_cache_misses"] for r in mine)
            entry["slot_cache_hit_rate"] = round(hits / (hits + misses), 4) if hits + misses \
                else None
        if kind == "mixed":
            background = [r["background"] for r in mine]
            entry["booking_rps_median"] = round(
                statistics.median(b["rps"] for b in background), 1)
            entry["booking_statuses"] = dict(
                sum((Counter(b["statuses"]) for b in background), Counter()))
        if kind != "bare":
            ratios = []
            for r in mine:
                before = [b for b in bare if b["index"] < r["index"]][-1:]
                after = [b for b in bare if b["index"] > r["index"]][:1]
                neighbours = before + after
                ratios.append(r["rps"] / statistics.mean(b["rps"] for b in neighbours))
            entry["ratio_per_run"] = [round(x, 3) for x in ratios]
            entry["ratio_median"] = round(statistics.median(ratios), 3)
            if kind in TARGETS:
                entry["target"] = TARGETS[kind]
                entry["target_met"] = entry["ratio_median"] >= TARGETS[kind]
        summary[kind] = entry
    return summary


def markdown(report: dict) -> str:
    s = report["summary"]
    names = {
        "bare": "bare Flask route `GET /bench/bare`",
        "slots": "slot listing, 60 days (`GET …/mitte/services/personalausweis/slots`)",
        "booking": "booking (`POST /api/v1/appointments`)",
        "mixed": "slot listing while bookings run (informational)",
    }
    lines = [
        "| endpoint | req/s (median) | p50 ms | p99 ms | server CPU ms/req | ratio to bare "
        "| target | met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for kind in ("bare", "slots", "booking", "mixed"):
        if kind not in s:
            continue
        e = s[kind]
        ratio = f"{e['ratio_median']:.0%}" if kind != "bare" else "100%"
        target = f"≥ {e['target']:.0%}" if "target" in e else ""
        met = ("yes" if e["target_met"] else "**no**") if "target" in e else ""
        lines.append(f"| {names[kind]} | {e['rps_median']:.0f} | {e['p50_ms']:.1f} | "
                     f"{e['p99_ms']:.1f} | {e['server_cpu_ms_per_request']:.2f} | {ratio} | "
                     f"{target} | {met} |")
    lines.append("")
    notes = []
    for kind in ("slots", "mixed"):
        rate = s.get(kind, {}).get("slot_cache_hit_rate")
        if kind in s:
            notes.append(f"slot cache hit rate ({kind}): "
                         + (f"{rate:.1%}" if rate is not None else "n/a (no cache counters)"))
    if "booking" in s:
        st = s["booking"]["statuses"]
        notes.append(f"booking responses: {st.get('201', 0)} × 201, {st.get('409', 0)} × 409"
                     + "".join(f", {v} × {k}" for k, v in st.items()
                               if k not in ("201", "409")))
    if "mixed" in s:
        m = s["mixed"]
        st = m["booking_statuses"]
        notes.append(f"bookings during the mixed runs: {m['booking_rps_median']:.0f} req/s, "
                     f"{st.get('201', 0)} × 201, {st.get('409', 0)} × 409")
    r = report.get("race")
    if r:
        notes.append(
            f"race: {r['clients']} simultaneous POSTs for {r['free_before']} free seats: "
            f"{r['statuses'].get('201', 0)} × 201, {r['statuses'].get('409', 0)} × 409 "
            f"({'as expected' if r['ok'] else 'NOT as expected'}); overbooked steps in the "
            f"whole database: {len(report['overbooked'])}")
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines)


# ------------------------------------------------------------------ main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-d", "--duration", type=float, default=10, help="seconds measured per run")
    parser.add_argument("-w", "--warmup", type=float, default=2, help="unmeasured seconds per run")
    parser.add_argument("-c", "--concurrency", type=int, default=16, help="keep-alive clients")
    parser.add_argument("-r", "--rounds", type=int, default=3,
                        help="rounds of bare, slots, bare, booking (plus a final bare)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--max-requests", type=int, default=0,
                        help="gunicorn max_requests (0: no worker recycling during runs)")
    parser.add_argument("--access-log", default="/dev/null",
                        help="gunicorn access log (formatted either way)")
    parser.add_argument("--no-mixed", action="store_true",
                        help="skip the runs of slot listings during bookings")
    parser.add_argument("--no-slot-cache", action="store_true",
                        help="run the server with the snapshot-keyed slot cache disabled")
    parser.add_argument("--no-conf", action="store_true",
                        help="explicit gunicorn flags instead of deploy/gunicorn.conf.py")
    parser.add_argument("--appointments", type=int, default=20000)
    parser.add_argument("--capacity-factor", type=int, default=10,
                        help="multiply the demo rules' capacities so the appointments fit")
    parser.add_argument("--slot-days", type=int, default=60)
    parser.add_argument("--race-clients", type=int, default=200)
    parser.add_argument("--race-free", type=int, default=2, help="seats left in the race slot")
    parser.add_argument("--admin-url", default=os.environ.get(
        "BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--db-name", default="booking_bench")
    parser.add_argument("--keep-db", action="store_true", help="keep the database afterwards")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--label", default="", help="a name for this run, kept in the results")
    args = parser.parse_args(argv)

    started = datetime.now(UTC)
    instance_dir = tempfile.mkdtemp(prefix="booking-bench-")
    report: dict = {"label": args.label, "code": code_version(),
                    "started_at": started.isoformat(timespec="seconds"), "machine": machine(),
                    "settings": {k: v for k, v in vars(args).items() if k != "admin_url"}}
    server = None
    try:
        log(f"creating database {args.db_name}")
        database_url = seed.create_database(args.admin_url, args.db_name)
        env = {**os.environ, "DATABASE_URL": database_url, "BOOKING_INSTANCE_PATH": instance_dir,
               "OUTBOX_BACKGROUND": "0"}
        env.pop("BOOKING_ENV", None)
        log(seed.flask_cli(["db", "upgrade"], env) or "migrated")
        log(seed.flask_cli(["seed-demo"], env))
        os.environ.update({"DATABASE_URL": database_url, "BOOKING_INSTANCE_PATH": instance_dir,
                           "OUTBOX_BACKGROUND": "0", "MAIL_SERVER": ""})
        from booking import create_app

        app = create_app()
        t0 = time.perf_counter()
        data = seed.load_appointments(app, args.appointments, args.capacity_factor,
                                      args.race_free)
        data["load_seconds"] = round(time.perf_counter() - t0, 1)
        report["data"] = data
        log(f"loaded {data['appointments']} appointments, {data['seat_rows']} seats, "
            f"occupancy {data['occupancy']:.0%} ({data['load_seconds']} s)")
        with app.app_context():
            from booking.db import db

            report["postgresql"] = db.session.execute(
                db.text("show server_version")).scalar()
            db.session.remove()

        bodies = seed.booking_bodies(app, data["race_start"])
        log(f"{len(bodies)} booking bodies (one per free seat-start)")

        server = Server(args, database_url, instance_dir)
        report["server"] = {"command": " ".join(server.command[1:]),
                            "workers": args.workers, "threads": args.threads,
                            "max_requests": args.max_requests}
        log("starting gunicorn: " + report["server"]["command"])
        server.start()

        slot_url = slots_path(ZoneInfo("Europe/Berlin"), args.slot_days)
        for path in (BARE_PATH, slot_url):
            with urllib.request.urlopen(server.base + path, timeout=30) as response:
                assert response.status == 200, path
        report["slots_path"] = slot_url
        # every worker imports, connects and fills its memos before anything is measured
        for path in (BARE_PATH, slot_url):
            subprocess.run(loadgen_command(args, server, path, duration=0.1, warmup=3),
                           check=True, capture_output=True, cwd=ROOT)

        plan = []
        for _ in range(args.rounds):
            plan += ["bare", "slots", "bare", "booking"] + ([] if args.no_mixed
                                                             else ["bare", "mixed"])
        plan.append("bare")
        runs = []
        for index, kind in enumerate(plan):
            bodies_file = None
            if kind in ("booking", "mixed"):
                # every booking run: every free seat-start, in an order of its own
                random.Random(index).shuffle(bodies)
                bodies_file = os.path.join(instance_dir, f"bodies-{index}.jsonl")
                with open(bodies_file, "w") as fh:
                    fh.writelines(json.dumps(b) + "\n" for b in bodies)
            if kind == "mixed":
                # slot listings while bookings commit: the snapshot cache mostly misses
                background = loadgen_command(args, server, BOOK_PATH, bodies_file,
                                             max(1, args.concurrency // 4))
                result = loadgen(args, server, slot_url, background=background)
            else:
                path = {"bare": BARE_PATH, "slots": slot_url, "booking": BOOK_PATH}[kind]
                result = loadgen(args, server, path, bodies_file)
            result.update(kind=kind, index=index)
            runs.append(result)
            if bodies_file:
                # every run starts from the same data: remove what this one booked
                result["bookings_removed"] = seed.remove_bench_bookings(database_url)
            cache = ""
            if kind in ("slots", "mixed"):
                cache = (f"  cache hits {result['slot_cache_hits']}"
                         f" misses {result['slot_cache_misses']}")
            extra = ""
            if kind == "mixed":
                b = result["background"]
                extra = f"  + bookings {b['rps']:.1f} req/s {b['statuses']}"
            log(f"{index + 1:2}/{len(plan)} {kind:8} {result['rps']:8.1f} req/s  "
                f"p50 {result['latency_ms']['p50']} ms  p99 {result['latency_ms']['p99']} ms  "
                f"statuses {result['statuses']}{cache}{extra}"
                + (f"  errors {result['errors']}" if result["errors"] else "")
                + (f"  (then removed {result['bookings_removed']} bookings)"
                   if bodies_file else ""))
        report["runs"] = runs
        report["summary"] = summarise(runs)

        before = race_seats(app, data["race_start"])
        log(f"race: {args.race_clients} clients for the last {args.race_free} seats "
            f"at {data['race_start']}")
        result = race(server, data["race_start"], args.race_clients)
        after = race_seats(app, data["race_start"])
        expected = {"201": args.race_free, "409": args.race_clients - args.race_free}
        result.update(
            free_before=args.race_free, expected=expected, seats_before=before, seats_after=after,
            ok=(result["statuses"] == expected
                and after["seats_in_step"] == data["race_capacity"]
                and after["appointments_starting"] == data["race_capacity"]))
        report["race"] = result
        report["overbooked"] = [[str(x) for x in row] for row in seed.overbooked(app)]
        log(f"race statuses {result['statuses']}, overbooked steps: {len(report['overbooked'])}")
    finally:
        if server:
            server.stop()
            errors = [line for line in server.read_log().splitlines()
                      if "Traceback" in line or "[ERROR]" in line]
            report["server_log_errors"] = errors[:20]
        if not args.keep_db:
            try:
                seed.drop_database(args.admin_url, args.db_name)
            except Exception as exc:  # noqa: BLE001
                log(f"could not drop {args.db_name}: {exc}")
        shutil.rmtree(instance_dir, ignore_errors=True)

    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    os.makedirs(args.out, exist_ok=True)
    label = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in args.label)
    path = os.path.join(args.out, f"bench-{started.strftime('%Y%m%dT%H%M%SZ')}"
                        + (f"-{label}" if label else "") + ".json")
    with open(path, "w") as fh:
        json.dump(report, fh, indent=2, default=str)
    table = markdown(report)
    print(table)
    log(f"results written to {path}")
    ok = report["race"]["ok"] and not report["overbooked"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
