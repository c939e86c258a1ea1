"""Periodic jobs: appointment reminders, the waitlist matcher, due lottery draws,
invitations and the estimator's error on closed days (for the statistics).

Each runs in its own transaction with the clock as an argument, from its CLI command
(``flask send-reminders``, ``flask waitlist-offers``, ``flask lottery-draw``,
``flask send-invitations``, ``flask estimate-errors``, for cron) and from every
process's background sender every ``PERIODIC_JOBS_SECONDS`` (see
:meth:`booking.notifications.outbox.BackgroundSender.run_round`). Running them in
several processes at once is safe: each reminder, offer and invitation is written once
(conditional updates and unique indexes), each lottery drawn once (a conditional status
change, see booking.fairness.lottery_run).
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from booking.db import unit_of_work
from booking.fairness.lottery_run import draw_due
from booking.invitations.sending import send_due_invitations
from booking.notifications import outbox
from booking.queueing import estimator_error
from booking.scheduling.reminders import send_due_reminders
from booking.waitlist.matching import MatcherRun, run_matcher

log = logging.getLogger(__name__)


def reminders(now: datetime) -> int:
    with unit_of_work():
        return send_due_reminders(now)


def waitlist_offers(now: datetime) -> MatcherRun:
    with unit_of_work():
        return run_matcher(now)


def invitations(now: datetime) -> int:
    with unit_of_work():
        return send_due_invitations(now)


def estimate_errors(now: datetime, since: date | None = None) -> int:
    with unit_of_work():
        return estimator_error.sum_all_offices(now, since)


def lotteries(now: datetime) -> list:
    return draw_due(now)  # each lottery in its own transaction


@outbox.periodic
def run_jobs(now: datetime) -> None:
    for job in (reminders, waitlist_offers, lotteries, invitations, estimate_errors):
        try:
            job(now)
        except Exception:  # one failing job never stops the other, nor the sending
            log.exception("periodic job %s failed", job.__name__)
