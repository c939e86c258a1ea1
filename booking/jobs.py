"""Periodic jobs: appointment reminders and the waitlist matcher.

Each runs in its own transaction with the clock as an argument, from its CLI command
(``flask send-reminders``, ``flask waitlist-offers``, for cron) and from every
process's background sender every ``PERIODIC_JOBS_SECONDS`` (see
:meth:`booking.notifications.outbox.BackgroundSender.run_round`). Running them in
several processes at once is safe: each reminder and each offer is written once
(conditional updates and unique indexes).
"""

from __future__ import annotations

import logging
from datetime import datetime

from booking.db import unit_of_work
from booking.notifications import outbox
from booking.scheduling.reminders import send_due_reminders
from booking.waitlist.matching import MatcherRun, run_matcher

log = logging.getLogger(__name__)


def reminders(now: datetime) -> int:
    with unit_of_work():
        return send_due_reminders(now)


def waitlist_offers(now: datetime) -> MatcherRun:
    with unit_of_work():
        return run_matcher(now)


@outbox.periodic
def run_jobs(now: datetime) -> None:
    for job in (reminders, waitlist_offers):
        try:
            job(now)
        except Exception:  # one failing job never stops the other, nor the sending
            log.exception("periodic job %s failed", job.__name__)
