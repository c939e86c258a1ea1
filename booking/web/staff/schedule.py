"""Staff back office: the day schedule, appointment actions, moves and phone bookings.

Thin views: parse the form, check the office, call one operation from
``booking.scheduling.staff_operations``, render. Domain errors become a 409 with a
message on the page they came from; invalid input is shown at its field with a 422.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice

from booking.db import utcnow
from booking.i18n import current_language
from booking.offices.models import Office
from booking.scheduling import operations, queries
from booking.scheduling import staff_operations as staff_ops
from booking.scheduling.errors import KeyReused, SchedulingError, ServiceNotOffered
from booking.scheduling.idempotency import new_key
from booking.scheduling.models import CONFIRMED
from booking.web import visit_form
from booking.web.auth import office_for, require_role, staff_user
from booking.web.staff import bp
from booking.web.staff.forms import ActionForm, DayForm, MoveForm, PhoneBookingForm, ScheduleFilter, SlotQuery
from booking.web.staff.presenters import appointment_or_404, day_links, message, row_of, today


def _render_schedule(office: Office, form: ScheduleFilter, *, error: str | None = None,
                     status: int = 200):
    now = utcnow()
    valid = form.validate()
    if not valid and status == 200:
        status = 422
    day = (form.date.day if valid else None) or today(office)
    query = (form.q.data or "").strip() if valid else ""
    counter = form.counter_obj if valid else None
    appointments = (staff_ops.search_appointments(office, query) if query
                    else queries.get_day_appointments(office, day))
    # a lapsed hold (never confirmed by email) is no appointment: left out; a live one
    # shows as awaiting confirmation, without actions
    appointments = [a for a in appointments if not a.hold_lapsed(now)]
    if counter is not None:
        service_ids = {s.id for s in counter.services}
        appointments = [a for a in appointments if a.service_id in service_ids]
    lang = current_language()
    keep = {"counter": counter.id} if counter else {}
    back = {**keep, **({"q": query} if query else {"date": day.isoformat()})}
    context = {
        "office": office, "form": form, "day": day, "query": query, "counter": counter,
        "rows": [row_of(a, now, lang) for a in appointments], "error": error, "back": back,
        **day_links("staff.schedule", day, office_id=office.id, **keep),
        "today_url": url_for("staff.schedule", office_id=office.id, **keep),
        "print_url": url_for("staff.schedule", office_id=office.id, print=1, **back),
    }
    template = "staff/schedule_print.html" if request.args.get("print") else "staff/schedule.html"
    return render_template(template, **context), status


@bp.get("/staff/offices/<office_id>/schedule")
@require_role("clerk")
def schedule(office_id: str):
    office = office_for(staff_user(), office_id)
    return _render_schedule(office, ScheduleFilter(office, formdata=request.args))


def _appointment_action(office_id: str, appointment_id: int, operation, success: str):
    user = staff_user()
    office = office_for(user, office_id)
    appointment = appointment_or_404(office, appointment_id)
    form = ActionForm()
    valid = form.validate_on_submit()  # a wrong CSRF token never gets here (CSRFProtect)
    back = form.back() or {
        "date": appointment.start_at.astimezone(office.tz).date().isoformat()}
    if not valid:
        errors = [e for field in form for e in field.errors]
        return _render_schedule(office, ScheduleFilter(office, formdata=MultiDict(back)),
                                error=errors[0] if errors else None, status=422)
    try:
        operation(appointment, user, utcnow(), form)
    except SchedulingError as exc:
        return _render_schedule(office, ScheduleFilter(office, formdata=MultiDict(back)),
                                error=message(exc, appointment), status=409)
    flash(success, "success")
    if request.args.get("from") == "appointment":
        return redirect(url_for("staff.appointment", office_id=office.id,
                                appointment_id=appointment.id), 303)
    return redirect(url_for("staff.schedule", office_id=office.id, **back), 303)


@bp.post("/staff/offices/<office_id>/appointments/<int:appointment_id>/arrived")
@require_role("clerk")
def mark_arrived(office_id: str, appointment_id: int):
    return _appointment_action(
        office_id, appointment_id,
        lambda appointment, user, now, form: staff_ops.mark_arrived(appointment, user, now),
        gettext("Marked as arrived."))


@bp.post("/staff/offices/<office_id>/appointments/<int:appointment_id>/no-show")
@require_role("clerk")
def mark_no_show(office_id: str, appointment_id: int):
    return _appointment_action(
        office_id, appointment_id,
        lambda appointment, user, now, form: staff_ops.mark_no_show(appointment, user, now),
        gettext("Marked as no-show."))


@bp.post("/staff/offices/<office_id>/appointments/<int:appointment_id>/cancel")
@require_role("clerk")
def cancel(office_id: str, appointment_id: int):
    return _appointment_action(
        office_id, appointment_id,
        lambda appointment, user, now, form: staff_ops.cancel_by_staff(
            appointment, user, now, reason=" ".join((form.reason.data or "").split()) or None),
        gettext("The appointment is cancelled."))


@bp.get("/staff/offices/<office_id>/appointments/<int:appointment_id>")
@require_role("clerk")
def appointment(office_id: str, appointment_id: int):
    office = office_for(staff_user(), office_id)
    appointment = appointment_or_404(office, appointment_id)
    row = row_of(appointment, utcnow(), current_language())
    return render_template(
        "staff/appointment.html", office=office, appointment=appointment, row=row,
        new=request.args.get("new") == "1", code_spoken=" ".join(row.code),
        back={"date": row.day.isoformat()},
    )


# ---------------------------------------------------------------- move and phone channel


def _time_choices(office: Office, lines, day: date, current: datetime | None = None
                  ) -> list[SelectChoice]:
    """The free starts of ``day`` for the visit's ``lines`` as choices (value: ISO with
    the local offset); ``current``: a booked appointment's start (a move keeps its lines)."""
    tz = office.tz
    try:
        free = operations.list_free_slots(office, lines, utcnow(), day, day, by_staff=True,
                                          booked=current is not None)
    except ServiceNotOffered:
        return []
    return [SelectChoice(s.start_at.astimezone(tz).isoformat(),
                         s.start_at.astimezone(tz).strftime("%H:%M"))
            for s in free if s.start_at != current]


@bp.route("/staff/offices/<office_id>/appointments/<int:appointment_id>/move",
          methods=["GET", "POST"])
@require_role("clerk")
def move(office_id: str, appointment_id: int):
    user = staff_user()
    office = office_for(user, office_id)
    appointment = appointment_or_404(office, appointment_id)
    form = MoveForm()
    if request.method == "POST":
        day_form = DayForm(formdata=MultiDict({"date": form.day.data or ""}))
    else:
        day_form = DayForm(formdata=request.args)
    status = 200 if day_form.validate() else 422
    day = day_form.date.day or max(appointment.start_at.astimezone(office.tz).date(),
                                   today(office))
    error = None
    movable = appointment.status == CONFIRMED
    if not movable:
        status, error = 409, message(staff_ops.InvalidTransition(), appointment)
    elif form.validate_on_submit():
        try:
            staff_ops.move_by_staff(appointment, form.slot.start_at, user, utcnow())
        except SchedulingError as exc:
            status, error = 409, message(exc, appointment)
            form.slot.data = None
        else:
            flash(gettext("The appointment was moved."), "success")
            return redirect(url_for("staff.appointment", office_id=office.id,
                                    appointment_id=appointment.id), 303)
    elif request.method == "POST":
        status = 422
    form.day.data = day.isoformat()
    if not day_form.date.errors:
        day_form.date.data = form.day.data
    form.slot.choices = (_time_choices(office, appointment.lines, day, appointment.start_at)
                         if movable else [])
    return render_template(
        "staff/move.html", office=office, appointment=appointment, form=form, movable=movable,
        day_form=day_form, day=day, error=error, row=row_of(appointment, utcnow(), current_language()),
        **day_links("staff.move", day, office_id=office.id, appointment_id=appointment.id),
    ), status


@bp.route("/staff/offices/<office_id>/book", methods=["GET", "POST"])
@require_role("clerk")
def phone_booking(office_id: str):
    """Step one (GET): service, day, and the visit's persons and further services
    (booking.web.visit_form); step two (POST): a free time for the whole visit and the
    caller's details."""
    user = staff_user()
    office = office_for(user, office_id)
    error = None
    if request.method == "POST":
        query = form = PhoneBookingForm(office)
        status = 200 if form.validate_on_submit() else 422
    else:
        query, form = SlotQuery(office, formdata=request.args), PhoneBookingForm(office)
        status = 200 if query.validate() else 422
    service = None
    if not query.service.errors:
        service = next((s for s in office.services if s.id == query.service.data),
                       office.services[0] if office.services else None)
    visit = visit_form.visit_from(office, service, request.values) if service else None
    if visit is not None and visit.error:
        status = 422
    if request.method == "POST" and status == 200:
        citizen = operations.Citizen(form.name.data, form.email.data, form.phone.data,
                                     form.language.data)
        try:
            appointment = staff_ops.book_for_caller(office, visit.lines, form.slot.start_at,
                                                    citizen, user, utcnow(), key=form.key.data)
        except KeyReused as exc:
            status, error = 422, message(exc)
            form.key.data = new_key()
        except SchedulingError as exc:
            status, error = 409, message(exc)
            form.slot.data = None
        else:
            flash(gettext("The appointment is booked."), "success")
            return redirect(url_for("staff.appointment", office_id=office.id,
                                    appointment_id=appointment.id, new=1), 303)
    day = (None if query.day.errors else query.day.day) or today(office)
    form.service.data = query.service.data = service.id if service else ""
    form.day.data = query.day.data = day.isoformat()
    form.slot.choices = (_time_choices(office, visit.lines, day)
                         if visit is not None and not visit.error else [])
    return render_template("staff/phone_booking.html", office=office, query=query, form=form,
                           service=service, visit=visit, day=day, error=error), status
