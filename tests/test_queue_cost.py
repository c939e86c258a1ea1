"""The queue's reads that do not grow with its length give the same answers as the whole
queue computed in Python: a ticket's position and wait counted in the database
(waits.ticket_state, and as a ticket is drawn) and call-next's index-ordered pick; a draw
takes its running number last; an API token's last use is written at most once a
minute."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from booking.accounts.models import ApiToken, User
from booking.accounts.operations import TOKEN_USE_PRECISION, issue_api_token, user_for_api_token
from booking.db import db
from booking.queueing import arrivals, counter_operations, ordering, waits
from booking.queueing.models import WAITING, Ticket
from tests.factories import T0, counter, make_user, passport_appointment


def mixed_queue(ctx, office) -> list[Ticket]:
    """Walk-ins of both services, appointments due now, due later and checked in late,
    some served quickly (so estimates have measured times)."""
    c1 = counter(ctx, "1")
    for minutes in (6, 10):
        served = arrivals.draw_ticket(office, "pass", T0 - timedelta(hours=1), always_open=True).ticket
        counter_operations.call_next(c1, T0 - timedelta(hours=1))
        counter_operations.finish(served, T0 - timedelta(hours=1) + timedelta(minutes=minutes))
    tickets = []
    for i, service in enumerate(["pass", "melde", "melde", "pass", "melde", "pass"]):
        tickets.append(arrivals.draw_ticket(office, service, T0 + timedelta(minutes=i),
                                            always_open=True).ticket)
    at = T0 + timedelta(minutes=8)
    for start in (at + timedelta(minutes=10), at + timedelta(minutes=5),  # due now
                  at + timedelta(minutes=90),  # not due yet: by arrival until then
                  at - timedelta(minutes=40)):  # late: joins as a walk-in
        tickets.append(arrivals.check_in(office, passport_appointment(ctx, office, start), at).ticket)
    tickets.append(arrivals.draw_ticket(office, "melde", at + timedelta(minutes=1),
                                        always_open=True).ticket)
    ctx.flush()
    return tickets


def assert_states_agree(ctx, office, tickets, now):
    view = waits.QueueView(office, now)
    for ticket in tickets:
        ctx.refresh(ticket)
        state = waits.ticket_state(ticket, now)
        assert (state.ahead, state.estimate) == (view.position(ticket), view.estimate(ticket)), (
            ticket.number, ticket.status)
    return view


def test_a_tickets_counted_position_and_wait_agree_with_the_whole_queue(ctx, floor):
    tickets = mixed_queue(ctx, floor)
    for minutes in (10, 20, 100):  # later the not-yet-due appointment is due as well
        now = T0 + timedelta(minutes=minutes)
        view = assert_states_agree(ctx, floor, tickets, now)
        assert sorted(view.position(t) for t in tickets) == list(range(len(tickets)))
    now = T0 + timedelta(minutes=12)
    counter_operations.call_next(counter(ctx, "2"), now)  # melde only
    called = counter_operations.call_next(counter(ctx, "1"), now)
    assert_states_agree(ctx, floor, tickets, now)
    counter_operations.finish(called, now)
    counter_operations.set_paused(counter(ctx, "1"), True)  # nobody serves passports
    view = assert_states_agree(ctx, floor, tickets, now)
    assert any(t.status == WAITING and t.service_id == "pass" and view.estimate(t) is None
               for t in tickets)


def test_the_figures_given_with_a_drawn_ticket_agree_with_the_whole_queue(ctx, floor):
    """Counted before the ticket's number is taken, as the kiosk answers: the same as the
    whole queue right after the draw."""
    mixed_queue(ctx, floor)
    now = T0 + timedelta(minutes=20)
    counter_operations.call_next(counter(ctx, "2"), now)
    for service, minutes in (("pass", 21), ("melde", 22), ("pass", 23)):
        drawn = arrivals.draw_ticket(floor, service, T0 + timedelta(minutes=minutes),
                                     always_open=True)
        ctx.flush()
        view = waits.QueueView(floor, drawn.ticket.arrived_at)
        assert drawn.state.number == drawn.ticket.number
        assert (drawn.state.ahead, drawn.state.estimate) == (
            view.position(drawn.ticket), view.estimate(drawn.ticket)) != (0, 0)


def test_a_draw_takes_its_number_last(ctx, floor):
    """From the number's upsert to the commit the office's other kiosks wait for the day's
    row: only the ticket's own insert comes after it."""
    seen = []

    def record(*args):
        seen.append(args[2].split()[:3])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        arrivals.draw_ticket(floor, "pass", T0, always_open=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    number = seen.index(["INSERT", "INTO", "ticket_days"])
    assert seen[number + 1:] == [["INSERT", "INTO", "tickets"]]
    assert number >= 2  # the service, the figures and the event came before


def test_call_next_calls_in_the_order_of_the_arithmetic(ctx, floor):
    tickets = mixed_queue(ctx, floor)
    now = T0 + timedelta(minutes=15)
    expected = [e.id for e in ordering.order(
        (ordering.Waiting(t.id, t.service_id, t.arrived_at, t.due_at) for t in tickets),
        now, waits.due_window(floor))]
    c1 = counter(ctx, "1")  # pass and melde: every ticket, in order
    called = []
    while (ticket := counter_operations.call_next(c1, now)) is not None:
        called.append(ticket.id)
        counter_operations.finish(ticket, now)
    assert called == expected


def test_an_api_tokens_last_use_is_written_at_most_once_a_minute(ctx, floor):
    user_id, _ = make_user(ctx, "clerk", "amt")
    token = issue_api_token(ctx.get(User, user_id), T0)
    row = ctx.query(ApiToken).filter_by(user_id=user_id).one()
    assert user_for_api_token(token, T0).id == user_id
    assert row.last_used_at == T0
    assert user_for_api_token(token, T0 + timedelta(seconds=59)).id == user_id
    assert row.last_used_at == T0
    later = T0 + TOKEN_USE_PRECISION
    assert user_for_api_token(token, later).id == user_id
    assert row.last_used_at == later
