"""A real SMTP sink (aiosmtpd) for the email tests, and helpers to read what it received.

* :class:`SmtpSink` runs an aiosmtpd ``Controller`` on 127.0.0.1 and a port bound
  beforehand (``Controller(port=0)`` fails its readiness check in aiosmtpd 1.4.6).
  It keeps every envelope; ``refuse`` maps an address to an SMTP reply for RCPT TO
  (e.g. ``"550 5.1.1 no such user"``), ``delay`` slows DATA down.
* Fixture ``smtp_server`` starts/stops a sink; fixture ``mail_to_sink`` points the
  session-scoped app's Flask-Mail state at it and restores both afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port nothing listens on right now (bound, read and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    smtputf8: bool = False

    @property
    def message(self) -> EmailMessage:
        if self.smtputf8:
            # UTF-8 headers (RFC 6532): the bytes parser would keep them as surrogates
            return email.message_from_string(self.data.decode("utf-8"),
                                             policy=email.policy.default)
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class _Handler:
    refuse: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        reply = self.refuse.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content),
                         bool(envelope.smtp_utf8))
            )
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, port: int | None = None, *, smtputf8: bool = True) -> None:
        self.port = port or free_port()
        self._handler = _Handler()
        self._controller = Controller(
            self._handler, hostname=HOST, port=self.port, server_hostname="sink.test",
            enable_SMTPUTF8=smtputf8,
        )
        self.running = False

    # configuration -----------------------------------------------------------
    def refuse(self, address: str, reply: str = "550 5.1.1 Mailbox unavailable") -> None:
        self._handler.refuse[address.lower()] = reply

    def accept(self, address: str) -> None:
        self._handler.refuse.pop(address.lower(), None)

    @property
    def delay(self) -> float:
        return self._handler.delay

    @delay.setter
    def delay(self, seconds: float) -> None:
        self._handler.delay = seconds

    # life cycle --------------------------------------------------------------
    def start(self) -> SmtpSink:
        self._controller.start()
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            self._controller.stop()
            self.running = False

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # what arrived ------------------------------------------------------------
    @property
    def received(self) -> list[Received]:
        with self._handler.lock:
            return list(self._handler.received)

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]

    def clear(self) -> None:
        with self._handler.lock:
            self._handler.received.clear()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.messages


@contextlib.contextmanager
def mail_settings(app, **settings) -> Iterator[None]:
    """Change MAIL_* settings of ``app`` and re-read them into Flask-Mail's state
    (``app.extensions["mail"]``); restore both afterwards."""
    from booking.extensions import mail

    missing = object()
    saved = {key: app.config.get(key, missing) for key in settings}
    saved_state = app.extensions["mail"]
    app.config.update(settings)
    mail.init_app(app)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is missing:
                app.config.pop(key, None)
            else:
                app.config[key] = value
        app.extensions["mail"] = saved_state


def point_app_at(app, port: int):
    """Settings that send through 127.0.0.1:``port`` for real (TESTING would suppress)."""
    return mail_settings(app, MAIL_SERVER=HOST, MAIL_PORT=port, MAIL_SUPPRESS_SEND=False,
                         MAIL_USE_TLS=False, MAIL_USE_SSL=False, MAIL_TIMEOUT=5.0)


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def mail_to_sink(app, smtp_server) -> Iterator[SmtpSink]:
    """The app delivers its outbox to ``smtp_server``."""
    with point_app_at(app, smtp_server.port):
        yield smtp_server


# ------------------------------------------------------------ flow helpers


def book(client, start: str, **overrides):
    body = {"office": "amt", "service": "pass", "start": start, "name": "Erika Mustermann",
            "email": "erika@example.org", **overrides}
    return client.post("/api/v1/appointments", json=body)


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def move_then_cancel(client, booked: dict, start: str) -> None:
    """Move a booking (the API's JSON) to ``start``, then cancel it: two more emails."""
    token = booked["manage_token"]
    assert client.post(f"/api/v1/appointments/{booked['code']}/reschedule",
                       json={"start": start}, headers=auth(token)).status_code == 200
    assert client.delete(f"/api/v1/appointments/{booked['code']}",
                         headers=auth(token)).status_code == 200


def deliver(app, **kwargs) -> tuple[int, int]:
    """Run the outbox once, as the background sender or ``flask outbox send`` would."""
    from booking.notifications.outbox import deliver_due

    with app.app_context():
        return deliver_due(**kwargs)


def calendar_part(msg: EmailMessage) -> EmailMessage:
    """The text/calendar alternative of a multipart/alternative message."""
    parts = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in msg.walk()]
    return parts[0]


def ics_bytes(msg: EmailMessage) -> bytes:
    """The calendar object's bytes as sent (UTF-8)."""
    part = calendar_part(msg)
    assert (part.get_content_charset() or "").lower() == "utf-8"
    if part.get("Content-Transfer-Encoding", "7bit").lower() in ("7bit", "8bit", "binary"):
        # the raw payload: from the bytes parser it carries undecoded bytes as surrogates,
        # from the string parser (SMTPUTF8) it is text already
        return part.get_payload().encode("utf-8", "surrogateescape")
    return part.get_payload(decode=True)


def ics_attachment(msg: EmailMessage) -> bytes:
    """The calendar object attached as an .ics file (next to the inline part)."""
    files = [p for p in msg.iter_attachments() if (p.get_filename() or "").endswith(".ics")]
    assert len(files) == 1, [p.get_content_type() for p in msg.walk()]
    return files[0].get_content()
