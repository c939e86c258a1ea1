"""The lottery's draw and the seats it gives. Pure: plain values in, plain values out.

:func:`seat_starts` turns an office's open steps and held seats into the appointments
that can be given at once (a list of start instants, one per appointment);
:func:`draw` gives those seats to verified entries, at random from a seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time

from booking.scheduling import slots

#: times of day an entry can accept: name → (from, until) in local wall-clock time
TIME_BANDS: dict[str, tuple[time, time]] = {
    "morning": (time(0), time(12)),
    "afternoon": (time(12), time.max),
}


def time_band(local: time) -> str:
    """The band ('morning', 'afternoon') a local start time lies in."""
    return next(name for name, (low, high) in TIME_BANDS.items() if low <= local < high)


@dataclass(frozen=True)
class Seat:
    """One appointment to give: at ``office_id``, starting ``start_at`` (UTC);
    ``local_start`` is the same instant on the office's wall clock."""

    office_id: str
    start_at: datetime
    local_start: datetime


@dataclass(frozen=True)
class Entry:
    """A verified entry: its ``email_key`` (normalised email), the offices, ISO weekdays
    (1 = Monday) and time bands (:data:`TIME_BANDS`) it accepts."""

    id: int
    email_key: str
    offices: frozenset[str]
    weekdays: frozenset[int]
    times: frozenset[str]

    def accepts(self, seat: Seat) -> bool:
        return (seat.office_id in self.offices
                and seat.local_start.isoweekday() in self.weekdays
                and time_band(seat.local_start.time()) in self.times)


@dataclass(frozen=True)
class DrawResult:
    """``winners``: entry id → seat; ``losers``: the other entry ids; ``order``: every
    entry id in the drawn order (for the record)."""

    winners: dict[int, Seat]
    losers: tuple[int, ...]
    order: tuple[int, ...]


def seat_starts(steps: Mapping[datetime, slots.Step], taken: Mapping[tuple[int, datetime], int],
                duration_minutes: int, policy: slots.Policy, now: datetime) -> list[datetime]:
    """The starts of as many appointments of ``duration_minutes`` as fit at once into the
    free seats (one entry per appointment, so a start with two seats appears twice).

    Starts are packed from the earliest on: a start takes as many appointments as every
    step it covers still has seats for, and those seats are gone for the later starts
    that overlap it. Only starts that :func:`slots.free_slots` offers are used."""
    free = {at: sum(max(0, rule.capacity - taken.get((rule.id, at), 0)) for rule in step.rules)
            for at, step in steps.items()}
    result: list[datetime] = []
    for slot in slots.free_slots(steps, taken, duration_minutes, policy, now):
        covered = slots.covered_steps(slot.start_at, duration_minutes, policy.slot_minutes)
        count = min(free.get(at, 0) for at in covered)
        for at in covered:
            free[at] -= count
        result.extend([slot.start_at] * count)
    return result


def draw(entries: Iterable[Entry], seats: Sequence[Seat], seed: str) -> DrawResult:
    """Give ``seats`` to ``entries`` at random; the same seed, entries and seats always
    give the same result (the input order does not matter).

    The algorithm:

    1. *Order.* The entries, sorted by id, are shuffled with ``random.Random(seed)``:
       that is the drawn order, everybody's chance to come early is the same.
    2. *One per person.* Once an entry has won, the other entries with the same
       normalised email lose (the database allows one per lottery anyway).
    3. *Seats by priority, moved where needed* (a greedy matching with augmenting
       paths, in the drawn order): each entry in turn gets a seat it accepts (office,
       weekday and time of day) if one is free. If none is, the seats already given are
       re-arranged where possible: somebody holding a seat the entry accepts is moved
       to another seat *they* accept (possibly moving a third, and so on) to free one.
       Nobody earlier in the order ever loses their seat by this, only changes it.
       Seats are tried earliest first, so people get early appointments.

    What that guarantees:

    * no seat is given twice, no email wins twice, every seat goes to an entry that
      accepts it;
    * nobody who lost had a seat they accept left free (a free seat they accept would
      have been theirs on their turn, and seats are never freed again);
    * *fair across offices*: an office's seats go only to people who accept that office,
      and somebody who accepts only office A loses only if all of A's seats they accept
      are held by earlier-drawn people who could not be moved to any other seat they
      accept. People who accept several offices are moved away from an office that
      others depend on, so no office's seats are used up by them while seats elsewhere
      stay free;
    * the number of winners is the largest possible for the given seats and entries
      (a maximum matching), and among those sets of winners the one that favours the
      drawn order.
    """
    ordered = sorted(entries, key=lambda entry: entry.id)
    rng = random.Random(seed)
    rng.shuffle(ordered)
    groups = _seat_groups(seats)
    left = [count for _, count in groups]  # seats of each group not given yet
    holders: list[list[int]] = [[] for _ in groups]  # entry positions in each group
    held: dict[int, int] = {}  # entry position → group index
    accepts: list[list[int]] = []
    won_keys: set[str] = set()
    losers: list[int] = []
    remaining = len(seats)
    for position, entry in enumerate(ordered):
        choices = [i for i, (seat, _) in enumerate(groups) if entry.accepts(seat)]
        accepts.append(choices)
        if (entry.email_key not in won_keys and remaining and choices
                and _augment(position, accepts, left, holders, held)):
            won_keys.add(entry.email_key)
            remaining -= 1
        else:
            losers.append(entry.id)
    winners = {ordered[position].id: groups[group][0] for position, group in held.items()}
    return DrawResult(winners=winners, losers=tuple(losers),
                      order=tuple(entry.id for entry in ordered))


def _seat_groups(seats: Sequence[Seat]) -> list[tuple[Seat, int]]:
    """Identical seats (office, start) counted once, earliest first."""
    counts: dict[tuple[datetime, str], tuple[Seat, int]] = {}
    for seat in seats:
        key = (seat.start_at, seat.office_id)
        first, count = counts.get(key, (seat, 0))
        counts[key] = (first, count + 1)
    return [counts[key] for key in sorted(counts)]


def _augment(start: int, accepts: list[list[int]], left: list[int],
             holders: list[list[int]], held: dict[int, int]) -> bool:
    """Find a seat for entry ``start``: a free seat it accepts, or a chain of moves
    (an alternating path) that frees one. Applies the moves and returns True, or
    changes nothing and returns False. Iterative (no recursion limit)."""
    visited: set[int] = set()
    # a stack of (entry position, iterator over its acceptable groups); parents for the path
    came_from: dict[int, tuple[int, int | None]] = {}  # group → (entry that wants it, its old group)
    stack = [(start, iter(accepts[start]))]
    while stack:
        person, options = stack[-1]
        group = next(options, None)
        if group is None:
            stack.pop()
            continue
        if group in visited:
            continue
        visited.add(group)
        came_from[group] = (person, held.get(person))
        if left[group] > 0:
            _apply_path(group, came_from, left, holders, held)
            return True
        for holder in holders[group]:
            stack.append((holder, iter(accepts[holder])))
    return False


def _apply_path(group: int, came_from: dict[int, tuple[int, int | None]], left: list[int],
                holders: list[list[int]], held: dict[int, int]) -> None:
    """Seat the chain's people: each takes the group it reached, freeing its old one for
    the one before it; the first (the new entry) had none."""
    left[group] -= 1
    while True:
        person, old = came_from[group]
        holders[group].append(person)
        held[person] = group
        if old is None:
            return
        holders[old].remove(person)
        group = old
