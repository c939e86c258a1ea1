"""The status page's one form: an email when three people are ahead (Flask-WTF: CSRF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField

from booking.web import validation


class ReminderForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[validation.form_check(validation.clean_email)],
                       render_kw={"autocomplete": "email", "maxlength": 254})
