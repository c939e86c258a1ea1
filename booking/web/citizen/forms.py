"""Citizen forms (Flask-WTF: CSRF on every form)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from booking.scheduling.visits import MAX_PERSONS_PER_LINE as MAX_PERSONS
from booking.web import validation
from booking.web.bot_check import bot_check_field

_using = validation.form_check


def _consent(form, field):
    if not field.data:
        raise ValidationError(_l("Please confirm that you have read the privacy notice."))


class BookingForm(FlaskForm):
    start = HiddenField()
    key = validation.submission_key_field()
    name = StringField(_l("Full name"), validators=[_using(validation.clean_name)],
                       render_kw={"autocomplete": "name", "maxlength": 200})
    email = EmailField(_l("Email address"), validators=[_using(validation.clean_email)],
                       render_kw={"autocomplete": "email", "maxlength": 254})
    phone = TelField(_l("Phone number (optional)"), validators=[_using(validation.clean_phone)],
                     render_kw={"autocomplete": "tel", "maxlength": 40})
    privacy = BooleanField(_l("I have read the privacy notice."), validators=[_consent])
    bot_check = bot_check_field()


class ConfirmForm(FlaskForm):
    """A button-only form (cancel, confirm a move): CSRF token and nothing else."""

    start = HiddenField()


class CheckboxesField(SelectMultipleField):
    """A group of checkboxes (rendered in a fieldset by the ``choices`` macro)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _at_least_one(message):
    def check(form, field):
        if not field.data:
            raise StopValidation(message)
    return check


WEEKDAY_CHOICES = [SelectChoice(str(number), name) for number, name in enumerate((
    _l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
    _l("Saturday"), _l("Sunday")), start=1)]
ANY, MORNING, AFTERNOON, CUSTOM = "any", "morning", "afternoon", "custom"


PERSONS_MESSAGE = _l("The number of persons must be a whole number from 1 to %(max)d.",
                     max=MAX_PERSONS)


class WishForm(FlaskForm):
    """A waitlist wish; the offices' choices are set by the view."""

    persons = IntegerField(_l("Persons who need the service"), default=1, validators=[
        Optional(), NumberRange(1, MAX_PERSONS, PERSONS_MESSAGE)],  # empty: one
        render_kw={"min": 1, "max": MAX_PERSONS, "inputmode": "numeric"})
    offices = CheckboxesField(_l("Offices you can go to"),
                          validators=[_at_least_one(_l("Please choose at least one office."))])
    weekdays = CheckboxesField(_l("Weekdays that suit you"), choices=WEEKDAY_CHOICES,
                           default=["1", "2", "3", "4", "5"],
                           validators=[_at_least_one(_l("Please choose at least one weekday."))])
    window = RadioField(_l("Time of day"), default=ANY, choices=[
        SelectChoice(ANY, _l("Any time")),
        SelectChoice(MORNING, _l("Mornings (before 12:00)")),
        SelectChoice(AFTERNOON, _l("Afternoons (from 12:00)")),
        SelectChoice(CUSTOM, _l("From … to …"))],
        validators=[InputRequired(_l("Please choose a time of day."))])
    from_time = TimeField(_l("From (only with “From … to …”)"), validators=[Optional()])
    to_time = TimeField(_l("To (only with “From … to …”)"), validators=[Optional()])
    until = DateField(_l("Until when you need the appointment"), validators=[
        InputRequired(_l("Please enter a date like 2026-12-01."))])
    name = StringField(_l("Full name"), validators=[_using(validation.clean_name)],
                       render_kw={"autocomplete": "name", "maxlength": 200})
    email = EmailField(_l("Email address"), validators=[_using(validation.clean_email)],
                       render_kw={"autocomplete": "email", "maxlength": 254})
    language = SelectField(_l("Language of our emails"),
                           choices=[SelectChoice("de", "Deutsch"),
                                    SelectChoice("en", "English")])
    privacy = BooleanField(_l("I have read the privacy notice."), validators=[_consent])
    bot_check = bot_check_field()

    def validate_from_time(self, field):
        if self.window.data == CUSTOM and field.data is None:
            raise ValidationError(_l("Please enter a time like 08:30."))

    def validate_to_time(self, field):
        if self.window.data == CUSTOM and field.data is None:
            raise ValidationError(_l("Please enter a time like 12:00."))


class MoveForm(ConfirmForm):
    """Confirming a move: the new start, and the check against automated bookings."""

    bot_check = bot_check_field()


TIME_CHOICES = [SelectChoice("morning", _l("Mornings (before 12:00)")),
                SelectChoice("afternoon", _l("Afternoons (from 12:00)"))]
# the next free appointment's filter (a plain GET form, see templates/citizen/service.html)
NEXT_FREE_WEEKDAYS = WEEKDAY_CHOICES[:6]  # Monday to Saturday
NEXT_FREE_TIMES = [SelectChoice("morning", _l("Mornings (before 12:00)")),
                   SelectChoice("afternoon", _l("Afternoons (12:00 to 16:00)")),
                   SelectChoice("evening", _l("Evenings (from 16:00)"))]
LANGUAGE_CHOICES = [SelectChoice("de", "Deutsch"), SelectChoice("en", "English")]


class LotteryEntryForm(FlaskForm):
    """Entering a lottery; the offices to choose from are set by the view."""

    name = StringField(_l("Full name"), validators=[_using(validation.clean_name)],
                       render_kw={"autocomplete": "name", "maxlength": 200})
    email = EmailField(_l("Email address"), validators=[_using(validation.clean_email)],
                       render_kw={"autocomplete": "email", "maxlength": 254})
    language = RadioField(_l("Language of our emails"), choices=LANGUAGE_CHOICES,
                          validators=[InputRequired(_l("Please choose a language."))])
    offices = CheckboxesField(_l("Offices you can go to"), validators=[
        DataRequired(_l("Please choose at least one office."))])
    weekdays = CheckboxesField(_l("Weekdays that suit you"), choices=WEEKDAY_CHOICES,
                               validators=[DataRequired(_l("Please choose at least one weekday."))])
    times = CheckboxesField(_l("Times of day that suit you"), choices=TIME_CHOICES,
                            validators=[DataRequired(_l("Please choose at least one time of day."))])
    privacy = BooleanField(_l("I have read the privacy notice."), validators=[_consent])
    bot_check = bot_check_field()
