"""Citizen forms (Flask-WTF: CSRF on every form)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, StringField, TelField
from wtforms.validators import ValidationError

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


class MoveForm(ConfirmForm):
    """Confirming a move: the new start, and the check against automated bookings."""

    bot_check = bot_check_field()
