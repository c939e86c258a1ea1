"""The appointment reminder email: when and where, what to bring, the manage link and the
check-in QR code (inline PNG), in the language chosen at booking. No calendar part: the
confirmation carried it, and a second REQUEST would only ask the calendar again."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app, render_template
from flask_babel import force_locale, gettext

from booking.calendars.ical import REQUEST
from booking.notifications import outbox
from booking.notifications.appointment_mails import _context, envelope, office_and_service, snapshot
from booking.notifications.mime import build_email, format_address, mail_address
from booking.qr import qr_png

RENDERER = KIND = "appointment_reminder"


def notify_reminder(appointment, token: str, now) -> None:
    sender, recipient = envelope(appointment)
    payload = {**snapshot(appointment, KIND, REQUEST, now, token), "renderer": RENDERER}
    outbox.enqueue_payload(payload, kind=KIND, appointment_id=appointment.id, sender=sender,
                           recipient=recipient)


@outbox.renderer(RENDERER)
def render(snap: dict) -> EmailMessage:
    office, service = office_and_service(snap)
    with force_locale(snap["language"]):
        ctx = _context(snap, office, service)
        subject = gettext("Reminder: %(service)s on %(when)s", service=ctx["service_name"],
                          when=ctx["when"])
        domain = current_app.config["MAIL_DEFAULT_SENDER"].rpartition("@")[2] or "localhost"
        ctx.update(subject=subject, qr_cid=make_msgid("qr", domain=domain)[1:-1])
        return build_email(
            sender=format_address(office.name, current_app.config["MAIL_DEFAULT_SENDER"]),
            reply_to=mail_address(office.email),
            recipient=format_address(snap["name"], snap["email"]),
            subject=subject,
            text=render_template("email/appointment_reminder.txt", **ctx),
            html=render_template("email/appointment_reminder.html", **ctx),
            inline_png=(qr_png(snap["code"]), ctx["qr_cid"]),
        )
