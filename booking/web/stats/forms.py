"""The filters of the statistics page (a GET form: the URL carries them to exports)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField
from wtforms.validators import InputRequired, Optional, ValidationError

from booking.statistics.period import MAX_DAYS
from booking.statistics.sql import DAY, MONTH, WEEK


class FilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing

    first = DateField(_l("From"), validators=[InputRequired(_l("Enter the first day."))])
    last = DateField(_l("Until"), validators=[InputRequired(_l("Enter the last day."))])
    granularity = SelectField(_l("Per"), choices=[SelectChoice(DAY, _l("day")),
                                                  SelectChoice(WEEK, _l("week")),
                                                  SelectChoice(MONTH, _l("month"))],
                              default=DAY)
    service = SelectField(_l("Service"), choices=[], default="")
    day = DateField(_l("Day shown by hour"), validators=[Optional()])

    def validate_last(self, field):
        if self.first.data and field.data:
            if field.data < self.first.data:
                raise ValidationError(_l("The last day cannot lie before the first."))
            if (field.data - self.first.data).days >= MAX_DAYS:
                raise ValidationError(_l("Choose at most two years."))

    def validate_day(self, field):
        if field.data and self.first.data and self.last.data and not (
                self.first.data <= field.data <= self.last.data):
            raise ValidationError(_l("Choose a day within the period."))
