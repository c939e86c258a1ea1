"""Building iMIP emails with the standard library, sent through Flask-Mail.

Flask-Mail 0.10 cannot put ``method=`` on a calendar alternative, so the message
is built as an :class:`email.message.EmailMessage` and handed to Flask-Mail wrapped
in :class:`RawMessage` — Flask-Mail keeps doing configuration, SMTP, the
``email_dispatched`` signal and ``record_messages()``.
"""

from __future__ import annotations

import email.policy
import smtplib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from flask_mail import Connection, Message


def build_email(
    *,
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    ical: bytes | None = None,
    method: str | None = None,
    reply_to: str | None = None,
) -> EmailMessage:
    """multipart/alternative: text/plain, text/html and (optional) text/calendar;method=…"""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = recipient
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    msg["Message-ID"] = make_msgid(domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    if ical is not None:
        if method is None:
            raise ValueError("a calendar part needs its iTIP method")
        msg.add_alternative(
            ical.decode("utf-8"), subtype="calendar", params={"method": method}
        )
    return msg


def format_address(name: str, addr: str) -> str:
    username, _, domain = addr.partition("@")
    return str(Address(display_name=name, username=username, domain=domain))


class RawMessage(Message):
    """A Flask-Mail message whose bytes were built beforehand (stored in the outbox)."""

    def __init__(self, raw: bytes, sender: str, recipient: str, subject: str) -> None:
        super().__init__(subject=subject, sender=sender, recipients=[recipient])
        self._raw = raw

    def as_bytes(self) -> bytes:
        return self._raw

    def as_string(self) -> str:
        return self._raw.decode("utf-8", "replace")

    def has_bad_headers(self) -> bool:
        return False  # headers were built and folded by the email package


class TimeoutConnection(Connection):
    """Flask-Mail's connection with a socket timeout, so a hung server can't block forever."""

    timeout: float = 20.0

    def configure_host(self) -> smtplib.SMTP | smtplib.SMTP_SSL:
        mail = self.mail
        cls = smtplib.SMTP_SSL if mail.use_ssl else smtplib.SMTP
        host = cls(mail.server, mail.port, timeout=self.timeout)
        if mail.use_tls:
            host.starttls()
        if mail.username and mail.password:
            host.login(mail.username, mail.password)
        return host
