"""Back-office forms. Choices that depend on the office are set by the views."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from booking.i18n import LANGUAGES
from booking.offices.operations import CANCEL, KEEP
from booking.web.validation import MAX_YEAR, MIN_YEAR, PHONE

STATES = [SelectChoice(code, name) for code, name in (
    ("BW", "Baden-Württemberg"), ("BY", "Bayern"), ("BE", "Berlin"), ("BB", "Brandenburg"),
    ("HB", "Bremen"), ("HH", "Hamburg"), ("HE", "Hessen"), ("MV", "Mecklenburg-Vorpommern"),
    ("NI", "Niedersachsen"), ("NW", "Nordrhein-Westfalen"), ("RP", "Rheinland-Pfalz"),
    ("SL", "Saarland"), ("SN", "Sachsen"), ("ST", "Sachsen-Anhalt"),
    ("SH", "Schleswig-Holstein"), ("TH", "Thüringen"),
)]
WEEKDAYS = [SelectChoice(str(number), name) for number, name in enumerate((
    _l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
    _l("Saturday"), _l("Sunday")), start=1)]
SLUG = r"^[a-z0-9][a-z0-9-]{1,39}$"
MINUTES_MAX = 60 * 24 * 30
WHOLE = _l("Please enter a whole number.")


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice (none checked is allowed unless required)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _integer(label, low: int, high: int, **kwargs) -> IntegerField:
    return IntegerField(label, validators=[
        InputRequired(_l("Please enter a whole number.")),
        NumberRange(low, high, _l("Please enter a number from %(min)s to %(max)s.")),
    ], **kwargs)


def _optional_integer(label, low: int, high: int) -> IntegerField:
    return IntegerField(label, invalid_value_message=WHOLE, validators=[
        Optional(), NumberRange(low, high, _l("Please enter a number from %(min)s to "
                                              "%(max)s, or leave the field empty."))])


def check_year(field) -> None:
    if field.data is not None and not MIN_YEAR <= field.data.year <= MAX_YEAR:
        raise ValidationError(_l("Please enter a date between the years %(low)s and %(high)s.",
                                 low=MIN_YEAR, high=MAX_YEAR))


def _check_finite(field) -> None:
    if field.data is not None and not field.data.is_finite():  # "NaN" cannot be compared
        raise StopValidation(_l("Please enter an amount from 0 to 100000."))


TEXT_MAX = 2000
STEP_FREE = [SelectChoice("", _l("Not stated")), SelectChoice("yes", _l("Yes")),
             SelectChoice("no", _l("No"))]


def _office_text(label) -> TextAreaField:
    return TextAreaField(label, validators=[Optional(), Length(
        max=TEXT_MAX, message=_l("Please use at most %(max)d characters."))])


def parse_coordinate(value: str | None, limit: int) -> float | None:
    """A latitude (``limit`` 90) or longitude (180) in decimal degrees, e.g. "50.1109"
    or "50,1109"; None for an empty field. ValueError for anything else."""
    text = ("" if value is None else str(value)).strip().replace(",", ".")
    if not text:
        return None
    number = float(text)  # ValueError for words; "nan", "inf" are caught below
    if not -limit <= number <= limit:  # False for NaN
        raise ValueError(text)
    return number


class YesNoField(SelectField):
    """Yes / no / not stated: the stored True, False or None shows as "yes", "no" or ""
    (also when a post leaves the field out)."""

    def process_data(self, value) -> None:
        self.data = value if isinstance(value, str) else {True: "yes", False: "no"}.get(value, "")


class OfficeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Please enter a name.")),
                                               Length(max=200)])
    address = StringField(_l("Address"), validators=[
        DataRequired(_l("Please enter the address.")), Length(max=300)])
    district = StringField(_l("District (optional)"), validators=[
        Optional(), Length(max=100)])
    email = EmailField(_l("Email address"), validators=[
        DataRequired(_l("Please enter an email address.")),
        Email(_l("Please enter a valid email address, e.g. name@example.org.")),
        Length(max=254)])
    phone = StringField(_l("Phone"), validators=[
        Optional(), Length(max=60),
        Regexp(PHONE, message=_l("Please enter a phone number with digits only, "
                                 "e.g. +49 69 1234567."))])
    state = SelectField(_l("Federal state (for public holidays)"), choices=STATES)
    slot_minutes = _integer(_l("Slot length (minutes)"), 5, 240)
    lead_time_minutes = _integer(_l("Lead time: earliest booking before the start (minutes)"),
                                 0, MINUTES_MAX)
    horizon_days = _integer(_l("Booking horizon (days ahead)"), 1, 366)
    cancel_deadline_minutes = _integer(
        _l("Cancellation deadline before the start (minutes)"), 0, MINUTES_MAX)
    feed_shows_names = BooleanField(_l("Staff calendar feeds show citizens' names"))
    services = MultiCheckboxField(_l("Services this office offers"))
    queue_window_minutes = _integer(
        _l("Checked-in appointments go first from this many minutes before their start"),
        0, 240, invalid_value_message=WHOLE)
    queue_recall_cooldown_seconds = _integer(
        _l("Seconds before a ticket can be called again"), 0, 600,
        invalid_value_message=WHOLE)
    queue_max_recalls = _integer(
        _l("Calls again before a no-show can be recorded"), 0, 10,
        invalid_value_message=WHOLE)
    queue_daily_limit = IntegerField(
        _l("Walk-in tickets per day (empty: no limit)"), invalid_value_message=WHOLE,
        validators=[
            Optional(), NumberRange(1, 100000, _l("Please enter a number from %(min)s to "
                                                  "%(max)s, or leave the field empty."))])
    max_active_per_email = _optional_integer(
        _l("Appointments per person and service (empty: no limit)"), 1, 100)
    opt_in_hold_minutes = _optional_integer(
        _l("Online bookings wait this many minutes for their confirmation by email "
           "(empty or 0: no confirmation asked)"), 0, 1440)
    release_delay_minutes = _optional_integer(
        _l("Times cancelled by citizens are offered again after (minutes)"), 0, 10080)
    release_time = TimeField(_l("… or at this time of day (empty: no fixed time)"),
                             validators=[Optional()])

    reminder_hours = _integer(
        _l("Reminder email this many hours before the appointment (0: none)"), 0, 168,
        invalid_value_message=WHOLE)
    # the public office page
    transport_de = _office_text(_l("How to get there by public transport (German)"))
    transport_en = _office_text(_l("How to get there by public transport (English)"))
    step_free = YesNoField(_l("Step-free access"), choices=STEP_FREE)
    accessibility_de = _office_text(_l("Accessibility facts (German)"))
    accessibility_en = _office_text(_l("Accessibility facts (English)"))
    latitude = StringField(_l("Latitude (decimal degrees)"))
    longitude = StringField(_l("Longitude (decimal degrees)"))

    def _check_coordinate(self, field, limit: int, other) -> None:
        try:
            value = parse_coordinate(field.data, limit)
        except ValueError:
            raise ValidationError(_l("Please enter a number from %(min)s to %(max)s, e.g. "
                                     "50.110924, or leave the field empty.",
                                     min=-limit, max=limit)) from None
        if value is None and ("" if other.data is None else str(other.data)).strip():
            raise ValidationError(_l("Please enter both latitude and longitude, or neither."))

    def validate_latitude(self, field) -> None:
        self._check_coordinate(field, 90, self.longitude)

    def validate_longitude(self, field) -> None:
        self._check_coordinate(field, 180, self.latitude)
    waitlist_hold_minutes = _integer(
        _l("Waitlist: an offered appointment is kept this many minutes"), 5, 1440,
        invalid_value_message=WHOLE)
    # one appointment for several services and persons (a family)
    max_persons = _integer(_l("Persons per appointment at most"), 1, 20,
                           invalid_value_message=WHOLE)
    max_services = _integer(_l("Services per appointment at most"), 1, 10,
                            invalid_value_message=WHOLE)
    combinable = MultiCheckboxField(  # of those offered; others checked change nothing
        _l("Services that may share an appointment with others"))

    def values(self) -> dict:
        return {
            "name": self.name.data.strip(), "address": self.address.data.strip(),
            "district": (self.district.data or "").strip() or None,
            "email": self.email.data.strip(), "phone": (self.phone.data or "").strip() or None,
            "state": self.state.data, "slot_minutes": self.slot_minutes.data,
            "lead_time_minutes": self.lead_time_minutes.data,
            "horizon_days": self.horizon_days.data,
            "cancel_deadline_minutes": self.cancel_deadline_minutes.data,
            "feed_shows_names": bool(self.feed_shows_names.data),
            "queue_window_minutes": self.queue_window_minutes.data,
            "queue_recall_cooldown_seconds": self.queue_recall_cooldown_seconds.data,
            "queue_max_recalls": self.queue_max_recalls.data,
            "queue_daily_limit": self.queue_daily_limit.data,
            "reminder_hours": self.reminder_hours.data,
            "waitlist_hold_minutes": self.waitlist_hold_minutes.data,
            "max_persons": self.max_persons.data, "max_services": self.max_services.data,
            "max_active_per_email": self.max_active_per_email.data,
            "opt_in_hold_minutes": self.opt_in_hold_minutes.data,
            "release_delay_minutes": self.release_delay_minutes.data,
            "release_time": self.release_time.data,
            **{k: (getattr(self, k).data or "").strip() for k in (
                "transport_de", "transport_en", "accessibility_de", "accessibility_en")},
            "step_free": {"yes": True, "no": False}.get(self.step_free.data),
            "latitude": parse_coordinate(self.latitude.data, 90),
            "longitude": parse_coordinate(self.longitude.data, 180),
        }


class NewOfficeForm(OfficeForm):
    office_id = StringField(_l("Short name in addresses (a-z, 0-9, -)"), validators=[
        DataRequired(_l("Please enter a short name.")),
        Regexp(SLUG, message=_l("Use 2 to 40 lowercase letters, digits or hyphens."))])


class ServiceForm(FlaskForm):
    name_de = StringField(_l("Name (German)"), validators=[
        DataRequired(_l("Please enter a name.")), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[
        DataRequired(_l("Please enter a name.")), Length(max=200)])
    description_de = TextAreaField(_l("Description (German)"), validators=[Optional()])
    description_en = TextAreaField(_l("Description (English)"), validators=[Optional()])
    bring_de = TextAreaField(_l("What to bring (German)"), validators=[Optional()])
    bring_en = TextAreaField(_l("What to bring (English)"), validators=[Optional()])
    fee = DecimalField(_l("Fee in euros (empty: none stated)"), places=2, validators=[
        Optional(), lambda form, field: _check_finite(field),
        NumberRange(Decimal(0), Decimal(100000),
                                _l("Please enter an amount from 0 to 100000."))])
    duration_minutes = _integer(_l("Duration (minutes)"), 5, 480)
    further_person_minutes = _optional_integer(
        _l("Time per further person (minutes)"), 0, 480)
    queue_prefix = StringField(_l("Queue prefix letter (A–Z)"), validators=[
        DataRequired(_l("Please enter a letter.")),
        Regexp(r"^[A-Z]$", message=_l("Please enter one capital letter from A to Z."))])
    position = IntegerField(_l("Position in lists"), default=0, validators=[
        Optional(), NumberRange(0, 10000, _l("Please enter a number from %(min)s to %(max)s."))])

    def values(self) -> dict:
        fee = self.fee.data
        return {
            "position": self.position.data or 0,
            **{k: (getattr(self, k).data or "").strip() for k in (
                "name_de", "name_en", "description_de", "description_en", "bring_de",
                "bring_en")},
            "fee_cents": None if fee is None else int((fee * 100).to_integral_value()),
            "duration_minutes": self.duration_minutes.data,
            "further_person_minutes": self.further_person_minutes.data,
            "queue_prefix": self.queue_prefix.data,
        }


class NewServiceForm(ServiceForm):
    service_id = StringField(_l("Short name in addresses (a-z, 0-9, -)"), validators=[
        DataRequired(_l("Please enter a short name.")),
        Regexp(SLUG, message=_l("Use 2 to 40 lowercase letters, digits or hyphens."))])

    def validate_service_id(self, field):
        if field.data == "new":  # /admin/services/new is the form for a new service
            raise ValidationError(_l("This short name is reserved."))


class CounterForm(FlaskForm):
    name = StringField(_l("Number or label"), validators=[
        DataRequired(_l("Please enter a number or label.")), Length(max=60)])
    services = MultiCheckboxField(_l("Services handled at this counter"))

    def validate_name(self, field):
        """Only the label: every screen adds the word itself ("Schalter 3" / "Counter 3"),
        so a name starting with that word (in any language) would show it twice."""
        words = (field.data or "").split()
        if words and words[0].casefold() in counter_words():
            raise ValidationError(gettext(
                "Enter the number or label only, for example 3: every screen adds the word "
                "“%(word)s” itself.", word=gettext("Counter")))


def counter_words() -> set[str]:
    """The word for "counter" in every language of the app, in lower case."""
    words = set()
    for language in LANGUAGES:
        with force_locale(language):
            words.add(gettext("Counter").casefold())
    return words


class DecisionMixin:
    """Stranded or affected appointments: what to do with exactly the ones shown."""

    decision = RadioField(_l("What should happen to these appointments?"), choices=[
        SelectChoice(KEEP, _l("Keep them: they stay as booked")),
        SelectChoice(CANCEL, _l("Cancel them and notify the citizens")),
    ], validators=[Optional()])
    seen = HiddenField()
    detail = StringField(_l("Explanation for the citizens (optional, added to the email)"),
                         validators=[Optional(), Length(max=150)])


class RuleForm(DecisionMixin, FlaskForm):
    weekdays = MultiCheckboxField(_l("Weekdays"), choices=WEEKDAYS, validators=[
        DataRequired(_l("Please choose at least one weekday."))])
    start_time = TimeField(_l("From"), validators=[InputRequired(_l("Please enter a time."))])
    end_time = TimeField(_l("Until"), validators=[InputRequired(_l("Please enter a time."))])
    valid_from = DateField(_l("Valid from"), validators=[
        InputRequired(_l("Please enter a date."))])
    valid_until = DateField(_l("Valid until (empty: no end)"), validators=[Optional()])
    capacity = _integer(_l("Capacity (appointments at the same time)"), 1, 100)
    services = MultiCheckboxField(_l("Services (none checked: all services of the office)"))

    def validate_end_time(self, field):
        if self.start_time.data and field.data and field.data <= self.start_time.data:
            raise ValidationError(_l("The end must be after the start."))

    def validate_valid_from(self, field):
        check_year(field)

    def validate_valid_until(self, field):
        check_year(field)
        if self.valid_from.data and field.data and field.data < self.valid_from.data:
            raise ValidationError(_l("The end of validity must not be before its start."))


class RuleDeleteForm(DecisionMixin, FlaskForm):
    pass


class ClosureForm(FlaskForm):
    counter = SelectField(_l("What closes"))
    first_day = DateField(_l("Day"), validators=[InputRequired(_l("Please enter a date."))])
    last_day = DateField(_l("Last day (empty: only this day)"), validators=[Optional()])
    start_time = TimeField(_l("From (empty: start of the day)"), validators=[Optional()])
    end_time = TimeField(_l("Until (empty: end of the day)"), validators=[Optional()])
    reason = StringField(_l("Reason (shown to the citizens)"), validators=[
        DataRequired(_l("Please enter a reason.")), Length(max=200)])
    seen = HiddenField()

    def validate_first_day(self, field):
        check_year(field)

    def validate_last_day(self, field):
        check_year(field)
        if self.first_day.data and field.data and field.data < self.first_day.data:
            raise ValidationError(_l("The last day must not be before the first."))


def parse_ids(value: str | None) -> frozenset[int] | None:
    """The ids in a hidden ``seen`` field (None if the list was never shown)."""
    if value is None or value == "":
        return None
    if value == "-":
        return frozenset()
    try:
        return frozenset(int(part) for part in value.split(","))
    except ValueError:
        return None


def format_ids(appointments) -> str:
    return ",".join(str(a.id) for a in appointments) or "-"
