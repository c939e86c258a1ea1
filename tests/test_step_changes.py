"""The rule preview's diff (booking.scheduling.step_changes): pure, no app."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from booking.scheduling.step_changes import (
    ADDED,
    CHANGED,
    REMOVED,
    TimeRange,
    diff_ranges,
    diff_services,
)

BERLIN = ZoneInfo("Europe/Berlin")
SLOT = timedelta(minutes=15)
DAY = date(2026, 12, 7)  # a Monday


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN).astimezone(UTC)


def hours(day: date, start: int, end: int, places: int = 2) -> dict[datetime, int]:
    """The steps from ``start`` to ``end`` o'clock on ``day`` with ``places`` each."""
    first = at(day, start)
    return {first + i * SLOT: places for i in range((end - start) * 4)}


def test_consecutive_added_steps_make_one_range():
    ranges = diff_ranges({}, hours(DAY, 8, 12), SLOT, BERLIN)
    assert ranges == [TimeRange(ADDED, at(DAY, 8), at(DAY, 12), 16)]


def test_shifted_hours_remove_the_morning_and_add_the_afternoon():
    ranges = diff_ranges(hours(DAY, 8, 12), hours(DAY, 10, 14), SLOT, BERLIN)
    assert ranges == [TimeRange(REMOVED, at(DAY, 8), at(DAY, 10), 8),
                      TimeRange(ADDED, at(DAY, 12), at(DAY, 14), 8)]


def test_capacity_changes_merge_only_when_equal():
    before = hours(DAY, 8, 12, places=2)
    after = {**hours(DAY, 8, 10, places=3), **hours(DAY, 10, 12, places=1)}
    assert diff_ranges(before, after, SLOT, BERLIN) == [
        TimeRange(CHANGED, at(DAY, 8), at(DAY, 10), 8, 2, 3),
        TimeRange(CHANGED, at(DAY, 10), at(DAY, 12), 8, 2, 1)]


def test_a_gap_splits_a_range_and_zero_places_count_as_closed():
    after = {**hours(DAY, 8, 9), **hours(DAY, 10, 11), at(DAY, 12): 0}
    assert diff_ranges({}, after, SLOT, BERLIN) == [
        TimeRange(ADDED, at(DAY, 8), at(DAY, 9), 4),
        TimeRange(ADDED, at(DAY, 10), at(DAY, 11), 4)]


def test_ranges_end_at_local_midnight():
    """Steps just before and after midnight touch, but belong to two days."""
    late, early = at(DAY, 23, 45), at(DAY + timedelta(days=1), 0)
    assert late + SLOT == early
    ranges = diff_ranges({}, {late: 1, early: 1}, SLOT, BERLIN)
    assert [(r.start_at, r.steps) for r in ranges] == [(late, 1), (early, 1)]


def test_services_with_the_same_changes_share_a_line_and_unchanged_days_are_left_out():
    tuesday, wednesday = DAY + timedelta(days=1), DAY + timedelta(days=2)
    before = {**hours(DAY, 8, 12), **hours(tuesday, 8, 12), **hours(wednesday, 8, 12)}
    longer = {**before, **hours(DAY, 12, 13), **hours(wednesday, 12, 13)}
    only_monday = {**before, **hours(DAY, 12, 13)}
    changes = diff_services({"pass": (before, longer), "melde": (before, longer),
                             "kfz": (before, only_monday)}, SLOT, BERLIN)
    assert [d.day for d in changes.days] == [DAY, wednesday]  # Tuesday: no change
    monday, wed = changes.days
    assert [line.service_ids for line in monday.lines] == [("pass", "melde", "kfz")]
    assert monday.lines[0].ranges == (TimeRange(ADDED, at(DAY, 12), at(DAY, 13), 4),)
    assert [line.service_ids for line in wed.lines] == [("pass", "melde")]
    # a step counts once, however many services gain it
    assert (changes.added, changes.removed, changes.changed) == (8, 0, 0)


def test_no_change_gives_no_days():
    same = hours(DAY, 8, 12)
    changes = diff_services({"pass": (same, dict(same))}, SLOT, BERLIN)
    assert changes.is_empty and (changes.added, changes.removed, changes.changed) == (0, 0, 0)


def test_daylight_saving_day_keeps_wall_clock_ranges():
    """On the autumn change (25 October 2026) 08:00–12:00 local is still 16 steps."""
    change_day = date(2026, 10, 25)
    ranges = diff_ranges({}, hours(change_day, 8, 12), SLOT, BERLIN)
    assert len(ranges) == 1 and ranges[0].steps == 16
    assert ranges[0].start_at.astimezone(BERLIN).time() == time(8)
    assert ranges[0].end_at.astimezone(BERLIN).time() == time(12)


GRID = [at(DAY, 0) + i * SLOT for i in range(4 * 48)]  # two days of steps
places_maps = st.dictionaries(st.sampled_from(GRID), st.integers(0, 3), max_size=60)


@settings(max_examples=200, deadline=None)
@given(places_maps, places_maps)
def test_ranges_cover_exactly_the_changed_steps(before, after):
    ranges = diff_ranges(before, after, SLOT, BERLIN)
    covered = {}
    for r in ranges:
        assert r.steps >= 1 and r.end_at == r.start_at + r.steps * SLOT
        assert r.start_at.astimezone(BERLIN).date() == (r.end_at - SLOT).astimezone(BERLIN).date()
        for i in range(r.steps):
            step = r.start_at + i * SLOT
            assert step not in covered  # no overlap
            covered[step] = r
    changed = {s for s in set(before) | set(after) if before.get(s, 0) != after.get(s, 0)}
    assert set(covered) == changed
    for step, r in covered.items():
        old, new = before.get(step, 0), after.get(step, 0)
        assert r.kind == (ADDED if not old else REMOVED if not new else CHANGED)
        if r.kind == CHANGED:
            assert (r.before, r.after) == (old, new)
    # merged as far as possible: touching ranges on one day differ in kind or counts
    for first, second in zip(ranges, ranges[1:], strict=False):
        assert first.start_at < second.start_at
        if first.end_at == second.start_at and (first.start_at.astimezone(BERLIN).date()
                                                == second.start_at.astimezone(BERLIN).date()):
            assert (first.kind, first.before, first.after) != (
                second.kind, second.before, second.after)
    summary = diff_services({"s": (before, after)}, SLOT, BERLIN)
    assert summary.added + summary.removed + summary.changed == len(changed)
