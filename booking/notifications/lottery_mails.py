"""The lottery's emails: the link that verifies an entry, and "not drawn this time".

Queued as small snapshots and rendered by the outbox sender in the entry's language,
like the appointment emails; they belong to no appointment, so the sent message is
deleted (the address was kept only to send it). The winners get the ordinary booking
confirmation (:mod:`booking.notifications.appointment_mails`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale, gettext

from booking import i18n
from booking.db import db
from booking.links import external_url
from booking.notifications import outbox
from booking.notifications.mime import build_email, format_address, mail_address
from booking.offices.models import Office, Service

VERIFY, NOT_DRAWN = "lottery_verify", "lottery_not_drawn"


def _payload(kind: str, entry, lottery, now: datetime, **more) -> dict:
    return {"renderer": kind, "lottery_id": lottery.id, "service_id": lottery.service_id,
            "office_ids": lottery.office_ids, "first_day": lottery.first_day.isoformat(),
            "last_day": lottery.last_day.isoformat(),
            "closes_at": lottery.closes_at.astimezone(UTC).isoformat(), "name": entry.name,
            "email": entry.email, "language": entry.language, "now": now.isoformat(), **more}


def _queue(payload: dict, email: str) -> None:
    sender, recipient = outbox.envelope(email)
    outbox.enqueue_payload(payload, kind=payload["renderer"], sender=sender, recipient=recipient)


def notify_verify(entry, lottery, token: str, now: datetime) -> None:
    """The link to the page whose button verifies the entry."""
    _queue(_payload(VERIFY, entry, lottery, now, **{outbox.TOKEN: token}), entry.email)


def notify_not_drawn(entry, lottery, next_draw_at: datetime | None, now: datetime) -> None:
    """Not drawn; with the date of the next announced draw of the service, if any."""
    _queue(_payload(NOT_DRAWN, entry, lottery, now,
                    next_draw_at=next_draw_at.astimezone(UTC).isoformat() if next_draw_at
                    else None), entry.email)


def _render(snap: dict, template: str, subject: str, **ctx) -> EmailMessage:
    offices = [office for office in (db.session.get(Office, office_id)
                                     for office_id in snap["office_ids"]) if office]
    service = db.session.get(Service, snap["service_id"])
    if not offices or service is None:
        raise LookupError(f"lottery {snap['lottery_id']}: office or service is gone")
    lang, office = snap["language"], offices[0]
    ctx.update(
        name=snap["name"], lang=lang, office=office, offices=offices,
        service_name=service.text("name", lang),
        days=i18n.date_range(date.fromisoformat(snap["first_day"]),
                             date.fromisoformat(snap["last_day"]), lang),
        draw_at=i18n.local_datetime(datetime.fromisoformat(snap["closes_at"]), office.tz, lang),
        subject=subject,
    )
    return build_email(
        sender=format_address(office.name, current_app.config["MAIL_DEFAULT_SENDER"]),
        reply_to=mail_address(office.email),
        recipient=format_address(snap["name"], snap["email"]),
        subject=subject,
        text=render_template(f"email/{template}.txt", **ctx),
        html=render_template(f"email/{template}.html", **ctx),
    )


@outbox.renderer(VERIFY)
def render_verify(snap: dict) -> EmailMessage:
    with force_locale(snap["language"]):
        service = db.session.get(Service, snap["service_id"])
        name = service.text("name", snap["language"]) if service else ""
        return _render(snap, "lottery_verify",
                       gettext("Please confirm your entry in the draw: %(service)s",
                               service=name),
                       verify_url=external_url("citizen.lottery_verify",
                                               token=snap[outbox.TOKEN], lang=snap["language"]))


@outbox.renderer(NOT_DRAWN)
def render_not_drawn(snap: dict) -> EmailMessage:
    lang = snap["language"]
    with force_locale(lang):
        service = db.session.get(Service, snap["service_id"])
        name = service.text("name", lang) if service else ""
        office = db.session.get(Office, snap["office_ids"][0]) if snap["office_ids"] else None
        next_draw = snap.get("next_draw_at")
        return _render(snap, "lottery_not_drawn",
                       gettext("Not drawn this time: %(service)s", service=name),
                       next_draw=i18n.local_datetime(datetime.fromisoformat(next_draw),
                                                     office.tz, lang)
                       if next_draw and office else None,
                       service_url=external_url("citizen.service",
                                                service_id=snap["service_id"], lang=lang))
