"""Benchmark data: a fresh PostgreSQL database with the demo town and many appointments.

The appointments are planned in memory with the app's own slot functions
(``list_free_slots`` for the candidate starts, ``open_steps``/``choose_seat`` for the
seats) and written with two bulk INSERTs; going through ``book_appointment`` once per
appointment would take minutes.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from sqlalchemy import and_, func, insert, select, update

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_database(admin_url: str, name: str) -> str:
    """Drop and create database ``name``; returns its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flask_cli(args: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout.strip()


@dataclass
class Plan:
    office_id: str
    service_id: str
    start_at: datetime
    end_at: datetime
    seats: list[tuple[datetime, int, int]]  # (step, rule id, seat no)


class SeatBook:
    """Seats per office and step, planned in memory; capacity as the app computes it."""

    def __init__(self, steps_by: dict):
        self.steps_by = steps_by  # (office id, service id) -> {instant: slots.Step}
        self.used: dict[str, dict[datetime, dict[int, set[int]]]] = {}

    def take(self, office, service, start_at: datetime) -> Plan | None:
        from booking.scheduling import slots

        steps = self.steps_by[(office.id, service.id)]
        used = self.used.setdefault(office.id, {})
        picks = []
        for at in slots.covered_steps(start_at, service.duration_minutes, office.slot_minutes):
            step = steps.get(at)
            pick = slots.choose_seat(step, used.get(at, {})) if step else None
            if pick is None:
                return None
            picks.append((at, *pick))
        for at, rule_id, seat_no in picks:
            used.setdefault(at, {}).setdefault(rule_id, set()).add(seat_no)
        return Plan(office.id, service.id, start_at,
                    start_at + timedelta(minutes=service.duration_minutes), picks)


def load_appointments(app, count: int, capacity_factor: int, race_free: int,
                      seed: int = 20261122) -> dict:
    """Widen capacities, plan ``count`` appointments plus a race slot left with exactly
    ``race_free`` seats, and bulk-insert them. Returns a summary."""
    from booking.db import db, utcnow
    from booking.offices.models import AvailabilityRule, Office
    from booking.scheduling import codes, operations, queries, visits
    from booking.scheduling.models import (
        CONFIRMED,
        Appointment,
        AppointmentSeat,
        AppointmentService,
        StepCount,
    )

    rng = random.Random(seed)
    now = utcnow()
    with app.app_context():
        session = db.session
        assert session.scalar(select(func.count()).select_from(Appointment)) == 0
        if capacity_factor != 1:
            session.execute(update(AvailabilityRule).values(
                capacity=AvailabilityRule.capacity * capacity_factor))
            session.commit()

        offices = session.scalars(select(Office).order_by(Office.id)).all()
        steps_by, candidates, seat_steps = {}, [], 0
        for office in offices:
            first, last = operations.default_range(office, now)
            rules = queries.get_rules(office)
            everything = queries.get_open_steps(office, rules, None, first, last)
            seat_steps += sum(r.capacity for s in everything.values() for r in s.rules)
            for service in office.services:
                steps_by[(office.id, service.id)] = queries.get_open_steps(
                    office, rules, service.id, first, last)
                candidates += [(office, service, s.start_at)
                               for s in operations.list_free_slots(office, visits.single(service),
                                                                   now)]
        book = SeatBook(steps_by)

        # The race slot: a 15-minute service at 10:00 on a weekday at least three days
        # ahead in a step with one rule; all but ``race_free`` of its seats get taken.
        mitte = next(o for o in offices if o.id == "mitte")
        wohnsitz = next(s for s in mitte.services if s.id == "wohnsitz")
        steps = steps_by[("mitte", "wohnsitz")]
        tz = mitte.tz
        today = now.astimezone(tz).date()
        race_at = next(
            start for office, service, start in candidates
            if office is mitte and service is wohnsitz
            and start.astimezone(tz).hour == 10 and start.astimezone(tz).minute == 0
            and start.astimezone(tz).date() >= today + timedelta(days=3)
            and start.astimezone(tz).isoweekday() <= 5 and len(steps[start].rules) == 1
        )
        race_capacity = steps[race_at].rules[0].capacity
        plans = []
        for _ in range(race_capacity - race_free):
            plans.append(book.take(mitte, wohnsitz, race_at))
        race_appointments = len(plans)

        def touches_race(office, service, start):
            return office is mitte and start <= race_at < start + timedelta(
                minutes=service.duration_minutes)

        pool = [c for c in candidates if not touches_race(*c)]
        while len(plans) < count + race_appointments:
            rng.shuffle(pool)
            progress = False
            for office, service, start in pool:
                plan = book.take(office, service, start)
                if plan is not None:
                    plans.append(plan)
                    progress = True
                    if len(plans) == count + race_appointments:
                        break
            if not progress:
                raise RuntimeError(
                    f"only {len(plans) - race_appointments} of {count} appointments fit; "
                    "raise --capacity-factor")

        seen: set[str] = set()
        rows = []
        for i, plan in enumerate(plans):
            code = codes.new_code()
            while code in seen:
                code = codes.new_code()
            seen.add(code)
            rows.append(dict(
                office_id=plan.office_id, service_id=plan.service_id,
                start_at=plan.start_at, end_at=plan.end_at,
                name=f"Seed Citizen {i}", email=f"seed{i}@example.org", phone=None,
                language="de", code=code, token_hash=codes.hash_token(codes.new_token()),
                ical_uid=codes.new_uid(), sequence=0, status=CONFIRMED,
                created_at=now, updated_at=now, cancelled_at=None,
            ))
        conn = session.connection()
        ids = conn.execute(
            insert(Appointment.__table__).returning(
                Appointment.__table__.c.id, sort_by_parameter_order=True),
            rows,
        ).scalars().all()
        seat_rows = [
            dict(appointment_id=appointment_id, office_id=plan.office_id, rule_id=rule_id,
                 slot_at=at, seat_no=seat_no)
            for appointment_id, plan in zip(ids, plans, strict=True)
            for at, rule_id, seat_no in plan.seats
        ]
        conn.execute(insert(AppointmentService.__table__), [
            dict(appointment_id=appointment_id, position=0, service_id=plan.service_id, persons=1)
            for appointment_id, plan in zip(ids, plans, strict=True)])
        conn.execute(insert(AppointmentSeat.__table__), seat_rows)
        counts = Counter((row["rule_id"], row["slot_at"]) for row in seat_rows)
        conn.execute(insert(StepCount.__table__), [  # what the booking keeps (seat_counts)
            dict(rule_id=rule_id, slot_at=at, taken=taken)
            for (rule_id, at), taken in counts.items()])
        session.commit()
        conn = session.connection()
        conn.exec_driver_sql("ANALYZE")
        session.commit()

        seats_used = len(seat_rows)
        return {
            "appointments": len(plans),
            "appointments_spread": count,
            "race_fill_appointments": race_appointments,
            "seat_rows": seats_used,
            "seat_steps_offered": seat_steps,
            "occupancy": round(seats_used / seat_steps, 3),
            "capacity_factor": capacity_factor,
            "race_start": race_at.astimezone(tz).isoformat(),
            "race_capacity": race_capacity,
            "race_free": race_free,
            "by_office": {
                o.id: sum(1 for p in plans if p.office_id == o.id) for o in offices
            },
        }


def booking_bodies(app, race_start: str, rng_seed: int = 7) -> list[dict]:
    """One POST body per free seat-start (every office and service), in random order,
    leaving out starts that would touch the race slot."""
    from booking.db import db, utcnow
    from booking.offices.models import Office
    from booking.scheduling import operations, visits

    race_at = datetime.fromisoformat(race_start)
    now = utcnow()
    bodies = []
    with app.app_context():
        for office in db.session.scalars(select(Office).order_by(Office.id)).all():
            tz = office.tz
            for service in office.services:
                span = timedelta(minutes=service.duration_minutes)
                for s in operations.list_free_slots(office, visits.single(service), now):
                    if office.id == "mitte" and s.start_at <= race_at < s.start_at + span:
                        continue
                    start = s.start_at.astimezone(tz).isoformat()
                    bodies += [{"office": office.id, "service": service.id, "start": start}
                               ] * s.available
        db.session.remove()
    random.Random(rng_seed).shuffle(bodies)
    return [{**b, "name": f"Bench Booker {i}", "email": f"booker{i}@example.org"}
            for i, b in enumerate(bodies)]


BOOKER_EMAILS = "booker%@example.org"  # the booking runs' citizens (booking_bodies)


def remove_bench_bookings(database_url: str) -> int:
    """Delete what the booking runs booked (appointments, seats, queued emails) and
    VACUUM ANALYZE those tables, so that every booking run starts from the same data.
    Returns the number of appointments removed."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        with conn.transaction():
            ids = "SELECT id FROM appointments WHERE email LIKE %s"
            conn.execute(f"DELETE FROM outbox_messages WHERE appointment_id IN ({ids})",
                         (BOOKER_EMAILS,))
            gone = conn.execute(
                f"DELETE FROM appointment_seats WHERE appointment_id IN ({ids}) "
                "RETURNING rule_id, slot_at, held_until", (BOOKER_EMAILS,)).fetchall()
            conn.cursor().executemany(  # the counts the booking kept (seat_counts)
                "UPDATE step_counts SET taken = taken - %s WHERE rule_id = %s AND slot_at = %s",
                [(n, rule_id, at) for (rule_id, at), n in Counter(
                    (rule_id, at) for rule_id, at, held in gone if held is None).items()])
            removed = conn.execute("DELETE FROM appointments WHERE email LIKE %s",
                                   (BOOKER_EMAILS,)).rowcount
        conn.execute("VACUUM ANALYZE appointments, appointment_seats, step_counts, "
                     "outbox_messages")
    return removed


def overbooked(app) -> list[tuple]:
    """(rule id, step, seats, capacity) wherever a step holds more seats than its rule."""
    from booking.db import db
    from booking.offices.models import AvailabilityRule
    from booking.scheduling.models import AppointmentSeat, StepCount

    with app.app_context():
        rows = db.session.execute(
            select(AppointmentSeat.rule_id, AppointmentSeat.slot_at, func.count(),
                   AvailabilityRule.capacity)
            .join(AvailabilityRule, AvailabilityRule.id == AppointmentSeat.rule_id)
            .group_by(AppointmentSeat.rule_id, AppointmentSeat.slot_at,
                      AvailabilityRule.capacity)
            .having(func.count() > AvailabilityRule.capacity)
        ).all()
        bad_seat_no = db.session.scalar(
            select(func.count()).select_from(AppointmentSeat)
            .join(AvailabilityRule, AvailabilityRule.id == AppointmentSeat.rule_id)
            .where(AppointmentSeat.seat_no > AvailabilityRule.capacity))
        seats = (select(AppointmentSeat.rule_id, AppointmentSeat.slot_at,
                        func.count().label("n"))
                 .where(AppointmentSeat.held_until.is_(None))
                 .group_by(AppointmentSeat.rule_id, AppointmentSeat.slot_at).subquery())
        drift = db.session.scalar(  # the counts the booking keeps against the seats
            select(func.count()).select_from(StepCount).outerjoin(seats, and_(
                seats.c.rule_id == StepCount.rule_id, seats.c.slot_at == StepCount.slot_at))
            .where(StepCount.taken != func.coalesce(seats.c.n, 0)))
        db.session.remove()
    return ([tuple(r) for r in rows]
            + ([("seat_no > capacity", bad_seat_no)] if bad_seat_no else [])
            + ([("kept counts wrong", drift)] if drift else []))
