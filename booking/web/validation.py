"""Input checks shared by the HTML forms and the JSON API. Each returns the cleaned
value or raises ValueError with a translated message for the field."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext
from wtforms import HiddenField
from wtforms.validators import ValidationError

from booking.scheduling import idempotency

MIN_YEAR, MAX_YEAR = 2000, 2199  # far beyond any horizon; keeps date arithmetic in range
DB_INT_MAX = 2**31 - 1  # the id columns are INTEGER (32 bit on PostgreSQL)
PHONE = re.compile(r"^\+?[0-9 ()/\-]{3,40}$")


def form_check(clean, required_message=None):
    """A WTForms validator running one of the cleaners below (the field gets the cleaned
    value); ``required_message`` is shown for an empty field."""

    def check(form, field):
        if required_message and not (field.data or "").strip():
            raise ValidationError(required_message)
        try:
            field.data = clean(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    return check


def _no_control(value: str) -> bool:
    return not any(unicodedata.category(ch).startswith("C") for ch in value)


def clean_name(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(gettext("Please enter your name."))
    value = " ".join(value.split())
    if len(value) > 200:
        raise ValueError(gettext("The name may have at most 200 characters."))
    if not _no_control(value):
        raise ValueError(gettext("The name contains characters that are not allowed."))
    return value


def clean_email(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(gettext("Please enter your email address."))
    try:
        # allow_smtputf8=False: a mailbox with non-ASCII letters before the @ fails at booking
        # time, not later at a relay without SMTPUTF8 where the citizen would never know
        result = validate_email(value.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise ValueError(
            gettext("Please enter a valid email address, e.g. name@example.org.")
        ) from None
    return result.normalized


def clean_phone(value) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not PHONE.match(value.strip()):
        raise ValueError(
            gettext("Please enter a phone number (digits, spaces and + ( ) / - only), e.g. +49 69 1234567.")
        )
    return value.strip()


def clean_language(value) -> str:
    if value is None or value == "":
        return "de"
    if value not in ("de", "en"):
        raise ValueError(gettext("The language must be 'de' or 'en'."))
    return value


def parse_start(value) -> datetime:
    """An ISO 8601 date and time with a UTC offset, e.g. 2026-12-01T08:00:00+01:00."""
    if not isinstance(value, str):
        raise ValueError(gettext("Please give the start as ISO 8601 date and time."))
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            gettext("Please give the start as ISO 8601 date and time, "
                    "e.g. 2026-12-01T08:00:00+01:00.")
        ) from None
    if parsed.tzinfo is None:
        raise ValueError(gettext("The start needs a UTC offset, e.g. +01:00."))
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(gettext("The start time is not a possible appointment time."))
    return parsed


def parse_day(value: str | None, name: str) -> date | None:
    """A date like 2026-12-01; None when not given (an empty value is not a date)."""
    if value is None:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(gettext("%(name)s must be a date like 2026-12-01.", name=name))
    return parsed


def _posted_key(value: str | None) -> str:
    return value if idempotency.is_valid_key(value) else idempotency.new_key()


def submission_key_field() -> HiddenField:
    """A booking form's hidden submission key, new with every form rendered: sending the
    form again (a double click, a reload) repeats the key and gets the first booking
    (booking.scheduling.idempotency). A missing or malformed key is replaced."""
    return HiddenField(default=idempotency.new_key, filters=[_posted_key])


def clean_id(value) -> int:
    """A row id given as a JSON number: an integer (not true/false) the id columns can hold."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= DB_INT_MAX:
        raise ValueError(gettext("Please give the id as a whole number from 1 to %(max)s.",
                                 max=DB_INT_MAX))
    return value


def time_filter(weekdays: list[str], times: list[str]):
    """The weekdays (ISO numbers 1-7, 6 = Saturday) and times of day (``morning``,
    ``afternoon``, ``evening``) asked for the next free appointment, as a
    :class:`booking.scheduling.slots.TimeFilter`; none asked: any."""
    from booking.scheduling.slots import TIMES_OF_DAY, TimeFilter

    days = set()
    for value in weekdays:
        if value not in {"1", "2", "3", "4", "5", "6", "7"}:
            raise ValueError(gettext("Please choose weekdays from 1 (Monday) to 7 (Sunday)."))
        days.add(int(value))
    if any(value not in TIMES_OF_DAY for value in times):
        raise ValueError(gettext("Please choose times of day from: morning, afternoon, "
                                 "evening."))
    return TimeFilter(frozenset(days), frozenset(times))
