"""Benchmark of the statistics page: a year of a big office on PostgreSQL.

    .venv/bin/python bench/stats_run.py                 # about 2 minutes
    .venv/bin/python bench/stats_run.py --help          # every option

1. a fresh PostgreSQL database (migrations, demo town);
2. 12 months up to yesterday at office *mitte*: 200,000 appointments (with their seat
   rows; confirmed, arrived, no-show, cancelled by citizens and by the office; online and
   phone) and 300,000 tickets (walk-ins and check-ins with arrival, call, start and
   finish times at the office's counters), written with bulk INSERTs;
3. ``ANALYZE``, then the statistics page of the whole year through the Flask test client
   (an administrator's session), per day, week and month, and one export; each timed
   ``--repeat`` times, the median and the slowest reported; before them a yardstick of
   the machine's speed (a fixed Python loop and a fixed PostgreSQL query).

See bench/README.md ("Statistics") for the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall
from zoneinfo import ZoneInfo

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from bench import seed  # noqa: E402

OFFICE = "mitte"
CHUNK = 10_000


def log(message: str) -> None:
    print(f"[stats-bench] {message}", file=sys.stderr, flush=True)


def _local(day: date, minute: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, wall(0), tzinfo=tz) + timedelta(minutes=minute)


def load(app, appointments: int, tickets: int, days: int, rng: random.Random) -> date:
    """Write the year's data; returns the last day."""
    from sqlalchemy import insert, select, text

    from booking.db import db
    from booking.offices.models import AvailabilityRule, Counter, Office
    from booking.queueing.models import Ticket
    from booking.scheduling.models import Appointment, AppointmentSeat

    with app.app_context():
        office = db.session.get(Office, OFFICE)
        tz = office.tz
        services = [(s.id, s.duration_minutes) for s in office.services]
        rule_id = db.session.scalar(select(AvailabilityRule.id).where(
            AvailabilityRule.office_id == OFFICE))
        counters = list(db.session.scalars(select(Counter.id).where(
            Counter.office_id == OFFICE)))
        last = datetime.now(tz).date() - timedelta(days=1)
        first = last - timedelta(days=days - 1)
        day_list = [first + timedelta(days=i) for i in range(days)]

        appts, seats, seat_no = [], [], {}
        statuses = ["arrived"] * 70 + ["no_show"] * 8 + ["cancelled"] * 17 + ["confirmed"] * 5
        now = datetime.now(UTC)
        next_id = (db.session.scalar(text("select coalesce(max(id), 0) from appointments")) or 0) + 1
        for i in range(appointments):
            day = rng.choice(day_list)
            service_id, minutes = rng.choice(services)
            start = _local(day, 8 * 60 + 15 * rng.randrange(40), tz).astimezone(UTC)
            status = rng.choice(statuses)
            created = start - timedelta(minutes=rng.randrange(60, 60 * 24 * 40))
            appt_id = next_id + i
            code = uuid.uuid4().hex[:12].upper()
            appts.append(dict(
                id=appt_id, office_id=OFFICE, service_id=service_id, start_at=start,
                end_at=start + timedelta(minutes=minutes), name="–", language="de", code=code,
                token_hash="0" * 64, ical_uid=f"bench-{code}", sequence=0, status=status,
                channel="phone" if rng.random() < 0.2 else "online", created_at=created,
                updated_at=now, cancelled_at=created + timedelta(hours=1)
                if status == "cancelled" else None,
                cancelled_by=("office" if rng.random() < 0.2 else "citizen")
                if status == "cancelled" else None,
                reminder_queued_at=start - timedelta(hours=24) if rng.random() < 0.6 else None))
            if status != "cancelled":
                for step in range(max(1, minutes // 15)):
                    slot = start + timedelta(minutes=15 * step)
                    seat_no[slot] = seat_no.get(slot, 0) + 1
                    seats.append(dict(appointment_id=appt_id, office_id=OFFICE, rule_id=rule_id,
                                      slot_at=slot, seat_no=seat_no[slot]))
        for rows, model in ((appts, Appointment), (seats, AppointmentSeat)):
            for k in range(0, len(rows), CHUNK):
                db.session.execute(insert(model), rows[k:k + CHUNK])
        db.session.execute(text("select setval(pg_get_serial_sequence('appointments', 'id'), "
                                "(select max(id) from appointments))"))
        db.session.commit()
        log(f"{len(appts)} appointments, {len(seats)} seats")

        per_day = tickets // days
        rows = []
        for day in day_list:
            for seq in range(1, per_day + 1):
                service_id, minutes = rng.choice(services)
                arrived = _local(day, 8 * 60 + rng.randrange(600), tz).astimezone(UTC)
                r = rng.random()
                status = "done" if r < 0.9 else "no_show" if r < 0.96 else "unserved"
                called = (arrived + timedelta(seconds=rng.expovariate(1 / 900))
                          if status != "unserved" else None)
                started = called + timedelta(seconds=30) if status == "done" else None
                finished = (started + timedelta(seconds=rng.gauss(minutes * 60, 240) % 3600)
                            if started else arrived + timedelta(hours=10)
                            if status == "unserved" else None)
                rows.append(dict(
                    id=uuid.uuid4().hex, office_id=OFFICE, service_id=service_id, day=day,
                    seq=seq, number=f"A{seq:03d}", kind="walk_in" if r % 0.1 < 0.08
                    else "appointment", language="de", status=status, arrived_at=arrived,
                    counter_id=rng.choice(counters) if called else None, called_at=called,
                    started_at=started, finished_at=finished, recalls=0))
            if len(rows) >= CHUNK:
                db.session.execute(insert(Ticket), rows)
                rows = []
        if rows:
            db.session.execute(insert(Ticket), rows)
        db.session.commit()
        log(f"{per_day * days} tickets")
        return last


def fill_estimate_errors(app, rng: random.Random) -> None:
    """The estimator's error summed per day and service, as the nightly job writes it
    (synthetic sums: replaying a year of estimates here would take long), unless there."""
    from sqlalchemy import func, insert, select

    from booking.db import db
    from booking.offices.models import Office
    from booking.queueing.models import EstimateDay, EstimateError, Ticket

    with app.app_context():
        if db.session.scalar(select(func.count()).select_from(EstimateDay)):
            return
        services = [s.id for s in db.session.get(Office, OFFICE).services]
        days = list(db.session.scalars(select(Ticket.day).distinct().where(
            Ticket.office_id == OFFICE, Ticket.kind == "walk_in")))
        db.session.execute(insert(EstimateDay), [dict(office_id=OFFICE, day=d) for d in days])
        rows = []
        for day in days:
            for service_id in services:
                n = rng.randrange(20, 120)
                rows.append(dict(office_id=OFFICE, day=day, service_id=service_id, tickets=n,
                                 abs_error_sum=n * rng.uniform(2, 12),
                                 error_sum=n * rng.uniform(-5, 5), within_5=n // 2))
        db.session.execute(insert(EstimateError), rows)
        db.session.commit()
        log(f"{len(rows)} rows of the estimator's error")


def _backend_cpu(pid: int) -> float | None:
    """CPU seconds a PostgreSQL backend on this machine has used (None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _median_seconds(work, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def yardstick(app) -> tuple[float, float]:
    """The machine's speed now (it is shared; the target is absolute): seconds for a fixed
    Python loop and for a fixed PostgreSQL query over a million numbers, each the median
    of five."""
    from sqlalchemy import text

    from booking.db import db

    query = text("select sum(n::bigint * n) from generate_series(1, 1000000) as n")
    with app.app_context():
        loop = _median_seconds(lambda: sum(i * i for i in range(1_000_000)))
        sql = _median_seconds(lambda: db.session.execute(query).scalar())
        db.session.rollback()
    return loop, sql


def time_pages(app, last: date, days: int, repeat: int) -> dict[str, tuple[float, ...]]:
    """Per page: median and slowest wall time, median Python CPU time of this process,
    median time in SQL statements (from sending to the last row) and median CPU time of
    the PostgreSQL backend in them (when it runs on this machine; parallel workers not
    counted): the CPU times say more than wall times on a loaded machine."""
    from sqlalchemy import event, select

    from booking.accounts.models import User
    from booking.accounts.operations import create_user, start_session
    from booking.db import db

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "bench-admin@example.org"))
        if user is None:
            user = create_user("bench-admin@example.org", "bench password 123", "admin", [],
                               datetime.now(UTC))
        session_id = start_session(user, datetime.now(UTC))
        db.session.commit()
        engine = db.engine
    in_sql: list[float] = []
    pg_cpu: list[float | None] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        pid = conn.connection.dbapi_connection.info.backend_pid
        conn.info["stats_bench_cpu"] = (pid, _backend_cpu(pid))
        conn.info["stats_bench_t"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        in_sql.append(time.perf_counter() - conn.info.pop("stats_bench_t"))
        pid, began = conn.info.pop("stats_bench_cpu")
        now = _backend_cpu(pid)
        pg_cpu.append(None if began is None or now is None else now - began)

    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
        sess["_fresh"] = True
    first = last - timedelta(days=days - 1)
    base = f"/admin/offices/{OFFICE}/statistics/"
    query = f"first={first.isoformat()}&last={last.isoformat()}"
    targets = {f"page per {g}": f"{base}?{query}&granularity={g}"
               for g in ("day", "week", "month")}
    targets["XLSX export of waits per day"] = f"{base}waits.xlsx?{query}&granularity=day"
    results = {}
    for label, url in targets.items():
        client.get(url)  # warm: templates compiled, connections open
        seconds, cpu, sql, backend = [], [], [], []
        for _ in range(repeat):
            in_sql.clear()
            pg_cpu.clear()
            began, began_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            seconds.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
            sql.append(sum(in_sql))
            backend.append(None if None in pg_cpu else sum(pg_cpu))
            assert response.status_code == 200, (url, response.status_code)
        results[label] = (statistics.median(seconds), max(seconds), statistics.median(cpu),
                          statistics.median(sql),
                          None if None in backend else statistics.median(backend))
        log(f"{label}: median {results[label][0]:.3f} s, slowest {results[label][1]:.3f} s, "
            f"Python CPU {results[label][2]:.3f} s, SQL {results[label][3]:.3f} s, "
            f"PostgreSQL CPU {results[label][4]} s")
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--admin-url", default=os.environ.get(
        "BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    p.add_argument("--db-name", default="booking_stats_bench")
    p.add_argument("--appointments", type=int, default=200_000)
    p.add_argument("--tickets", type=int, default=300_000)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--keep-db", action="store_true", help="keep the database for --reuse-db")
    p.add_argument("--reuse-db", action="store_true",
                   help="time the pages on the database a run with --keep-db left")
    args = p.parse_args(argv)

    instance_dir = tempfile.mkdtemp(prefix="stats-bench-")
    try:
        if args.reuse_db:
            database_url = args.admin_url.rsplit("/", 1)[0] + "/" + args.db_name
        else:
            log(f"creating database {args.db_name}")
            database_url = seed.create_database(args.admin_url, args.db_name)
            env = {**os.environ, "DATABASE_URL": database_url,
                   "BOOKING_INSTANCE_PATH": instance_dir, "OUTBOX_BACKGROUND": "0"}
            env.pop("BOOKING_ENV", None)
            seed.flask_cli(["db", "upgrade"], env)
            log(seed.flask_cli(["seed-demo"], env))
        os.environ.update({"DATABASE_URL": database_url, "BOOKING_INSTANCE_PATH": instance_dir,
                           "OUTBOX_BACKGROUND": "0", "MAIL_SERVER": "", "ANTI_ABUSE": "0",
                           "REALTIME_BACKEND": "memory"})
        from booking import create_app

        app = create_app()
        began = time.perf_counter()
        if args.reuse_db:
            with app.app_context():
                from sqlalchemy import func, select

                from booking.db import db
                from booking.queueing.models import Ticket
                last = db.session.scalar(select(func.max(Ticket.day)))
        else:
            last = load(app, args.appointments, args.tickets, args.days, random.Random(14))
            log(f"loaded in {time.perf_counter() - began:.0f} s")
        fill_estimate_errors(app, random.Random(14))
        with app.app_context():
            from sqlalchemy import text

            from booking.db import db
            db.session.execute(text("analyze"))
            db.session.commit()
        loop_s, query_s = yardstick(app)
        results = time_pages(app, last, args.days, args.repeat)
    finally:
        if not args.keep_db and not args.reuse_db:
            seed.drop_database(args.admin_url, args.db_name)
    load_avg = os.getloadavg()[0]
    print(f"\n| {args.days} days, {args.appointments:,} appointments, {args.tickets:,} tickets "
          f"(load average {load_avg:.1f}) | median | slowest | Python CPU | in SQL "
          "| PostgreSQL CPU |\n|---|---|---|---|---|---|")
    for label, (median, slowest, cpu, sql, backend) in results.items():
        pg = "–" if backend is None else f"{backend:.3f} s"
        print(f"| {label} | {median:.3f} s | {slowest:.3f} s | {cpu:.3f} s | {sql:.3f} s "
              f"| {pg} |")
    print(f"\nYardstick (the machine's speed, before the pages): a Python loop over a million "
          f"numbers {loop_s * 1000:.0f} ms, PostgreSQL summing a million {query_s * 1000:.0f} ms.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
