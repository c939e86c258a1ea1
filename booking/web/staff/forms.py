"""Staff forms: login, password, the day schedule, moves and phone bookings."""

from __future__ import annotations

import unicodedata
from datetime import date

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
)
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError
from wtforms.widgets import DateInput

from booking.i18n import current_language
from booking.offices.models import Office
from booking.scheduling import staff_operations as staff_ops
from booking.web import validation
from booking.web.queue_presenters import counter_title


class LoginForm(FlaskForm):
    next = HiddenField()
    # bounded like the users' column, before the address reaches the login throttle's table
    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(
        max=254, message=_l("The email address may have at most %(max)d characters."))],
                       render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("New password (at least 12 characters)"),
                        validators=[DataRequired(), Length(min=12, max=200)],
                        render_kw={"autocomplete": "new-password"})
    repeat = PasswordField(_l("Repeat the new password"),
                           validators=[DataRequired(), EqualTo("new", _l("The passwords differ."))],
                           render_kw={"autocomplete": "new-password"})


class ButtonForm(FlaskForm):
    """A form that is only a button: the CSRF token."""


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
            SelectChoice(str(c.id), counter_title(c.name)) for c in office.counters]

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
        lang = current_language()
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
    key = validation.submission_key_field()
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
