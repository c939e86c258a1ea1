"""Outbox delivery: enqueue inside the transaction, deliver after commit, retry with back-off.

* :func:`enqueue` adds a ready message to the current session, :func:`enqueue_payload`
  inserts a JSON snapshot, to be rendered by the sender, in the current transaction
  (composing an email costs more than the rest of a booking, so requests leave it to
  the sender). Both mark the session so that a successful commit wakes the process's
  background sender. A rollback sends nothing.
* :func:`deliver_due` claims due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite
  serialises writers), renders those queued as payloads with the renderer registered
  under the payload's ``renderer`` name (:func:`renderer`) and stores the bytes and
  subject, then sends without holding a lock, and records the outcome. Several workers
  and servers can run it at once; a claimed row is leased for ``LEASE`` so a crashed
  sender's rows come back. A rendering error is recorded and retried like a temporary
  SMTP failure, and the row fails for good after ``MAX_ATTEMPTS``.
* Without ``MAIL_SERVER`` messages are written as ``.eml`` files (development).
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from functools import lru_cache

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from booking.db import db, unit_of_work, utcnow
from booking.extensions import mail
from booking.notifications.mime import RawMessage, TimeoutConnection, mail_address
from booking.notifications.models import FAILED, PENDING, SENT, OutboxMessage

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 20
_NUDGE = "outbox_nudge"
TOKEN = "token"  # the payload key of a secret that must not outlive rendering

Renderer = Callable[[dict], EmailMessage]
_renderers: dict[str, Renderer] = {}
_periodic: list[Callable[[datetime], None]] = []


def periodic(func: Callable[[datetime], None]) -> Callable[[datetime], None]:
    """Register ``func(now)`` to run in the background sender every
    ``PERIODIC_JOBS_SECONDS``, before the delivery round (booking.jobs)."""
    _periodic.append(func)
    return func


def renderer(name: str) -> Callable[[Renderer], Renderer]:
    """Register ``func(payload) -> EmailMessage`` for payloads with ``renderer: name``.

    It runs in the sender, in an app context with a database session (it may read),
    at delivery time; it must depend only on the payload and on data that may change
    (office addresses, service names), never on rows that describe the change itself.
    """

    def register(func: Renderer) -> Renderer:
        _renderers[name] = func
        return func

    return register


class RenderError(Exception):
    """A queued payload could not be rendered (retried like a temporary SMTP error)."""


def enqueue(msg: EmailMessage, *, kind: str, appointment_id: int | None = None) -> OutboxMessage:
    """Store ``msg`` for delivery after the current transaction commits."""
    # The columns hold the envelope (bare addresses: a display name of up to 200
    # characters plus a 254-character address does not fit) and a subject to show.
    row = OutboxMessage(
        kind=kind,
        appointment_id=appointment_id,
        sender=msg["From"].addresses[0].addr_spec,
        recipient=msg["To"].addresses[0].addr_spec,
        subject=str(msg["Subject"])[:300],
        message=msg.as_bytes(),
    )
    db.session.add(row)
    db.session.info[_NUDGE] = True
    return row


_INSERT = OutboxMessage.__table__.insert()  # (built once: every booking runs it)


def enqueue_payload(payload: dict, *, kind: str, sender: str, recipient: str,
                    appointment_id: int | None = None) -> None:
    """Store ``payload`` (JSON; ``payload["renderer"]`` names a :func:`renderer`) for
    rendering and delivery after the current transaction commits. ``sender`` and
    ``recipient`` are the bare envelope addresses; the rendered message's own replace
    them. Only the key ``TOKEN`` may hold a secret: it is removed after rendering.

    Inserted at once in the current transaction (one Core statement, no ORM object
    for the commit's flush): a booking writes one on every request."""
    db.session.connection().execute(_INSERT, {
        "kind": kind, "appointment_id": appointment_id, "sender": sender,
        "recipient": recipient, "payload": payload})
    db.session.info[_NUDGE] = True


def envelope(recipient: str) -> tuple[str, str]:
    """(sender, recipient) as a rendered message will have them: bare addresses, domains
    in IDNA form."""
    username, _, domain = mail_address(recipient).rpartition("@")
    return (_sender_address(current_app.config["MAIL_DEFAULT_SENDER"]),
            Address(username=username, domain=domain).addr_spec)


@lru_cache(maxsize=8)
def _sender_address(configured: str) -> str:
    return mail_address(configured)  # the same few configured values, parsed once


def retry_delay(attempts: int) -> timedelta:
    """Back-off after the ``attempts``-th failure: 30 s, 1 min, 2 min … capped at 1 h."""
    return timedelta(seconds=min(30 * 2 ** max(0, attempts - 1), 3600))


@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    sender: str
    recipient: str
    subject: str | None
    raw: bytes | None  # None: to be rendered from the row's payload


def _claim(now: datetime, limit: int) -> list[_Claimed]:
    with unit_of_work() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.status == PENDING,
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.locked_until = now + LEASE
        return [_Claimed(r.id, r.kind, r.sender, r.recipient, r.subject, r.message) for r in rows]


def _render_one(payload: dict) -> EmailMessage:
    func = _renderers.get(payload.get("renderer"))
    if func is None:
        raise LookupError(f"no renderer {payload.get('renderer')!r}")
    return func(payload)


def _render(claimed: list[_Claimed]) -> tuple[list[_Claimed], dict[int, Exception]]:
    """Render the claimed rows that hold a payload and store message, subject and
    envelope (the token leaves the payload), in one transaction before anything is
    sent, so a retry sends the same bytes. Returns the claims ready to send and the
    rendering errors; a row that fails to render keeps its payload for the retry."""
    todo = {item.id: item for item in claimed if item.raw is None}
    if not todo:
        return claimed, {}
    rendered: dict[int, _Claimed] = {}
    errors: dict[int, Exception] = {}
    with unit_of_work() as session:
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(todo))):
            try:
                with session.begin_nested():  # a failed read leaves the others usable
                    msg = _render_one(row.payload or {})
                    raw = msg.as_bytes()
                    sender = msg["From"].addresses[0].addr_spec
                    recipient = msg["To"].addresses[0].addr_spec
                    subject = str(msg["Subject"])[:300]
            except Exception as exc:  # recorded per message; retried with back-off
                log.exception("email %s could not be rendered", row.id)
                errors[row.id] = RenderError(f"{type(exc).__name__}: {exc}")
                continue
            row.message, row.subject, row.sender, row.recipient = raw, subject, sender, recipient
            row.payload = {k: v for k, v in row.payload.items() if k != TOKEN}
            rendered[row.id] = replace(todo[row.id], sender=sender, recipient=recipient,
                                       subject=subject, raw=raw)
    for row_id in todo.keys() - rendered.keys() - errors.keys():
        errors[row_id] = RenderError("the row disappeared before rendering")
    ready = [rendered.get(item.id, item) for item in claimed if item.id not in errors]
    return ready, errors


def _write_files(app: Flask, claimed: list[_Claimed]) -> dict[int, Exception | None]:
    folder = app.config["MAIL_FILE_DIR"]
    os.makedirs(folder, exist_ok=True)
    results: dict[int, Exception | None] = {}
    for item in claimed:
        path = os.path.join(folder, f"{item.id:06d}-{item.kind}.eml")
        try:
            with open(path, "wb") as fh:
                fh.write(item.raw)
            log.info("email %s (%s) written to %s", item.id, item.kind, path)
            results[item.id] = None
        except OSError as exc:
            results[item.id] = exc
    return results


def _send_smtp(app: Flask, claimed: list[_Claimed]) -> dict[int, Exception | None]:
    results: dict[int, Exception | None] = {}
    connection = TimeoutConnection(app.extensions["mail"])
    connection.timeout = app.config["MAIL_TIMEOUT"]
    try:
        with connection as conn:
            for item in claimed:
                try:
                    conn.send(RawMessage(item.raw, item.sender, item.recipient, item.subject))
                    results[item.id] = None
                except Exception as exc:  # recorded per message; one bad message never stalls a batch
                    results[item.id] = exc
    except (smtplib.SMTPException, OSError) as exc:  # could not connect or log in
        for item in claimed:
            results.setdefault(item.id, exc)
    return results


def _is_permanent(exc: Exception) -> bool:
    """5xx replies, and messages that cannot be sent as they are (a non-ASCII address
    the server cannot take): retrying would only repeat the failure."""
    if isinstance(exc, RenderError):
        return False  # perhaps a template or data fix away; the attempts limit applies
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPNotSupportedError | UnicodeError):
        return True
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def _record(results: dict[int, Exception | None], now: datetime) -> None:
    """Store each outcome. A message that was sent, or failed for good, keeps neither its
    bytes nor its payload's token: they carry the manage link, and whoever reads the
    database or a backup must not be able to act on appointments with it. The rest
    (envelope, subject, status, times) stays as the record of an appointment's emails
    until its retention purge; a message for no appointment (a ticket reminder) is
    deleted: its address was kept only to send it."""
    with unit_of_work() as session:
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(results))):
            exc = results[row.id]
            row.locked_until = None
            if exc is None:
                row.status, row.sent_at, row.last_error = SENT, now, None
                _done(session, row)
                continue
            row.attempts += 1
            row.last_error = describe_error(exc)[:500]
            if _is_permanent(exc) or row.attempts >= MAX_ATTEMPTS:
                row.status = FAILED
                log.error("email %s (%s) failed for good: %s", row.id, row.kind,
                          row.last_error)
                _done(session, row)
            else:
                row.next_attempt_at = now + retry_delay(row.attempts)
                log.warning("email %s (%s) not sent (attempt %s): %s",
                            row.id, row.kind, row.attempts, row.last_error)


def _done(session: Session, row: OutboxMessage) -> None:
    if row.appointment_id is None:
        session.delete(row)
        return
    row.message = None
    if row.payload and TOKEN in row.payload:
        row.payload = {k: v for k, v in row.payload.items() if k != TOKEN}


_ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:\"'{}]+@[^\s<>()\[\]\\,;:\"'{}]+")


def describe_error(exc: Exception) -> str:
    """The error for logs and the row, without email addresses (SMTP servers and
    smtplib's exceptions repeat the recipient's)."""
    return _ADDRESS.sub("<address>", f"{type(exc).__name__}: {exc}")


def deliver_due(now: datetime | None = None, limit: int = 50) -> tuple[int, int]:
    """Deliver what is due; returns (sent, failed attempts). Needs an app context."""
    now = now or utcnow()
    app = current_app._get_current_object()
    sent = failed = 0
    while True:
        claimed = _claim(now, limit)
        if not claimed:
            return sent, failed
        ready, results = _render(claimed)
        transport = _send_smtp if app.config.get("MAIL_SERVER") else _write_files
        if ready:
            results.update(transport(app, ready))
        _record(results, now)
        sent += sum(1 for exc in results.values() if exc is None)
        failed += sum(1 for exc in results.values() if exc is not None)
        if len(claimed) < limit:
            return sent, failed


class BackgroundSender:
    """A daemon thread per process that delivers the outbox after commits and every
    ``OUTBOX_POLL_SECONDS``. Started by gunicorn's ``post_worker_init`` hook (see
    deploy/gunicorn.conf.py) or lazily by the first commit that queued an email."""

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def start(self, app: Flask) -> None:
        with self._lock:
            if self._thread and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, args=(app,), name="outbox-sender", daemon=True
            )
            self._thread.start()

    def nudge(self) -> None:
        self._wake.set()

    def stop(self, timeout: float | None = 30) -> None:
        """Finish the current round and end the thread (shutdown, tests)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
            self._wake.set()
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)

    def run_round(self, app: Flask, now: datetime, *, jobs: bool) -> None:
        """One round of the thread: the periodic jobs (if ``jobs``), then delivery."""
        with app.app_context():
            if jobs:
                for job in _periodic:
                    job(now)
            deliver_due(now)

    def _run(self, app: Flask) -> None:
        interval = app.config["OUTBOX_POLL_SECONDS"]
        jobs_every = app.config.get("PERIODIC_JOBS_SECONDS", 60)
        next_jobs = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(timeout=min(interval, jobs_every))
            self._wake.clear()
            if self._stop.is_set():
                return
            jobs = jobs_every > 0 and time.monotonic() >= next_jobs
            if jobs:
                next_jobs = time.monotonic() + jobs_every
            try:
                self.run_round(app, utcnow(), jobs=jobs)
            except Exception:  # keep the thread alive; the next round retries
                log.exception("outbox delivery round failed")


sender = BackgroundSender()


@event.listens_for(Session, "after_commit")
def _wake_sender_after_commit(session: Session) -> None:
    # savepoints end here too: wait for the outermost commit
    if session.get_nested_transaction() is not None or not session.info.pop(_NUDGE, False):
        return
    if has_app_context() and current_app.config.get("OUTBOX_BACKGROUND"):
        sender.start(current_app._get_current_object())
        sender.nudge()


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    # a savepoint rolled back (a retried seat): the outer transaction may still commit
    # emails queued before it, so only the outermost rollback forgets the wake-up
    if session.get_nested_transaction() is None:
        session.info.pop(_NUDGE, None)


__all__ = ["enqueue", "enqueue_payload", "renderer", "deliver_due", "sender", "retry_delay", "mail"]
