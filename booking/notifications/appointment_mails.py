"""The citizen's emails: confirmation, update and cancellation, each with an iMIP part.

Rendered in the language chosen at booking; queued in the outbox (sent after commit).
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, render_template
from flask_babel import force_locale, gettext

from booking import i18n
from booking.calendars.ical import CANCEL, REQUEST, Invitation, appointment_ical
from booking.links import external_url, manage_url
from booking.notifications.mime import build_email, format_address, mail_address
from booking.notifications.outbox import enqueue
from booking.scheduling.codes import format_code


def _context(appointment, token: str | None) -> dict:
    office, service, lang = appointment.office, appointment.service, appointment.language
    return {
        "appointment": appointment,
        "office": office,
        "service_name": service.text("name", lang),
        "bring": service.text("bring", lang),
        "fee": i18n.fee(service.fee_cents, lang),
        "when": i18n.local_datetime(appointment.start_at, office.tz, lang),
        "until": i18n.local_time(appointment.end_at, office.tz, lang),
        "code": format_code(appointment.code),
        "manage_url": manage_url(appointment.code, token) if token else None,
        "rebook_url": external_url("citizen.service", service_id=service.id, lang=lang),
    }


def _description(ctx: dict) -> str:
    lines = [gettext("Booking code: %(code)s", code=ctx["code"])]
    if ctx["bring"]:
        lines += ["", gettext("Please bring:"), ctx["bring"]]
    if ctx["manage_url"]:
        lines += ["", gettext("Cancel or move your appointment:"), ctx["manage_url"]]
    return "\n".join(lines)


def _invitation(appointment, ctx: dict) -> Invitation:
    office = appointment.office
    return Invitation(
        uid=appointment.ical_uid,
        sequence=appointment.sequence,
        start_at=appointment.start_at,
        end_at=appointment.end_at,
        summary=gettext("%(service)s – %(office)s", service=ctx["service_name"],
                        office=office.name),
        location=office.address,
        description=_description(ctx),
        organizer_email=mail_address(office.email),
        organizer_name=office.name,
        # the same address as in To: clients match ATTENDEE against the recipient
        attendee_email=mail_address(appointment.email),
        attendee_name=appointment.name,
        language=appointment.language,
        url=ctx["manage_url"],
        alarm_text=gettext("Appointment at %(office)s", office=office.name),
    )


def _queue(appointment, kind: str, subject: str, method: str, ctx: dict, now: datetime) -> None:
    invitation = _invitation(appointment, ctx)
    ctx = {**ctx, "kind": kind, "subject": subject}
    msg = build_email(
        sender=format_address(appointment.office.name, current_app.config["MAIL_DEFAULT_SENDER"]),
        reply_to=mail_address(appointment.office.email),
        recipient=format_address(appointment.name, appointment.email),
        subject=subject,
        text=render_template("email/appointment.txt", **ctx),
        html=render_template("email/appointment.html", **ctx),
        ical=appointment_ical(invitation, method, now),
        method=method,
    )
    enqueue(msg, kind=kind, appointment_id=appointment.id)


def notify_booked(appointment, token: str, now: datetime) -> None:
    with force_locale(appointment.language):
        ctx = _context(appointment, token)
        subject = gettext("Appointment confirmed: %(service)s on %(when)s",
                          service=ctx["service_name"], when=ctx["when"])
        _queue(appointment, "booked", subject, REQUEST, ctx, now)


def notify_moved(appointment, token: str, now: datetime) -> None:
    with force_locale(appointment.language):
        ctx = _context(appointment, token)
        subject = gettext("Appointment moved: %(service)s now on %(when)s",
                          service=ctx["service_name"], when=ctx["when"])
        _queue(appointment, "moved", subject, REQUEST, ctx, now)


def notify_cancelled(appointment, now: datetime, reason: str | None = None) -> None:
    with force_locale(appointment.language):
        ctx = {**_context(appointment, None), "reason": reason}
        subject = gettext("Appointment cancelled: %(service)s on %(when)s",
                          service=ctx["service_name"], when=ctx["when"])
        _queue(appointment, "cancelled", subject, CANCEL, ctx, now)
