"""The bot run: one reseller's bot with 50 fake identities against 20 honest citizens for
100 seats released at once, with the fairness measures on and off.

    .venv/bin/python bench/bot_run.py                  # every configuration, about 6 minutes
    .venv/bin/python bench/bot_run.py -s 20 -c defaults

Each configuration gets a fresh PostgreSQL database with one office and one service whose
only capacity is 100 seat-starts on one day, and a 4-worker gunicorn (deploy/gunicorn.conf.py)
that believes one proxy (``X-Forwarded-For``): the bot comes from one address, every honest
client from its own. Rate limits are kept in Redis, as on several servers.

- **The bot** runs 8 threads for the whole run: list the slots, take a random free start,
  solve the proof of work when it is asked for, book it under the next of its 50
  identities. The identities have 50 names and 50 spellings of one mailbox (``+tags``,
  dots, googlemail.com): a reseller needs the confirmation emails, so it needs mailboxes
  it reads. It does not keep cookies and ignores Retry-After.
- **Each honest client** arrives at a random moment in the first 20 seconds (people come
  when they hear of the release), lists the slots, picks one, solves the proof of work,
  books; after a 409 it tries another start (5 tries), after a 429 it waits as told. If no
  start is left it puts itself on the waitlist.

The report counts the seats held at the end by the bot's identities and by the honest
clients (from the database), the waitlist places, and the bot's answers by status.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import seed  # noqa: E402
from tests.server import gunicorn  # noqa: E402

OFFICE, SERVICE = "amt", "pass"
BOT_ADDRESS = "203.0.113.7"
BOT_THREADS = 8
IDENTITIES = 50
HONEST = 20
SEATS_PER_START, STARTS = 10, 10  # 08:00 to 10:30 in 15-minute steps: 100 seats
REDIS_URL = "redis://127.0.0.1:6379/7"
# The proof of work costs 1/25 of the default (ALTCHA_COST 5000): here the bot's 8 threads
# and the 20 honest clients solve on the same two cores as the server, where each would
# have a device of its own; a solution costs the bot exactly what it costs an honest client.
BENCH_ALTCHA_COST = "200"
CHALLENGE_PATH = "/api/v1/altcha/challenge"
POW_HEADER = "X-Altcha"
WAITLIST_PATH = "/api/v1/waitlist"

# name: the environment of the server (ANTI_ABUSE and the measures' own switches)
CONFIGURATIONS = {
    "all off": {"ANTI_ABUSE": "0"},
    "defaults": {"ANTI_ABUSE": "1"},
    "proof of work only": {"ANTI_ABUSE": "1", "RATELIMIT_ENABLED": "0", "EMAIL_CAP_ENABLED": "0"},
    "rate limits only": {"ANTI_ABUSE": "1", "ALTCHA_ENABLED": "0", "EMAIL_CAP_ENABLED": "0"},
    "cap only": {"ANTI_ABUSE": "1", "ALTCHA_ENABLED": "0", "RATELIMIT_ENABLED": "0"},
}


def bot_identity(i: int) -> tuple[str, str]:
    """The i-th fake identity: a name of its own, a spelling of the one mailbox."""
    spellings = ["reseller.one+{i}@gmail.com", "reseller.one+t{i}@googlemail.com",
                 "Reseller.One+{i}@Gmail.com", "re.seller.one+{i}@gmail.com",
                 "r.e.s.e.l.l.e.r.o.n.e+{i}@googlemail.com"]
    return f"Person {i:02d} Bot", spellings[i % len(spellings)].format(i=i)


def solve(challenge: dict) -> str:
    """What the widget computes (the altcha library's own solver): the proof's payload."""
    import altcha

    parsed = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(parsed, timeout=60)
    return altcha.Payload(parsed, solution).to_base64() if solution else "unsolved"


def waitlist_body(name: str, email: str) -> dict:
    day = release_day()
    return {"service": SERVICE, "offices": [OFFICE],
            "until": (day + timedelta(days=14)).isoformat(), "name": name, "email": email}


def release_day() -> date:
    """A Tuesday at least a week ahead and not 24–26 December or 1 January."""
    day = date.today() + timedelta(days=7)
    while day.isoweekday() != 2 or (day.month, day.day) in {(12, 24), (12, 25), (12, 26),
                                                              (1, 1)}:
        day += timedelta(days=1)
    return day


def make_office(app, day: date) -> None:
    from booking.db import db
    from booking.offices.models import AvailabilityRule, Office, Service

    with app.app_context():
        office = Office(id=OFFICE, name="Bürgerbüro Teststadt", address="Markt 1",
                        email="amt@teststadt.example", phone="+49 1234 5678",
                        timezone="Europe/Berlin", state="HE", slot_minutes=15,
                        lead_time_minutes=60, horizon_days=60, cancel_deadline_minutes=60)
        office.services = [Service(id=SERVICE, position=1, name_de="Reisepass beantragen",
                                   name_en="Apply for a passport", fee_cents=7000,
                                   duration_minutes=15)]
        db.session.add(office)
        db.session.add(AvailabilityRule(
            office=office, weekdays=str(day.isoweekday()), start_time=dtime(8),
            end_time=dtime(8 + STARTS * 15 // 60, STARTS * 15 % 60), valid_from=day,
            valid_until=day, capacity=SEATS_PER_START))
        db.session.commit()


class Client:
    """One HTTP/1.1 connection to the server, from one client address."""

    def __init__(self, port: int, address: str, *, cookies: bool):
        self.port, self.address, self.cookies = port, address, cookies
        self.cookie: str | None = None
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: dict | None = None,
                headers: dict | None = None) -> tuple[int, dict, object]:
        head = {"X-Forwarded-For": self.address, **(headers or {})}
        if body is not None:
            head["Content-Type"] = "application/json"
        if self.cookies and self.cookie:
            head["Cookie"] = self.cookie
        for attempt in range(2):
            try:
                self.conn.request(method, path, json.dumps(body) if body is not None else None,
                                  head)
                response = self.conn.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                if attempt:
                    raise
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
        return response.status, dict(response.getheaders()), data

    def free_starts(self) -> list[str]:
        status, _, data = self.request("GET", f"/api/v1/offices/{OFFICE}/services/{SERVICE}/slots")
        return [s["start"] for s in data] if status == 200 and data else []

    def proof_of_work(self) -> dict:
        """Headers that carry a solved challenge, or nothing when none is asked for."""
        status, _, challenge = self.request("GET", CHALLENGE_PATH)
        if status != 200 or not challenge:
            return {}
        return {POW_HEADER: solve(challenge)}

    def book(self, start: str, name: str, email: str, pow_needed: bool
             ) -> tuple[int, dict, object]:
        headers = self.proof_of_work() if pow_needed else {}
        return self.request("POST", "/api/v1/appointments",
                            {"office": OFFICE, "service": SERVICE, "start": start,
                             "name": name, "email": email}, headers)


def run_bot(port: int, deadline: float, pow_needed: bool, answers: Counter,
            lock: threading.Lock, counter: list[int]) -> None:
    client = Client(port, BOT_ADDRESS, cookies=False)
    rng = random.Random()
    while time.monotonic() < deadline:
        starts = client.free_starts()
        if not starts:
            with lock:
                answers["no start listed"] += 1
            time.sleep(0.05)
            continue
        with lock:
            i = counter[0] % IDENTITIES
            counter[0] += 1
        status, _, _ = client.book(rng.choice(starts), *bot_identity(i), pow_needed)
        with lock:
            answers[str(status)] += 1


def run_honest(port: int, k: int, t0: float, arrive_within: float, pow_needed: bool,
               outcomes: dict) -> None:
    rng = random.Random(k)
    time.sleep(max(0.0, t0 + rng.uniform(0, arrive_within) - time.monotonic()))
    client = Client(port, f"198.51.100.{k + 10}", cookies=True)
    name, email = f"Bürgerin {k}", f"buergerin{k}@example.org"
    for _ in range(8):
        starts = client.free_starts()
        if not starts:
            break
        status, headers, _ = client.book(rng.choice(starts), name, email, pow_needed)
        if status == 201:
            outcomes[k] = "seat"
            return
        if status == 429:
            time.sleep(min(float(headers.get("Retry-After", "1")), 30))
    status, _, _ = client.request("POST", WAITLIST_PATH, waitlist_body(name, email),
                                  client.proof_of_work() if pow_needed else {})
    outcomes[k] = "waitlist" if status == 201 else f"nothing ({status})"


def seats_held(app) -> tuple[int, int]:
    """(seats of the bot's identities, seats of honest clients) at the end."""
    from sqlalchemy import func, select

    from booking.db import db
    from booking.scheduling.models import Appointment, AppointmentSeat

    with app.app_context():
        rows = db.session.execute(
            select(Appointment.name, func.count(AppointmentSeat.id))
            .join(AppointmentSeat, AppointmentSeat.appointment_id == Appointment.id)
            .where(Appointment.status == "confirmed")
            .group_by(Appointment.name)).all()
        db.session.remove()
    bot = sum(n for name, n in rows if name.endswith(" Bot"))
    return bot, sum(n for name, n in rows if not name.endswith(" Bot"))


def one_configuration(args, name: str, env: dict, admin_url: str) -> dict:
    database = f"bench_bots_{int(time.time())}"
    url = seed.create_database(admin_url, database)
    instance = tempfile.mkdtemp(prefix="bot-run-")
    try:
        cli_env = {**os.environ, "DATABASE_URL": url, "BOOKING_INSTANCE_PATH": instance}
        cli_env.pop("BOOKING_ENV", None)
        seed.flask_cli(["db", "upgrade"], cli_env)
        os.environ.update({"DATABASE_URL": url, "BOOKING_INSTANCE_PATH": instance,
                           "OUTBOX_BACKGROUND": "0", "MAIL_SERVER": ""})
        from booking import create_app

        app = create_app()
        make_office(app, release_day())
        flush_redis()
        with gunicorn(url, instance, workers=4, TRUSTED_PROXY_COUNT="1",
                      RATELIMIT_STORAGE_URI=REDIS_URL, ALTCHA_COST=BENCH_ALTCHA_COST,
                      **env) as base:
            port = int(base.rsplit(":", 1)[1])
            pow_needed = env.get("ANTI_ABUSE") == "1" and env.get("ALTCHA_ENABLED") != "0"
            answers, outcomes, lock, counter = Counter(), {}, threading.Lock(), [0]
            t0 = time.monotonic()
            deadline = t0 + args.seconds
            threads = [threading.Thread(target=run_bot, args=(port, deadline, pow_needed,
                                                                answers, lock, counter))
                       for _ in range(BOT_THREADS)]
            threads += [threading.Thread(target=run_honest, args=(port, k, t0,
                                                                   args.arrive, pow_needed,
                                                                   outcomes))
                        for k in range(HONEST)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        bot, honest = seats_held(app)
        result = {"configuration": name, "environment": env, "bot_seats": bot,
                  "honest_seats": honest,
                  "honest_outcomes": dict(Counter(outcomes.values())),
                  "bot_answers": dict(answers), "bot_bookings_tried": counter[0]}
        print(json.dumps(result, ensure_ascii=False), flush=True)
        return result
    finally:
        seed.drop_database(admin_url, database)


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def table(results: list[dict]) -> str:
    lines = ["| configuration | bot's seats | honest: seat | honest: waitlist | honest: neither "
             "| bot's answers |", "|---|---:|---:|---:|---:|---|"]
    for r in results:
        o = r["honest_outcomes"]
        neither = sum(n for k, n in o.items() if k not in {"seat", "waitlist"})
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(r["bot_answers"].items()))
        lines.append(f"| {r['configuration']} | {r['bot_seats']} | {o.get('seat', 0)} "
                     f"| {o.get('waitlist', 0)} | {neither} | {answers} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-s", "--seconds", type=float, default=60, help="length of each run")
    p.add_argument("--arrive", type=float, default=20,
                   help="honest clients arrive within this many seconds")
    p.add_argument("-c", "--configuration", action="append", choices=list(CONFIGURATIONS),
                   help="run only these (default: all)")
    p.add_argument("--admin-url", default=os.environ.get(
        "BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = p.parse_args(argv)
    results = [one_configuration(args, name, CONFIGURATIONS[name], args.admin_url)
               for name in args.configuration or CONFIGURATIONS]
    print(table(results))
    print(f"_{args.seconds:.0f} s per run, {datetime.now(UTC):%Y-%m-%d}_")


if __name__ == "__main__":
    main()
