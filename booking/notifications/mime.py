"""Building iMIP emails with the standard library, sent through Flask-Mail.

Flask-Mail 0.10 cannot put ``method=`` on a calendar alternative, so the message
is built as an :class:`email.message.EmailMessage` and handed to Flask-Mail wrapped
in :class:`RawMessage` — Flask-Mail keeps doing configuration, SMTP, the
``email_dispatched`` signal and ``record_messages()``.
"""

from __future__ import annotations

import email.policy
import re
import smtplib
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

import idna
from flask import current_app
from flask_mail import Connection, Message, email_dispatched

# Headers we set as raw values (Subject) are written exactly as given, never refolded.
SMTP_POLICY = email.policy.SMTP.clone(refold_source="none")
SMTPUTF8_POLICY = SMTP_POLICY.clone(utf8=True)

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]+")
_LINE = 78


def _fold_words(value: str, used: int) -> str:
    """Fold ASCII text at single spaces (each becomes the whitespace of a continuation
    line, so unfolding gives ``value`` back); never before the first word."""
    lines = [""]
    column = used
    for i, word in enumerate(value.split(" ")):
        if i and word and lines[-1].strip() and column + 1 + len(word) > _LINE:
            lines.append(" " + word)
            column = 1 + len(word)
        else:
            lines[-1] += (" " if i else "") + word
            column += (1 if i else 0) + len(word)
    return "\n".join(lines)


def subject_header(subject: str) -> str:
    """The Subject as a raw, folded header value that decodes to ``subject`` exactly.

    The standard library's folder (Python 3.11) moves a value that fits on a line of
    its own to a continuation line (the subject then starts with a space), and drops
    or doubles spaces where it folds between encoded words ("Führerschein amMontag").
    ``email.header.Header`` encodes and folds UTF-8 text correctly.
    """
    subject = _CONTROL.sub(" ", subject)  # no header injection, no stray line breaks
    if subject.isascii() and "=?" not in subject:
        return _fold_words(subject, len("Subject: "))
    return Header(subject, "utf-8", header_name="Subject").encode(linesep="\n",
                                                                  maxlinelen=_LINE)


def build_email(
    *,
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    ical: bytes | None = None,
    method: str | None = None,
    ical_filename: str | None = None,
    reply_to: str | None = None,
    inline_png: tuple[bytes, str] | None = None,
) -> EmailMessage:
    """multipart/alternative: text/plain, text/html and (optional) text/calendar;method=…

    With ``ical_filename`` the calendar object is attached once more as a file
    (``application/ics``, as Gmail sends its invitations) for the mail programs that
    offer no import of the inline part; the message is then multipart/mixed holding the
    alternative part and the attachment.

    ``inline_png`` (image bytes, Content-ID without brackets) turns the HTML part into
    multipart/related holding the image, which the HTML shows with ``cid:``.

    Addresses should come from :func:`format_address` (domains in IDNA form). A
    non-ASCII local part can only be sent with SMTPUTF8; the message is then
    serialised with UTF-8 headers (RFC 6532) instead of encoded words, which are not
    allowed inside an address.
    """
    addresses = [parseaddr(a)[1] for a in (sender, recipient, reply_to) if a]
    utf8 = any(needs_smtputf8(a) for a in addresses)
    msg = EmailMessage(policy=SMTPUTF8_POLICY if utf8 else SMTP_POLICY)
    msg.set_raw("Subject", subject_header(subject))
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
    if inline_png is not None:
        image, cid = inline_png
        msg.get_payload()[1].add_related(image, "image", "png", cid=f"<{cid}>",
                                         filename="qr.png", disposition="inline")
    if ical is not None:
        if method is None:
            raise ValueError("a calendar part needs its iTIP method")
        msg.add_alternative(
            ical.decode("utf-8"), subtype="calendar", params={"method": method}
        )
        if ical_filename:
            msg.add_attachment(ical, maintype="application", subtype="ics",
                               filename=ical_filename, params={"name": ical_filename})
    return msg


def mail_address(addr: str) -> str:
    """``addr`` as it goes into headers, the SMTP envelope and iCalendar: the domain in
    its ASCII (IDNA, ``xn--``) form; the local part is kept as it is."""
    addr = parseaddr(addr)[1] or addr
    username, at, domain = addr.rpartition("@")
    if not at or domain.isascii():
        return addr
    try:
        domain = idna.encode(domain, uts46=True).decode("ascii")  # IDNA 2008, as .de uses
    except (idna.IDNAError, UnicodeError):
        try:
            domain = domain.encode("idna").decode("ascii")  # IDNA 2003
        except UnicodeError:
            return addr  # not encodable; delivery will report it
    return f"{username}@{domain}"


def needs_smtputf8(addr: str) -> bool:
    """Whether ``addr`` (after :func:`mail_address`) can only be sent with SMTPUTF8."""
    return not mail_address(addr).isascii()


def format_address(name: str, addr: str) -> str:
    username, _, domain = mail_address(addr).rpartition("@")
    return str(Address(display_name=name, username=username, domain=domain))


class RawMessage(Message):
    """A Flask-Mail message whose bytes were built beforehand (stored in the outbox).

    ``sender`` and ``recipient`` are the bare envelope addresses. Sent by
    :class:`TimeoutConnection`, which passes them to SMTP as they are (with SMTPUTF8
    when one of them needs it) — Flask-Mail's own address handling cannot send a
    non-ASCII local part at all.
    """

    def __init__(self, raw: bytes, sender: str, recipient: str, subject: str) -> None:
        sender, recipient = mail_address(sender), mail_address(recipient)
        utf8 = needs_smtputf8(sender) or needs_smtputf8(recipient)
        super().__init__(subject=subject, sender=sender, recipients=[recipient],
                         mail_options=["SMTPUTF8"] if utf8 else None)
        self.envelope_from = sender
        self.envelope_to = recipient
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

    def __exit__(self, exc_type, exc_value, tb) -> None:
        if self.host is not None:
            try:
                self.host.quit()
            except (smtplib.SMTPException, OSError):  # the server hung up already
                self.host.close()
            self.host = None

    def configure_host(self) -> smtplib.SMTP | smtplib.SMTP_SSL:
        mail = self.mail
        cls = smtplib.SMTP_SSL if mail.use_ssl else smtplib.SMTP
        host = cls(mail.server, mail.port, timeout=self.timeout)
        try:
            if mail.use_tls:
                host.starttls()
            if mail.username and mail.password:
                host.login(mail.username, mail.password)
        except BaseException:
            host.close()
            raise
        return host

    def send(self, message: Message, envelope_from: str | None = None) -> None:
        if not isinstance(message, RawMessage):
            super().send(message, envelope_from)
            return
        if self.host is not None:
            self.host.sendmail(
                envelope_from or message.envelope_from,
                [message.envelope_to],
                message.as_bytes(),
                message.mail_options,
                message.rcpt_options,
            )
        email_dispatched.send(current_app._get_current_object(), message=message)
        self.num_emails += 1
        if self.num_emails == self.mail.max_emails:
            self.num_emails = 0
            if self.host is not None:
                self.host.quit()
                self.host = self.configure_host()
