"""The outbox: written in the booking's transaction, delivered after commit, retried
with back-off, never twice, and never for a rolled-back change."""

from __future__ import annotations

import email
import email.policy
import logging
import sqlite3
import threading
import time
from collections import Counter
from datetime import datetime, timedelta

import psycopg
import pytest
from sqlalchemy import func, select, update

from booking.db import db, utcnow
from booking.notifications import outbox
from booking.notifications.models import FAILED, PENDING, SENT, OutboxMessage
from booking.notifications.outbox import MAX_ATTEMPTS, deliver_due, retry_delay
from booking.offices.models import Office, Service
from booking.scheduling import operations, visits
from booking.scheduling.models import Appointment
from tests import smtp
from tests.factories import book_in_domain, local_iso, make_town, next_workday, tables_containing
from tests.smtp import (
    SmtpSink,
    book,
    calendar_part,
    deliver,
    free_port,
    mail_settings,
    point_app_at,
)

# the SMTP sink fixtures
smtp_server = smtp.smtp_server
mail_to_sink = smtp.mail_to_sink


@pytest.fixture
def town(ctx):
    return make_town(ctx)


@pytest.fixture
def sink(mail_to_sink):
    return mail_to_sink


def rows(ctx) -> list[OutboxMessage]:
    ctx.rollback()  # a fresh snapshot
    return list(ctx.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def only_row(ctx) -> OutboxMessage:
    (row,) = rows(ctx)
    return row


def book_many(client, n: int) -> list[dict]:
    """``n`` bookings (two seats per start) with distinct addresses."""
    day = next_workday()
    booked = []
    for i in range(n):
        start = local_iso(day, 8 + (i // 2) // 2, 30 * ((i // 2) % 2))
        response = book(client, start, email=f"citizen{i}@example.org", name=f"Citizen {i}")
        assert response.status_code == 201, response.get_json()
        booked.append(response.get_json())
    return booked


# ------------------------------------------------------------ (a) server down


def test_server_down_booking_succeeds_and_mail_goes_out_when_it_is_back(app, client, ctx,
                                                                        town):
    port = free_port()  # nothing listens here
    with point_app_at(app, port):
        response = book(client, local_iso(next_workday(), 9))
        assert response.status_code == 201
        assert only_row(ctx).status == PENDING

        now = utcnow()
        assert deliver(app, now=now) == (0, 1)
        row = only_row(ctx)
        assert row.status == PENDING and row.attempts == 1
        assert row.next_attempt_at > now
        assert row.next_attempt_at == now + retry_delay(1)
        assert row.last_error and "Connection" in row.last_error
        assert row.locked_until is None and row.sent_at is None

        # not due yet: nothing is tried
        assert deliver(app, now=now + timedelta(seconds=5)) == (0, 0)
        assert only_row(ctx).attempts == 1

        with SmtpSink(port) as sink:  # the server comes back on the same port
            later = row.next_attempt_at + timedelta(seconds=1)
            assert deliver(app, now=later) == (1, 0)
            (msg,) = sink.messages
        row = only_row(ctx)
        assert (row.status, row.attempts, row.sent_at, row.last_error) == (SENT, 1, later, None)
        assert msg["Subject"] == row.subject
        assert msg["To"].addresses[0].addr_spec == response.get_json()["email"]
        assert calendar_part(msg).get_param("method") == "REQUEST"
        # sent is sent: no second delivery
        assert deliver(app, now=later + timedelta(hours=2)) == (0, 0)


# ------------------------------------------------------------ (b) rollback


def test_rollback_sends_nothing(app, ctx, town, sink):
    start = local_iso(next_workday(), 9)
    with app.app_context():
        office, service = db.session.get(Office, "amt"), db.session.get(Service, "pass")
        appointment, _ = operations.book_appointment(
            office, visits.single(service), datetime.fromisoformat(start),
            operations.Citizen("Rolf Rollback", "rolf@example.org"), utcnow())
        assert appointment.id is not None
        # queued in the same transaction …
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        assert db.session.info.get(outbox._NUDGE) is True
        db.session.rollback()
        # … and gone with it; the sender is not woken either
        assert outbox._NUDGE not in db.session.info
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        db.session.remove()

    assert rows(ctx) == []
    assert ctx.scalar(select(func.count()).select_from(Appointment)) == 0
    assert deliver(app) == (0, 0)
    assert sink.received == []


def test_failed_booking_request_queues_nothing(app, client, ctx, town, sink):
    """A request that ends in an error rolls back: neither booking nor email."""
    start = local_iso(next_workday(), 9)
    assert book(client, start, email="a@example.org").status_code == 201
    assert book(client, start, email="b@example.org").status_code == 201
    assert book(client, start, email="c@example.org").status_code == 409  # capacity 2
    assert [r.recipient for r in rows(ctx)] == ["a@example.org", "b@example.org"]
    assert deliver(app) == (2, 0)
    assert sorted(r.rcpt_tos[0] for r in sink.received) == ["a@example.org", "b@example.org"]


# ------------------------------------------------------------ (c) files


def test_without_mail_server_messages_are_written_as_eml_files(app, client, ctx, town,
                                                               tmp_path, monkeypatch):
    assert not app.config["MAIL_SERVER"]
    monkeypatch.setitem(app.config, "MAIL_FILE_DIR", str(tmp_path / "mail"))
    booked = book(client, local_iso(next_workday(), 9)).get_json()
    assert only_row(ctx).message is None  # rendered by the sender
    assert deliver(app) == (1, 0)
    row = only_row(ctx)
    assert row.message is None  # written: the row keeps no copy of the manage link

    (path,) = (tmp_path / "mail").glob("*.eml")
    assert path.name == f"{row.id:06d}-booked.eml"
    raw = path.read_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == row.subject
    assert msg["To"].addresses[0].addr_spec == booked["email"] == row.recipient
    alternative, attachment = msg.iter_parts()
    assert [p.get_content_type() for p in alternative.iter_parts()] == [
        "text/plain", "multipart/related", "text/calendar"]
    assert attachment.get_content_type() == "application/ics"
    assert calendar_part(msg).get_param("method") == "REQUEST"
    assert f"UID:{booked['uid']}" in calendar_part(msg).get_content()
    assert only_row(ctx).status == SENT
    assert deliver(app) == (0, 0)
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1


# ------------------------------------------------------------ (d) concurrency


def test_two_concurrent_senders_deliver_each_message_once(app, client, ctx, town, sink):
    booked = book_many(client, 12)
    sink.delay = 0.02  # keep both senders busy at the same time
    barrier = threading.Barrier(2)
    results: list = [None, None]
    errors: list = []

    def run(i: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                results[i] = deliver_due(limit=2)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert all(not t.is_alive() for t in threads)

    assert sum(sent for sent, _ in results) == 12
    assert sum(failed for _, failed in results) == 0
    received = sink.received
    per_recipient = Counter(r.rcpt_tos[0] for r in received)
    assert per_recipient == Counter(b["email"] for b in booked)
    assert set(per_recipient.values()) == {1}
    assert len({r.message["Message-ID"] for r in received}) == 12
    assert {r.status for r in rows(ctx)} == {SENT}
    assert deliver(app) == (0, 0)


def test_a_row_held_by_another_transaction_is_not_sent_twice(app, client, ctx, town, sink,
                                                             db_kind, database_url):
    """PostgreSQL: a row locked elsewhere is skipped (FOR UPDATE SKIP LOCKED), not waited
    for. SQLite: the sender queues behind the other writer (BEGIN IMMEDIATE)."""
    book_many(client, 3)
    first, *_ = rows(ctx)
    ctx.rollback()

    if db_kind == "postgresql":
        outcome: dict = {}

        def run() -> None:
            try:
                outcome["result"] = deliver(app)
            except Exception as exc:  # pragma: no cover - reported below
                outcome["error"] = exc

        with psycopg.connect(database_url) as other:
            other.execute("SELECT id FROM outbox_messages WHERE id = %s FOR UPDATE", (first.id,))
            sender = threading.Thread(target=run)
            sender.start()
            sender.join(timeout=10)
            waited = sender.is_alive()
            other.rollback()  # release the lock in any case, so the sender can finish
            sender.join(timeout=60)
        assert not waited, "deliver_due waited for a locked row instead of skipping it"
        assert outcome == {"result": (2, 0)}
        assert first.recipient not in {r.rcpt_tos[0] for r in sink.received}
        assert deliver(app) == (1, 0)
    else:
        path = database_url.removeprefix("sqlite:///")
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE outbox_messages SET last_error = 'held' WHERE id = ?",
                          (first.id,))
            release = threading.Timer(0.5, lambda: other.execute("ROLLBACK"))
            release.start()
            started = time.monotonic()
            assert deliver(app) == (3, 0)
            assert time.monotonic() - started >= 0.4  # waited for the writer
            release.join()
        finally:
            other.close()
    assert Counter(r.rcpt_tos[0] for r in sink.received) == Counter(
        {r.recipient: 1 for r in rows(ctx)})
    assert {r.status for r in rows(ctx)} == {SENT}


def test_a_leased_row_is_left_alone_until_the_lease_ends(app, client, ctx, town, sink):
    """A sender that crashed after claiming leaves ``locked_until``; others skip the row
    until then, and deliver it afterwards."""
    book(client, local_iso(next_workday(), 9))
    now = utcnow()
    ctx.execute(update(OutboxMessage).values(locked_until=now + outbox.LEASE))
    ctx.commit()
    assert deliver(app, now=now) == (0, 0)
    assert deliver(app, now=now + outbox.LEASE + timedelta(seconds=1)) == (1, 0)
    assert len(sink.received) == 1


# ------------------------------------------------------------ (e) back-off, refusals


def test_retry_delay_grows_and_caps():
    delays = [retry_delay(n) for n in range(1, 15)]
    assert delays[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert all(a <= b for a, b in zip(delays, delays[1:], strict=False))
    assert max(delays) == timedelta(hours=1) == delays[-1]
    assert retry_delay(MAX_ATTEMPTS) == retry_delay(1000) == timedelta(hours=1)
    assert retry_delay(0) == timedelta(seconds=30)


def test_repeated_failures_back_off_and_give_up_after_max_attempts(app, client, ctx, town):
    book(client, local_iso(next_workday(), 9))
    with point_app_at(app, free_port()):
        now = utcnow()
        for attempt in (1, 2, 3):
            assert deliver(app, now=now) == (0, 1)
            row = only_row(ctx)
            assert row.attempts == attempt and row.status == PENDING
            assert row.next_attempt_at == now + retry_delay(attempt)
            now = row.next_attempt_at
        ctx.execute(update(OutboxMessage).values(attempts=MAX_ATTEMPTS - 1))
        ctx.commit()
        assert deliver(app, now=now) == (0, 1)
        row = only_row(ctx)
        assert (row.status, row.attempts) == (FAILED, MAX_ATTEMPTS)
        assert deliver(app, now=now + timedelta(days=1)) == (0, 0)


def test_permanent_refusal_marks_failed_and_the_batch_goes_on(app, client, ctx, town, sink):
    sink.refuse("refuse@example.org", "550 5.1.1 No such mailbox")
    sink.refuse("busy@example.org", "451 4.3.0 Try again later")
    day = next_workday()
    for hour, address in ((9, "refuse@example.org"), (10, "busy@example.org"),
                          (11, "erika@example.org")):
        assert book(client, local_iso(day, hour), email=address).status_code == 201

    now = utcnow()
    assert deliver(app, now=now) == (1, 2)
    by_recipient = {r.recipient: r for r in rows(ctx)}
    refused = by_recipient["refuse@example.org"]
    assert (refused.status, refused.attempts) == (FAILED, 1)
    assert "550" in refused.last_error
    busy = by_recipient["busy@example.org"]
    assert (busy.status, busy.attempts) == (PENDING, 1)
    assert "451" in busy.last_error and busy.next_attempt_at == now + retry_delay(1)
    assert by_recipient["erika@example.org"].status == SENT
    assert [r.rcpt_tos for r in sink.received] == [["erika@example.org"]]

    # later: the 4xx one is tried again, the 5xx one never
    sink.accept("busy@example.org")
    assert deliver(app, now=now + timedelta(hours=1)) == (1, 0)
    statuses = {r.recipient: r.status for r in rows(ctx)}
    assert statuses == {"refuse@example.org": FAILED, "busy@example.org": SENT,
                        "erika@example.org": SENT}
    assert sorted(r.rcpt_tos[0] for r in sink.received) == ["busy@example.org",
                                                           "erika@example.org"]


def test_logs_name_no_recipient_and_failed_rows_keep_no_message(app, client, ctx, town, sink,
                                                                 caplog):
    """Servers repeat the address in their refusal; neither the log nor the row's error
    may carry it, and a message that is never going out keeps no manage link."""
    sink.refuse("refuse@example.org", "550 5.1.1 <refuse@example.org>: no such mailbox")
    sink.refuse("busy@example.org", "451 4.3.0 <busy@example.org>: try again later")
    day = next_workday()
    for hour, address in ((9, "refuse@example.org"), (10, "busy@example.org")):
        assert book(client, local_iso(day, hour), email=address).status_code == 201
    caplog.set_level(logging.DEBUG, logger="booking")
    assert deliver(app) == (0, 2)
    by_recipient = {r.recipient: r for r in rows(ctx)}
    assert by_recipient["refuse@example.org"].status == FAILED
    assert by_recipient["refuse@example.org"].message is None
    assert "550" in by_recipient["refuse@example.org"].last_error
    assert "451" in by_recipient["busy@example.org"].last_error
    assert not [r.last_error for r in by_recipient.values() if "@" in r.last_error]
    assert "not sent" in ours(caplog) and "failed for good" in ours(caplog)
    assert "@" not in ours(caplog), ours(caplog)
    caplog.clear()
    with mail_settings(app, MAIL_SERVER=None):
        book(client, local_iso(day, 11), email="eml@example.org")
        assert deliver(app) == (1, 0)  # written as a file
    assert "written to" in ours(caplog) and "@" not in ours(caplog)


def ours(caplog) -> str:
    """The app's log lines (not the SMTP sink's)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("booking"))


def test_address_the_server_cannot_take_fails_alone(app, client, ctx, town):
    """A non-ASCII local part needs SMTPUTF8; a server without it refuses that one
    message for good, and the rest of the batch is delivered (nothing stalls)."""
    day = next_workday()
    book_in_domain(app, local_iso(day, 9), "jörg@example.org")
    assert book(client, local_iso(day, 10), email="erika@example.org").status_code == 201
    with SmtpSink(smtputf8=False) as plain, point_app_at(app, plain.port):
        assert deliver(app) == (1, 1)
        assert [r.rcpt_tos for r in plain.received] == [["erika@example.org"]]
    by_recipient = {r.recipient: r for r in rows(ctx)}
    assert by_recipient["jörg@example.org"].status == FAILED
    assert "SMTPUTF8" in by_recipient["jörg@example.org"].last_error
    assert by_recipient["erika@example.org"].status == SENT
    assert all(r.locked_until is None for r in by_recipient.values())


# ------------------------------------------------------------ (g) rendering in the sender


def test_payload_holds_the_token_only_until_the_message_is_rendered(app, client, ctx, town,
                                                                    sink):
    booked = book(client, local_iso(next_workday(), 9)).get_json()
    row = only_row(ctx)
    assert (row.message, row.subject) == (None, None)
    assert row.payload["token"] == booked["manage_token"]
    assert (row.payload["kind"], row.payload["sequence"]) == ("booked", 0)
    assert row.sender == app.config["MAIL_DEFAULT_SENDER"] and row.recipient == booked["email"]

    assert deliver(app) == (1, 0)
    row = only_row(ctx)
    assert row.status == SENT
    assert "token" not in row.payload and booked["manage_token"] not in str(row.payload)
    # the message as sent carried the link; the row keeps no copy of it
    (received,) = sink.received
    assert booked["manage_url"] in received.message.get_body(("plain",)).get_content()
    assert row.subject == received.message["Subject"] and row.message is None
    assert tables_containing(ctx, booked["manage_token"]) == []


def test_a_rendering_error_is_retried_and_the_message_not_lost(app, client, ctx, town, sink,
                                                               monkeypatch):
    """A message that cannot be rendered (say a broken template after an update) is
    recorded and retried with the usual back-off; the rest of the batch goes out."""
    day = next_workday()
    booked = book(client, local_iso(day, 9), email="broken@example.org").get_json()
    book(client, local_iso(day, 10), email="fine@example.org")
    working = outbox._renderers["appointment"]

    def flaky(payload):
        if payload["email"] == "broken@example.org":
            raise KeyError("template variable")
        return working(payload)

    monkeypatch.setitem(outbox._renderers, "appointment", flaky)
    now = utcnow()
    assert deliver(app, now=now) == (1, 1)
    assert [r.rcpt_tos for r in sink.received] == [["fine@example.org"]]
    broken = {r.recipient: r for r in rows(ctx)}["broken@example.org"]
    assert (broken.status, broken.attempts, broken.message) == (PENDING, 1, None)
    assert "RenderError" in broken.last_error and "template variable" in broken.last_error
    assert broken.next_attempt_at == now + retry_delay(1) and broken.locked_until is None
    assert broken.payload["token"] == booked["manage_token"]  # still needed to render it

    # fixed: the next due round renders and sends it
    monkeypatch.setitem(outbox._renderers, "appointment", working)
    later = broken.next_attempt_at + timedelta(seconds=1)
    assert deliver(app, now=later) == (1, 0)
    broken = {r.recipient: r for r in rows(ctx)}["broken@example.org"]
    assert (broken.status, broken.attempts, broken.last_error) == (SENT, 1, None)
    assert "token" not in broken.payload
    assert sorted(r.rcpt_tos[0] for r in sink.received) == ["broken@example.org",
                                                           "fine@example.org"]


def test_a_message_that_never_renders_fails_after_max_attempts_without_its_token(
        app, client, ctx, town, sink, monkeypatch):
    book(client, local_iso(next_workday(), 9))

    def broken(payload):
        raise RuntimeError("still broken")

    monkeypatch.setitem(outbox._renderers, "appointment", broken)
    now = utcnow()
    assert deliver(app, now=now) == (0, 1)
    assert only_row(ctx).status == PENDING
    ctx.execute(update(OutboxMessage).values(attempts=MAX_ATTEMPTS - 1, next_attempt_at=now))
    ctx.commit()
    assert deliver(app, now=now) == (0, 1)
    row = only_row(ctx)
    assert (row.status, row.attempts, row.message) == (FAILED, MAX_ATTEMPTS, None)
    assert "still broken" in row.last_error
    assert "token" not in row.payload  # never to be sent: the secret is dropped
    assert deliver(app, now=now + timedelta(days=1)) == (0, 0)
    assert sink.received == []


# ------------------------------------------------------------ background sender


def test_commit_wakes_the_background_sender(app, client, ctx, town, sink, monkeypatch):
    """In production nobody calls deliver_due: the commit that queued the email nudges
    the process's sender thread. The poll interval is long here, so only the nudge can
    explain a delivery within seconds."""
    monkeypatch.setitem(app.config, "OUTBOX_BACKGROUND", True)
    monkeypatch.setitem(app.config, "OUTBOX_POLL_SECONDS", 60)
    try:
        response = book(client, local_iso(next_workday(), 9))
        assert response.status_code == 201
        (msg,) = sink.wait_for(1, timeout=60)
        assert msg["To"].addresses[0].addr_spec == response.get_json()["email"]
        deadline = time.monotonic() + 60
        while only_row(ctx).status != SENT and time.monotonic() < deadline:
            time.sleep(0.02)
        assert only_row(ctx).status == SENT
    finally:
        outbox.sender.stop()
    assert len(sink.received) == 1


# ------------------------------------------------------------ (f) CLI


def test_cli_outbox_send_delivers_pending_mail(app, client, sink):
    # no ``ctx`` here: with_appcontext would run the command in an app context that is
    # already pushed, and ``ctx`` pushes the other test app
    with app.app_context():
        make_town(db.session)
        db.session.remove()
    day = next_workday()
    book(client, local_iso(day, 9))
    book(client, local_iso(day, 10), email="erik@example.org")
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "sent 2, failed 0" in result.output
    assert sorted(r.rcpt_tos[0] for r in sink.received) == ["erik@example.org",
                                                           "erika@example.org"]
    with app.app_context():
        assert set(db.session.scalars(select(OutboxMessage.status))) == {SENT}
        db.session.remove()
    again = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert again.exit_code == 0 and "sent 0, failed 0" in again.output
    assert len(sink.received) == 2


def test_savepoints_neither_wake_early_nor_forget_the_wake_up(ctx, town, monkeypatch):
    """A seat retried in a savepoint must not lose the wake-up of the outer commit, and a
    released savepoint must not wake the sender before the outer commit."""
    woken = []
    monkeypatch.setattr(outbox.sender, "nudge", lambda: woken.append(True))
    monkeypatch.setattr(outbox.sender, "start", lambda app: None)
    from flask import current_app

    monkeypatch.setitem(current_app.config, "OUTBOX_BACKGROUND", True)
    outbox.enqueue_payload({"renderer": "none"}, kind="test", sender="a@example.org",
                           recipient="b@example.org")
    with ctx.begin_nested():
        pass  # released savepoint
    assert woken == []
    nested = ctx.begin_nested()
    nested.rollback()  # rolled-back savepoint
    assert ctx.info.get(outbox._NUDGE) is True
    ctx.commit()
    assert woken == [True]
