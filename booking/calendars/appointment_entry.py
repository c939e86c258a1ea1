"""The calendar entry of a citizen's appointment, worded in the citizen's language.

One wording for the iMIP part and attachment of the emails and for the "add to
calendar" download of the manage page. Uses the message catalog (``force_locale``),
never the request.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import force_locale, gettext

from booking.calendars.ical import Invitation
from booking.notifications.mime import mail_address
from booking.offices.models import Office
from booking.scheduling import visit_texts
from booking.scheduling.codes import format_code


def ics_filename(code: str) -> str:
    """The file name of the entry as an attachment or download (the booking code only:
    no token, no personal data)."""
    return f"appointment-{format_code(code)}.ics"


def appointment_entry(*, uid: str, sequence: int, start_at: datetime, end_at: datetime,
                      office: Office, lines, language: str, code: str, name: str,
                      email: str, manage_url: str | None) -> Invitation:
    """The :class:`Invitation` for an appointment as it is (or was, for an email queued
    earlier), for its ``lines`` (services and persons, see
    :mod:`booking.scheduling.visit_texts`); ``manage_url`` goes into the description and
    URL when given."""
    services = visit_texts.summary(lines, language)
    with force_locale(language):
        text = [gettext("Booking code: %(code)s", code=format_code(code))]
        if len(lines) > 1 or visit_texts.persons(lines) > 1:
            text += [gettext("Services: %(services)s", services=services),
                     gettext("Persons: %(persons)s", persons=visit_texts.persons(lines))]
        bring = visit_texts.bring_text(lines, language)
        if bring:
            text += ["", gettext("Please bring:"), bring]
        if manage_url:
            text += ["", gettext("Cancel or move your appointment:"), manage_url]
        return Invitation(
            uid=uid,
            sequence=sequence,
            start_at=start_at,
            end_at=end_at,
            summary=gettext("%(service)s – %(office)s", service=services, office=office.name),
            location=office.address,
            description="\n".join(text),
            organizer_email=mail_address(office.email),
            organizer_name=office.name,
            # the same address as in the email's To: clients match ATTENDEE against it
            attendee_email=mail_address(email),
            attendee_name=name,
            language=language,
            url=manage_url,
            alarm_text=gettext("Appointment at %(office)s", office=office.name),
        )
