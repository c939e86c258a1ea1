"""Staff forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    next = HiddenField()
    email = EmailField(_l("Email address"), validators=[DataRequired()],
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
