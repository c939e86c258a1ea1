"""The retention purge (``flask purge``, nightly): personal data goes when its time is up.

:data:`STEPS` is the one list of what the purge does, in order; each step deletes or
anonymises one kind of data and returns how many rows it changed. A feature that stores
personal data adds its step here (and its table to tests/test_retention.py), and the
privacy notice (templates/citizen/privacy.html) says how long the data is kept.

Steps get a :class:`Purge`: the clock (``now``, an argument, so tests run the purge at
any time), the retention period (``RETENTION_DAYS``) and the settings. Data kept "for
``RETENTION_DAYS`` after X" goes once X lies before :attr:`Purge.cutoff`; data with a
shorter life of its own (login counters, idempotency keys) goes when that ends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from booking.accounts.operations import forget_stale_logins
from booking.audit.log import strip_citizen_data
from booking.fairness import altcha
from booking.fairness.lottery_run import forget_entries
from booking.invitations.retention import forget_invitations
from booking.notifications.retention import forget_delivered
from booking.queueing.reminders import forget_reminders
from booking.scheduling import idempotency
from booking.scheduling.retention import anonymise_appointments
from booking.waitlist.retention import forget_offers, forget_wishes


@dataclass(frozen=True)
class Purge:
    now: datetime
    retention: timedelta
    config: Mapping = field(default_factory=dict)

    @property
    def cutoff(self) -> datetime:
        """Data whose time ended before this is past its retention period."""
        return self.now - self.retention


@dataclass(frozen=True)
class Step:
    """``run`` changes rows (only ``flush()``; the caller commits) and returns how many;
    ``report`` says so for the CLI, with ``{}`` for the number."""

    report: str
    run: Callable[[Purge], int]


def _stale_logins(purge: Purge) -> int:
    config = purge.config
    return forget_stale_logins(purge.now,
                               timedelta(minutes=config.get("STAFF_SESSION_IDLE_MINUTES", 60)),
                               timedelta(hours=config.get("STAFF_SESSION_MAX_HOURS", 12)))


STEPS: list[Step] = [
    # appointments first: their not pending emails go with them
    Step("anonymised {} appointments (past, or cancelled)",
         lambda p: anonymise_appointments(p.now, p.cutoff)),
    Step("deleted {} sent or failed emails",
         lambda p: forget_delivered(p.cutoff)),
    Step("deleted {} reminder emails of walk-in tickets",
         lambda p: forget_reminders(before=p.cutoff)),
    Step("removed citizens' data from {} audit entries",
         lambda p: strip_citizen_data(p.cutoff)),
    Step("deleted {} ended staff sessions and expired login counters", _stale_logins),
    Step("deleted {} expired waitlist offers",
         lambda p: forget_offers(p.cutoff)),
    Step("deleted {} waitlist wishes (ended, with their offers)",
         lambda p: forget_wishes(p.cutoff)),
    Step("deleted {} invitations (booked, declined, opted out or past their due date)",
         lambda p: forget_invitations(p.cutoff)),
    Step("deleted {} entries of drawn lotteries",
         lambda p: forget_entries(p.now, p.retention)),
    Step("deleted {} idempotency keys",
         lambda p: idempotency.purge_expired(p.now)),
    Step("deleted {} spent proofs of work (expired)",
         lambda p: altcha.purge_spent(p.now)),
]


def run_purge(now: datetime, retention: timedelta,
              config: Mapping | None = None) -> list[tuple[Step, int]]:
    """Run every step of :data:`STEPS`; each step's count, in order. Needs an app
    context; the caller commits (``unit_of_work``)."""
    purge = Purge(now, retention, config or {})
    return [(step, step.run(purge)) for step in STEPS]
