"""The retention purge, table by table: every table is filled with data as the real
operations write it, then the purge runs at chosen times (a fake clock) and each table
keeps only what the privacy notice says it keeps, for as long as it says.

A new table must be listed in TABLES (what the test puts into it) or in
NO_CITIZEN_DATA, and a table that holds personal data needs its step in
booking.retention.STEPS and its checks here.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from booking.accounts import operations as accounts
from booking.accounts.models import LoginFailure, StaffSession
from booking.audit.models import AuditEntry
from booking.db import db, utcnow
from booking.fairness.lottery_models import DRAWN, Lottery, LotteryEntry
from booking.invitations import optouts
from booking.invitations.models import Invitation, InvitationOptOut, InvitationStat
from booking.notifications.models import PENDING, SENT, OutboxMessage
from booking.notifications.outbox import deliver_due
from booking.offices.models import Closure, Service, rule_services
from booking.queueing import arrivals
from booking.queueing.reminders import ask_for_reminder
from booking.retention import STEPS, run_purge
from booking.scheduling import operations, staff_operations, visits
from booking.scheduling.models import Appointment, IdempotencyKey
from booking.waitlist.models import EXPIRED, WaitlistOffer, WaitlistStat, WaitlistWish
from tests.factories import at, cheap_hashing, next_workday, tables_containing

RETENTION = timedelta(days=1)
CLIENT = "203.0.113.7"
PAST = ("Paula Past", "paula.past@example.org", "+49 30 1111111")
CANCELLED = ("Clara Cancel", "clara.cancel@example.org", "+49 30 3333333")
PHONE = ("Fritz Phone", None, "+49 30 2222222")
FUTURE = ("Fiona Future", "fiona.future@example.org", None)
REMINDER = "rita.reminder@example.org"
WISHER = ("Wanda Wartend", "wanda.wartend@example.org")
ENTRANT = ("Lotte Losfee", "lotte.losfee@example.org")
INVITEE = ("Ina Eingeladen", "ina.eingeladen@example.org")
REASON = "Clara Cancel rief an"

#: what the test writes into each table (the tables that can hold personal data first)
TABLES = {
    "appointments": "past, cancelled, phone and future bookings",
    "outbox_messages": "sent confirmations and cancellation, one pending",
    "tickets": "walk-in tickets, one with a reminder address",
    "audit_entries": "a phone booking and a cancellation with a reason naming the citizen",
    "login_failures": "failed logins from one client address",
    "staff_sessions": "a staff session",
    "idempotency_keys": "the phone booking's key",
    "users": "the staff member (staff data: kept while the account exists)",
    "api_tokens": "the staff member's API token (hash)",
    "user_offices": "the staff member's office",
    "appointment_seats": "the bookings' seats",
    "ticket_days": "the day's ticket counter",
    "closures": "a closure",
    "rule_services": "a rule for one service",
    "waitlist_wishes": "a wish, written as it is stored",
    "waitlist_wish_offices": "the wish's office",
    "waitlist_offers": "an offer to the wish, expired",
    "waitlist_stats": "the offer's count (no personal data: stays)",
    "lotteries": "a lottery drawn at the fill's time (no personal data: stays)",
    "lottery_offices": "its office",
    "lottery_entries": "an entry of the drawn lottery",
    "invitations": "an invitation, declined at the fill's time",
    "invitation_opt_outs": "an opt-out (a hash only: stays)",
    "invitation_stats": "the invitation's counts (no personal data: stays)",
}
#: tables with nothing about a person (offices, their rules and counters)
NO_CITIZEN_DATA = {"offices", "services", "office_services", "availability_rules", "counters",
                   "counter_services",
                   "portal_keys", "spent_challenges",  # an office's portals; hashes of proofs
                   "faq_entries",  # the assistant's questions and answers, written by managers
                   "step_counts",  # seats taken per step (counts)
                   "appointment_services",  # an appointment's services and persons (counts)
                   "estimate_days", "estimate_errors"}  # the estimator's error, summed per day


def test_every_table_is_checked():
    import booking.models  # noqa: F401  (every table, whichever tests ran before)

    assert {t.name for t in db.metadata.sorted_tables} == set(TABLES) | NO_CITIZEN_DATA


def _day(ahead: int) -> date:
    return next_workday(ahead, weekdays="1234567")


def _fill(ctx, floor, base: datetime) -> dict:
    """Every table, written through the operations at ``base`` (the fake clock)."""
    office, passport = floor, ctx.get(Service, "pass")
    staff = accounts.create_user("clerk@example.org", "correct horse battery", "clerk",
                                 ["amt"], base)
    accounts.start_session(staff, base)
    accounts.issue_api_token(staff, base)
    for _ in range(2):
        accounts.authenticate("clerk@example.org", "wrong password!", CLIENT, base,
                              secret="test-secret")

    def book(who, days, hour, now=base):
        appointment, _ = operations.book_appointment(
            office, visits.single(passport), at(_day(days), hour), operations.Citizen(*who), now)
        return appointment

    past = book(PAST, 2, 10)
    cancelled = book(CANCELLED, 5, 10)
    phone = staff_operations.book_for_caller(
        office, visits.single(passport), at(_day(5), 11), operations.Citizen(*PHONE),
        staff, base, key="phone-call-1")
    staff_operations.cancel_by_staff(cancelled, staff, base + timedelta(minutes=1),
                                     reason=REASON)
    tickets = [arrivals.draw_ticket(office, "pass", base + timedelta(seconds=i)).ticket
               for i in range(6)]
    ask_for_reminder(tickets[-1], REMINDER, base)  # five ahead: waits
    ctx.add(Closure(office=office, starts_at=base + timedelta(days=40),
                    ends_at=base + timedelta(days=41), reason="Betriebsausflug"))
    ctx.execute(rule_services.insert().values(rule_id=office.rules[0].id, service_id="pass"))
    wish = WaitlistWish(service=passport, offices=[office], weekdays="1234567",
                        from_time=time(0), until_time=time(23), until_date=_day(6),
                        name=WISHER[0], email=WISHER[1], token_hash="0" * 64, created_at=base)
    ctx.add(wish)
    ctx.add(WaitlistOffer(wish=wish, office=office, service=passport, start_at=at(_day(6), 9),
                          expires_at=at(_day(6), 8), created_at=base,
                          token_hash="1" * 64, status=EXPIRED))
    ctx.add(WaitlistStat(office_id=office.id, service_id="pass", day=base.date(), offered=1,
                         expired=1))
    lottery = Lottery(service_id="pass", offices=[office], first_day=_day(8), last_day=_day(8),
                      opens_at=base - timedelta(days=2), closes_at=base, status=DRAWN,
                      seed="1", drawn_at=base, created_at=base - timedelta(days=3))
    ctx.add(LotteryEntry(lottery=lottery, name=ENTRANT[0], email=ENTRANT[1],
                         email_key=ENTRANT[1], offices="amt", weekdays="12345",
                         times="morning", token_hash="2" * 64, created_at=base))
    ctx.add(Invitation(office_id=office.id, service_id="pass", name=INVITEE[0],
                       email=INVITEE[1], email_key=INVITEE[1], due_date=_day(20),
                       status="declined", token_hash="3" * 64, created_at=base, sent_at=base,
                       ended_at=base))
    ctx.add(InvitationOptOut(key_hash=optouts.key("other@example.org", "pass"),
                             created_at=base))
    ctx.add(InvitationStat(office_id=office.id, service_id="pass", month=base.date().replace(
        day=1), sent=1, declined=1))
    ids = {"past": past.id, "cancelled": cancelled.id, "phone": phone.id,
           "past_end": past.end_at}
    ctx.commit()
    sent, failed = deliver_due(base + timedelta(hours=3))
    assert (sent, failed) == (3, 0)  # the bookings' confirmations and the cancellation
    ids["future"] = book(FUTURE, 30, 10, base + timedelta(hours=3)).id  # stays pending
    ctx.commit()
    return ids


def _purge(app, ctx, now: datetime) -> dict[str, int]:
    done = run_purge(now, RETENTION, app.config)
    ctx.commit()
    return {step.report: count for step, count in done}


def _count(ctx, model, *where) -> int:
    value = ctx.scalar(select(func.count()).select_from(model).where(*where))
    ctx.rollback()
    return value


def _person(ctx, appointment_id) -> tuple:
    row = ctx.get(Appointment, appointment_id)
    value = (row.name, row.email, row.phone, row.cancel_reason, row.status)
    ctx.rollback()
    return value


@pytest.fixture
def filled(app, ctx, floor, monkeypatch):
    cheap_hashing(monkeypatch)
    base = utcnow().replace(microsecond=0)
    ids = _fill(ctx, floor, base)
    return base, ids


def test_every_table_holds_data_before_the_purge(ctx, filled):
    for name in TABLES:
        table = db.metadata.tables[name]
        assert ctx.scalar(select(func.count()).select_from(table)) > 0, name
    ctx.rollback()


def test_no_table_holds_a_client_address(ctx, filled):
    """Login counters are keyed by hashes with the app's secret: neither the address nor
    its plain hash (found again by hashing every IPv4 address) is stored."""
    assert tables_containing(ctx, CLIENT) == []
    assert tables_containing(ctx, hashlib.sha256(CLIENT.encode()).hexdigest()) == []
    assert _count(ctx, LoginFailure) == 2  # this client at this account, and at any


def test_login_counters_and_sessions_go_when_their_time_ends(app, ctx, filled):
    base, ids = filled
    _purge(app, ctx, base + timedelta(minutes=14))
    assert _count(ctx, LoginFailure) == 2 and _count(ctx, StaffSession) == 1
    _purge(app, ctx, base + timedelta(minutes=61))  # the window (15 min), the idle time (60)
    assert _count(ctx, LoginFailure) == 0 and _count(ctx, StaffSession) == 0
    assert set(tables_containing(ctx, "clerk@example.org")) == {"users.email",
                                                                "audit_entries.user_email"}


def test_a_stale_login_counter_goes_at_the_next_failure_too(ctx, filled):
    base, _ = filled
    accounts.authenticate("nobody@example.org", "wrong password!", "198.51.100.1",
                          base + timedelta(minutes=16), secret="test-secret")
    ctx.commit()
    assert _count(ctx, LoginFailure) == 2  # only the new client's two counters


def test_each_table_keeps_personal_data_as_long_as_the_notice_says(app, ctx, filled):
    base, ids = filled
    # a minute before the retention period of the cancellation ends: nothing goes
    counts = _purge(app, ctx, base + RETENTION)
    assert counts["anonymised {} appointments (past, or cancelled)"] == 0
    assert _person(ctx, ids["cancelled"])[:4] == (*CANCELLED, f"Grund: {REASON}")
    assert tables_containing(ctx, REASON) == ["appointments.cancel_reason",
                                              "audit_entries.after",
                                              "outbox_messages.payload"]  # the email sent
    assert tables_containing(ctx, REMINDER) == ["tickets.notify_email"]
    assert _count(ctx, IdempotencyKey) == 1

    # the cancellation (at base + 1 min) is past its retention period
    counts = _purge(app, ctx, base + RETENTION + timedelta(minutes=2))
    assert counts["anonymised {} appointments (past, or cancelled)"] == 1
    # and the lottery drawn at base: its entries go, its seed and counts stay
    assert counts["deleted {} entries of drawn lotteries"] == 1
    assert tables_containing(ctx, ENTRANT[1]) == [] and _count(ctx, Lottery) == 1
    # and the invitation declined at base; the opt-out and the counts stay
    assert counts["deleted {} invitations (booked, declined, opted out or past their "
                  "due date)"] == 1
    assert tables_containing(ctx, INVITEE[0]) == [] and tables_containing(ctx, INVITEE[1]) == []
    assert (_count(ctx, InvitationOptOut), _count(ctx, InvitationStat)) == (1, 1)
    assert _person(ctx, ids["cancelled"]) == ("–", None, None, None, "cancelled")
    for value in CANCELLED + (REASON, REMINDER):
        assert tables_containing(ctx, value) == [], value
    audit = ctx.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    # who did what to which appointment stays; the reason (free text) goes
    assert [(a.action, a.user_email, a.entity_id, a.before, a.after) for a in audit[1:]] == [
        ("appointment.cancelled", "clerk@example.org", str(ids["cancelled"]),
         {"status": "confirmed"}, {"status": "cancelled"})]
    assert audit[0].action == "appointment.booked" and audit[0].after["channel"] == "phone"
    ctx.rollback()
    assert _count(ctx, IdempotencyKey) == 0  # a day old
    # the other appointments' sent confirmations (at base + 3 h) are still there
    assert _count(ctx, OutboxMessage, OutboxMessage.status == SENT) == 1
    assert _person(ctx, ids["past"])[:3] == PAST

    # a day after the emails were sent, they go; the pending one stays until it is sent
    counts = _purge(app, ctx, base + RETENTION + timedelta(hours=3, minutes=1))
    assert counts["deleted {} sent or failed emails"] == 1
    assert _count(ctx, OutboxMessage, OutboxMessage.status == SENT) == 0
    assert tables_containing(ctx, FUTURE[1]) == ["appointments.email",
                                                 "appointments.email_key",
                                                 "outbox_messages.recipient",
                                                 "outbox_messages.payload"]
    assert _count(ctx, OutboxMessage, OutboxMessage.status == PENDING) == 1
    assert _person(ctx, ids["past"])[:3] == PAST

    # a day after the past appointment ended
    counts = _purge(app, ctx, ids["past_end"] + RETENTION + timedelta(minutes=1))
    assert counts["anonymised {} appointments (past, or cancelled)"] == 1
    for value in PAST + CANCELLED + (REASON, REMINDER):
        assert tables_containing(ctx, value) == [], value
    # what stays: the phone booking and the future one (still ahead), staff accounts
    assert _person(ctx, ids["phone"])[:3] == PHONE
    assert _person(ctx, ids["future"])[:3] == FUTURE
    assert set(tables_containing(ctx, "clerk@example.org")) == {"users.email",
                                                                "audit_entries.user_email"}
    # statistics survive: every appointment row with its status and times
    assert _count(ctx, Appointment) == 4

    # a day after the wish's last date: the wish and its offer go, the count stays
    assert set(tables_containing(ctx, WISHER[1])) == {"waitlist_wishes.email"}
    counts = _purge(app, ctx, at(_day(7), 0) + RETENTION)
    assert counts["deleted {} expired waitlist offers"] == 1
    assert counts["deleted {} waitlist wishes (ended, with their offers)"] == 1
    assert tables_containing(ctx, WISHER[0]) == [] and tables_containing(ctx, WISHER[1]) == []
    assert _count(ctx, WaitlistStat) == 1


def test_the_cli_runs_every_step(app, ctx, filled, monkeypatch):
    base, _ = filled
    monkeypatch.setattr("booking.cli.utcnow", lambda: base + timedelta(days=400))
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    # every appointment, with its sent emails; the cancellation's audit entry; the
    # session and both login counters; the idempotency key
    assert result.output.splitlines() == [step.report.format(count) for step, count in zip(
        STEPS, [4, 0, 0, 1, 3, 1, 1, 1, 1, 1, 0], strict=True)]
    assert _count(ctx, OutboxMessage) == 1  # the pending one
