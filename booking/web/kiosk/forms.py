"""Kiosk forms (Flask-WTF: CSRF on every form)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from booking.scheduling.codes import normalise_code


class DrawForm(FlaskForm):
    """One button per service (``name="service"``); the form itself carries the CSRF token."""


class CheckInForm(FlaskForm):
    code = StringField(_l("Booking code"), render_kw={
        "autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false",
        "maxlength": 300, "autofocus": True,
    })


def parse_code(raw: str | None) -> str:
    """The booking code as typed (lower case, spaces, dashes), or scanned from the QR code of
    the confirmation page, which holds the check-in link ``…/checkin?code=…``."""
    raw = (raw or "").strip()
    if "code=" in raw.lower():
        query = urlsplit(raw).query or raw.split("?", 1)[-1]
        values = {k.lower(): v for k, v in parse_qs(query).items()}
        raw = values.get("code", [""])[0]
    return normalise_code(raw)[:40]
