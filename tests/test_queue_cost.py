"""The queue's reads that do not grow with its length give the same answers as the whole
queue computed in Python: a ticket's position and wait counted in the database
(waits.ticket_state) and call-next's index-ordered pick; an API token's last use is
written at most once a minute."""

from __future__ import annotations

from datetime import timedelta

from booking.accounts.models import ApiToken, User
from booking.accounts.operations import TOKEN_USE_PRECISION, issue_api_token, user_for_api_token
from booking.queueing import arrivals, counter_operations, ordering, waits
from booking.queueing.models import WAITING, Ticket
from tests.factories import T0, counter, make_user, passport_appointment


def mixed_queue(ctx, office) -> list[Ticket]:
    """Walk-ins of both services, appointments due now, due later and checked in late,
    some served quickly (so estimates have measured times)."""
    c1 = counter(ctx, "1")
    for minutes in (6, 10):
        served = arrivals.draw_ticket(office, "pass", T0 - timedelta(hours=1), always_open=True)
        counter_operations.call_next(c1, T0 - timedelta(hours=1))
        counter_operations.finish(served, T0 - timedelta(hours=1) + timedelta(minutes=minutes))
    tickets = []
    for i, service in enumerate(["pass", "melde", "melde", "pass", "melde", "pass"]):
        tickets.append(arrivals.draw_ticket(office, service, T0 + timedelta(minutes=i),
                                            always_open=True))
    at = T0 + timedelta(minutes=8)
    for start in (at + timedelta(minutes=10), at + timedelta(minutes=5),  # due now
                  at + timedelta(minutes=90),  # not due yet: by arrival until then
                  at - timedelta(minutes=40)):  # late: joins as a walk-in
        tickets.append(arrivals.check_in(office, passport_appointment(ctx, office, start), at))
    tickets.append(arrivals.draw_ticket(office, "melde", at + timedelta(minutes=1),
                                        always_open=True))
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
