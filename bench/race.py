"""The race: many simultaneous bookings for the last seats of one start, each on its own
connection straight to gunicorn, and the seats and appointments at that start after it."""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from collections import Counter
from datetime import datetime

BOOK_PATH = "/api/v1/appointments"


def race(port: int, start: str, clients: int) -> dict:
    """``clients`` POSTs for one start, each on its own connection, released at once."""
    barrier = threading.Barrier(clients)
    results: list = [None] * clients

    def run(i: int) -> None:
        body = json.dumps({"office": "mitte", "service": "wohnsitz", "start": start,
                           "name": f"Racer {i}", "email": f"racer{i}@example.org"})
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
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
