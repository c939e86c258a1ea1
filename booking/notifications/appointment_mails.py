"""The citizen's emails: confirmation, update and cancellation, each with an iMIP part.

``notify_*`` run inside the change's transaction and only queue a small snapshot of
the appointment as it is at that moment (times, sequence, status, code, the manage
token, the clock for DTSTAMP); the outbox sender renders it (:func:`render`) at delivery
time in the language chosen at booking, with the office's and service's current data.
Rendering from the snapshot, not from the appointment row, means a booking moved
before its confirmation went out still gets a confirmation for the old time and then
the update, each with its own SEQUENCE.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from types import SimpleNamespace

from flask import current_app, render_template
from flask_babel import force_locale, gettext

from booking import i18n
from booking.calendars.appointment_entry import appointment_entry, ics_filename
from booking.calendars.ical import CANCEL, REQUEST, Invitation, appointment_ical
from booking.db import db, utcnow
from booking.links import external_url, manage_url, office_url, visit_fields
from booking.notifications import outbox
from booking.notifications.mime import build_email, format_address, mail_address
from booking.offices.models import Office, Service
from booking.qr import qr_png
from booking.scheduling import operations as scheduling
from booking.scheduling import visit_texts
from booking.scheduling.codes import format_code
from booking.scheduling.errors import ServiceNotOffered, VisitNotAllowed

RENDERER = "appointment"
SUBJECTS = {
    "booked": lambda **kw: gettext("Appointment confirmed: %(service)s on %(when)s", **kw),
    "moved": lambda **kw: gettext("Appointment moved: %(service)s now on %(when)s", **kw),
    "cancelled": lambda **kw: gettext("Appointment cancelled: %(service)s on %(when)s", **kw),
    "held": lambda **kw: gettext("Please confirm your appointment: %(service)s on %(when)s",
                                 **kw),
}


REASON_LENGTH = 300  # Appointment.cancel_reason


def cancellation_text(language: str, reason: str | None, apology: str | None = None
                      ) -> str | None:
    """What the cancellation email says about why, in the citizen's ``language``: the
    office's ``apology`` (already in that language), then the manager's or clerk's
    ``reason`` labelled ("Grund: …"); at most 300 characters (``cancel_reason``)."""
    reason = " ".join((reason or "").split())
    parts = [apology] if apology else []
    if reason:
        with force_locale(language):
            parts.append(gettext("Reason: %(reason)s", reason=reason))
    text = " ".join(parts)
    if not text:
        return None
    return text if len(text) <= REASON_LENGTH else text[:REASON_LENGTH - 1] + "…"


# ---------------------------------------------------------------- in the request


def _utc_iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def snapshot(appointment, kind: str, method: str | None, now: datetime,
             token: str | None = None,
             reason: str | None = None) -> dict:
    """What the email for this change says, as JSON: everything that may change later."""
    return {
        "renderer": RENDERER,
        "kind": kind,
        "method": method,
        "appointment_id": appointment.id,
        "office_id": appointment.office_id,
        "service_id": appointment.service_id,
        "lines": visit_texts.snapshot_lines(appointment),
        "start_at": _utc_iso(appointment.start_at),
        "end_at": _utc_iso(appointment.end_at),
        "sequence": appointment.sequence,
        "status": appointment.status,
        "name": appointment.name,
        "email": appointment.email,
        "language": appointment.language,
        "code": appointment.code,
        "ical_uid": appointment.ical_uid,
        "reason": reason,
        "held_until": _utc_iso(appointment.held_until) if appointment.held_until else None,
        "now": _utc_iso(now),
        outbox.TOKEN: token,
    }


def envelope(appointment) -> tuple[str, str]:
    """(sender, recipient) as the rendered message will have them (bare addresses, IDNA
    domains); the subject needs the localised date and is filled in when rendered."""
    return outbox.envelope(appointment.email)


def _queue(appointment, kind: str, method: str | None, now: datetime,
           token: str | None = None,
           reason: str | None = None) -> None:
    sender, recipient = envelope(appointment)
    outbox.enqueue_payload(
        snapshot(appointment, kind, method, now, token, reason),
        kind=kind,
        appointment_id=appointment.id,
        sender=sender,
        recipient=recipient,
    )


def notify_booked(appointment, token: str, now: datetime) -> None:
    _queue(appointment, "booked", REQUEST, now, token)


def notify_held(appointment, token: str, now: datetime) -> None:
    """The booking is held: the email asks to confirm it (a link to a page with a
    button) before ``held_until``. No calendar entry: it is not an appointment yet."""
    _queue(appointment, "held", None, now, token)


def notify_moved(appointment, token: str, now: datetime) -> None:
    _queue(appointment, "moved", REQUEST, now, token)


def notify_cancelled(appointment, now: datetime, reason: str | None = None) -> None:
    _queue(appointment, "cancelled", CANCEL, now, reason=reason)


# ---------------------------------------------------------------- in the sender


def _rebook_url(office: Office, lines, lang: str) -> str:
    """The booking calendar of the same visit (services and persons) at the same office,
    at the first day with free times for it as they are when the email goes out (the
    first service's page if the office no longer offers or allows the visit)."""
    service = lines[0].service
    try:
        day = scheduling.first_free_day(office, lines, utcnow())
    except (ServiceNotOffered, VisitNotAllowed):
        return external_url("citizen.service", service_id=service.id, lang=lang)
    return external_url("citizen.calendar", office_id=office.id, service_id=service.id,
                        lang=lang, **visit_fields(lines),
                        **({"day": day.isoformat()} if day else {}))


def _context(snap: dict, office: Office, service: Service) -> dict:
    lang = snap["language"]
    lines = visit_texts.lines_from_snapshot(
        snap, lambda service_id: db.session.get(Service, service_id))
    start_at = datetime.fromisoformat(snap["start_at"])
    end_at = datetime.fromisoformat(snap["end_at"])
    token = snap.get(outbox.TOKEN)
    return {
        # what the templates read of the appointment, as it was when queued
        "appointment": SimpleNamespace(name=snap["name"], language=lang),
        "office": office,
        "office_url": office_url(office, lang),
        "service_name": visit_texts.summary(lines, lang),
        "persons": visit_texts.persons(lines),
        "lines": lines,
        "bring": visit_texts.bring_text(lines, lang),
        "fee": i18n.fee(visit_texts.fee_cents(lines), lang),
        "when": i18n.local_datetime(start_at, office.tz, lang),
        "until": i18n.local_time(end_at, office.tz, lang),
        "code": format_code(snap["code"]),
        "manage_url": manage_url(snap["code"], token) if token else None,
        "rebook_url": _rebook_url(office, lines, lang) if snap["kind"] == "cancelled" else None,
        "confirm_url": (external_url("citizen.confirm_hold", code=snap["code"], token=token)
                        if snap["kind"] == "held" and token else None),
        "held_until": (i18n.local_datetime(datetime.fromisoformat(snap["held_until"]),
                                           office.tz, lang)
                       if snap.get("held_until") else None),
        "reason": snap.get("reason"),
        "kind": snap["kind"],
        "start_at": start_at,
        "end_at": end_at,
    }


def _invitation(snap: dict, office: Office, service: Service, ctx: dict) -> Invitation:
    return appointment_entry(
        uid=snap["ical_uid"], sequence=snap["sequence"], start_at=ctx["start_at"],
        end_at=ctx["end_at"], office=office, lines=ctx["lines"], language=snap["language"],
        code=snap["code"], name=snap["name"], email=snap["email"], manage_url=ctx["manage_url"],
    )


def office_and_service(snap: dict) -> tuple[Office, Service]:
    """The office and service a queued payload names, as they are now (renderers)."""
    office = db.session.get(Office, snap["office_id"])
    service = db.session.get(Service, snap["service_id"])
    if office is None or service is None:
        raise LookupError(f"office {snap['office_id']!r} or service {snap['service_id']!r} is gone")
    return office, service


@outbox.renderer(RENDERER)
def render(snap: dict) -> EmailMessage:
    """The email for a :func:`snapshot`, in the citizen's language."""
    office, service = office_and_service(snap)
    with force_locale(snap["language"]):
        ctx = _context(snap, office, service)
        subject = SUBJECTS[snap["kind"]](service=ctx["service_name"], when=ctx["when"])
        invitation = _invitation(snap, office, service, ctx)
        ctx["subject"] = subject
        qr = None
        if snap["kind"] not in ("cancelled", "held"):  # the code for the kiosk's scanner
            domain = current_app.config["MAIL_DEFAULT_SENDER"].rpartition("@")[2] or "localhost"
            ctx["qr_cid"] = make_msgid("qr", domain=domain)[1:-1]
            qr = (qr_png(snap["code"]), ctx["qr_cid"])
        return build_email(
            sender=format_address(office.name, current_app.config["MAIL_DEFAULT_SENDER"]),
            reply_to=mail_address(office.email),
            recipient=format_address(snap["name"], snap["email"]),
            subject=subject,
            text=render_template("email/appointment.txt", **ctx),
            html=render_template("email/appointment.html", **ctx),
            ical=(appointment_ical(invitation, snap["method"],
                                   datetime.fromisoformat(snap["now"]))
                  if snap["method"] else None),
            method=snap["method"],
            ical_filename=ics_filename(snap["code"]) if snap["method"] else None,
            inline_png=qr,
        )
