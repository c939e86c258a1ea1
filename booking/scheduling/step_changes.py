"""What a change of the opening-hours rules adds and removes, compactly. Pure.

The input is, per service, the places (seats) of every open step before and after the
change (UTC step instant → number of places, see :func:`places`). The result lists only
the local days on which something changes; on each, the services whose changes are the
same share one line, and consecutive steps with the same change are merged into one time
range: "+ 08:00–12:00 (16 slots)", "− 14:00–16:00 (8 slots)", "10:00–11:00: 2 → 3 places".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from booking.scheduling.slots import OpenSteps

ADDED, REMOVED, CHANGED = "added", "removed", "changed"

Places = Mapping[datetime, int]  # UTC step instant → places offered in that step


@dataclass(frozen=True)
class TimeRange:
    """Consecutive steps with the same change: ``steps`` of them, from ``start_at`` to
    ``end_at`` (the end of the last step; both UTC). ``before``/``after`` are the places
    of a CHANGED range (0 for ADDED/REMOVED ones, whose counts may differ step by step)."""

    kind: str
    start_at: datetime
    end_at: datetime
    steps: int
    before: int = 0
    after: int = 0


@dataclass(frozen=True)
class ServiceLine:
    """The services (ids, in the given order) that share exactly these changes on a day."""

    service_ids: tuple[str, ...]
    ranges: tuple[TimeRange, ...]


@dataclass(frozen=True)
class DayChanges:
    day: date  # local
    lines: tuple[ServiceLine, ...]


@dataclass(frozen=True)
class StepChanges:
    """The changed days in order, and how many distinct steps were added, removed, or
    changed their number of places (a step counts once however many services it has)."""

    days: tuple[DayChanges, ...]
    added: int
    removed: int
    changed: int

    @property
    def is_empty(self) -> bool:
        return not self.days


def places(steps: OpenSteps, since: datetime | None = None) -> dict[datetime, int]:
    """The places of each open step (the capacities of the rules offering it), from
    ``since`` on."""
    return {at: sum(rule.capacity for rule in step.rules) for at, step in steps.items()
            if since is None or at >= since}


def _kind(before: int, after: int) -> str | None:
    if before == after:
        return None
    if not before:
        return ADDED
    return REMOVED if not after else CHANGED


def diff_ranges(before: Places, after: Places, slot: timedelta, tz: ZoneInfo
                ) -> list[TimeRange]:
    """The changed steps of one service, merged into ranges, in time order. Two steps merge
    when the second starts where the first ends, on the same local day, and both change
    alike (CHANGED ones only with equal counts before and after). Steps with 0 places
    count as closed."""
    ranges: list[TimeRange] = []
    for at in sorted(set(before) | set(after)):
        old, new = before.get(at, 0), after.get(at, 0)
        kind = _kind(old, new)
        if kind is None:
            continue
        counts = (old, new) if kind == CHANGED else (0, 0)
        last = ranges[-1] if ranges else None
        if (last is not None and last.kind == kind and last.end_at == at
                and (last.before, last.after) == counts
                and last.start_at.astimezone(tz).date() == at.astimezone(tz).date()):
            ranges[-1] = TimeRange(kind, last.start_at, at + slot, last.steps + 1, *counts)
        else:
            ranges.append(TimeRange(kind, at, at + slot, 1, *counts))
    return ranges


def diff_services(per_service: Mapping[str, tuple[Places, Places]], slot: timedelta,
                  tz: ZoneInfo) -> StepChanges:
    """The changes of all services (``service id → (before, after)``, in display order),
    by local day; on each day, services with identical changes share a line (lines in
    the order of their first service)."""
    per_day: dict[date, dict[str, tuple[TimeRange, ...]]] = {}
    counted: dict[str, set[datetime]] = {ADDED: set(), REMOVED: set(), CHANGED: set()}
    for service_id, (before, after) in per_service.items():
        by_day: dict[date, list[TimeRange]] = {}
        for r in diff_ranges(before, after, slot, tz):
            by_day.setdefault(r.start_at.astimezone(tz).date(), []).append(r)
            counted[r.kind].update(r.start_at + i * slot for i in range(r.steps))
        for day, found in by_day.items():
            per_day.setdefault(day, {})[service_id] = tuple(found)
    days = []
    for day in sorted(per_day):
        lines: dict[tuple[TimeRange, ...], list[str]] = {}
        for service_id, found in per_day[day].items():
            lines.setdefault(found, []).append(service_id)
        days.append(DayChanges(day, tuple(ServiceLine(tuple(ids), found)
                                          for found, ids in lines.items())))
    return StepChanges(tuple(days), len(counted[ADDED]), len(counted[REMOVED]),
                       len(counted[CHANGED]))
