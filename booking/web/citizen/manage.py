"""Citizen pages for one booked appointment, reached with its code and manage token:
see it, add it to a calendar, cancel, move, confirm a held booking."""

from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from booking.calendars.appointment_entry import appointment_entry, ics_filename
from booking.calendars.ical import PUBLISH, appointment_ical
from booking.db import utcnow
from booking.i18n import current_language
from booking.links import manage_url
from booking.qr import qr_svg
from booking.scheduling import holds, operations, queries
from booking.scheduling.codes import format_code
from booking.scheduling.errors import AppointmentCancelled, DeadlinePassed, NotBookable, SlotTaken
from booking.web import bot_check, fairness
from booking.web.citizen import bp
from booking.web.citizen.forms import ConfirmForm, MoveForm
from booking.web.citizen.pages import (
    calendar_context,
    conflict_message,
    parse_start,
    render_calendar,
)


def _appointment_or_404(code: str, token: str):
    g.private_page = True
    appointment = queries.get_appointment_for_citizen(code, token)
    if appointment is None:
        abort(404)
    return appointment


@bp.get("/manage/<code>/<token>")
def manage(code: str, token: str):
    appointment = _appointment_or_404(code, token)
    now = utcnow()
    return render_template("citizen/manage.html", appointment=appointment, token=token,
                           form=ConfirmForm(), lang=current_language(), new=request.args.get("new"),
                           changeable=operations.is_changeable(appointment, now),
                           lapsed=appointment.hold_lapsed(now),
                           checkin_qr=_checkin_qr(appointment))


def _checkin_qr(appointment):
    """The booking code for the kiosk's scanner: a QR code of the bare code. Not a link:
    a phone scanning it must not be able to check in from anywhere."""
    if appointment.is_cancelled or appointment.is_held:
        return None
    label = gettext("QR code for checking in at the office with booking code %(code)s",
                    code=format_code(appointment.code))
    return qr_svg(appointment.code, label)


@bp.get("/manage/<code>/<token>/appointment.ics")
def appointment_ics(code: str, token: str):
    """The appointment as a calendar file to import ("add to calendar"). Personal, and
    reached only with the manage token: never stored by any cache."""
    appointment = _appointment_or_404(code, token)
    if appointment.is_cancelled:
        abort(404)
    entry = appointment_entry(
        uid=appointment.ical_uid, sequence=appointment.sequence,
        start_at=appointment.start_at, end_at=appointment.end_at, office=appointment.office,
        lines=appointment.lines, language=current_language(), code=appointment.code,
        name=appointment.name or "", email=appointment.email or "",
        manage_url=manage_url(appointment.code, token),
    )
    response = Response(appointment_ical(entry, PUBLISH, utcnow()), mimetype="text/calendar")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{ics_filename(appointment.code)}"')
    response.cache_control.private = True  # and no-store, as every page with the token
    return response


@bp.post("/manage/<code>/<token>/cancel")
def cancel(code: str, token: str):
    appointment = _appointment_or_404(code, token)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    now = utcnow()
    try:
        if operations.cancel_appointment(appointment, now,
                                         release_at=fairness.release_at(appointment.office, now)):
            flash(gettext("Your appointment is cancelled. We have sent you a confirmation "
                          "by email."), "success")
    except DeadlinePassed as exc:
        flash(conflict_message(exc), "error")
    return redirect(url_for("citizen.manage", code=code, token=token), 303)


@bp.get("/manage/<code>/<token>/move")
def move(code: str, token: str):
    appointment = _appointment_or_404(code, token)
    if appointment.is_held:
        flash(conflict_message(holds.NotConfirmed()), "error")
        return redirect(url_for("citizen.manage", code=code, token=token), 303)
    if not operations.is_changeable(appointment, utcnow()):
        flash(conflict_message(DeadlinePassed() if not appointment.is_cancelled
                                else AppointmentCancelled()), "error")
        return redirect(url_for("citizen.manage", code=code, token=token), 303)
    ctx = calendar_context(appointment.office, appointment.service, utcnow(),
                            "citizen.move_confirm", "citizen.move", lines=appointment.lines,
                            booked=True, code=code, token=token)
    return render_calendar("citizen/move.html", {**ctx, "appointment": appointment})


@bp.route("/manage/<code>/<token>/move/confirm", methods=["GET", "POST"])
def move_confirm(code: str, token: str):
    appointment = _appointment_or_404(code, token)
    form = MoveForm()
    start_at = parse_start(form.start.data if request.method == "POST"
                            else request.args.get("start"))
    form.start.data = start_at.isoformat()
    if request.method == "GET" and not operations.is_offered(
        appointment.office, appointment.lines, start_at, utcnow(), booked=True
    ):
        flash(conflict_message(NotBookable()), "error")
        return redirect(url_for("citizen.move", code=code, token=token), 303)
    if form.validate_on_submit() and bot_check.check_form(form):
        now = utcnow()
        try:
            operations.reschedule_appointment(
                appointment, start_at, now, token,
                release_at=fairness.release_at(appointment.office, now))
        except (NotBookable, SlotTaken, DeadlinePassed, AppointmentCancelled,
                holds.NotConfirmed) as exc:
            flash(conflict_message(exc), "error")
            return redirect(url_for("citizen.move", code=code, token=token), 303)
        flash(gettext("Your appointment was moved. We have sent you the new time by email."),
              "success")
        return redirect(url_for("citizen.manage", code=code, token=token), 303)
    return render_template("citizen/move_confirm.html", appointment=appointment, token=token,
                           form=form, start_at=start_at,
                           end_at=start_at + (appointment.end_at - appointment.start_at),
                           lang=current_language()), 422 if form.errors else 200


@bp.get("/manage/<code>/<token>/confirm")
def confirm_hold(code: str, token: str):
    """The page the double opt-in's email links to. A GET changes nothing (mail scanners
    follow links): it shows the button that confirms (a POST)."""
    appointment = _appointment_or_404(code, token)
    return render_template("citizen/confirm.html", appointment=appointment, token=token,
                           form=ConfirmForm(), lang=current_language(),
                           lapsed=appointment.hold_lapsed(utcnow()))


@bp.post("/manage/<code>/<token>/confirm")
def confirm_hold_post(code: str, token: str):
    appointment = _appointment_or_404(code, token)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    was_held = appointment.is_held
    try:
        holds.confirm_hold(appointment, utcnow(), token)
    except holds.HoldLapsed:
        flash(gettext("The time to confirm this appointment is over, and the time may have "
                      "gone to someone else. Please book again."), "error")
        return redirect(url_for("citizen.confirm_hold", code=code, token=token), 303)
    if was_held:
        flash(gettext("Your appointment is booked. We have sent you a confirmation by "
                      "email."), "success")
    return redirect(url_for("citizen.manage", code=code, token=token), 303)
