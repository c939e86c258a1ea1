"""The first free online start of each service: what the open status feed shows.

:func:`booking.scheduling.operations.list_free_slots` works out every free start of the
whole horizon. Only the first is wanted here, so the horizon is read a week at a time,
and the scan stops at the first week with a free start for every service asked about:
the same first start as the full listing, at a fraction of the cost while the next
weeks still have room (one query for the seats taken per week, shared by the services).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from booking.fairness.lottery import withhold_lottery_days
from booking.offices.models import Office, Service
from booking.scheduling import queries, slots

CHUNK_DAYS = 7


def first_free_starts(office: Office, services: Iterable[Service], now: datetime
                      ) -> dict[str, slots.FreeSlot | None]:
    """For each of ``services`` (offered by the office) its first bookable start for a
    citizen online, or None if there is none within the booking horizon."""
    pending = {service.id: service for service in services}
    found: dict[str, slots.FreeSlot | None] = dict.fromkeys(pending)
    policy = queries.get_policy(office)
    day, last = now.astimezone(office.tz).date(), slots.bookable_window(policy, now)[1]
    if not pending:
        return found
    rules = queries.get_rules(office)
    while pending and day <= last:
        end = min(day + timedelta(days=CHUNK_DAYS - 1), last)
        closed, cuts = queries.get_closure_intervals(office, day, end)
        holidays = queries.get_holidays(office.state, day, end)
        taken = None
        for service_id, service in list(pending.items()):
            steps = slots.open_steps(rules, closed, holidays, service_id, policy, day, end, cuts)
            steps = withhold_lottery_days(office, service_id, steps)
            if not steps:
                continue
            if taken is None:  # read once per week, and only if a service has open steps
                taken = queries.get_taken(office, rules, day, end, now)
            free = slots.free_slots(steps, taken, service.duration_minutes, policy, now)
            if free:
                found[service_id] = free[0]
                del pending[service_id]
        day = end + timedelta(days=1)
    return found
