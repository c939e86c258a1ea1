"""Benchmark of the next free appointment in any office against the one-office listing.

    .venv/bin/python bench/next_free_run.py            # about 2 minutes
    .venv/bin/python bench/next_free_run.py --help     # every option

1. a fresh PostgreSQL database (migrations, the demo town), eight more offices copied
   from the demo's two (ten in all, each with the rules and services of its model), and
   20,000 confirmed appointments spread over them (bench/seed.py);
2. in one process, through the Flask test client (the app, its hooks and its commit
   point; no HTTP server: what is compared is the work of the request), each request
   repeated and timed, median and p90: the bare route, the one-office 60-day slot
   listing, the next free appointment of the service at all ten offices (no filter,
   Saturday mornings, evenings with three starts per office), the service page, and,
   for comparison, what one listing per office would cost (ten full listings);
3. a Markdown table on stdout (the SQL statements per request too) and the JSON in
   bench/results/.

See bench/README.md ("Next free appointment").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from bench import seed  # noqa: E402
from bench.run import BARE_PATH, code_version, log, machine  # noqa: E402

SERVICE = "personalausweis"
LISTING = f"/api/v1/offices/mitte/services/{SERVICE}/slots"
RUNS = [
    ("bare", BARE_PATH),
    ("one-office listing (60 days)", LISTING),
    ("next free, all offices", f"/api/v1/services/{SERVICE}/next-free"),
    ("next free, Saturday mornings", f"/api/v1/services/{SERVICE}/next-free"
                                     "?weekdays=6&times=morning"),
    ("next free, evenings, 3 per office", f"/api/v1/services/{SERVICE}/next-free"
                                          "?times=evening&limit=3"),
    ("next free, a family (3 persons + wohnsitz)", f"/api/v1/services/{SERVICE}/next-free"
                                                  "?persons=3&also=wohnsitz:1"),
    ("service page (next free, HTML)", f"/services/{SERVICE}"),
]
DISTRICTS = ["Altstadt", "Bahnhofsviertel", "Ostend", "Westend", "Südstadt", "Hafen",
             "Bergen", "Riederwald"]


def add_offices(app, count: int) -> None:
    """``count`` more offices, copies of the demo's mitte and nord in turn (rules and
    services), each in a district of its own."""
    from sqlalchemy import select

    from booking.db import db
    from booking.offices.models import AvailabilityRule, Office

    with app.app_context():
        models = [db.session.get(Office, "mitte"), db.session.get(Office, "nord")]
        for i in range(count):
            model = models[i % 2]
            office = Office(id=f"buero{i + 3}", name=f"Bürgerbüro {DISTRICTS[i % 8]}",
                            address=f"Rathausweg {i + 3}, 63065 Musterstadt",
                            district=DISTRICTS[i % 8], email=f"buero{i + 3}@musterstadt.example",
                            slot_minutes=model.slot_minutes,
                            lead_time_minutes=model.lead_time_minutes,
                            horizon_days=model.horizon_days, services=list(model.services))
            db.session.add(office)
            for rule in db.session.scalars(select(AvailabilityRule)
                                           .where(AvailabilityRule.office_id == model.id)):
                db.session.add(AvailabilityRule(
                    office=office, weekdays=rule.weekdays, start_time=rule.start_time,
                    end_time=rule.end_time, valid_from=rule.valid_from, capacity=rule.capacity,
                    services=list(rule.services)))
        db.session.commit()
        db.session.remove()


def timed(client, path: str, repeat: int, warmup: int, engine) -> dict:
    from sqlalchemy import event

    for _ in range(warmup):
        assert client.get(path).status_code == 200, path
    statements = []

    def count(*args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, path
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, path
    times.sort()
    return {"path": path, "median_ms": statistics.median(times),
            "p90_ms": times[int(len(times) * 0.9) - 1], "statements": len(statements),
            "bytes": len(response.data)}


def every_listing(app, repeat: int) -> dict:
    """What one listing per office would cost: the full listing at each office offering
    the service, in one request's worth of work (one app context)."""
    from booking.db import db, utcnow
    from booking.offices.models import Service
    from booking.scheduling import operations, queries, visits

    times = []
    for _ in range(repeat):
        with app.app_context():
            t0 = time.perf_counter()
            service = db.session.get(Service, SERVICE)
            for office, _ in queries.get_offices_offering([SERVICE]):
                operations.list_free_slots(office, visits.single(service), utcnow())
            times.append((time.perf_counter() - t0) * 1000)
            db.session.remove()
    times.sort()
    return {"path": "(ten list_free_slots calls)", "median_ms": statistics.median(times),
            "p90_ms": times[int(len(times) * 0.9) - 1], "statements": None, "bytes": None}


def markdown(results: dict) -> str:
    bare = results["bare"]["median_ms"]
    listing = results["one-office listing (60 days)"]["median_ms"]
    lines = ["| request | median | p90 | ÷ bare | ÷ one-office listing | SQL statements |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in results.items():
        statements = "" if r["statements"] is None else str(r["statements"])
        lines.append(f"| {name} | {r['median_ms']:.1f} ms | {r['p90_ms']:.1f} ms | "
                     f"{r['median_ms'] / bare:.0f}× | {r['median_ms'] / listing:.2f} | "
                     f"{statements} |")
    return "\n".join(lines)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--offices", type=int, default=8, help="offices added to the demo's two")
    p.add_argument("--appointments", type=int, default=20000)
    p.add_argument("--capacity-factor", type=int, default=10)
    p.add_argument("--repeat", type=int, default=60, help="timed requests per run")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--admin-url", default=os.environ.get(
        "BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    p.add_argument("--db-name", default="booking_bench_next_free")
    p.add_argument("--keep-db", action="store_true")
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    database_url = seed.create_database(args.admin_url, args.db_name)
    instance_dir = tempfile.mkdtemp(prefix="bench-next-free-")
    try:
        env = {**os.environ, "DATABASE_URL": database_url,
               "BOOKING_INSTANCE_PATH": instance_dir, "OUTBOX_BACKGROUND": "0"}
        env.pop("BOOKING_ENV", None)
        log(seed.flask_cli(["db", "upgrade"], env) or "migrated")
        log(seed.flask_cli(["seed-demo"], env))
        os.environ.update({"DATABASE_URL": database_url, "BOOKING_INSTANCE_PATH": instance_dir,
                           "OUTBOX_BACKGROUND": "0", "MAIL_SERVER": "", "ANTI_ABUSE": "0"})
        from bench.app import app
        from booking.db import db

        add_offices(app, args.offices)
        data = seed.load_appointments(app, args.appointments, args.capacity_factor, 2)
        log(f"{args.offices + 2} offices, {data['appointments']} appointments, "
            f"occupancy {data['occupancy']:.0%}")
        client = app.test_client()
        with app.app_context():
            engine = db.engine
        results = {}
        for name, path in RUNS:
            results[name] = timed(client, path, args.repeat, args.warmup, engine)
            log(f"{name}: {results[name]['median_ms']:.1f} ms")
        results["one listing per office (10 listings)"] = every_listing(app, args.repeat // 4)
        print(markdown(results))
        os.makedirs(args.out, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        with open(os.path.join(args.out, f"next-free-{stamp}.json"), "w") as fh:
            json.dump({"commit": code_version(), "machine": machine(), "data": data,
                       "settings": vars(args), "results": results}, fh, indent=2,
                      default=str)
    finally:
        if not args.keep_db:
            seed.drop_database(args.admin_url, args.db_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
