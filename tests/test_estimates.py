"""The waiting-time estimator (booking/queueing/estimates.py): its properties, recorded
days replayed, the estimator's error on past days and the back-office page showing it."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from booking.offices.models import Counter, Service
from booking.queueing import estimates, ordering
from booking.queueing.estimator_error import estimator_error, replay_days
from booking.queueing.models import DONE, UNSERVED, WALK_IN, Ticket
from tests.factories import BERLIN, add_user, log_in_with_password, make_town

TZ = ZoneInfo(BERLIN)
DAY = date(2026, 12, 1)  # a Tuesday
WINDOW = timedelta(minutes=15)

planned_minutes = st.integers(5, 480)
durations = st.lists(st.floats(0, 1000, allow_nan=False), max_size=40)


# ---------------------------------------------------------------- properties

@given(planned_minutes, durations)
def test_the_estimate_stays_within_the_plausible_range(planned, measured):
    minutes = estimates.service_minutes(measured, planned)
    assert planned * estimates.CLIP_LOW <= minutes <= planned * estimates.CLIP_HIGH


@given(planned_minutes)
def test_without_history_the_planned_duration(planned):
    assert estimates.service_minutes([], planned) == planned
    assert estimates.service_minutes([0, -3], planned) == planned  # not measurements


@given(planned_minutes, st.floats(0.01, 2, allow_nan=False))
def test_one_quick_ticket_does_not_collapse_the_estimate(planned, quick):
    """After one ticket served in a minute or two, the estimate stays near the plan."""
    assert estimates.service_minutes([quick], planned) >= 0.8 * planned


@given(planned_minutes,
       st.lists(st.floats(1, 200, allow_nan=False), min_size=estimates.MIN_TRIMMED,
                max_size=30),
       st.floats(0.001, 100_000, allow_nan=False))
def test_one_outlier_cannot_drag_the_estimate_beyond_the_others(planned, measured, outlier):
    """A ticket forgotten at the counter for hours (or finished at once) among a few
    normal ones leaves the estimate between the normal ones and the plan."""
    low, high = planned * estimates.CLIP_LOW, planned * estimates.CLIP_HIGH
    clipped = [min(max(d, low), high) for d in measured]
    with_outlier = estimates.service_minutes([*measured, outlier], planned)
    assert min(*clipped, planned) - 1e-9 <= with_outlier <= max(*clipped, planned) + 1e-9


@given(planned_minutes, st.floats(1, 1000, allow_nan=False), st.integers(5, 30))
def test_steady_service_times_are_learnt(planned, actual, count):
    """With a full sample of steady times, the estimate is mostly the measured time."""
    assume(planned * estimates.CLIP_LOW <= actual <= planned * estimates.CLIP_HIGH)
    minutes = estimates.service_minutes([actual] * count, planned)
    kept = count - 2 * max(1, int(count * estimates.TRIM))
    assert minutes == pytest.approx((estimates.PRIOR_WEIGHT * planned + kept * actual)
                                    / (estimates.PRIOR_WEIGHT + kept))
    assert abs(minutes - actual) <= abs(planned - actual) * estimates.PRIOR_WEIGHT / (
        estimates.PRIOR_WEIGHT + kept) + 1e-9


@given(st.integers(0, 500), st.floats(1, 2000, allow_nan=False), st.integers(1, 20))
def test_the_wait_grows_with_the_queue_and_shrinks_with_counters(ahead, minutes, counters):
    wait = estimates.wait_minutes(ahead, minutes, counters)
    assert wait is not None and wait >= 0
    assert estimates.wait_minutes(ahead + 1, minutes, counters) >= wait
    assert estimates.wait_minutes(ahead, minutes, counters + 1) <= wait
    assert estimates.wait_minutes(ahead, minutes, 0) is None  # nobody serves it: unknown


def test_examples():
    assert estimates.service_minutes([1], 30) == (4 * 30 + 6) / 5  # clipped to a fifth
    assert estimates.service_minutes([30] * 9 + [600], 30) == 30  # one forgotten ticket
    assert estimates.wait_minutes(3, 10, 2) == 15
    assert estimates.wait_minutes(0, 10, 2) == 0


# ---------------------------------------------------------------- recorded days, replayed

def at(hour, minute=0, day=DAY):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).astimezone(UTC)


def past(id_, arrived, called=None, started=None, finished=None, service="pass",
         walk_in=True, counter=1, day=DAY, due=None):
    return estimates.PastTicket(id_, service, day, walk_in, arrived, due, called, started,
                                finished, counter if called else None)


ONE_COUNTER = {1: frozenset({"pass"})}


def test_replay_of_a_recorded_morning():
    """One counter; three walk-ins at 9:00, 9:01 and 9:02, each served in 10 minutes."""
    tickets = [
        past("t1", at(9, 0), at(9, 0), at(9, 0), at(9, 10)),
        past("t2", at(9, 1), at(9, 10), at(9, 10), at(9, 20)),
        past("t3", at(9, 2), at(9, 20), at(9, 20), at(9, 30)),
    ]
    result = estimates.replay(tickets, {"pass": 30}, lambda day, now: ONE_COUNTER, WINDOW,
                              DAY, DAY)
    # t1 went straight to the counter; t2 too (t1 was called already) but was called only
    # when t1 was done; t3 had t2 ahead: one planned duration (no history yet)
    assert [(r.ticket_id, r.estimate, r.actual) for r in result] == [
        ("t1", 0, 0), ("t2", 0, 9), ("t3", 30, 18)]
    rows = estimates.summarise(result)
    assert rows == [estimates.ErrorRow(DAY, "pass", 3, 7.0, 1.0),
                    estimates.ErrorRow(None, "pass", 3, 7.0, 1.0)]


def test_replay_uses_only_the_service_times_measured_before_the_draw():
    earlier = DAY - timedelta(days=1)
    history = [past(f"h{i}", at(9, i, earlier), at(9, i, earlier), at(9, i, earlier),
                    at(9, i, earlier) + timedelta(minutes=10), day=earlier) for i in range(10)]
    tickets = [*history,
               past("a", at(10), at(10), at(10), at(10, 10)),
               past("b", at(10, 1), at(10, 10), at(10, 10), at(10, 20)),
               # finished after c was drawn: not known when c's estimate was given
               past("c", at(10, 2), at(10, 20), at(10, 20), at(12))]
    result = estimates.replay(tickets, {"pass": 30}, lambda day, now: ONE_COUNTER, WINDOW,
                              DAY, DAY)
    expected = estimates.service_minutes([10] * 10, 30)
    assert [r.ticket_id for r in result] == ["a", "b", "c"]  # only the range's days
    assert result[2].estimate == estimates.wait_minutes(1, expected, 1)


def test_replay_leaves_out_appointments_tickets_never_called_and_unserved_services():
    tickets = [
        past("appt", at(9), at(9, 5), walk_in=False, due=at(9)),
        past("gone", at(9, 1)),  # never called
        past("fund", at(9, 2), at(9, 3), service="fund"),  # no counter serves it
        past("walk", at(9, 3), at(9, 30)),
    ]
    result = estimates.replay(tickets, {"pass": 30, "fund": 15},
                              lambda day, now: ONE_COUNTER, WINDOW, DAY, DAY)
    # the appointment waits at 9:03 (due, first), "gone" never was called: two ahead
    assert [(r.ticket_id, r.estimate) for r in result] == [("walk", 60)]


def test_active_counters_are_those_calling_around_then():
    calls = [(1, at(9)), (2, at(11)), (1, at(12))]
    assert estimates.active_counters(calls, at(9, 30), timedelta(hours=1)) == {1}
    assert estimates.active_counters(calls, at(11, 30), timedelta(hours=1)) == {1, 2}
    assert estimates.active_counters(calls, at(15), timedelta(hours=1)) == set()


@st.composite
def simulated_days(draw):
    """A day at one office: walk-ins arriving and served one after another at ``counters``
    counters by their order, with service times around the planned duration."""
    counters = draw(st.integers(1, 3))
    planned = draw(st.sampled_from([10, 15, 30]))
    n = draw(st.integers(1, 25))
    gaps = draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))
    times = draw(st.lists(st.integers(max(1, planned // 3), planned * 2), min_size=n,
                          max_size=n))
    free = [at(8)] * counters
    tickets, arrived = [], at(8)
    for i in range(n):
        arrived += timedelta(minutes=gaps[i])
        k = min(range(counters), key=lambda c: free[c])
        called = max(arrived, free[k])
        finished = called + timedelta(minutes=times[i])
        free[k] = finished
        tickets.append(past(f"t{i:02d}", arrived, called, called, finished, counter=k + 1))
    return tickets, planned, {k + 1: frozenset({"pass"}) for k in range(counters)}


@given(simulated_days())
def test_replayed_estimates_are_sane_on_simulated_days(day):
    tickets, planned, counters = day
    result = estimates.replay(tickets, {"pass": planned}, lambda d, now: counters, WINDOW,
                              DAY, DAY)
    assert len(result) == len(tickets)
    for r in result:
        assert r.estimate >= 0 and r.actual >= 0
    # the first ticket of the day finds nobody ahead: no wait, and it waited none
    assert (result[0].estimate, result[0].actual) == (0, 0)
    rows = estimates.summarise(result)
    assert rows[-1].day is None and rows[-1].count == len(tickets)
    assert rows[-1].mean_abs_error >= abs(rows[-1].bias) - 1e-9


# ---------------------------------------------------------------- from the database

@pytest.fixture
def recorded(ctx):
    """'amt' with counter '1' (pass) and a recorded Tuesday (DAY): three walk-ins as in
    test_replay_of_a_recorded_morning, one appointment and one not served."""
    office = make_town(ctx)
    passport = ctx.get(Service, "pass")
    desk = Counter(office=office, name="1", services=[passport])
    ctx.add(desk)
    ctx.flush()
    rows = [("t1", at(9), at(9), at(9, 10), DONE), ("t2", at(9, 1), at(9, 10), at(9, 20), DONE),
            ("t3", at(9, 2), at(9, 20), at(9, 30), DONE), ("t4", at(9, 3), None, None, UNSERVED)]
    for seq, (_, arrived, called, finished, status) in enumerate(rows, 1):
        ctx.add(Ticket(id=secrets.token_urlsafe(16), office_id="amt", service_id="pass",
                       day=DAY, seq=seq, number=ordering.format_number("P", seq),
                       kind=WALK_IN, status=status, arrived_at=arrived,
                       called_at=called, started_at=called, finished_at=finished,
                       counter_id=desk.id if called else None, recalls=0))
    ctx.commit()
    return office


def test_estimator_error_of_a_recorded_day(ctx, recorded):
    result = replay_days(recorded, DAY, DAY)
    assert [(r.estimate, r.actual) for r in result] == [(0, 0), (0, 9), (30, 18)]
    assert estimator_error(recorded, DAY, DAY) == [
        estimates.ErrorRow(DAY, "pass", 3, 7.0, 1.0),
        estimates.ErrorRow(None, "pass", 3, 7.0, 1.0)]
    assert estimator_error(recorded, DAY + timedelta(days=1), DAY + timedelta(days=3)) == []


def test_estimates_page_shows_the_error(ctx, client, recorded):
    log_in_with_password(client, add_user(ctx, "manager", "amt"))
    office_page = client.get("/admin/offices/amt/").get_data(as_text=True)
    assert "/admin/offices/amt/estimates" in office_page
    assert client.get("/admin/offices/amt/estimates").status_code == 200  # the last 14 days
    page = client.get("/admin/offices/amt/estimates?first=2026-12-01&last=2026-12-07&lang=de")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<th scope="col">' in html and "<caption" in html
    assert "Reisepass beantragen" in html and "7,0" in html and "+1,0" in html
    assert "Alle Tage" in html
    english = client.get("/admin/offices/amt/estimates?first=2026-12-01&last=2026-12-01"
                         "&lang=en").get_data(as_text=True)
    assert "All days" in english and "7.0" in english and 'lang="en"' in english
    empty = client.get("/admin/offices/amt/estimates?first=2026-11-01&last=2026-11-30"
                       ).get_data(as_text=True)
    assert "No walk-in tickets were called in this period." in empty


@pytest.mark.parametrize("query", ["first=2026-12-07&last=2026-12-01", "first=kein-datum",
                                   "first=2026-01-01&last=2026-12-31", "first=&last="])
def test_estimates_page_refuses_bad_ranges(ctx, client, recorded, query):
    log_in_with_password(client, add_user(ctx, "manager", "amt"))
    page = client.get(f"/admin/offices/amt/estimates?{query}")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert 'id="error-summary"' in html and 'aria-invalid="true"' in html


def test_estimates_page_is_for_the_office_managers(ctx, client, recorded):
    assert client.get("/admin/offices/amt/estimates").status_code in (302, 303, 401)
    log_in_with_password(client, add_user(ctx, "clerk", "amt"))
    assert client.get("/admin/offices/amt/estimates").status_code == 403
