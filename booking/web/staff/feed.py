"""The staff calendar feed: a secret URL per user, shown once, renewable and revocable.

The feed is read by calendar clients without a session, so the token in the URL is
the only credential: it is stored hashed, and renewing it makes the old URL stop working.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext

from booking.accounts import operations as accounts
from booking.audit import log as audit
from booking.calendars.staff_feed import StaffEvent, staff_feed
from booking.db import utcnow
from booking.i18n import current_language
from booking.links import external_url
from booking.scheduling import staff_operations as staff_ops
from booking.scheduling import visit_texts
from booking.scheduling.codes import format_code
from booking.scheduling.models import ARRIVED
from booking.web.auth import offices_of, require_role, staff_user
from booking.web.staff import bp
from booking.web.staff.forms import ButtonForm


def _feed_url(token: str) -> str:
    return external_url("staff.feed_ics", token=token)


@bp.get("/staff/feed")
@require_role("clerk")
def feed():
    user = staff_user()
    return render_template("staff/feed.html", user=user, has_feed=user.feed_token_hash is not None,
                           offices=offices_of(user), new_url=None)


@bp.post("/staff/feed/renew")
@require_role("clerk")
def feed_renew():
    user = staff_user()
    if not ButtonForm().validate_on_submit():
        abort(400)
    renewed = user.feed_token_hash is not None
    token = accounts.issue_feed_token(user)
    audit.record(user, "feed_token.renewed" if renewed else "feed_token.created", "user",
                 user.id, office_id=None, now=utcnow())
    # Shown in this response only: the token is stored hashed and can't be shown again.
    return render_template("staff/feed.html", user=user, has_feed=True,
                           offices=offices_of(user), new_url=_feed_url(token))


@bp.post("/staff/feed/revoke")
@require_role("clerk")
def feed_revoke():
    user = staff_user()
    if not ButtonForm().validate_on_submit():
        abort(400)
    if user.feed_token_hash is not None:
        accounts.revoke_feed_token(user)
        audit.record(user, "feed_token.revoked", "user", user.id, office_id=None, now=utcnow())
        flash(gettext("Your calendar feed URL no longer works."), "success")
    return redirect(url_for("staff.feed"), 303)


def _event(appointment, lang: str) -> StaffEvent:
    office = appointment.office
    service = visit_texts.summary(appointment.lines, lang)
    code = format_code(appointment.code)
    if office.feed_shows_names:
        summary = gettext("%(code)s · %(service)s · %(name)s", code=code, service=service,
                          name=appointment.name)
    else:
        summary = gettext("%(code)s · %(service)s", code=code, service=service)
    notes = [gettext("Persons: %(persons)s", persons=appointment.persons)
             ] if appointment.persons > 1 else []
    if appointment.status == ARRIVED:
        notes.append(gettext("The citizen has arrived."))
    description = "\n".join(notes)
    return StaffEvent(uid=appointment.ical_uid, sequence=appointment.sequence,
                      start_at=appointment.start_at, end_at=appointment.end_at,
                      summary=summary, location=f"{office.name}, {office.address}",
                      description=description)


@bp.get("/staff/feed/<token>.ics")
def feed_ics(token: str):
    """No login: calendar clients can't log in. The token is the credential."""
    user = accounts.user_for_feed_token(token)
    if user is None:
        abort(404)
    now = utcnow()
    lang = current_language()
    offices = offices_of(user)
    events = [_event(a, lang) for a in staff_ops.get_feed_appointments(offices, now)]
    name = gettext("Appointments: %(offices)s", offices=", ".join(o.name for o in offices))
    body = staff_feed(name, events, now)
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": 'inline; filename="appointments.ics"',
        "Cache-Control": "private, no-store",
        "Referrer-Policy": "no-referrer",
    })
