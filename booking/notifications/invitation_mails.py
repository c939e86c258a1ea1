"""The invitation email: some weeks before a document expires, the town invites the
person to book, with a personal link (booking with the details filled in, a few free
times), and links to decline or to opt out. Queued as a snapshot, rendered by the
outbox sender in the invitation's language; it belongs to no appointment, so the
outbox deletes the row once it is sent."""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale, gettext

from booking import i18n
from booking.db import db
from booking.links import external_url
from booking.notifications import outbox
from booking.notifications.mime import build_email, format_address, mail_address
from booking.offices.models import Office, Service

RENDERER = KIND = "invitation"


def notify_invitation(invitation, token: str) -> None:
    sender, recipient = outbox.envelope(invitation.email)
    outbox.enqueue_payload({
        "renderer": RENDERER, "invitation_id": invitation.id,
        "office_id": invitation.office_id, "service_id": invitation.service_id,
        "due_date": invitation.due_date.isoformat(), "name": invitation.name,
        "email": invitation.email, "language": invitation.language, outbox.TOKEN: token,
    }, kind=KIND, sender=sender, recipient=recipient)


@outbox.renderer(RENDERER)
def render(snap: dict) -> EmailMessage:
    service = db.session.get(Service, snap["service_id"])
    office = db.session.get(Office, snap["office_id"])
    if service is None or office is None:
        raise LookupError("the service or the office of the invitation is gone")
    lang = snap["language"]
    values = {"invitation_id": snap["invitation_id"], "token": snap[outbox.TOKEN],
              "lang": lang}
    with force_locale(lang):
        ctx = {
            "name": snap["name"], "lang": lang, "office": office,
            "service_name": service.text("name", lang), "bring": service.text("bring", lang),
            "due": i18n.local_date(date.fromisoformat(snap["due_date"]), lang, "long"),
            "book_url": external_url("citizen.invitation", **values),
            "decline_url": external_url("citizen.invitation_decline", **values),
            "opt_out_url": external_url("citizen.invitation_opt_out", **values),
        }
        ctx["subject"] = gettext("Invitation: book your appointment for %(service)s",
                                 service=ctx["service_name"])
        return build_email(
            sender=format_address(office.name, current_app.config["MAIL_DEFAULT_SENDER"]),
            reply_to=mail_address(office.email),
            recipient=format_address(snap["name"], snap["email"]),
            subject=ctx["subject"],
            text=render_template("email/invitation.txt", **ctx),
            html=render_template("email/invitation.html", **ctx),
        )
