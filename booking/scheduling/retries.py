"""Taking seats in a savepoint, again if a concurrent booking took one of them first.

The seat key ``(rule, step, seat number)`` and the booking code are unique in the
database: an attempt that inserts a key taken concurrently fails there, its savepoint is
rolled back (nothing of it stays, the kept seat counts included) and it runs again with
the seats free now.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError

from booking.db import db
from booking.scheduling.errors import SlotTaken

SEAT_ATTEMPTS = 5


def is_retried_conflict(exc: IntegrityError) -> bool:
    """Whether a concurrent booking took one of our seats first, or (rarely) the random
    booking code is in use already; any other violation is a bug and is not retried."""
    name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)  # psycopg
    if name is not None:
        return name in {"uq_appointment_seats_seat", "uq_appointments_code"}
    message = str(exc.orig)  # SQLite names the columns instead
    return message in {
        "UNIQUE constraint failed: appointment_seats.rule_id, appointment_seats.slot_at, "
        "appointment_seats.seat_no",
        "UNIQUE constraint failed: appointments.code",
    }


def in_savepoint(attempt: Callable[[], None]) -> None:
    """Run ``attempt`` in a savepoint; if a unique key it wrote was taken concurrently,
    roll the savepoint back (nothing of the attempt stays) and run it again."""
    for _ in range(SEAT_ATTEMPTS):
        try:
            with db.session.begin_nested():
                attempt()
            return
        except IntegrityError as exc:
            if not is_retried_conflict(exc):
                raise
    raise SlotTaken("no seat left after retries")
