"""Staff back office: the day schedule, appointment actions, moves and phone bookings.

Thin views: parse the form, check the office, call one operation from
``booking.scheduling.staff_operations``, render. Domain errors become a 409 with a
message on the page they came from; invalid input is shown at its field with a 422.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (
    EmailField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
)
from wtforms.validators import Length, ValidationError
from wtforms.widgets import DateInput

from booking.db import utcnow
from booking.offices.models import Office
from booking.scheduling import operations
from booking.scheduling import staff_operations as staff_ops
from booking.scheduling.codes import format_code
from booking.scheduling.errors import (
    AppointmentCancelled,
    DeadlinePassed,
    SchedulingError,
    ServiceNotOffered,
    SlotTaken,
)
from booking.scheduling.models import ARRIVED, CANCELLED, CONFIRMED, NO_SHOW, ONLINE, PHONE
from booking.web import validation
from booking.web.auth import office_for, require_role, staff_user
from booking.web.staff import bp

# ---------------------------------------------------------------- forms


class DayField(StringField):
    """A date as typed into ``<input type=date>`` (YYYY-MM-DD); ``field.day`` after validation."""

    widget = DateInput()
    day: date | None = None

    def pre_validate(self, form):
        self.day = None
        if self.data:
            try:
                self.day = validation.parse_day(self.data.strip(), self.name)
            except ValueError:
                raise ValidationError(gettext("Please enter a date like 2026-12-01.")) from None


_using = validation.form_check


def _optional_email(form, field):
    if field.data and field.data.strip():
        _using(validation.clean_email)(form, field)
    else:
        field.data = None


def _chosen(form, field):
    if not field.data:
        raise ValidationError(gettext("Please choose a time."))
    try:
        field.start_at = validation.parse_start(field.data)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class ScheduleFilter(FlaskForm):
    """The GET form above the schedule (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    date = DayField(_l("Date"))
    counter = SelectField(_l("Counter"), validate_choice=False)
    q = StringField(_l("Booking code or name"), validators=[
        Length(max=100, message=_l("Please enter at most 100 characters."))])

    def __init__(self, office: Office, **kwargs):
        super().__init__(**kwargs)
        self.office = office
        self.counter_obj = None
        self.counter.choices = [SelectChoice("", gettext("All counters"))] + [
            SelectChoice(str(c.id), c.name) for c in office.counters]

    def validate_q(self, field):
        if field.data and any(unicodedata.category(ch).startswith("C") for ch in field.data):
            raise ValidationError(gettext("Please enter a booking code or a name."))

    def validate_counter(self, field):
        if not field.data:
            return
        if not (field.data.isascii() and field.data.isdigit() and len(field.data) <= 9) or (
                counter := staff_ops.get_counter(self.office, int(field.data))) is None:
            raise ValidationError(gettext("Please choose one of the counters."))
        self.counter_obj = counter


class ActionForm(FlaskForm):
    """A row action: CSRF, the schedule view to go back to, and for a cancellation an
    optional reason for the citizen."""

    date = HiddenField()
    counter = HiddenField()
    q = HiddenField()
    reason = StringField(_l("Reason for the citizen (optional, shown in the email)"),
                         validators=[Length(max=300, message=_l(
                             "The reason may have at most 300 characters."))])

    def back(self) -> dict:
        return {k: v for k in ("date", "counter", "q") if (v := (self[k].data or "").strip())}


class DayForm(FlaskForm):
    class Meta:
        csrf = False

    date = DayField(_l("Day"))


class MoveForm(FlaskForm):
    day = HiddenField()
    slot = RadioField(_l("New time"), validate_choice=False, validators=[_chosen])


class _ServiceDay(FlaskForm):
    """Which service, which day: the office's services are the choices."""

    service = SelectField(_l("Service"), validate_choice=False)
    day = DayField(_l("Day"))
    service_required = False

    def __init__(self, office: Office, **kwargs):
        super().__init__(**kwargs)
        self.office = office
        lang = _lang()
        self.service.choices = [SelectChoice(s.id, s.text("name", lang)) for s in office.services]

    def validate_service(self, field):
        if not field.data and not self.service_required:
            return
        if field.data not in {s.id for s in self.office.services}:
            raise ValidationError(gettext("Please choose one of the services."))


class SlotQuery(_ServiceDay):
    """Step one of a phone booking (GET): which service, which day."""

    class Meta:
        csrf = False


class PhoneBookingForm(_ServiceDay):
    """Step two (POST): service and day from step one, a free time, the caller's details."""

    service_required = True
    slot = RadioField(_l("Time"), validate_choice=False, validators=[_chosen])
    name = StringField(_l("Caller's full name"), validators=[
        _using(validation.clean_name, _l("Please enter the caller's name."))],
        render_kw={"maxlength": 200, "autocomplete": "off"})
    email = EmailField(_l("Email address (optional)"), validators=[_optional_email],
                       render_kw={"maxlength": 254, "autocomplete": "off"})
    phone = TelField(_l("Phone number (optional)"), validators=[_using(validation.clean_phone)],
                     render_kw={"maxlength": 40, "autocomplete": "off"})
    language = SelectField(_l("Language of the confirmation"), validate_choice=False,
                           choices=[SelectChoice("de", "Deutsch"), SelectChoice("en", "English")],
                           validators=[_using(validation.clean_language)])


# ---------------------------------------------------------------- prepared values


def _lang() -> str:
    return str(get_locale() or "de")


def _status_label(status: str) -> str:
    return {CONFIRMED: gettext("Confirmed"), CANCELLED: gettext("Cancelled"),
            ARRIVED: gettext("Arrived"), NO_SHOW: gettext("No-show")}.get(status, status)


def _channel_label(channel: str) -> str:
    return {ONLINE: gettext("Online"), PHONE: gettext("Phone")}.get(channel, channel)


def _message(exc: Exception, appointment=None) -> str:
    if isinstance(exc, staff_ops.NotYetStarted):
        return gettext("A no-show can only be recorded once the start time has passed.")
    if isinstance(exc, staff_ops.InvalidTransition | AppointmentCancelled):
        status = _status_label(appointment.status) if appointment else ""
        return gettext("Only confirmed appointments can be changed. This one is: %(status)s.",
                       status=status)
    if isinstance(exc, SlotTaken):
        return gettext("This time was just booked by someone else. Please choose another time.")
    if isinstance(exc, DeadlinePassed):
        return gettext("The appointment starts too soon to be moved. "
                       "Cancel it and book a new one instead.")
    if isinstance(exc, ServiceNotOffered):
        return gettext("This office does not offer this service.")
    return gettext("This time can't be booked. Please choose another time.")


@dataclass(frozen=True)
class Row:
    id: int
    day: date
    time: str
    code: str
    service: str
    name: str
    channel: str
    status: str
    status_key: str
    can_arrive: bool
    can_no_show: bool
    can_change: bool


def _row(appointment, now: datetime, lang: str) -> Row:
    tz = appointment.office.tz
    start, end = appointment.start_at.astimezone(tz), appointment.end_at.astimezone(tz)
    return Row(
        id=appointment.id, day=start.date(), time=f"{start:%H:%M}–{end:%H:%M}",
        code=format_code(appointment.code), service=appointment.service.text("name", lang),
        name=appointment.name, channel=_channel_label(appointment.channel),
        status=_status_label(appointment.status), status_key=appointment.status,
        can_arrive=staff_ops.can_mark_arrived(appointment),
        can_no_show=staff_ops.can_mark_no_show(appointment, now),
        can_change=appointment.status == CONFIRMED,
    )


def _today(office: Office) -> date:
    return utcnow().astimezone(office.tz).date()


def _appointment_or_404(office: Office, appointment_id: int):
    lock = request.method == "POST"
    return staff_ops.get_office_appointment(office, appointment_id, lock=lock) or abort(404)


# ---------------------------------------------------------------- day schedule


def _render_schedule(office: Office, form: ScheduleFilter, *, error: str | None = None,
                     status: int = 200):
    now = utcnow()
    valid = form.validate()
    if not valid and status == 200:
        status = 422
    day = (form.date.day if valid else None) or _today(office)
    query = (form.q.data or "").strip() if valid else ""
    counter = form.counter_obj if valid else None
    appointments = (staff_ops.search_appointments(office, query) if query
                    else operations.get_day_appointments(office, day))
    if counter is not None:
        service_ids = {s.id for s in counter.services}
        appointments = [a for a in appointments if a.service_id in service_ids]
    lang = _lang()
    keep = {"counter": counter.id} if counter else {}
    back = {**keep, **({"q": query} if query else {"date": day.isoformat()})}
    context = {
        "office": office, "form": form, "day": day, "query": query, "counter": counter,
        "rows": [_row(a, now, lang) for a in appointments], "error": error, "back": back,
        "prev_url": url_for("staff.schedule", office_id=office.id,
                            date=(day - timedelta(days=1)).isoformat(), **keep),
        "next_url": url_for("staff.schedule", office_id=office.id,
                            date=(day + timedelta(days=1)).isoformat(), **keep),
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
    appointment = _appointment_or_404(office, appointment_id)
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
                                error=_message(exc, appointment), status=409)
    flash(success, "success")
    if request.args.get("from") == "appointment":
        return redirect(url_for("staff.appointment", office_id=office.id,
                                appointment_id=appointment.id), 303)
    return redirect(url_for("staff.schedule", office_id=office.id, **back), 303)


@bp.post("/staff/offices/<office_id>/appointments/<int(max=2147483647):appointment_id>/arrived")
@require_role("clerk")
def mark_arrived(office_id: str, appointment_id: int):
    return _appointment_action(
        office_id, appointment_id,
        lambda appointment, user, now, form: staff_ops.mark_arrived(appointment, user, now),
        gettext("Marked as arrived."))


@bp.post("/staff/offices/<office_id>/appointments/<int(max=2147483647):appointment_id>/no-show")
@require_role("clerk")
def mark_no_show(office_id: str, appointment_id: int):
    return _appointment_action(
        office_id, appointment_id,
        lambda appointment, user, now, form: staff_ops.mark_no_show(appointment, user, now),
        gettext("Marked as no-show."))


@bp.post("/staff/offices/<office_id>/appointments/<int(max=2147483647):appointment_id>/cancel")
@require_role("clerk")
def cancel(office_id: str, appointment_id: int):
    return _appointment_action(
        office_id, appointment_id,
        lambda appointment, user, now, form: staff_ops.cancel_by_staff(
            appointment, user, now, reason=" ".join((form.reason.data or "").split()) or None),
        gettext("The appointment is cancelled."))


@bp.get("/staff/offices/<office_id>/appointments/<int(max=2147483647):appointment_id>")
@require_role("clerk")
def appointment(office_id: str, appointment_id: int):
    office = office_for(staff_user(), office_id)
    appointment = _appointment_or_404(office, appointment_id)
    row = _row(appointment, utcnow(), _lang())
    return render_template(
        "staff/appointment.html", office=office, appointment=appointment, row=row,
        new=request.args.get("new") == "1", code_spoken=" ".join(row.code),
        back={"date": row.day.isoformat()},
    )


# ---------------------------------------------------------------- move


def _time_choices(office: Office, service, day: date,
                  current: datetime | None = None) -> list[SelectChoice]:
    """The free starts of ``day`` as choices (value: ISO with the local offset)."""
    tz = office.tz
    try:
        free = operations.list_free_slots(office, service, utcnow(), day, day, by_staff=True)
    except ServiceNotOffered:
        return []
    return [SelectChoice(s.start_at.astimezone(tz).isoformat(),
                         s.start_at.astimezone(tz).strftime("%H:%M"))
            for s in free if s.start_at != current]


@bp.route("/staff/offices/<office_id>/appointments/<int(max=2147483647):appointment_id>/move",
          methods=["GET", "POST"])
@require_role("clerk")
def move(office_id: str, appointment_id: int):
    user = staff_user()
    office = office_for(user, office_id)
    appointment = _appointment_or_404(office, appointment_id)
    form = MoveForm()
    if request.method == "POST":
        day_form = DayForm(formdata=MultiDict({"date": form.day.data or ""}))
    else:
        day_form = DayForm(formdata=request.args)
    status = 200 if day_form.validate() else 422
    day = day_form.date.day or max(appointment.start_at.astimezone(office.tz).date(),
                                   _today(office))
    error = None
    movable = appointment.status == CONFIRMED
    if not movable:
        status, error = 409, _message(staff_ops.InvalidTransition(), appointment)
    elif form.validate_on_submit():
        try:
            staff_ops.move_by_staff(appointment, form.slot.start_at, user, utcnow())
        except SchedulingError as exc:
            status, error = 409, _message(exc, appointment)
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
    form.slot.choices = (_time_choices(office, appointment.service, day, appointment.start_at)
                         if movable else [])
    return render_template(
        "staff/move.html", office=office, appointment=appointment, form=form, movable=movable,
        day_form=day_form, day=day, error=error, row=_row(appointment, utcnow(), _lang()),
        prev_url=url_for("staff.move", office_id=office.id, appointment_id=appointment.id,
                         date=(day - timedelta(days=1)).isoformat()),
        next_url=url_for("staff.move", office_id=office.id, appointment_id=appointment.id,
                         date=(day + timedelta(days=1)).isoformat()),
    ), status


# ---------------------------------------------------------------- phone channel


@bp.route("/staff/offices/<office_id>/book", methods=["GET", "POST"])
@require_role("clerk")
def phone_booking(office_id: str):
    user = staff_user()
    office = office_for(user, office_id)
    error = None
    if request.method == "POST":
        query = form = PhoneBookingForm(office)
        status = 200 if form.validate_on_submit() else 422
        if status == 200:
            service = next(s for s in office.services if s.id == form.service.data)
            citizen = operations.Citizen(form.name.data, form.email.data, form.phone.data,
                                         form.language.data)
            try:
                appointment = staff_ops.book_for_caller(office, service, form.slot.start_at,
                                                        citizen, user, utcnow())
            except SchedulingError as exc:
                status, error = 409, _message(exc)
                form.slot.data = None
            else:
                flash(gettext("The appointment is booked."), "success")
                return redirect(url_for("staff.appointment", office_id=office.id,
                                        appointment_id=appointment.id, new=1), 303)
    else:
        query, form = SlotQuery(office, formdata=request.args), PhoneBookingForm(office)
        status = 200 if query.validate() else 422
    service = None
    if not query.service.errors:
        service = next((s for s in office.services if s.id == query.service.data),
                       office.services[0] if office.services else None)
    day = (None if query.day.errors else query.day.day) or _today(office)
    form.service.data = query.service.data = service.id if service else ""
    form.day.data = query.day.data = day.isoformat()
    form.slot.choices = _time_choices(office, service, day) if service else []
    return render_template("staff/phone_booking.html", office=office, query=query, form=form,
                           service=service, day=day, error=error), status
