"""Waitlist emails: the wish's confirmation (with the link to withdraw it) and the offer
of a free seat (with the link to accept it). Queued as snapshots, rendered by the
outbox sender in the wish's language; they belong to no appointment, so the outbox
deletes each row once it is sent."""

from __future__ import annotations

from datetime import date, datetime, time
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale, gettext, lazy_gettext

from booking import i18n
from booking.db import db
from booking.links import external_url, office_url
from booking.notifications import outbox
from booking.notifications.mime import build_email, format_address, mail_address
from booking.offices.models import Office, Service
from booking.scheduling import visits

RENDERER = "waitlist"
WISH_KIND, OFFER_KIND = "waitlist_wish", "waitlist_offer"
WEEKDAYS = (lazy_gettext("Monday"), lazy_gettext("Tuesday"), lazy_gettext("Wednesday"),
            lazy_gettext("Thursday"), lazy_gettext("Friday"), lazy_gettext("Saturday"),
            lazy_gettext("Sunday"))


def weekday_names(digits: str) -> str:
    return ", ".join(str(WEEKDAYS[int(d) - 1]) for d in sorted(digits))


def window_text(from_time: time, until_time: time) -> str:
    end = "24:00" if until_time >= time(23, 59) else until_time.strftime("%H:%M")
    return gettext("%(start)s to %(end)s", start=from_time.strftime("%H:%M"), end=end)


def _queue(payload: dict, kind: str, email: str) -> None:
    sender, recipient = outbox.envelope(email)
    outbox.enqueue_payload({"renderer": RENDERER, "kind": kind, **payload}, kind=kind,
                           sender=sender, recipient=recipient)


def notify_wish_registered(wish, token: str, now: datetime) -> None:
    _queue({"wish_id": wish.id, "service_id": wish.service_id, "persons": wish.persons,
            "office_ids": [o.id for o in wish.offices], "weekdays": wish.weekdays,
            "from": wish.from_time.isoformat(), "until": wish.until_time.isoformat(),
            "until_date": wish.until_date.isoformat(), "name": wish.name,
            "email": wish.email, "language": wish.language, outbox.TOKEN: token},
           WISH_KIND, wish.email)


def notify_offer(offer, token: str, now: datetime) -> None:
    wish = offer.wish
    _queue({"offer_id": offer.id, "service_id": offer.service_id, "persons": wish.persons,
            "office_ids": [offer.office_id], "start_at": offer.start_at.isoformat(),
            "expires_at": offer.expires_at.isoformat(), "name": wish.name,
            "email": wish.email, "language": wish.language, outbox.TOKEN: token},
           OFFER_KIND, wish.email)


@outbox.renderer(RENDERER)
def render(snap: dict) -> EmailMessage:
    service = db.session.get(Service, snap["service_id"])
    offices = [o for o in (db.session.get(Office, i) for i in snap["office_ids"]) if o]
    if service is None or not offices:
        raise LookupError("the service or every office of the wish is gone")
    lang, office = snap["language"], offices[0]
    with force_locale(lang):
        ctx = {"name": snap["name"], "lang": lang, "office": office,
               "office_url": office_url(office, lang),
               # "Reisepass × 3" for several persons (payloads from before: one)
               "service_name": visits.summary([visits.Line(service, snap.get("persons", 1))],
                                              lang),
               "kind": snap["kind"],
               "bring": service.text("bring", lang)}
        if snap["kind"] == WISH_KIND:
            ctx.update(
                offices=", ".join(o.name for o in offices),
                weekdays=weekday_names(snap["weekdays"]),
                window=window_text(time.fromisoformat(snap["from"]),
                                   time.fromisoformat(snap["until"])),
                until_date=i18n.local_date(date.fromisoformat(snap["until_date"]), lang,
                                           "long"),
                wish_url=external_url("citizen.waitlist_wish", wish_id=snap["wish_id"],
                                      token=snap[outbox.TOKEN], lang=lang))
            subject = gettext("Waitlist: we will write when a seat for %(service)s is free",
                              service=ctx["service_name"])
        else:
            start_at = datetime.fromisoformat(snap["start_at"])
            ctx.update(
                when=i18n.local_datetime(start_at, office.tz, lang),
                expires=i18n.local_datetime(datetime.fromisoformat(snap["expires_at"]),
                                            office.tz, lang),
                offer_url=external_url("citizen.waitlist_offer", offer_id=snap["offer_id"],
                                       token=snap[outbox.TOKEN], lang=lang))
            subject = gettext("A seat is free for you: %(service)s on %(when)s",
                              service=ctx["service_name"], when=ctx["when"])
        ctx["subject"] = subject
        return build_email(
            sender=format_address(office.name, current_app.config["MAIL_DEFAULT_SENDER"]),
            reply_to=mail_address(office.email),
            recipient=format_address(snap["name"], snap["email"]),
            subject=subject,
            text=render_template("email/waitlist.txt", **ctx),
            html=render_template("email/waitlist.html", **ctx),
        )
