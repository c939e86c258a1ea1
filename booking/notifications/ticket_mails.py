"""The walk-in reminder: "only three people are ahead of you", in the ticket's language.

Queued as a small snapshot in the transaction that moved the queue and rendered by the
outbox sender like the appointment emails. It carries the ticket number and the link
to its status page; the address lives only in the outbox row (the ticket drops it).
"""

from __future__ import annotations

from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale, gettext

from booking.links import external_url
from booking.notifications import outbox
from booking.notifications.appointment_mails import office_and_service
from booking.notifications.mime import build_email, format_address, mail_address

RENDERER = "ticket_reminder"
KIND = "ticket_reminder"


def notify_almost_there(ticket, email: str, ahead: int, now) -> None:
    sender, recipient = outbox.envelope(email)
    outbox.enqueue_payload(
        {"renderer": RENDERER, "ticket_id": ticket.id, "number": ticket.number,
         "office_id": ticket.office_id, "service_id": ticket.service_id, "ahead": ahead,
         "language": ticket.language, "email": email, "now": now.isoformat()},
        kind=KIND,
        sender=sender,
        recipient=recipient,
    )


@outbox.renderer(RENDERER)
def render(snap: dict) -> EmailMessage:
    office, service = office_and_service(snap)
    language = snap["language"]
    with force_locale(language):
        ctx = {
            "number": snap["number"],
            "ahead": snap["ahead"],
            "office": office,
            "service_name": service.text("name", language),
            "status_url": external_url("display.ticket_status", ticket_id=snap["ticket_id"],
                                       lang=language),
            "lang": language,
        }
        ctx["subject"] = gettext("Number %(number)s: your turn is coming soon",
                                 number=snap["number"])
        return build_email(
            sender=format_address(office.name, current_app.config["MAIL_DEFAULT_SENDER"]),
            reply_to=mail_address(office.email),
            recipient=format_address("", snap["email"]),
            subject=ctx["subject"],
            text=render_template("email/ticket_reminder.txt", **ctx),
            html=render_template("email/ticket_reminder.html", **ctx),
        )
