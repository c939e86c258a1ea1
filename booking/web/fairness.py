"""The fairness measures of the booking path as the web layer applies them: which
apply (global settings, booking.fairness) and with what values (the office's), and the
words citizens read about them."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext, ngettext

from booking.fairness import measure_on
from booking.offices.models import Office
from booking.scheduling import holds


def booking_options(office: Office, now: datetime) -> dict:
    """``book_appointment`` keywords for an online booking by a citizen (pages, API):
    the double opt-in's hold and the cap per person, each if switched on."""
    config = current_app.config
    return {
        "hold_until": holds.opt_in_until(office, now) if measure_on(config, "DOUBLE_OPT_IN")
        else None,
        "cap": office.max_active_per_email if measure_on(config, "EMAIL_CAP") else None,
    }


def release_at(office: Office, now: datetime) -> datetime | None:
    """When seats a citizen gives up now are offered again (None: at once)."""
    if not measure_on(current_app.config, "RELEASE_DELAY"):
        return None
    return holds.release_at(office, now)


def cap_message(limit: int) -> str:
    return ngettext(
        "You already have an appointment for this service booked with this email address. "
        "To book another one, please cancel it first, via the link in its confirmation "
        "email.",
        "You already have %(num)d appointments for this service booked with this email "
        "address. To book another one, please cancel one of them first, via the link in "
        "its confirmation email.", limit)


def release_rule(office: Office) -> str | None:
    """The published rule when cancelled times are offered again; None if at once."""
    if not measure_on(current_app.config, "RELEASE_DELAY"):
        return None
    delay, at = office.release_delay_minutes or 0, office.release_time
    if at is not None:
        when = at.strftime("%H:%M")
        if delay:
            return gettext("Cancelled appointments are offered again once a day at %(time)s, "
                           "at least %(minutes)d minutes after the cancellation.",
                           time=when, minutes=delay)
        return gettext("Cancelled appointments are offered again once a day at %(time)s.",
                       time=when)
    if delay:
        return gettext("Cancelled appointments are offered again %(minutes)d minutes after "
                       "the cancellation.", minutes=delay)
    return None
