"""The lottery's draw (pure): property tests with Hypothesis, and the seat packing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from booking.fairness.lottery_draw import Entry, Seat, draw, seat_starts, time_band
from booking.scheduling import slots

BERLIN = ZoneInfo("Europe/Berlin")
OFFICES = ("amt", "nord", "sued")
MONDAY = date(2027, 3, 1)


def _seat(office: str, day: int, hour: int) -> Seat:
    local = datetime.combine(MONDAY + timedelta(days=day), time(hour), tzinfo=BERLIN)
    return Seat(office, local.astimezone(UTC), local)


seats_strategy = st.lists(
    st.builds(_seat, st.sampled_from(OFFICES), st.integers(0, 6), st.integers(8, 17)),
    max_size=25)


@st.composite
def entries_strategy(draw_):
    count = draw_(st.integers(0, 30))
    emails = draw_(st.lists(st.sampled_from([f"p{i}@example.org" for i in range(20)]),
                            min_size=count, max_size=count))
    result = []
    for index, email in enumerate(emails):
        result.append(Entry(
            id=index + 1, email_key=email,
            offices=frozenset(draw_(st.sets(st.sampled_from(OFFICES), min_size=1))),
            weekdays=frozenset(draw_(st.sets(st.integers(1, 7), min_size=1))),
            times=frozenset(draw_(st.sets(st.sampled_from(["morning", "afternoon"]),
                                          min_size=1)))))
    return result


seeds = st.text(min_size=1, max_size=20)


@settings(max_examples=300, deadline=None)
@given(entries_strategy(), seats_strategy, seeds)
def test_every_seat_once_to_an_entry_that_accepts_it_and_one_per_email(entries, seats, seed):
    result = draw(entries, seats, seed)
    by_id = {entry.id: entry for entry in entries}
    # every entry is either a winner or a loser, once
    assert sorted([*result.winners, *result.losers]) == sorted(by_id)
    # no email wins twice
    keys = [by_id[entry_id].email_key for entry_id in result.winners]
    assert len(keys) == len(set(keys))
    # every seat given goes to an entry whose offices, weekdays and times accept it
    for entry_id, seat in result.winners.items():
        entry = by_id[entry_id]
        assert seat.office_id in entry.offices
        assert seat.local_start.isoweekday() in entry.weekdays
        assert time_band(seat.local_start.time()) in entry.times
    # no seat is given more often than it exists
    given = {}
    for seat in result.winners.values():
        given[(seat.office_id, seat.start_at)] = given.get((seat.office_id, seat.start_at), 0) + 1
    for key, count in given.items():
        assert count <= sum(1 for s in seats if (s.office_id, s.start_at) == key)


@settings(max_examples=300, deadline=None)
@given(entries_strategy(), seats_strategy, seeds)
def test_nobody_loses_while_a_seat_they_accept_stays_free(entries, seats, seed):
    result = draw(entries, seats, seed)
    left = list(seats)
    for seat in result.winners.values():
        left.remove(next(s for s in left if (s.office_id, s.start_at)
                         == (seat.office_id, seat.start_at)))
    winners_keys = {entry.email_key for entry in entries if entry.id in result.winners}
    for entry in entries:
        if entry.id in result.losers and entry.email_key not in winners_keys:
            assert not any(entry.accepts(seat) for seat in left), entry


@settings(max_examples=200, deadline=None)
@given(entries_strategy(), seats_strategy, seeds, st.randoms(use_true_random=False))
def test_the_same_seed_gives_the_same_result_whatever_the_input_order(entries, seats, seed,
                                                                     rnd):
    first = draw(entries, seats, seed)
    shuffled_entries, shuffled_seats = list(entries), list(seats)
    rnd.shuffle(shuffled_entries)
    rnd.shuffle(shuffled_seats)
    again = draw(shuffled_entries, shuffled_seats, seed)
    assert again == first


def test_the_seed_decides_the_order():
    entries = [Entry(i, f"p{i}@example.org", frozenset({"amt"}), frozenset({1}),
                     frozenset({"morning"})) for i in range(1, 30)]
    seats = [_seat("amt", 0, 9)]
    winners = {next(iter(draw(entries, seats, str(seed)).winners)) for seed in range(40)}
    assert len(winners) > 5  # different seeds, different winners


def test_flexible_entries_are_moved_away_from_the_office_others_depend_on():
    """Whoever comes first in the drawn order, the one who accepts only 'amt' gets amt's
    seat when the flexible one can go to 'nord'."""
    only_amt = Entry(1, "a@example.org", frozenset({"amt"}), frozenset(range(1, 8)),
                     frozenset({"morning", "afternoon"}))
    flexible = Entry(2, "b@example.org", frozenset({"amt", "nord"}), frozenset(range(1, 8)),
                     frozenset({"morning", "afternoon"}))
    seats = [_seat("amt", 0, 9), _seat("nord", 0, 10)]
    for seed in map(str, range(20)):
        result = draw([only_amt, flexible], seats, seed)
        assert result.winners[1].office_id == "amt"
        assert result.winners[2].office_id == "nord"


def test_duplicate_emails_win_once_even_with_seats_left():
    entries = [Entry(i, "same@example.org", frozenset({"amt"}), frozenset({1}),
                     frozenset({"morning"})) for i in (1, 2, 3)]
    result = draw(entries, [_seat("amt", 0, 9)] * 3, "x")
    assert len(result.winners) == 1 and len(result.losers) == 2


def test_seat_starts_pack_appointments_that_fit_at_once():
    """A 30-minute service on a 15-minute grid, 09:00–10:00, two seats: two appointments at
    09:00 and two at 09:30 (not at 09:15 or 09:45, which would overlap them); a seat taken
    at 09:30 leaves one there."""
    rule = slots.Rule(id=1, weekdays=frozenset({1}), start=time(9), end=time(10),
                      valid_from=date(2020, 1, 1), valid_until=None, capacity=2)
    policy = slots.Policy(tz=BERLIN, slot_minutes=15, lead=timedelta(0), horizon_days=60)
    steps = slots.open_steps([rule], [], set(), "pass", policy, MONDAY, MONDAY)
    now = datetime(2027, 2, 20, tzinfo=UTC)
    nine = datetime.combine(MONDAY, time(9), tzinfo=BERLIN).astimezone(UTC)
    half = nine + timedelta(minutes=30)
    assert seat_starts(steps, {}, 30, policy, now) == [nine, nine, half, half]
    taken = {(1, half): 1}
    assert seat_starts(steps, taken, 30, policy, now) == [nine, nine, half]
