"""Slot arithmetic without Flask or a database."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from booking.scheduling import slots

BERLIN = ZoneInfo("Europe/Berlin")
EVERY_DAY = frozenset(range(1, 8))


def rule(id=1, start=time(8), end=time(12), capacity=1, weekdays=EVERY_DAY, services=(),
         valid_from=date(2020, 1, 1), valid_until=None):
    return slots.Rule(id, frozenset(weekdays), start, end, valid_from, valid_until, capacity,
                      frozenset(services))


def policy(slot=15, lead_minutes=0, horizon=400):
    return slots.Policy(BERLIN, slot, timedelta(minutes=lead_minutes), horizon)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


def free(rules, day, duration=15, taken=None, now=None, closures=(), holidays=(), service="s",
         pol=None, last_day=None):
    pol = pol or policy()
    now = now or local(day, 0) - timedelta(days=1)
    steps = slots.open_steps(rules, closures, holidays, service, pol, day, last_day or day)
    return slots.free_slots(steps, taken or {}, duration, pol, now)


def local_times(result):
    return [s.start_at.astimezone(BERLIN).strftime("%H:%M") for s in result]


def test_grid_of_one_morning():
    result = free([rule()], date(2026, 12, 1))
    assert len(result) == 16
    assert local_times(result)[:2] == ["08:00", "08:15"] and local_times(result)[-1] == "11:45"
    assert result[0].start_at == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # CET = UTC+1
    assert all(s.end_at - s.start_at == timedelta(minutes=15) for s in result)


def test_spring_forward_keeps_wall_clock_grid():
    # Sunday 29 March 2026 clocks go 02:00 → 03:00; Monday opens at 08:00 CEST.
    before = free([rule()], date(2026, 3, 27))
    after = free([rule()], date(2026, 3, 30))
    assert local_times(before) == local_times(after)
    assert before[0].start_at == datetime(2026, 3, 27, 7, tzinfo=UTC)
    assert after[0].start_at == datetime(2026, 3, 30, 6, tzinfo=UTC)


def test_fall_back_keeps_wall_clock_grid():
    # Sunday 25 October 2026 clocks go 03:00 → 02:00.
    before = free([rule()], date(2026, 10, 23))
    after = free([rule()], date(2026, 10, 26))
    assert local_times(before) == local_times(after)
    assert before[0].start_at == datetime(2026, 10, 23, 6, tzinfo=UTC)
    assert after[0].start_at == datetime(2026, 10, 26, 7, tzinfo=UTC)


def test_night_rule_on_dst_sundays_skips_missing_and_doubles_nothing():
    night = rule(start=time(1), end=time(4))
    spring = free([night], date(2026, 3, 29))
    assert "02:00" not in local_times(spring) and "02:45" not in local_times(spring)
    assert local_times(spring)[:4] == ["01:00", "01:15", "01:30", "01:45"]
    assert "03:00" in local_times(spring)
    autumn = free([night], date(2026, 10, 25))
    starts = [s.start_at for s in autumn]
    assert len(starts) == len(set(starts)) == 12  # 01:00–03:45 wall clock, each once


def test_week_across_dst_change_in_one_query():
    result = free([rule(start=time(9), end=time(10))], date(2026, 3, 26),
                  last_day=date(2026, 4, 2))
    by_day = Counter(s.start_at.astimezone(BERLIN).date() for s in result)
    assert set(by_day.values()) == {4} and len(by_day) == 8
    assert set(local_times(result)) == {"09:00", "09:15", "09:30", "09:45"}


def test_a_year_of_steps_is_every_wall_clock_step_that_exists():
    """Each step of a year (both clock changes, a rule over the night's changes and one
    ending at midnight) is its wall-clock time on that day, laid out one by one."""
    first, last = date(2026, 1, 1), date(2026, 12, 31)
    rules = [rule(1, start=time(1, 30), end=time(3, 30)), rule(2, start=time(22), end=time(23, 45))]
    steps = slots.open_steps(rules, [], [], "s", policy(), first, last)
    expected = set()
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        for r in rules:
            wall = datetime.combine(day, r.start)
            while wall < datetime.combine(day, r.end):
                instant = slots.local_to_utc(day, wall.time(), BERLIN)
                expected |= {instant} if instant else set()
                wall += timedelta(minutes=15)
    assert set(steps) == expected
    assert all(step.day == step.at.astimezone(BERLIN).date() for step in steps.values())


def test_holidays_and_closures_remove_availability():
    day = date(2026, 12, 1)
    assert free([rule()], day, holidays=[day]) == []
    closure = (local(day, 9), local(day, 10, 30))
    times = local_times(free([rule()], day, closures=[closure]))
    assert "08:45" in times and "10:30" in times
    assert not {"09:00", "09:15", "10:00", "10:15"} & set(times)
    # a 30-minute service cannot start at 08:45: it would run into the closure
    assert "08:45" not in local_times(free([rule()], day, duration=30, closures=[closure]))


def test_capacity_and_taken_seats():
    day = date(2026, 12, 1)
    r = rule(capacity=3)
    at = local(day, 9).astimezone(UTC)
    result = {s.start_at: s.available for s in free([r], day, taken={(1, at): 2})}
    assert result[at] == 1
    assert result[at + timedelta(minutes=15)] == 3
    assert at not in {s.start_at for s in free([r], day, taken={(1, at): 3})}


def test_longer_service_needs_every_covered_step():
    day = date(2026, 12, 1)
    at = local(day, 9).astimezone(UTC)
    result = free([rule(capacity=2)], day, duration=45, taken={(1, at): 2})
    times = local_times(result)
    # starts whose 45 minutes touch 09:00 are gone: 08:30, 08:45, 09:00
    assert {"08:30", "08:45", "09:00"}.isdisjoint(times)
    assert "08:15" in times and "09:15" in times
    assert times[-1] == "11:15"  # 11:15–12:00 is the last that fits
    assert all(s.end_at - s.start_at == timedelta(minutes=45) for s in result)


def test_available_is_minimum_over_covered_steps():
    day = date(2026, 12, 1)
    step = local(day, 9, 15).astimezone(UTC)
    result = {s.start_at.astimezone(BERLIN).strftime("%H:%M"): s.available
              for s in free([rule(capacity=3)], day, duration=30, taken={(1, step): 2})}
    assert result["09:00"] == 1 and result["09:15"] == 1 and result["09:30"] == 3


def test_lead_time_and_past():
    day = date(2026, 12, 1)
    now = local(day, 9, 5)
    times = local_times(free([rule()], day, now=now, pol=policy(lead_minutes=60)))
    assert times[0] == "10:15"  # 09:05 + 60 min = 10:05 → next step 10:15
    assert free([rule()], day, now=local(day, 13)) == []


def test_horizon():
    day = date(2026, 12, 1)
    now = local(day, 7)
    result = free([rule()], day, now=now, pol=policy(horizon=2), last_day=day + timedelta(days=5))
    days = {s.start_at.astimezone(BERLIN).date() for s in result}
    assert days == {day, day + timedelta(days=1), day + timedelta(days=2)}


def test_weekdays_validity_and_service_restriction():
    monday = date(2026, 11, 30)
    weekday_rule = rule(weekdays={1, 2, 3, 4, 5}, valid_until=date(2026, 12, 4))
    result = free([weekday_rule], monday, last_day=monday + timedelta(days=13))
    days = sorted({s.start_at.astimezone(BERLIN).date() for s in result})
    assert days == [monday + timedelta(days=i) for i in range(5)]
    only_pickup = rule(services={"pickup"})
    assert free([only_pickup], monday, service="passport") == []
    assert len(free([only_pickup], monday, service="pickup")) == 16


def test_overlapping_rules_add_capacity_and_specific_seats_go_first():
    day = date(2026, 12, 1)
    general = rule(id=1, capacity=2)
    pickup = rule(id=2, capacity=1, services={"pickup"})
    at = local(day, 9).astimezone(UTC)
    assert {s.start_at: s.available for s in free([general, pickup], day, service="pickup")}[at] == 3
    assert {s.start_at: s.available for s in free([general, pickup], day, service="other")}[at] == 2
    steps = slots.open_steps([general, pickup], [], [], "pickup", policy(), day, day)
    assert slots.choose_seat(steps[at], {}) == (2, 1)
    assert slots.choose_seat(steps[at], {2: {1}}) == (1, 1)
    assert slots.choose_seat(steps[at], {2: {1}, 1: {1, 2}}) is None


def test_steps_needed_rounds_up():
    assert slots.steps_needed(30, 15) == 2
    assert slots.steps_needed(20, 15) == 2
    assert slots.steps_needed(15, 15) == 1


# ------------------------------------------------------------ property-based

@st.composite
def scenario(draw):
    slot = draw(st.sampled_from([10, 15, 20, 30]))
    rules = []
    for i in range(draw(st.integers(1, 3))):
        start_hour = draw(st.integers(6, 14))
        length = draw(st.integers(1, 6))
        rules.append(rule(id=i + 1, start=time(start_hour), end=time(start_hour + length),
                          capacity=draw(st.integers(1, 3)),
                          services=draw(st.sampled_from([(), ("a",), ("b",)]))))
    day = draw(st.dates(date(2026, 1, 1), date(2027, 12, 31)))
    requests = draw(st.lists(st.tuples(st.sampled_from(["a", "b"]),
                                       st.sampled_from([1, 2, 3]),
                                       st.integers(0, 400)), max_size=40))
    return slot, rules, day, requests


@settings(max_examples=200, deadline=None)
@given(scenario())
def test_booking_only_offered_slots_never_exceeds_capacity(data):
    """Book offered starts, one after another, choosing seats as the app does: no rule's
    seat count in any step exceeds its capacity, and no seat is used twice."""
    slot, rules, day, requests = data
    pol = policy(slot=slot)
    now = local(day, 0) - timedelta(days=1)
    seats: dict[tuple[int, datetime], set[int]] = {}
    for service, n_steps, pick in requests:
        duration = n_steps * slot
        steps = slots.open_steps(rules, [], [], service, pol, day, day)
        taken = {key: len(used) for key, used in seats.items()}
        offered = slots.free_slots(steps, taken, duration, pol, now)
        if not offered:
            continue
        start = offered[pick % len(offered)].start_at
        for at in slots.covered_steps(start, duration, slot):
            used = {rid: seat_set for (rid, step_at), seat_set in seats.items() if step_at == at}
            choice = slots.choose_seat(steps[at], used)
            assert choice is not None, "an offered start had a full step"
            rule_id, seat_no = choice
            assert seat_no not in seats.setdefault((rule_id, at), set())
            seats[(rule_id, at)].add(seat_no)
    capacity = {r.id: r.capacity for r in rules}
    for (rule_id, _), used in seats.items():
        assert len(used) <= capacity[rule_id]
        assert max(used) <= capacity[rule_id]


@settings(max_examples=300, deadline=None)
@given(scenario(), st.integers(0, 24 * 4 - 1), st.integers(0, 36), st.integers(0, 3),
       st.sampled_from([0, 60, 600]), st.integers(0, 2))
def test_offers_start_agrees_with_the_free_slots_of_an_empty_day(
        data, quarter, hours_before, n_steps, lead_minutes, horizon):
    """slots.offers_start (the booking's check) says yes exactly for the starts
    free_slots lists when nothing is taken, around the lead time and the horizon too."""
    slot, rules, day, _ = data
    pol = policy(slot=slot, lead_minutes=lead_minutes, horizon=horizon)
    now = local(day, 0) - timedelta(hours=hours_before)
    steps = slots.open_steps(rules, [], [], "a", pol, day, day)
    duration = max(1, n_steps) * slot - (5 if n_steps == 3 else 0)  # not always whole steps
    offered = {s.start_at for s in slots.free_slots(steps, {}, duration, pol, now)}
    candidates = set(steps) | {local(day, 0).astimezone(UTC) + quarter * timedelta(minutes=15)}
    for start in candidates:
        assert slots.offers_start(steps, start, duration, pol, now) == (start in offered)


def test_a_closed_counter_takes_one_seat_off_each_rule_for_its_time():
    day = date(2026, 12, 1)
    r = rule(capacity=2)
    counter_closed = (local(day, 9), local(day, 10))
    pol = policy()
    steps = slots.open_steps([r], [], [], "s", pol, day, day, [counter_closed])
    nine, eight = local(day, 9).astimezone(UTC), local(day, 8).astimezone(UTC)
    assert steps[nine].rules[0].capacity == 1 and steps[eight].rules[0].capacity == 2
    result = {s.start_at: s.available
              for s in slots.free_slots(steps, {}, 15, pol, local(day, 0))}
    assert result[nine] == 1 and result[eight] == 2
    # two closed counters: nothing left in that hour
    both = slots.open_steps([r], [], [], "s", pol, day, day, [counter_closed] * 2)
    assert nine not in both and eight in both
    # seat choice respects the cut: seat 2 is not offered while a counter is closed
    assert slots.choose_seat(steps[nine], {1: {1}}) is None
