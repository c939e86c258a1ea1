"""Walk-in queue: the pure arithmetic, the operations with the clock as argument, and the
JSON API (kiosk tickets, check-in, counters, display) with its access rules."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from booking.db import utcnow
from booking.offices.models import Closure, Office, Service
from booking.queueing import arrivals, counter_operations, errors, estimates, ordering, waits
from booking.queueing.models import (
    CALLED,
    DONE,
    NO_SHOW,
    PARKED,
    SERVING,
    UNSERVED,
    WAITING,
    Ticket,
    TicketDay,
)
from booking.scheduling.models import ARRIVED, CANCELLED
from tests.factories import BERLIN, T0, counter, log_in, make_user, passport_appointment

TZ = ZoneInfo(BERLIN)
WINDOW = timedelta(minutes=15)


# ---------------------------------------------------------------- pure arithmetic

def w(id_, service="pass", minutes=0, due=None):
    return ordering.Waiting(id_, service, T0 + timedelta(minutes=minutes),
                            None if due is None else T0 + timedelta(minutes=due))


def test_due_appointments_go_first_then_first_come_first_served():
    entries = [w("walk1", minutes=0), w("walk2", minutes=1),
               w("appt_due", minutes=5, due=20),      # due at 20, window 15: due from minute 5
               w("appt_early", minutes=2, due=60),    # not due yet: by arrival
               w("appt_due_earlier", minutes=6, due=10)]
    now = T0 + timedelta(minutes=7)
    assert [e.id for e in ordering.order(entries, now, WINDOW)] == [
        "appt_due_earlier", "appt_due", "walk1", "walk2", "appt_early"]
    # an hour later the early appointment is due as well and goes first
    later = T0 + timedelta(minutes=50)
    assert [e.id for e in ordering.order(entries, later, WINDOW)][:3] == [
        "appt_due_earlier", "appt_due", "appt_early"]


def test_next_for_takes_only_the_counters_services():
    entries = [w("a", "pass", 0), w("b", "melde", 1), w("c", "pass", 2)]
    assert ordering.next_for(entries, {"melde"}, T0, WINDOW).id == "b"
    assert ordering.next_for(entries, {"pass", "melde"}, T0, WINDOW).id == "a"
    assert ordering.next_for(entries, {"other"}, T0, WINDOW) is None


def test_people_ahead_counts_only_who_competes_for_the_same_counters():
    entries = [w("a", "pass", 0), w("b", "melde", 1), w("c", "fund", 2), w("d", "pass", 3)]
    counters = [frozenset({"pass", "melde"}), frozenset({"fund"})]
    assert ordering.people_ahead(entries, "d", T0, WINDOW, counters) == 2  # a and b, not c
    assert ordering.people_ahead(entries, "c", T0, WINDOW, counters) == 0
    assert ordering.people_ahead(entries, "a", T0, WINDOW, counters) == 0
    assert ordering.people_ahead(entries, "zzz", T0, WINDOW, counters) is None


SERVICES = ["pass", "melde", "fund", "kfz"]


@st.composite
def queues(draw):
    """Waiting tickets (some checked-in appointments, due or not) and counters."""
    n = draw(st.integers(0, 30))
    entries = []
    for i in range(n):
        due = draw(st.one_of(st.none(), st.integers(-30, 90)))
        entries.append(w(f"t{i}", draw(st.sampled_from(SERVICES)), draw(st.integers(-120, 0)),
                         due=due))
    counters = draw(st.lists(st.frozensets(st.sampled_from(SERVICES), min_size=1, max_size=3),
                             max_size=5))
    return entries, counters


@settings(max_examples=300, deadline=None)
@given(queues())
def test_positions_of_the_whole_queue_agree_with_people_ahead(queue):
    entries, counters = queue
    ordered = ordering.order(entries, T0, WINDOW)
    result = ordering.positions(ordered, counters)
    assert set(result) == {e.id for e in entries}
    for entry in entries:
        assert result[entry.id] == ordering.people_ahead(entries, entry.id, T0, WINDOW, counters)


def test_estimated_wait_from_average_and_counters():
    assert ordering.estimate_wait(0, 12.0, 2) == 0
    assert ordering.estimate_wait(3, 10.0, 2) == 15
    assert ordering.estimate_wait(1, 7.5, 1) == 8  # rounded up
    assert ordering.estimate_wait(4, 10.0, 0) is None  # nobody serves it: unknown
    # measured times shrink toward the planned duration (worth four tickets)
    assert estimates.service_minutes([4, 8], 15) == (4 * 15 + 4 + 8) / 6
    assert estimates.service_minutes([], 15) == 15  # no measurement yet: planned duration


def test_ticket_number_format():
    assert ordering.format_number("A", 17) == "A017"
    assert ordering.format_number("B", 1234) == "B1234"


def test_opening_hours_closures_and_holidays():
    hours = [ordering.Hours(time(8), time(12)),
             ordering.Hours(time(14), time(18), frozenset({"pass"}))]
    at = lambda h, m=0: datetime(2026, 12, 1, h, m, tzinfo=TZ)  # noqa: E731
    assert ordering.is_open(hours, [], False, "melde", at(8), TZ)
    assert not ordering.is_open(hours, [], False, "melde", at(12), TZ)  # end is exclusive
    assert not ordering.is_open(hours, [], False, "melde", at(15), TZ)  # afternoon: pass only
    assert ordering.is_open(hours, [], False, "pass", at(15), TZ)
    assert ordering.is_open(hours, [], False, None, at(15), TZ)
    assert not ordering.is_open(hours, [], True, "pass", at(9), TZ)  # public holiday
    closure = [(at(9).astimezone(UTC), at(10).astimezone(UTC))]
    assert not ordering.is_open(hours, closure, False, "pass", at(9, 30), TZ)
    assert ordering.is_open(hours, closure, False, "pass", at(10), TZ)


# ---------------------------------------------------------------- operations

def test_numbers_run_per_office_and_day_and_restart(ctx, floor):
    a = arrivals.draw_ticket(floor, "pass", T0).ticket
    b = arrivals.draw_ticket(floor, "melde", T0 + timedelta(minutes=1)).ticket
    nord = ctx.get(Office, "nord")
    c = arrivals.draw_ticket(nord, "pass", T0).ticket
    next_day = arrivals.draw_ticket(floor, "melde", T0 + timedelta(days=1)).ticket
    ctx.commit()
    assert (a.number, b.number, c.number, next_day.number) == ("P001", "M002", "P001", "M001")
    assert len(a.id) >= 20 and a.id != b.id  # unguessable ids


def test_refused_when_closed_not_offered_or_contingent_used_up(ctx, floor):
    monday_night = datetime(2026, 11, 30, 23, 30, tzinfo=TZ)
    assert arrivals.draw_ticket(floor, "pass", monday_night).ticket
    floor.rules[0].end_time = time(23, 59)
    with pytest.raises(errors.OfficeClosedNow):
        arrivals.draw_ticket(floor, "pass", datetime(2026, 11, 30, 23, 59, 30, tzinfo=TZ))
    with pytest.raises(errors.OfficeClosedNow):  # Christmas Day
        arrivals.draw_ticket(floor, "pass", datetime(2026, 12, 25, 10, tzinfo=TZ))
    ctx.add(Closure(office=floor, starts_at=T0, ends_at=T0 + timedelta(hours=1)))
    ctx.flush()
    with pytest.raises(errors.OfficeClosedNow):
        arrivals.draw_ticket(floor, "pass", T0 + timedelta(minutes=30))
    with pytest.raises(errors.ServiceNotOffered):
        arrivals.draw_ticket(ctx.get(Office, "nord"), "melde", T0)
    with pytest.raises(errors.ServiceNotOffered):
        arrivals.draw_ticket(floor, "nonexistent", T0)
    floor.queue_daily_limit = 2
    later = T0 + timedelta(hours=2)
    arrivals.draw_ticket(floor, "pass", later)
    arrivals.draw_ticket(floor, "pass", later)
    with pytest.raises(errors.ContingentExhausted):
        arrivals.draw_ticket(floor, "pass", later)
    ctx.commit()
    # the refused draw wrote nothing: still two tickets that day, numbers 1 and 2
    day = later.astimezone(TZ).date()
    assert ctx.scalars(select(Ticket.number).where(Ticket.day == day)
                       .order_by(Ticket.seq)).all() == ["P001", "P002"]


def test_check_in_rules(ctx, floor):
    now = T0
    on_time = passport_appointment(ctx, floor, now + timedelta(minutes=10))
    ticket = arrivals.check_in(floor, on_time, now).ticket
    assert ticket.kind == "appointment" and ticket.due_at == on_time.start_at
    assert on_time.status == ARRIVED and ticket.language == "en"
    with pytest.raises(errors.NotCheckable) as exc:
        arrivals.check_in(floor, on_time, now)
    assert exc.value.reason == "checked_in"
    tomorrow = passport_appointment(ctx, floor, now + timedelta(days=1))
    with pytest.raises(errors.NotCheckable) as exc:
        arrivals.check_in(floor, tomorrow, now)
    assert exc.value.reason == "other_day"
    cancelled = passport_appointment(ctx, floor, now + timedelta(minutes=40), status=CANCELLED)
    with pytest.raises(errors.NotCheckable) as exc:
        arrivals.check_in(floor, cancelled, now)
    assert exc.value.reason == "cancelled"
    with pytest.raises(errors.UnknownAppointment):
        arrivals.check_in(floor, None, now)
    with pytest.raises(errors.UnknownAppointment):  # another office's appointment
        arrivals.check_in(ctx.get(Office, "nord"), tomorrow, now)
    late = passport_appointment(ctx, floor, now - timedelta(minutes=20))  # 20 > 15 minutes late
    late_ticket = arrivals.check_in(floor, late, now).ticket
    assert late_ticket.due_at is None  # joins as a walk-in


def test_call_next_order_busy_pause_and_empty(ctx, floor):
    c1, c2 = counter(ctx, "1"), counter(ctx, "2")
    p1 = arrivals.draw_ticket(floor, "pass", T0).ticket
    m1 = arrivals.draw_ticket(floor, "melde", T0 + timedelta(minutes=1)).ticket
    appt = passport_appointment(ctx, floor, T0 + timedelta(minutes=12))
    a1 = arrivals.check_in(floor, appt, T0 + timedelta(minutes=2)).ticket
    now = T0 + timedelta(minutes=3)
    assert counter_operations.call_next(c2, now).id == m1.id  # counter 2: melde only
    with pytest.raises(errors.CounterBusy):
        counter_operations.call_next(c2, now)
    assert counter_operations.call_next(c1, now).id == a1.id  # the due appointment first
    counter_operations.finish(a1, now)
    assert counter_operations.call_next(c1, now).id == p1.id
    counter_operations.finish(p1, now)
    assert counter_operations.call_next(c1, now) is None  # nobody waits for counter 1
    counter_operations.finish(m1, now)
    counter_operations.set_paused(c2, True)
    arrivals.draw_ticket(floor, "melde", now)
    with pytest.raises(errors.CounterPaused):
        counter_operations.call_next(c2, now)
    ctx.commit()
    assert ctx.get(Ticket, p1.id).status == DONE and ctx.get(Ticket, p1.id).counter_id == c1.id


def test_recall_cooldown_no_show_after_recalls(ctx, floor):
    c1 = counter(ctx, "1")
    floor.queue_recall_cooldown_seconds, floor.queue_max_recalls = 30, 2
    appt = passport_appointment(ctx, floor, T0)
    ticket = arrivals.check_in(floor, appt, T0).ticket
    counter_operations.call_next(c1, T0)
    with pytest.raises(errors.RecallTooSoon) as exc:
        counter_operations.recall(ticket, T0 + timedelta(seconds=10))
    assert exc.value.seconds_left == 21
    with pytest.raises(errors.NoShowTooSoon):
        counter_operations.no_show(ticket, T0 + timedelta(seconds=10))
    counter_operations.recall(ticket, T0 + timedelta(seconds=30))
    counter_operations.recall(ticket, T0 + timedelta(seconds=60))
    assert ticket.recalls == 2 and ticket.called_at == T0 + timedelta(seconds=60)
    counter_operations.no_show(ticket, T0 + timedelta(seconds=70))
    assert ticket.status == NO_SHOW and appt.status == "no_show"
    assert counter_operations.get_active(c1) is None  # the counter is free again
    with pytest.raises(errors.WrongState):
        counter_operations.start(ticket, T0)


def test_start_finish_transfer_park_return(ctx, floor):
    c1, c2 = counter(ctx, "1"), counter(ctx, "2")
    early = arrivals.draw_ticket(floor, "pass", T0).ticket
    later = arrivals.draw_ticket(floor, "melde", T0 + timedelta(minutes=5)).ticket
    now = T0 + timedelta(minutes=10)
    assert counter_operations.call_next(c1, now).id == early.id
    counter_operations.start(early, now)
    assert early.status == SERVING and early.started_at == now
    # transfer to melde: back in the queue with the original arrival time, so it goes
    # before the later melde ticket at counter 2
    counter_operations.transfer(early, "melde", now)
    assert early.status == WAITING and early.arrived_at == T0 and early.counter_id is None
    assert early.number == "P001"  # keeps its number
    assert counter_operations.call_next(c2, now).id == early.id
    counter_operations.park(early, now)
    assert early.status == PARKED and counter_operations.get_active(c2) is None
    assert counter_operations.call_next(c2, now).id == later.id
    with pytest.raises(errors.CounterBusy):
        counter_operations.return_ticket(early, c2, now)
    counter_operations.return_ticket(early, c1, now)
    assert early.status == CALLED and early.counter_id == c1.id
    counter_operations.finish(early, now + timedelta(minutes=4))
    assert early.status == DONE
    with pytest.raises(errors.ServiceNotOffered):
        counter_operations.transfer(later, "nonexistent", now)


def test_estimates_follow_measured_service_times(ctx, floor):
    c1 = counter(ctx, "1")
    # two served passports took 6 and 10 minutes
    for minutes in (6, 10):
        t = arrivals.draw_ticket(floor, "pass", T0).ticket
        counter_operations.call_next(c1, T0)
        counter_operations.start(t, T0)
        counter_operations.finish(t, T0 + timedelta(minutes=minutes))
    waiting = [arrivals.draw_ticket(floor, "pass", T0 + timedelta(minutes=i)).ticket for i in range(3)]
    view = waits.QueueView(floor, T0 + timedelta(minutes=20))
    assert [view.position(t) for t in waiting] == [0, 1, 2]
    # one counter serves passports: 6 and 10 minutes measured, 30 planned (worth four
    # tickets): (4 * 30 + 6 + 10) / 6 = 22.7 minutes each
    assert [view.estimate(t) for t in waiting] == [0, 23, 46]
    assert view.for_new(ctx.get(Service, "pass")) == (3, 68)
    counter_operations.set_paused(c1, True)
    paused = waits.QueueView(floor, T0 + timedelta(minutes=20))
    assert paused.estimate(waiting[1]) is None  # nobody serves passports now


def test_day_end_closes_open_tickets_and_restarts_numbers(ctx, floor):
    c1 = counter(ctx, "1")
    waiting = arrivals.draw_ticket(floor, "pass", T0).ticket
    called = arrivals.draw_ticket(floor, "melde", T0).ticket
    counter_operations.call_next(c1, T0)
    ctx.commit()
    assert arrivals.close_day(T0 + timedelta(hours=2)) == 0  # same day: nothing closes
    night = datetime(2026, 12, 2, 1, 0, tzinfo=TZ)
    assert arrivals.close_day(night) == 2
    ctx.commit()
    for ticket_id in (waiting.id, called.id):
        ticket = ctx.get(Ticket, ticket_id)
        assert ticket.status == UNSERVED and ticket.counter_id is None
    assert ctx.scalars(select(TicketDay)).all() == []
    assert arrivals.draw_ticket(floor, "pass", night.replace(hour=9)).ticket.number == "P001"


# ---------------------------------------------------------------- JSON API

def test_api_ticket_contract(client, ctx, floor):
    response = client.post("/api/v1/offices/amt/tickets", json={"service": "pass"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) >= {"id", "number", "status_url", "position", "estimated_wait_minutes"}
    assert body["number"] == "P001" and body["position"] == 0
    assert body["status_url"] == f"http://booking.test/tickets/{body['id']}"
    second = client.post("/api/v1/offices/amt/tickets", json={"service": "pass"}).get_json()
    assert second["number"] == "P002" and second["position"] == 1
    assert second["estimated_wait_minutes"] == 30  # planned duration, one counter
    status = client.get(f"/api/v1/tickets/{second['id']}").get_json()
    assert {k: status[k] for k in ("number", "status", "position", "counter")} == {
        "number": "P002", "status": "waiting", "position": 1, "counter": None}
    assert "estimated_wait_minutes" in status


@pytest.mark.parametrize("body, status", [
    ({"service": "nonexistent"}, 422),
    ({"service": "pass", "extra": 1}, 201),
    ({}, 422),
    ({"service": 5}, 422),
    ([], 400),
    ("text", 400),
])
def test_api_ticket_bad_input(client, ctx, floor, body, status):
    response = client.post("/api/v1/offices/amt/tickets", json=body)
    assert response.status_code == status
    if status >= 400:
        assert response.get_json()["error"]


def test_api_unknown_office_ticket_and_malformed_body(client, ctx, floor):
    assert client.post("/api/v1/offices/nope/tickets", json={"service": "pass"}).status_code == 404
    assert client.get("/api/v1/tickets/" + "x" * 22).status_code == 404
    assert client.get("/api/v1/tickets/" + "x" * 500).status_code == 404
    response = client.post("/api/v1/offices/amt/tickets", data="{", content_type="application/json")
    assert response.status_code == 400


def test_api_check_in(client, ctx, floor):
    now = utcnow()
    appt = passport_appointment(ctx, floor, now + timedelta(minutes=5))
    other_day = passport_appointment(ctx, floor, now + timedelta(days=2))
    code, other_code = appt.code, other_day.code
    ctx.commit()
    response = client.post("/api/v1/offices/amt/checkins", json={"code": code.lower()})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["number"] == "P001"
    again = client.post("/api/v1/offices/amt/checkins", json={"code": code})
    assert again.status_code == 409 and again.get_json()["error"]
    assert client.post("/api/v1/offices/amt/checkins", json={"code": other_code}).status_code == 409
    assert client.post("/api/v1/offices/amt/checkins", json={"code": "ZZZZZZZZ"}).status_code == 404
    assert client.post("/api/v1/offices/amt/checkins", json={"code": ""}).status_code == 422
    assert client.post("/api/v1/offices/nope/checkins", json={"code": code}).status_code == 404


def _bearer(ctx, role, *offices):
    from booking.accounts.models import User
    from booking.accounts.operations import issue_api_token

    user_id, _ = make_user(ctx, role, *offices)
    token = issue_api_token(ctx.get(User, user_id), utcnow())
    ctx.commit()
    return {"Authorization": f"Bearer {token}"}


def test_api_counter_flow_and_access(client, ctx, floor):
    clerk = _bearer(ctx, "clerk", "amt")
    other = _bearer(ctx, "clerk", "nord")
    c1 = counter(ctx, "1").id
    nord_counter = counter(ctx, "N1").id
    ctx.rollback()
    assert client.get("/api/v1/counters").status_code == 401
    listed = client.get("/api/v1/counters", headers=clerk).get_json()
    assert {c["name"] for c in listed} == {"1", "2"}
    assert {"id", "name", "office", "services"} <= set(listed[0])
    assert client.post(f"/api/v1/counters/{c1}/call-next").status_code == 401
    assert client.post(f"/api/v1/counters/{c1}/call-next", headers=other).status_code == 403
    assert client.post(f"/api/v1/counters/{nord_counter}/call-next",
                       headers=clerk).status_code == 403
    assert client.post("/api/v1/counters/99999/call-next", headers=clerk).status_code == 404
    assert client.post(f"/api/v1/counters/{c1}/call-next", headers=clerk).status_code == 204
    drawn = client.post("/api/v1/offices/amt/tickets", json={"service": "pass"}).get_json()
    called = client.post(f"/api/v1/counters/{c1}/call-next", headers=clerk)
    assert called.status_code == 200
    assert called.get_json()["id"] == drawn["id"] and called.get_json()["counter"] == "1"
    ticket_url = f"/api/v1/tickets/{drawn['id']}"
    assert client.post(ticket_url + "/start", headers=other).status_code == 403
    assert client.post(ticket_url + "/start").status_code == 401
    assert client.post(ticket_url + "/recall", headers=clerk).status_code == 409  # cooldown
    assert client.post(ticket_url + "/no-show", headers=clerk).status_code == 409
    assert client.post(ticket_url + "/start", headers=clerk).get_json()["status"] == SERVING
    assert client.post(ticket_url + "/transfer", headers=clerk,
                       json={"service": "melde"}).get_json()["status"] == WAITING
    assert client.post(ticket_url + "/transfer", headers=clerk,
                       json={"service": "x"}).status_code == 409  # not called any more
    again = client.post(f"/api/v1/counters/{c1}/call-next", headers=clerk).get_json()
    assert again["id"] == drawn["id"]
    assert client.post(ticket_url + "/finish", headers=clerk).get_json()["status"] == DONE
    assert client.post(ticket_url + "/finish", headers=clerk).status_code == 409
    display = client.get("/api/v1/offices/amt/display").get_json()
    assert display == {"current": [], "recent": [
        {"number": "P001", "counter": "1", "called_at": display["recent"][0]["called_at"]}],
        "waiting": 0}
    assert "Erika" not in str(display)


def test_api_session_writes_need_the_csrf_header(client, ctx, floor):
    _, session_id = make_user(ctx, "clerk", "amt")
    c1 = counter(ctx, "1").id
    ctx.rollback()
    log_in(client, session_id)
    assert client.get("/api/v1/counters").status_code == 200  # reading needs no token
    refused = client.post(f"/api/v1/counters/{c1}/call-next")
    assert refused.status_code == 400
    page = client.get("/staff/").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf-token" content="([^"]+)"', page) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, "no CSRF token on the staff dashboard"
    allowed = client.post(f"/api/v1/counters/{c1}/call-next",
                          headers={"X-CSRFToken": token.group(1)})
    assert allowed.status_code == 204


def test_close_day_cli(app, ctx, floor):
    yesterday = utcnow() - timedelta(days=1)
    # drawn whatever the opening hours: yesterday may have been a holiday
    ticket_id = arrivals.draw_ticket(floor, "pass", yesterday, always_open=True).ticket.id
    ctx.commit()
    result = app.test_cli_runner().invoke(args=["queue", "close-day"])
    assert result.exit_code == 0 and "closed 1 tickets" in result.output
    ctx.rollback()
    assert ctx.get(Ticket, ticket_id).status == UNSERVED


def test_tickets_of_past_days_are_not_called(ctx, floor):
    c1 = counter(ctx, "1")
    arrivals.draw_ticket(floor, "pass", T0 - timedelta(days=1))
    assert counter_operations.call_next(c1, T0) is None
    assert waits.QueueView(floor, T0).entries == []


def test_openapi_documents_every_api_route(app, client):
    import re

    doc = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule[len("/api/v1"):])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if path.endswith("{action}"):  # one rule for several ticket actions
                for action in ("recall", "start", "finish", "no-show", "park"):
                    if (path.replace("{action}", action).replace("{ticket_id}", "{id}"),
                            method.lower()) not in documented:
                        missing.append((path, action))
                continue
            path_doc = (path.replace("{ticket_id}", "{id}").replace("{office_id}", "{office}")
                        .replace("{counter_id}", "{counter}").replace("{service_id}", "{service}"))
            if (path_doc, method.lower()) not in documented:
                missing.append((path_doc, method))
    assert missing == []
    assert doc["components"]["schemas"]["Ticket"]["required"][:2] == ["id", "number"]


def test_demo_setting_always_open_and_never_in_production(app, client, ctx, floor, monkeypatch):
    from booking.config import load_config

    ctx.add(Closure(office=floor, starts_at=utcnow() - timedelta(hours=1),
                    ends_at=utcnow() + timedelta(hours=1)))
    ctx.commit()
    assert client.post("/api/v1/offices/amt/tickets", json={"service": "pass"}).status_code == 409
    monkeypatch.setitem(app.config, "QUEUE_ALWAYS_OPEN", True)
    assert client.post("/api/v1/offices/amt/tickets", json={"service": "pass"}).status_code == 201
    env = {"QUEUE_ALWAYS_OPEN": "1", "SECRET_KEY": "x" * 32, "DATABASE_URL": "sqlite://"}
    assert load_config("instance", {**env, "BOOKING_ENV": "development"})["QUEUE_ALWAYS_OPEN"]
    assert not load_config("instance", {**env, "BOOKING_ENV": "production"})["QUEUE_ALWAYS_OPEN"]
